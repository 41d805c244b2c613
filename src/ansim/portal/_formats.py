"""Public shapes of a published table: KOSIS rows, plain rows and a spreadsheet-safe CSV.

The CSV goes through the shared safe-CSV writer (:mod:`ansim._safecsv`): text cells starting
with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return are prefixed with ``'`` (OWASP's
rule for CSV injection), numbers are written as numbers.
"""

from __future__ import annotations

from typing import Any

from ansim._safecsv import safe_csv_text
from ansim.portal._published import SUPPRESSED_SYMBOL, PublishedTable

__all__ = ["kosis_rows", "plain_rows", "safe_csv"]


def safe_csv(rows: list[dict[str, Any]]) -> str:
    r"""Rows as CSV text that spreadsheet programs will not execute.

    Example:
        >>> safe_csv([{"a": "=1+1", "b": -3}])
        "a,b\n'=1+1,-3\n"
    """
    if not rows:
        return ""
    return safe_csv_text(list(rows[0]), [list(row.values()) for row in rows])


def plain_rows(table: PublishedTable, *, lang: str = "ko") -> list[dict[str, Any]]:
    """One row per cell: dimension codes and labels, item, value, protection, error bar."""
    rows = []
    for cell in table.cells:
        row: dict[str, Any] = {}
        for name, key, labels in zip(table.dimensions, cell.keys, table.labels, strict=True):
            row[name] = key
            row[f"{name}_name"] = labels[key]
        row |= {
            "item": table.items[cell.item],
            "value": cell.value,
            "protection": cell.protection,
            "ci_low": cell.ci_low,
            "ci_high": cell.ci_high,
            "unit": table.unit,
        }
        rows.append(row)
    del lang  # labels are Korean; English titles only for now
    return rows


def kosis_rows(table: PublishedTable) -> list[dict[str, str]]:
    """Rows in KOSIS ``statisticsData.do`` shape (``jsonVD=Y``); suppressed ``DT`` is ``x``."""
    rows = []
    for cell in table.cells:
        row = {
            "ORG_ID": table.org_id,
            "TBL_ID": table.tbl_id,
            "TBL_NM": table.title_ko,
            "PRD_SE": table.period_type,
            "PRD_DE": table.period,
        }
        for i, (key, labels) in enumerate(zip(cell.keys, table.labels, strict=True), start=1):
            row[f"C{i}"] = key
            row[f"C{i}_NM"] = labels[key]
        row |= {
            "ITM_ID": cell.item,
            "ITM_NM": table.items[cell.item],
            "UNIT_NM": table.unit,
            "DT": SUPPRESSED_SYMBOL if cell.value is None else f"{cell.value:g}",
        }
        rows.append(row)
    return rows
