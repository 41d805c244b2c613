"""Column validation: raw text to typed values, with a reason for every value that fails."""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ansim.errors import InvalidIdentifierError
from ansim.identity._standardise import (
    parse_date,
    standardise_name,
    standardise_phone,
    standardise_rrn,
)
from ansim.regions import admin_code_history, is_known_sigungu_code, sigungu_code_problem
from ansim.schema import ColumnSpec, ColumnType, IdentifierKind

__all__ = ["ColumnResult", "code_date_problems", "validate_column"]

_INTEGER = re.compile(r"^[+-]?\d{1,3}(,\d{3})+$|^[+-]?\d+$|^[+-]?\d+\.0*$")
_ARROW_TYPES = {
    ColumnType.STRING: pa.string(),
    ColumnType.CATEGORY: pa.string(),
    ColumnType.INTEGER: pa.int64(),
    ColumnType.FLOAT: pa.float64(),
    ColumnType.DATE: pa.date32(),
}
_INT64_MAX = 2**63 - 1


@dataclass(frozen=True)
class ColumnResult:
    """A validated column.

    Attributes:
        values: Typed values (null where blank or invalid).
        problems: Reason for each row index whose value failed.
    """

    values: pa.Array
    problems: dict[int, str]


class _Invalid(ValueError):
    """A value failed; the message is the reason (never the value)."""


def _integer(text: str) -> int:
    if not _INTEGER.match(text):
        raise _Invalid("not a whole number")
    number = int(text.replace(",", "").split(".")[0])
    if abs(number) > _INT64_MAX:
        raise _Invalid("number too large")
    return number


def _float(text: str) -> float:
    try:
        number = float(text.replace(",", ""))
    except ValueError:
        raise _Invalid("not a number") from None
    if not math.isfinite(number):
        raise _Invalid("not a finite number")
    return number


def _category(values: tuple[str, ...]) -> Callable[[str], str]:
    lookup = {unicodedata.normalize("NFC", v).casefold(): v for v in values}

    def parse(text: str) -> str:
        found = lookup.get(unicodedata.normalize("NFC", text).casefold())
        if found is None:
            raise _Invalid(f"not one of the allowed values ({', '.join(values)})")
        return found

    return parse


def _sigungu(text: str) -> str:
    if not is_known_sigungu_code(text):
        raise _Invalid("unknown si/gun code")
    return text


def _checked(check: Callable[[str], object]) -> Callable[[str], str]:
    """Validate with ``check`` but keep the text as recorded (standardisation comes later)."""

    def parse(text: str) -> str:
        check(text)
        return text

    return parse


def _parser(column: ColumnSpec) -> Callable[[str], Any]:
    kind = column.effective_kind
    if column.type is ColumnType.DATE:
        return parse_date
    if column.type is ColumnType.INTEGER:
        return _integer
    if column.type is ColumnType.FLOAT:
        return _float
    if kind is IdentifierKind.SIGUNGU_CODE and column.values is None:
        return _sigungu
    if column.type is ColumnType.CATEGORY and column.values is not None:
        return _category(column.values)
    checks: dict[IdentifierKind | None, Callable[[str], object]] = {
        IdentifierKind.RRN: standardise_rrn,
        IdentifierKind.PHONE: standardise_phone,
        IdentifierKind.KOREAN_NAME: standardise_name,
    }
    check = checks.get(kind)
    return str if check is None else _checked(check)


def _in_range(column: ColumnSpec, value: Any) -> str | None:
    if column.min is not None and value < column.min:
        return f"below the minimum {column.min:g}"
    if column.max is not None and value > column.max:
        return f"above the maximum {column.max:g}"
    return None


def validate_column(column: ColumnSpec, raw: Sequence[str | None]) -> ColumnResult:
    """Parse one column's raw text into typed values, recording why each failure failed.

    Blank text is null; a blank in a ``required`` column is a problem. Each distinct text is
    parsed once, so low-cardinality columns (codes, dates, categories) cost little.

    Args:
        column: The column's spec.
        raw: Raw text per row (``None`` for absent).

    Returns:
        Typed values and the problems by row index.

    Example:
        >>> from ansim.schema import Role
        >>> col = ColumnSpec("age", ColumnType.INTEGER, Role.ATTRIBUTE, min=0, max=120)
        >>> result = validate_column(col, ["34", "x", "", "200"])
        >>> result.values.to_pylist(), result.problems
        ([34, None, None, None], {1: 'age: not a whole number', 3: 'age: above the maximum 120'})
    """
    parse = _parser(column)
    cache: dict[str, tuple[Any, str | None]] = {}
    values: list[Any] = []
    problems: dict[int, str] = {}
    for index, text in enumerate(raw):
        stripped = "" if text is None else text.strip()
        if not stripped:
            values.append(None)
            if column.required:
                problems[index] = f"{column.name}: missing required value"
            continue
        hit = cache.get(stripped)
        if hit is None:
            try:
                value = parse(stripped)
                hit = (value, _in_range(column, value))
            except (_Invalid, InvalidIdentifierError) as e:
                hit = (None, str(e))
            cache[stripped] = hit
        value, reason = hit
        if reason is None:
            values.append(value)
        else:
            values.append(None)
            problems[index] = f"{column.name}: {reason}"
    return ColumnResult(pa.array(values, type=_ARROW_TYPES[column.type]), problems)


