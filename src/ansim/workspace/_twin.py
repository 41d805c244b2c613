"""The dummy twin of a project's views: same schema, values from declared domains, no real value.

Under the row-access policy ``none`` an analyst's free queries run on this twin, never on the
real views (OpenSAFELY's model: write and test code on dummy data, reach real data only through
checked outputs). The twin is a function of the views' *schemas*, the declared column domains
and a seed only: it never reads a real value, so nothing in it can be a copied value, and any
coincidence with a real value is a draw from a public distribution that says nothing about
anyone. Person ids live in a space of their own (``dummy-0000001`` or negative integers), text
columns without a declared domain hold ``DUMMY-<column>-<n>`` labels, and every answer from
the twin carries :data:`DUMMY_LABEL`.

Domains come from the custodians' dataset specs (:meth:`ColumnDomain.from_spec`: category
values, ``min``/``max``, the identifier kind) or from a JSON file the hub operator keeps; a
column with none gets a plausible default by its name (``sex``, ``age``, ``sigungu_code``, a
``*_date``) or by its type.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ansim.errors import InvalidSpecError
from ansim.regions import GYEONGGI_SIGUNGU
from ansim.schema import ColumnSpec, ColumnType, DatasetSpec, IdentifierKind

__all__ = ["DUMMY_LABEL", "ColumnDomain", "domains_from_spec", "dummy_twin", "named_default"]

DUMMY_LABEL = "DUMMY DATA: not real records / 더미 데이터: 실제 자료가 아닙니다"
"""The label every answer from the twin carries (English and Korean)."""

_PERSON = "person_id"
_NULL_SHARE = 0.02
_LABELS = 50  # distinct dummy labels per undeclared text column (enough to group by)
_EPOCH = dt.date(1970, 1, 1)


@dataclass(frozen=True)
class ColumnDomain:
    """The values a twin column is drawn from (uniformly).

    Attributes:
        values: The categories (text columns).
        low: The smallest number (numeric columns).
        high: The largest number.
        start: The first day (date and timestamp columns).
        end: The last day.

    Example:
        >>> ColumnDomain(low=5, high=1)
        Traceback (most recent call last):
        ...
        ansim.errors.InvalidSpecError: a column domain needs low <= high and start <= end
    """

    values: tuple[str, ...] | None = None
    low: float | None = None
    high: float | None = None
    start: dt.date | None = None
    end: dt.date | None = None

    def __post_init__(self) -> None:
        """Check the bounds and the categories."""
        if self.values is not None and not self.values:
            raise InvalidSpecError("a column domain's values must not be empty")
        if (self.low is not None and self.high is not None and self.low > self.high) or (
            self.start is not None and self.end is not None and self.start > self.end
        ):
            raise InvalidSpecError("a column domain needs low <= high and start <= end")

    @classmethod
    def from_spec(cls, column: ColumnSpec) -> ColumnDomain | None:
        """The domain a custodian's column spec declares (``None``: it declares none).

        Example:
            >>> from ansim.schema import Role
            >>> age = ColumnSpec("age", ColumnType.INTEGER, Role.QUASI_IDENTIFIER, min=0, max=120)
            >>> ColumnDomain.from_spec(age)
            ColumnDomain(values=None, low=0, high=120, start=None, end=None)
        """
        if column.values is not None:
            return cls(values=tuple(column.values))
        if column.effective_kind is IdentifierKind.SIGUNGU_CODE:
            return cls(values=tuple(sorted(GYEONGGI_SIGUNGU)))
        if column.effective_kind is IdentifierKind.BIRTH_DATE:
            return cls(start=dt.date(1920, 1, 1), end=dt.date(2024, 12, 31))
        if column.type in (ColumnType.INTEGER, ColumnType.FLOAT) and (
            column.min is not None or column.max is not None
        ):
            return cls(low=column.min, high=column.max)
        return None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ColumnDomain:
        """Read a domain from plain data (``values``, ``low``, ``high``, ``start``, ``end``).

        Example:
            >>> ColumnDomain.from_dict({"start": "2020-01-01", "end": "2020-12-31"}).end
            datetime.date(2020, 12, 31)
        """
        unknown = set(data) - {"values", "low", "high", "start", "end"}
        if unknown:
            raise InvalidSpecError(f"column domain: unknown keys {sorted(unknown)}")
        try:
            values = data.get("values")
            start, end = data.get("start"), data.get("end")
            return cls(
                values=None if values is None else tuple(str(v) for v in values),
                low=None if data.get("low") is None else float(data["low"]),
                high=None if data.get("high") is None else float(data["high"]),
                start=None if start is None else dt.date.fromisoformat(str(start)),
                end=None if end is None else dt.date.fromisoformat(str(end)),
            )
        except (TypeError, ValueError) as e:
            if isinstance(e, InvalidSpecError):
                raise
            raise InvalidSpecError(
                "column domain: values is a list, low/high numbers, start/end YYYY-MM-DD"
            ) from e


def domains_from_spec(spec: DatasetSpec) -> dict[str, ColumnDomain]:
    """The domains a dataset spec declares for its content columns, by column name.

    Example:
        >>> from ansim.schema import Role
        >>> spec = DatasetSpec("register", "kostat", "record_id", (
        ...     ColumnSpec("sex", ColumnType.CATEGORY, Role.QUASI_IDENTIFIER, values=("M", "F")),))
        >>> domains_from_spec(spec)["sex"].values
        ('M', 'F')
    """
    found = {c.name: ColumnDomain.from_spec(c) for c in spec.columns}
    return {name: d for name, d in found.items() if d is not None}


def named_default(name: str) -> ColumnDomain | None:
    """The public domain a column's name implies (``sex``, ``*sigungu*``, ``age``, ``*birth*``).

    Example:
        >>> named_default("patient_age")
        ColumnDomain(values=None, low=0, high=99, start=None, end=None)
        >>> named_default("note") is None
        True
    """
    lowered = name.lower()
    if lowered in {"sex", "gender"}:
        return ColumnDomain(values=("M", "F"))
    if "sigungu" in lowered:
        return ColumnDomain(values=tuple(sorted(GYEONGGI_SIGUNGU)))
    if lowered == "age" or lowered.endswith("_age"):
        return ColumnDomain(low=0, high=99)
    if "birth" in lowered:
        return ColumnDomain(start=dt.date(1920, 1, 1), end=dt.date(2024, 12, 31))
    return None


def _default(name: str, kind: pa.DataType) -> ColumnDomain:
    """A plausible domain for a column nobody declared, by its name, else its type."""
    named = named_default(name)
    if named is not None:
        return named
    if pa.types.is_date(kind) or pa.types.is_timestamp(kind):
        return ColumnDomain(start=dt.date(2020, 1, 1), end=dt.date(2023, 12, 31))
    if pa.types.is_unsigned_integer(kind) or pa.types.is_integer(kind):
        return ColumnDomain(low=0, high=100)
    return ColumnDomain(low=0.0, high=1000.0)


def _seed(seed: int, view: str, column: str) -> np.random.Generator:
    digest = hashlib.sha256(f"{seed}\x00{view}\x00{column}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "big"))


def _person_ids(kind: pa.DataType, numbers: np.ndarray) -> pa.Array:
    """Dummy person ids outside the platform's id space (``p…`` text, non-negative integers)."""
    if pa.types.is_integer(kind) and not pa.types.is_unsigned_integer(kind):
        return pa.array(-(numbers + 1)).cast(kind)
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return pa.array([f"dummy-{n:07d}" for n in numbers]).cast(kind)
    return pa.nulls(len(numbers), kind)


