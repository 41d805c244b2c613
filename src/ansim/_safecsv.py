"""CSV that people can open safely: the one writer for every CSV a person may open.

Spreadsheet programs run a cell beginning with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return as a formula (CSV injection). Following OWASP, such *text* cells are prefixed with ``'``
so they show as text. Numbers stay numbers: a number such as ``-3`` in an integer or float
column is written as a number, and so is text that is one plain decimal number (``-3``,
``+1.5``, ``2e-3``, as in a column that holds counts and the suppression symbol ``x``): a bare
number is not a formula, and prefixing it would turn released counts into text. Machine-facing
Parquet keeps values as they are.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

__all__ = ["FORMULA_STARTS", "neutralise", "neutralise_table", "safe_csv_text", "write_table_csv"]

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet read a cell as a formula (OWASP)."""
_FORMULA_PATTERN = r"^[=+\-@\t\r]"
_PLAIN_NUMBER = r"^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$"


def neutralise(value: object) -> object:
    """``value`` made safe for a spreadsheet cell: text starting a formula gets a ``'``.

    Example:
        >>> neutralise("=HYPERLINK(1)"), neutralise("-3"), neutralise(-3), neutralise("ok")
        ("'=HYPERLINK(1)", '-3', -3, 'ok')
        >>> neutralise("-3+cmd|' /C calc'!A0"), neutralise("+1.5e3")
        ("'-3+cmd|' /C calc'!A0", '+1.5e3')
    """
    if (
        isinstance(value, str)
        and value.startswith(FORMULA_STARTS)
        and not re.match(_PLAIN_NUMBER, value)
    ):
        return "'" + value
    return value


def safe_csv_text(
    header: Sequence[object], rows: Iterable[Sequence[object]], *, delimiter: str = ","
) -> str:
    r"""Header and rows as CSV text with every formula-like text cell neutralised.

    Example:
        >>> safe_csv_text(["a", "b"], [["+cmd|x", 2], [None, "@SUM(1)"]])
        "a,b\n'+cmd|x,2\n,'@SUM(1)\n"
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    writer.writerow([neutralise(h) for h in header])
    for row in rows:
        writer.writerow(["" if v is None else neutralise(v) for v in row])
    return buffer.getvalue()


def neutralise_table(table: pa.Table) -> pa.Table:
    """``table`` with formula-like cells of its text columns (and column names) prefixed.

    Example:
        >>> t = neutralise_table(pa.table({"x": ["=1+1", "a", None, "-2"], "n": [-1, 2, 3, 4]}))
        >>> t.column("x").to_pylist(), t.column("n").to_pylist()
        (["'=1+1", 'a', None, '-2'], [-1, 2, 3, 4])
    """
    columns = []
    for original in table.columns:
        column, kind = original, original.type
        if pa.types.is_dictionary(kind):
            column, kind = column.cast(kind.value_type), kind.value_type
        if pa.types.is_string(kind) or pa.types.is_large_string(kind):
            risky = pc.and_(
                pc.match_substring_regex(column, _FORMULA_PATTERN),
                pc.invert(pc.match_substring_regex(column, _PLAIN_NUMBER)),
            )
            prefixed = pc.binary_join_element_wise("'", column, "")
            column = pc.if_else(risky, prefixed, column)
        columns.append(column)
    names = [str(neutralise(n)) for n in table.column_names]
    return pa.table(columns, names=names)


def write_table_csv(table: pa.Table, sink: object, *, delimiter: str = ",") -> None:
    """Write ``table`` as CSV for people (text cells neutralised, numbers as numbers).

    Args:
        table: The rows.
        sink: A path or writable binary stream (as :func:`pyarrow.csv.write_csv` takes).
        delimiter: Field separator.
    """
    options = pacsv.WriteOptions(delimiter=delimiter)
    pacsv.write_csv(neutralise_table(table), sink, write_options=options)
