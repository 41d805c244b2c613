"""The linkage unit's file-level service: identity parts in, link map and report out."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from ansim._atomic import write_parquet_atomic, write_text_atomic
from ansim.linkage._exact import LinkMap, link_exact
from ansim.packages import read_part

__all__ = ["LINKMAP_FILE", "REPORT_FILE", "match_files"]

LINKMAP_FILE = "linkmap.parquet"
REPORT_FILE = "linkage_report.json"


def match_files(identity_parts: Sequence[Path], out: Path) -> LinkMap:
    """Link identity part files exactly and write ``linkmap.parquet`` and ``linkage_report.json``.

    Args:
        identity_parts: One identity part per dataset.
        out: The linkage unit's output directory.

    Returns:
        The link map.
    """
    parts = [read_part(path, "identity") for path in identity_parts]
    linkmap = link_exact(parts)
    write_parquet_atomic(linkmap.table, out / LINKMAP_FILE)
    report = json.dumps(asdict(linkmap.report), ensure_ascii=False, indent=2)
    write_text_atomic(report, out / REPORT_FILE)
    return linkmap
