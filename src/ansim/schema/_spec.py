"""Immutable, validated dataset specs loaded from YAML."""

from __future__ import annotations

import codecs
import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml

from ansim._specfile import parse_yaml, read_spec_text
from ansim.errors import InvalidSpecError

__all__ = ["ColumnSpec", "ColumnType", "DatasetSpec", "IdentifierKind", "Role"]

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


class ColumnType(StrEnum):
    """Storage type of a column once ingested."""

    STRING = "string"
    INTEGER = "integer"
    FLOAT = "float"
    DATE = "date"
    CATEGORY = "category"


class Role(StrEnum):
    """What a column says about a person, which decides where it may travel.

    Direct identifiers never leave the custodian except as linkage tokens or encodings;
    everything else travels to the hub in the content part.
    """

    DIRECT_IDENTIFIER = "direct_identifier"
    QUASI_IDENTIFIER = "quasi_identifier"
    SENSITIVE = "sensitive"
    ATTRIBUTE = "attribute"


class IdentifierKind(StrEnum):
    """The kind of value a column holds, where the kind decides validation and standardisation."""

    KOREAN_NAME = "korean_name"
    RRN = "rrn"
    PHONE = "phone"
    ADDRESS = "address"
    SIGUNGU_CODE = "sigungu_code"
    DATE = "date"
    BIRTH_DATE = "birth_date"
    SEX = "sex"


_STRING_KINDS = {
    IdentifierKind.KOREAN_NAME,
    IdentifierKind.RRN,
    IdentifierKind.PHONE,
    IdentifierKind.ADDRESS,
}
_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATE_KINDS = {IdentifierKind.DATE, IdentifierKind.BIRTH_DATE}
# Columns recognised by name when the spec gives no kind (the example spec does so).
_KIND_BY_NAME = {
    "birth_date": IdentifierKind.BIRTH_DATE,
    "birthdate": IdentifierKind.BIRTH_DATE,
    "date_of_birth": IdentifierKind.BIRTH_DATE,
    "dob": IdentifierKind.BIRTH_DATE,
    "생년월일": IdentifierKind.BIRTH_DATE,
    "sex": IdentifierKind.SEX,
    "gender": IdentifierKind.SEX,
    "성별": IdentifierKind.SEX,
}


def _enum(cls: type[StrEnum], value: object, where: str) -> Any:
    try:
        return cls(str(value))
    except ValueError:
        allowed = ", ".join(m.value for m in cls)
        raise InvalidSpecError(f"{where}: {value!r} is not one of: {allowed}") from None


