"""The hub's file-level service: content parts and link map in, linked store out."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pyarrow.parquet as pq

from ansim.engine import Engine
from ansim.errors import HubError
from ansim.hub._combine import LinkedDataset, combine
from ansim.packages import read_part

__all__ = ["combine_files"]


def combine_files(
    content_parts: Sequence[Path],
    linkmap: Path,
    store: Path | Engine,
    *,
    encryption_key: bytes | None = None,
) -> LinkedDataset:
    """Combine content part files through a link map file into the hub's store.

    A governed project passes the engine that ``Governance.open_hub_store`` returns (the
    project's encrypted store, opened after the role and approval checks).

    Args:
        content_parts: One content part per dataset.
        linkmap: The link map from the linkage unit.
        store: The hub's DuckDB database file (created or updated), or an open engine (left
            open for the caller).
        encryption_key: With a file, its 256-bit data key (the file is encrypted).

    Returns:
        What was stored.

    Raises:
        HubError: The link map cannot be read.
    """
    parts = [read_part(path, "content") for path in content_parts]
    try:
        links = pq.read_table(linkmap, columns=["serial", "dataset", "person_id"])
    except (OSError, ValueError) as e:
        raise HubError(f"cannot read the link map {linkmap.name}: {e}") from e
    if isinstance(store, Engine):
        return combine(parts, links, store)
    with Engine(store, encryption_key=encryption_key) as engine:
        return combine(parts, links, engine)
