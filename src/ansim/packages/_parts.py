"""Reading identity and content parts with their metadata checked."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ansim.errors import IntegrityError

__all__ = ["Part", "read_part"]


@dataclass(frozen=True)
class Part:
    """A part received from a custodian.

    Attributes:
        dataset: The dataset it was prepared from.
        kind: ``identity`` or ``content``.
        project: The project it was prepared for.
        table: Its rows.
    """

    dataset: str
    kind: str
    project: str
    table: pa.Table


def read_part(path: Path, kind: str) -> Part:
    """Read a part and check that it is the kind of part the reader expects.

    Args:
        path: The part's file.
        kind: ``identity`` (for the linkage unit) or ``content`` (for the hub).

    Returns:
        The part.

    Raises:
        IntegrityError: The file is not a part, or is another kind of part.
    """
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowInvalid) as e:
        raise IntegrityError(f"cannot read part {path.name}: {e}") from e
    meta = {k.decode(): v.decode() for k, v in (table.schema.metadata or {}).items()}
    if meta.get("ansim.part") != kind:
        raise IntegrityError(
            f"{path.name} is not a {kind} part (it says {meta.get('ansim.part')!r}): "
            "check which file was sent to which party"
        )
    if "serial" not in table.column_names:
        raise IntegrityError(f"{path.name} has no serial column")
    return Part(meta.get("ansim.dataset", ""), kind, meta.get("ansim.project", ""), table)
