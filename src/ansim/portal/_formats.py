"""Public shapes of a published table: KOSIS rows, plain rows and a spreadsheet-safe CSV.

The CSV goes through the shared safe-CSV writer (:mod:`ansim._safecsv`): text cells starting
with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return are prefixed with ``'`` (OWASP's
rule for CSV injection), numbers are written as numbers.
"""

from __future__ import annotations

import io
from typing import Any

from ansim._safecsv import safe_csv_text
from ansim.portal._charts import category_label, table_shape
from ansim.portal._published import PublishedTable

__all__ = ["kosis_rows", "plain_rows", "safe_csv", "xlsx_bytes"]


def safe_csv(rows: list[dict[str, Any]]) -> str:
    r"""Rows as CSV text that spreadsheet programs will not execute.

    Example:
        >>> safe_csv([{"a": "=1+1", "b": -3}])
        "a,b\n'=1+1,-3\n"
    """
    if not rows:
        return ""
    return safe_csv_text(list(rows[0]), [list(row.values()) for row in rows])


def xlsx_bytes(rows: list[dict[str, Any]], *, sheet: str = "data") -> bytes:
    """Rows as an XLSX workbook in which no cell is a formula.

    openpyxl would store text starting with ``=`` as a formula; every text cell is therefore
    typed as a string (shown as written, never run). Numbers stay numbers.

    Example:
        >>> import openpyxl, io
        >>> book = openpyxl.load_workbook(io.BytesIO(xlsx_bytes([{"a": "=1+1", "b": 2.5}])))
        >>> [(c.value, c.data_type) for c in book.active[2]]
        [('=1+1', 's'), (2.5, 'n')]
    """
    from openpyxl import Workbook  # type: ignore[import-untyped]  # noqa: PLC0415 - no stubs; only the XLSX download needs it
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE  # type: ignore[import-untyped]  # noqa: PLC0415

    book = Workbook(write_only=False)
    page = book.active
    if page is None:  # a new workbook always has one sheet
        page = book.create_sheet()
    page.title = sheet
    header = list(rows[0]) if rows else []
    for r, values in enumerate([header, *(list(row.values()) for row in rows)], start=1):
        for c, value in enumerate(values, start=1):
            cell = page.cell(row=r, column=c)
            if isinstance(value, str):  # control characters a workbook cannot hold are dropped
                cell.value = ILLEGAL_CHARACTERS_RE.sub("", value)
                cell.data_type = "s"
            else:
                cell.value = value
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def plain_rows(table: PublishedTable, *, lang: str = "ko") -> list[dict[str, Any]]:
    """One row per cell: dimension codes and labels, item, value, protection, error bar.

    The labels, the item and the unit are in ``lang`` (``ko`` or ``en``): English where the
    table gives it (si/gun names from :mod:`ansim.regions`), Korean otherwise. The fields are
    the same in both languages.

    Example:
        >>> from ansim.portal import Cell, PublishedTable, TableMetadata
        >>> meta = TableMetadata(("gyeonggi",), "covid", "s", "2021", "t", "2026-12-01", ("c",))
        >>> table = PublishedTable("t", "확진자", "Cases", "941", "DT_1", "health", "2021", "Y",
        ...     "명", ("sigungu",), ({"41110": "수원시", "41610": "광주시"},), {"n": "확진자"},
        ...     (Cell(("41110",), "n", 12.0), Cell(("41610",), "n", None, "suppressed")), meta)
        >>> row = plain_rows(table)[1]
        >>> list(row)
        ['sigungu', 'sigungu_name', 'item', 'value', 'protection', 'ci_low', 'ci_high', 'unit']
        >>> row["sigungu_name"], row["value"], row["protection"]
        ('광주시', None, 'suppressed')
    """
    rows = []
    for cell in table.cells:
        row: dict[str, Any] = {}
        for dim, (name, key) in enumerate(zip(table.dimensions, cell.keys, strict=True)):
            row[name] = key
            row[f"{name}_name"] = category_label(table, dim, key, lang)
        row |= {
            "item": table.item_label(cell.item, lang),
            "value": cell.value,
            "protection": cell.protection,
            "ci_low": cell.ci_low,
            "ci_high": cell.ci_high,
            "unit": table.unit_label(lang),
        }
        rows.append(row)
    return rows


def kosis_rows(table: PublishedTable, *, lang: str = "ko") -> list[dict[str, str]]:
    """Rows in KOSIS ``statisticsData.do`` shape (``jsonVD=Y``); suppressed ``DT`` is ``x``.

    ``TBL_NM``, ``C{i}_NM``, ``ITM_NM`` and ``UNIT_NM`` are in ``lang`` (``ko`` or ``en``):
    English where the table gives it, Korean otherwise; the fields are the same in both.

    Dimension *i* is ``C{i}``/``C{i}_NM``, in the table's order. ``PRD_DE`` is the table's
    period, or, when the table has a period dimension (a week, a month), that cell's period
    (the dimension stays a ``C`` too, so the columns follow the table's dimensions).

    Example:
        >>> from ansim.portal import Cell, PublishedTable, TableMetadata
        >>> meta = TableMetadata(("gyeonggi",), "covid", "s", "2021", "t", "2026-12-01", ("c",))
        >>> table = PublishedTable("t", "확진자", "Cases", "941", "DT_1", "health", "2021", "Y",
        ...     "명", ("sigungu",), ({"41110": "수원시", "41610": "광주시"},), {"n": "확진자"},
        ...     (Cell(("41110",), "n", 12.0), Cell(("41610",), "n", None, "suppressed")), meta)
        >>> [(r["C1_NM"], r["DT"]) for r in kosis_rows(table)]
        [('수원시', '12'), ('광주시', 'x')]
        >>> [(r["TBL_NM"], r["C1_NM"], r["ITM_NM"]) for r in kosis_rows(table, lang="en")][1]
        ('Cases', 'Gwangju-si', '확진자')
    """
    period = table_shape(table).period
    rows = []
    for cell in table.cells:
        row = {
            "ORG_ID": table.org_id,
            "TBL_ID": table.tbl_id,
            "TBL_NM": table.title(lang),
            "PRD_SE": table.period_type,
            "PRD_DE": table.period if period is None else cell.keys[period],
        }
        for i, key in enumerate(cell.keys, start=1):
            row[f"C{i}"] = key
            row[f"C{i}_NM"] = category_label(table, i - 1, key, lang)
        row |= {
            "ITM_ID": cell.item,
            "ITM_NM": table.item_label(cell.item, lang),
            "UNIT_NM": table.unit_label(lang),
            "DT": cell.shown(),
        }
        rows.append(row)
    return rows