def code_date_problems(
    column: ColumnSpec, codes: pa.Array, days: pa.Array | None, today: dt.date
) -> dict[int, str]:
    """Rows whose si/gun/gu code was not in use on the row's reference date, with the reason.

    ``codes`` are the column's validated values (null where blank or unknown, already a
    problem). The day is the row's value in ``days`` (the spec's ``reference_date`` column; a
    blank date leaves the code checked at any time only), else the spec's fixed date (or
    ``today``); ``reference_date: any``, the default, checks nothing here.

    Args:
        column: The ``sigungu_code`` column's spec.
        codes: Its validated codes.
        days: The reference date column's validated dates, if the spec names one.
        today: The day of the ingest.

    Returns:
        The reason for each row index whose code fails (the code and the day, no other value).

    Example:
        >>> from ansim.schema import IdentifierKind, Role
        >>> col = ColumnSpec("si", ColumnType.STRING, Role.QUASI_IDENTIFIER,
        ...                  kind=IdentifierKind.SIGUNGU_CODE, reference_date="d")
        >>> days = pa.array([dt.date(2012, 5, 1), dt.date(2020, 1, 1), None])
        >>> code_date_problems(col, pa.array(["41670"] * 3), days, dt.date(2026, 1, 1))
        {0: 'si: code 41670 not valid on 2012-05-01: in use 2013-09-23 to …'}
    """
    if column.reference_date in {None, "any"}:
        return {}
    if column.reference_column is None or days is None:
        # One day for every row: check each distinct code once (the default path of every ingest).
        fixed = column.fixed_reference_date or today
        encoded = pc.dictionary_encode(codes)
        failing = {
            position: f"{column.name}: {reason}"
            for position, code in enumerate(encoded.dictionary.to_pylist())
            if code is not None and (reason := sigungu_code_problem(code, fixed)) is not None
        }
        if not failing:
            return {}
        positions = encoded.indices.to_pylist()
        return {i: failing[p] for i, p in enumerate(positions) if p in failing}
    return _per_row_day_problems(column.name, codes, days)


def _per_row_day_problems(name: str, codes: pa.Array, days: pa.Array) -> dict[int, str]:
    """Codes checked on each row's own day, vectorised per distinct code over its intervals."""
    encoded = pc.dictionary_encode(codes)
    positions = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False)
    epoch = dt.date(1970, 1, 1)
    day_numbers = pc.fill_null(days.cast(pa.int32()), np.iinfo(np.int32).min)
    numbers = day_numbers.to_numpy(zero_copy_only=False)
    dated = numbers != np.iinfo(np.int32).min
    failing = np.zeros(len(codes), dtype=bool)
    history = admin_code_history()
    for position, code in enumerate(encoded.dictionary.to_pylist()):
        spans = history.get(code) if code is not None else None
        if not spans:
            continue  # unknown codes are already a problem of their own
        rows = (positions == position) & dated
        inside = np.zeros(len(codes), dtype=bool)
        for span in spans:
            low = (span.valid_from - epoch).days if span.valid_from else np.iinfo(np.int32).min
            high = (span.valid_to - epoch).days if span.valid_to else np.iinfo(np.int32).max
            inside |= (numbers >= low) & (numbers <= high)
        failing |= rows & ~inside
    problems: dict[int, str] = {}
    cache: dict[tuple[str, dt.date], str | None] = {}
    all_codes = codes.to_pylist() if failing.any() else []
    for index in np.flatnonzero(failing).tolist():
        day = epoch + dt.timedelta(days=int(numbers[index]))
        key = (str(all_codes[index]), day)
        if key not in cache:
            cache[key] = sigungu_code_problem(*key)
        if cache[key] is not None:
            problems[index] = f"{name}: {cache[key]}"
    return problems