def _column(  # noqa: PLR0911 - one branch per kind of column
    kind: pa.DataType, name: str, domain: ColumnDomain, rng: np.random.Generator, rows: int
) -> pa.Array:
    """``rows`` values of ``kind`` drawn from ``domain`` (never from data)."""
    if pa.types.is_dictionary(kind):
        return _column(kind.value_type, name, domain, rng, rows).dictionary_encode()
    if pa.types.is_boolean(kind):
        return pa.array(rng.random(rows) < 0.5)  # noqa: PLR2004 - a fair coin
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        labels = domain.values or tuple(f"DUMMY-{name}-{k}" for k in range(_LABELS))
        return pa.array([labels[i] for i in rng.integers(0, len(labels), rows)]).cast(kind)
    if pa.types.is_date(kind) or pa.types.is_timestamp(kind):
        fallback = _default(name, pa.date32())
        start = domain.start or fallback.start or _EPOCH
        end = domain.end or fallback.end or _EPOCH
        days = rng.integers((start - _EPOCH).days, (end - _EPOCH).days + 1, rows)
        dates = pa.array(days.astype("int32"), pa.int32()).cast(pa.date32())
        return dates.cast(kind)
    numeric = pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind)
    if not numeric:
        return pa.nulls(rows, kind)  # a type no domain describes: left empty, never guessed
    fallback = _default(name, kind)
    low = domain.low if domain.low is not None else fallback.low or 0.0
    high = domain.high if domain.high is not None else max(low, fallback.high or 0.0)
    if pa.types.is_unsigned_integer(kind):
        low = max(low, 0.0)
    if pa.types.is_integer(kind):
        return pa.array(rng.integers(int(low), int(high) + 1, rows)).cast(kind)
    return pa.array(np.round(rng.uniform(low, high, rows), 2)).cast(kind)