@dataclass(frozen=True)
class ColumnSpec:
    """One declared column.

    Args:
        name: Column name as it appears in the file's header.
        type: Storage type.
        role: What the column says about a person.
        kind: Identifier kind, where it matters for validation or linkage.
        values: Allowed values of a ``category`` column (none: any non-empty text).
        required: Whether a blank value sends the row to quarantine.
        min: Smallest allowed number (``integer``/``float`` only).
        max: Largest allowed number (``integer``/``float`` only).
        multiline: Whether the text may span lines (quoted); otherwise a line break in this
            column quarantines the row.
        scan_exempt: Why this content column is exempt from the scan for identifier-shaped
            values before a content part is written (``None``: scanned).
        reference_date: For a ``sigungu_code`` column, the day each code must have been in use:
            the name of a date column of the same file (per row), a fixed ``YYYY-MM-DD``,
            ``today``, or ``any`` (in use at any time; also what ``None`` means: historical files
            carry the codes of their own day, so only a named day can retire a code).

    Example:
        >>> sex = ColumnSpec("sex", ColumnType.CATEGORY, Role.QUASI_IDENTIFIER, values=("M", "F"))
        >>> sex.effective_kind
        <IdentifierKind.SEX: 'sex'>
    """

    name: str
    type: ColumnType
    role: Role
    kind: IdentifierKind | None = None
    values: tuple[str, ...] | None = None
    required: bool = False
    min: float | None = None
    max: float | None = None
    multiline: bool = False
    scan_exempt: str | None = None
    reference_date: str | None = None

    def __post_init__(self) -> None:
        where = f"column {self.name!r}"
        self._check_reference_date(where)
        if self.scan_exempt is not None and not self.scan_exempt.strip():
            raise InvalidSpecError(
                f"{where}: 'scan_exempt' needs the reason why this column may hold "
                "identifier-shaped values"
            )
        if self.scan_exempt is not None and self.role is Role.DIRECT_IDENTIFIER:
            raise InvalidSpecError(
                f"{where}: 'scan_exempt' applies to content columns only; a direct identifier "
                "never reaches the content part"
            )
        if not self.name or self.name != self.name.strip():
            raise InvalidSpecError(
                f"{where}: a column name must be non-empty without spaces around"
            )
        numeric = self.type in (ColumnType.INTEGER, ColumnType.FLOAT)
        if (self.min is not None or self.max is not None) and not numeric:
            raise InvalidSpecError(f"{where}: min/max apply to integer or float columns only")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise InvalidSpecError(f"{where}: min {self.min} is larger than max {self.max}")
        if self.values is not None:
            if self.type is not ColumnType.CATEGORY:
                raise InvalidSpecError(f"{where}: 'values' applies to category columns only")
            if not self.values or len(set(self.values)) != len(self.values):
                raise InvalidSpecError(
                    f"{where}: 'values' must be a non-empty list without repeats"
                )
        kind = self.kind
        if kind in _STRING_KINDS and self.role is not Role.DIRECT_IDENTIFIER:
            # Raw identifiers of these kinds would otherwise travel to the hub in the content part.
            raise InvalidSpecError(
                f"{where}: kind {kind} is a direct identifier and needs role direct_identifier, "
                f"not {self.role}; it may leave the custodian only as a token or encoding"
            )
        if kind in _STRING_KINDS and self.type is not ColumnType.STRING:
            raise InvalidSpecError(f"{where}: kind {kind} needs type string, not {self.type}")
        if kind in _DATE_KINDS and self.type is not ColumnType.DATE:
            raise InvalidSpecError(f"{where}: kind {kind} needs type date, not {self.type}")
        if kind is IdentifierKind.SIGUNGU_CODE and self.type not in (
            ColumnType.CATEGORY,
            ColumnType.STRING,
        ):
            raise InvalidSpecError(f"{where}: kind sigungu_code needs type category or string")

    def _check_reference_date(self, where: str) -> None:
        ref = self.reference_date
        if ref is None:
            return
        if self.effective_kind is not IdentifierKind.SIGUNGU_CODE:
            raise InvalidSpecError(f"{where}: 'reference_date' applies to kind sigungu_code only")
        if _ISO_DAY.match(ref):
            try:
                dt.date.fromisoformat(ref)
            except ValueError:
                raise InvalidSpecError(f"{where}: reference_date {ref!r} is not a date") from None
        elif not ref.strip() or ref == self.name:
            raise InvalidSpecError(
                f"{where}: 'reference_date' names a date column, a YYYY-MM-DD date, today or any"
            )

    @property
    def fixed_reference_date(self) -> dt.date | None:
        """The fixed day codes are checked on (a date, or ``today``), or ``None``.

        ``None`` when codes are checked on each row's date column, or at any time (``any``,
        the default).

        Example:
            >>> ColumnSpec("si", ColumnType.STRING, Role.QUASI_IDENTIFIER,
            ...            kind=IdentifierKind.SIGUNGU_CODE, reference_date="2012-05-01",
            ...            ).fixed_reference_date
            datetime.date(2012, 5, 1)
        """
        ref = self.reference_date
        if ref is None:
            return None
        if ref == "today":
            return dt.date.today()
        return dt.date.fromisoformat(ref) if _ISO_DAY.match(ref) else None

    @property
    def reference_column(self) -> str | None:
        """The date column whose day each row's code is checked on, if one is named."""
        ref = self.reference_date
        if ref is None or ref in {"today", "any"} or _ISO_DAY.match(ref):
            return None
        return ref

    @property
    def effective_kind(self) -> IdentifierKind | None:
        """The declared kind, or the kind a conventional name implies (``birth_date``, ``sex``)."""
        if self.kind is not None:
            return self.kind
        implied = _KIND_BY_NAME.get(self.name.lower())
        if implied is IdentifierKind.BIRTH_DATE and self.type is not ColumnType.DATE:
            return None
        return implied

    @classmethod
    def from_dict(cls, name: str, raw: Mapping[str, Any]) -> ColumnSpec:
        """Build a column from its YAML mapping (``{type: …, role: …, kind: …}``)."""
        where = f"column {name!r}"
        if not isinstance(raw, Mapping):
            raise InvalidSpecError(f"{where}: expected a mapping such as {{type: string, role: …}}")
        known = {"type", "role", "kind", "values", "required", "min", "max", "description"}
        known |= {"multiline", "scan_exempt", "reference_date"}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise InvalidSpecError(f"{where}: unknown keys {unknown}; allowed: {sorted(known)}")
        for key in ("type", "role"):
            if key not in raw:
                raise InvalidSpecError(f"{where}: '{key}' is missing")
        values = raw.get("values")
        if values is not None and not isinstance(values, list):
            raise InvalidSpecError(f"{where}: 'values' must be a list")
        required = raw.get("required", False)
        if not isinstance(required, bool):
            raise InvalidSpecError(f"{where}: 'required' must be true or false")
        multiline = raw.get("multiline", False)
        if not isinstance(multiline, bool):
            raise InvalidSpecError(f"{where}: 'multiline' must be true or false")
        exempt = raw.get("scan_exempt")
        if exempt is not None and not isinstance(exempt, str):
            raise InvalidSpecError(f"{where}: 'scan_exempt' must be the reason, as text")
        reference = raw.get("reference_date")
        if isinstance(reference, dt.date):  # YAML reads an unquoted 2012-05-01 as a date
            reference = reference.isoformat()
        if reference is not None and not isinstance(reference, str):
            raise InvalidSpecError(
                f"{where}: 'reference_date' names a date column, a YYYY-MM-DD date, today or any"
            )
        return cls(
            name=str(name),
            type=_enum(ColumnType, raw["type"], f"{where} type"),
            role=_enum(Role, raw["role"], f"{where} role"),
            kind=None if raw.get("kind") is None else _enum(IdentifierKind, raw["kind"], where),
            values=None if values is None else tuple(str(v) for v in values),
            required=required,
            min=_number(raw.get("min"), f"{where} min"),
            max=_number(raw.get("max"), f"{where} max"),
            multiline=multiline,
            scan_exempt=exempt,
            reference_date=reference,
        )

    def to_dict(self) -> dict[str, Any]:
        """The YAML mapping of this column (inverse of :meth:`from_dict`)."""
        out: dict[str, Any] = {"type": self.type.value, "role": self.role.value}
        if self.kind is not None:
            out["kind"] = self.kind.value
        if self.values is not None:
            out["values"] = list(self.values)
        if self.required:
            out["required"] = True
        if self.min is not None:
            out["min"] = self.min
        if self.max is not None:
            out["max"] = self.max
        if self.multiline:
            out["multiline"] = True
        if self.scan_exempt is not None:
            out["scan_exempt"] = self.scan_exempt
        if self.reference_date is not None:
            out["reference_date"] = self.reference_date
        return out


