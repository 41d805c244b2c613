"""The linkage unit's file-level service: identity parts in, link map and report out."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ansim._atomic import write_parquet_atomic, write_text_atomic
from ansim.errors import LinkageError
from ansim.linkage._config import LinkageConfig
from ansim.linkage._exact import LinkMap
from ansim.linkage._model_file import LinkageModel
from ansim.linkage._pairs import PAIRS_FILE, PAIRS_PART
from ansim.linkage._probabilistic import link
from ansim.linkage._report_html import write_linkage_report_html
from ansim.packages import Part, inspect_part, label_part, read_part

__all__ = ["LINKMAP_FILE", "REPORT_FILE", "match_files"]

LINKMAP_FILE = "linkmap.parquet"
REPORT_FILE = "linkage_report.json"


def _open_part(path: Path) -> tuple[Part, list[str]]:
    """An identity part's serials and tokens (small), and the names of all its columns.

    Bloom-filter columns are large; they are read later one column at a time.
    """
    info = inspect_part(path, "identity")
    small = [c for c in info.columns if c == "serial" or c.startswith("token_")]
    return read_part(path, "identity", columns=small), list(info.columns)


def match_files(
    identity_parts: Sequence[Path],
    out: Path,
    config: LinkageConfig | None = None,
    *,
    model: LinkageModel | None = None,
    pairs: bool = False,
    save_model: Path | None = None,
) -> LinkMap:
    """Link identity part files; write ``linkmap.parquet``, ``linkage_report.json`` and ``.html``.

    Args:
        identity_parts: One identity part per dataset.
        out: The linkage unit's output directory.
        config: How to link (default: :class:`LinkageConfig`, the best measured
            configuration: probabilistic, automatic blocking and comparisons, clustering).
        model: A saved model to apply instead of training one.
        pairs: Also write ``pairs.parquet`` (scored pairs; it stays at the linkage unit).
        save_model: Write the model that scored the pairs to this file.

    Returns:
        The link map.

    Raises:
        IntegrityError: A file is not an identity part.
    """
    paths = list(identity_parts)
    opened = [_open_part(path) for path in paths]
    parts = [part for part, _ in opened]
    names = [columns for _, columns in opened]

    def load(index: int, column: str) -> pa.ChunkedArray | None:
        if column not in names[index]:
            return None
        return pq.read_table(paths[index], columns=[column])[column]

    chosen = config or LinkageConfig()
    if save_model is not None and chosen.method != "probabilistic":
        raise LinkageError("--save-model needs the probabilistic method (fuzzy has no model)")
    linkmap = link(parts, chosen, columns=names, load=load, model=model, pairs=pairs)
    if linkmap.pairs is not None:
        table = label_part(linkmap.pairs, project=parts[0].project, kind=PAIRS_PART)
        write_parquet_atomic(table, out / PAIRS_FILE)
    if save_model is not None and linkmap.model is not None:
        linkmap.model.save(save_model)
    write_parquet_atomic(linkmap.table, out / LINKMAP_FILE)
    report = json.dumps(asdict(linkmap.report), ensure_ascii=False, indent=2)
    write_text_atomic(report, out / REPORT_FILE)
    write_linkage_report_html(asdict(linkmap.report), out)  # the hub's rates come later
    return linkmap