def _with_nulls(values: pa.Array, rng: np.random.Generator) -> pa.Array:
    mask = pa.array(rng.random(len(values)) < _NULL_SHARE)
    return pc.if_else(mask, pa.scalar(None, values.type), values)


def _generated(
    view: str, field: pa.Field, domain: ColumnDomain | None, seed: int, rows: int
) -> pa.Array:
    """``rows`` dummy values of one column (its declared domain, else a default; 2 % missing)."""
    rng = _seed(seed, view, field.name)
    values = _column(field.type, field.name, domain or _default(field.name, field.type), rng, rows)
    return _with_nulls(values, rng) if field.nullable else values


def dummy_twin(
    schemas: Mapping[str, pa.Schema],
    domains: Mapping[str, Mapping[str, ColumnDomain]] | None = None,
    *,
    persons: int = 1000,
    seed: int = 0,
) -> dict[str, pa.Table]:
    """A dummy twin of each view: its schema, values from the domains, persons of their own.

    Each view gets ``persons * 4 // 5`` rows, one per dummy person drawn from one pool shared
    by every view (so joins on ``person_id`` meet, as on the real views); 2 % of the other
    values are missing, as real data are.

    Args:
        schemas: View name → the view's schema (only the schema is read, never rows).
        domains: View name → column → declared domain.
        persons: Dummy persons in the pool.
        seed: Seed of the draws (the same seed, schemas and domains give the same twin).

    Returns:
        View name → dummy rows with exactly the view's schema.

    Example:
        >>> twin = dummy_twin({"register": pa.schema([("person_id", pa.string()),
        ...                                           ("sex", pa.string())])}, persons=10)
        >>> twin["register"].num_rows, twin["register"]["person_id"][0].as_py()[:6]
        (8, 'dummy-')
    """
    if persons < 1:
        raise InvalidSpecError("a dummy twin needs at least one dummy person")
    declared = domains or {}
    twins = {}
    for view, schema in schemas.items():
        rng = _seed(seed, view, _PERSON)
        rows = max(1, persons * 4 // 5)
        numbers = np.sort(rng.choice(persons, size=rows, replace=False))
        arrays = []
        for field in schema:
            if field.name == _PERSON:
                arrays.append(_person_ids(field.type, numbers))
                continue
            arrays.append(_generated(view, field, declared.get(view, {}).get(field.name), seed,
                                     rows))  # fmt: skip
        twins[view] = pa.Table.from_arrays(arrays, schema=schema)
    return twins