def _number(value: object, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidSpecError(f"{where}: expected a number, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class DatasetSpec:
    """A custodian's dataset: its name, owner, record-id column and declared columns.

    Args:
        dataset: Dataset name (lower-case identifier), unique within a project.
        custodian: The institution that holds the data.
        record_id: Name of the column that identifies a record within the file.
        columns: Every other column, in any order.
        title: Human titles by language code (``ko``, ``en``).
        encoding: Text encoding of CSV files; ``None`` detects UTF-8, UTF-8 with BOM or CP949.
        delimiter: CSV field separator.

    Example:
        >>> spec = DatasetSpec.from_yaml_text('''
        ... dataset: cases
        ... custodian: gyeonggi
        ... record_id: record_id
        ... columns:
        ...   name: {type: string, role: direct_identifier, kind: korean_name}
        ...   case_date: {type: date, role: attribute}
        ... ''')
        >>> [c.name for c in spec.direct_identifiers]
        ['name']
        >>> DatasetSpec.from_dict(spec.to_dict()) == spec
        True
    """

    dataset: str
    custodian: str
    record_id: str
    columns: tuple[ColumnSpec, ...]
    title: Mapping[str, str] = field(default_factory=dict)
    encoding: str | None = None
    delimiter: str = ","

    def __post_init__(self) -> None:
        if self.encoding is not None:
            try:
                codecs.lookup(self.encoding)
            except LookupError:
                raise InvalidSpecError(f"unknown text encoding {self.encoding!r}") from None
        if len(self.delimiter) != 1 or self.delimiter in '"\r\n':
            raise InvalidSpecError("'delimiter' must be one character, such as ',' or a tab")
        if not _NAME.match(self.dataset):
            raise InvalidSpecError(
                f"dataset name {self.dataset!r} must be lower-case letters, digits and _"
            )
        if not self.custodian.strip():
            raise InvalidSpecError(f"dataset {self.dataset!r}: 'custodian' must not be empty")
        names = [c.name for c in self.columns]
        if not names:
            raise InvalidSpecError(f"dataset {self.dataset!r}: declare at least one column")
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise InvalidSpecError(f"dataset {self.dataset!r}: columns declared twice: {repeated}")
        for column in self.columns:
            ref = column.reference_column
            if ref is not None and (
                ref not in names or self.column(ref).type is not ColumnType.DATE
            ):
                raise InvalidSpecError(
                    f"dataset {self.dataset!r}: column {column.name!r} takes its reference_date "
                    f"from {ref!r}, which must be a declared column of type date"
                )
        if self.record_id in names:
            raise InvalidSpecError(
                f"dataset {self.dataset!r}: the record-id column {self.record_id!r} is declared "
                "by 'record_id' and must not be listed under 'columns'"
            )

    # -- views -----------------------------------------------------------------------------
    @property
    def column_names(self) -> tuple[str, ...]:
        """Record-id column first, then the declared columns."""
        return (self.record_id, *(c.name for c in self.columns))

    @property
    def direct_identifiers(self) -> tuple[ColumnSpec, ...]:
        """Columns that never leave the custodian in the clear."""
        return tuple(c for c in self.columns if c.role is Role.DIRECT_IDENTIFIER)

    @property
    def content_columns(self) -> tuple[ColumnSpec, ...]:
        """Columns that travel to the hub (everything but direct identifiers)."""
        return tuple(c for c in self.columns if c.role is not Role.DIRECT_IDENTIFIER)

    def column(self, name: str) -> ColumnSpec:
        """The column called ``name``."""
        for c in self.columns:
            if c.name == name:
                return c
        raise InvalidSpecError(f"dataset {self.dataset!r} has no column {name!r}")

    def find_kind(self, kind: IdentifierKind) -> ColumnSpec | None:
        """The first column of an (explicit or implied) identifier kind, if any."""
        return next((c for c in self.columns if c.effective_kind is kind), None)

    # -- files -----------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> DatasetSpec:
        """Build a spec from its mapping form (as loaded from YAML or JSON)."""
        if not isinstance(raw, Mapping):
            raise InvalidSpecError("a dataset spec must be a mapping with dataset, custodian, …")
        known = {"dataset", "custodian", "record_id", "columns", "title", "description"}
        known |= {"encoding", "delimiter"}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise InvalidSpecError(f"unknown top-level keys {unknown}; allowed: {sorted(known)}")
        for key in ("dataset", "custodian", "record_id", "columns"):
            if key not in raw:
                raise InvalidSpecError(f"the spec has no '{key}'")
        columns = raw["columns"]
        if not isinstance(columns, Mapping):
            raise InvalidSpecError("'columns' must map each column name to {type, role, …}")
        title = raw.get("title") or {}
        if not isinstance(title, Mapping):
            raise InvalidSpecError("'title' must map language codes to text, e.g. {ko: …, en: …}")
        record_id = str(raw["record_id"])
        return cls(
            dataset=str(raw["dataset"]),
            custodian=str(raw["custodian"]),
            record_id=record_id,
            # A record-id column listed among the columns too is the record id, nothing more.
            columns=tuple(
                ColumnSpec.from_dict(str(n), c) for n, c in columns.items() if str(n) != record_id
            ),
            title={str(k): str(v) for k, v in title.items()},
            encoding=None if raw.get("encoding") is None else str(raw["encoding"]),
            delimiter=str(raw.get("delimiter", ",")),
        )

    @classmethod
    def from_yaml_text(cls, text: str) -> DatasetSpec:
        """Parse a spec from YAML text."""
        return cls.from_dict(parse_yaml(text, "the spec"))

    @classmethod
    def from_yaml(cls, path: Path) -> DatasetSpec:
        """Load a spec from a YAML file."""
        text = read_spec_text(path, "spec file")
        try:
            return cls.from_yaml_text(text)
        except InvalidSpecError as e:
            raise InvalidSpecError(f"{path}: {e}") from e

    def to_dict(self) -> dict[str, Any]:
        """The mapping form of this spec (inverse of :meth:`from_dict`)."""
        out: dict[str, Any] = {
            "dataset": self.dataset,
            "custodian": self.custodian,
            "record_id": self.record_id,
        }
        if self.title:
            out["title"] = dict(self.title)
        if self.encoding is not None:
            out["encoding"] = self.encoding
        if self.delimiter != ",":
            out["delimiter"] = self.delimiter
        out["columns"] = {c.name: c.to_dict() for c in self.columns}
        return out

    def to_yaml(self) -> str:
        """YAML text of this spec."""
        return yaml.safe_dump(self.to_dict(), allow_unicode=True, sort_keys=False)
