"""The published table: the one format the release path writes and the portal reads.

A :class:`PublishedTable` is frozen and validated; it round-trips to JSON and lives at
``<home>/release/public/<id>.json``. :func:`publish` writes it atomically; the portal reads
nothing else.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ansim._atomic import write_text_atomic
from ansim.errors import InvalidSpecError

__all__ = [
    "SUPPRESSED_SYMBOL",
    "Cell",
    "PublishedTable",
    "TableMetadata",
    "format_number",
    "load_published",
    "public_dir",
    "publish",
]

SUPPRESSED_SYMBOL = "x"
"""How a suppressed cell is shown (KOSIS marks withheld cells ``x``)."""

_EXACT_INTEGERS = 1e15  # below this a float's integer digits are exact
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_PROTECTIONS = ("published", "suppressed", "rounded", "dp")


def format_number(value: float) -> str:
    """A released number as text, exactly as released: no exponent, no lost digits.

    Example:
        >>> [format_number(v) for v in (12.5, 99.0, 1234567.0, 0.1 + 0.2)]
        ['12.5', '99', '1234567', '0.30000000000000004']
    """
    number = float(value)
    if number.is_integer() and abs(number) < _EXACT_INTEGERS:
        return str(int(number))
    return repr(number)


def public_dir(home: Path) -> Path:
    """The folder of published tables under a home: ``<home>/release/public``."""
    return home / "release" / "public"


@dataclass(frozen=True)
class Cell:
    """One published number, or its suppression.

    Attributes:
        keys: Category code per dimension, in the table's dimension order.
        item: Item code (e.g. ``rate``).
        value: The number, None when suppressed.
        protection: ``published``, ``suppressed``, ``rounded`` or ``dp``.
        ci_low: Lower error bound (DP only).
        ci_high: Upper error bound (DP only).

    Example:
        >>> Cell(("41110",), "rate", 1.0, "suppressed")
        Traceback (most recent call last):
        ...
        ansim.errors.InvalidSpecError: a suppressed cell carries no value
    """

    keys: tuple[str, ...]
    item: str
    value: float | None
    protection: str = "published"
    ci_low: float | None = None
    ci_high: float | None = None

    def __post_init__(self) -> None:
        if self.protection not in _PROTECTIONS:
            raise InvalidSpecError(f"cell protection must be one of {_PROTECTIONS}")
        if self.protection == "suppressed" and self.value is not None:
            raise InvalidSpecError("a suppressed cell carries no value")
        if self.protection != "suppressed" and self.value is None:
            raise InvalidSpecError("only a suppressed cell may lack a value")
        numbers = (self.value, self.ci_low, self.ci_high)
        if any(v is not None and not math.isfinite(v) for v in numbers):
            raise InvalidSpecError("a published number must be finite (not NaN or infinity)")
        has_ci = self.ci_low is not None or self.ci_high is not None
        if has_ci and self.protection != "dp":
            raise InvalidSpecError("only a DP cell has an error bar")

    def shown(self) -> str:
        """The cell as the public sees it: the number, or ``x`` when suppressed."""
        return SUPPRESSED_SYMBOL if self.value is None else format_number(self.value)


@dataclass(frozen=True)
class TableMetadata:
    """Who made a table from what, why, and how it is protected."""

    custodians: tuple[str, ...]
    project: str
    purpose: str
    reference_period: str
    protection_method: str
    release_date: str
    approvers: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.custodians or not self.approvers:
            raise InvalidSpecError("a published table names its custodians and approvers")
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", self.release_date):
            raise InvalidSpecError("release_date must be YYYY-MM-DD")


@dataclass(frozen=True)
class PublishedTable:
    """A released table as the portal shows it.

    Attributes:
        id: URL-safe identifier (lower case, digits, hyphens).
        title_ko: Korean title.
        title_en: English title.
        org_id: Publishing organisation code (KOSIS ``ORG_ID``).
        tbl_id: Table code (KOSIS ``TBL_ID``).
        topic: Catalogue topic.
        period: Period code (KOSIS ``PRD_DE``, e.g. ``2021``).
        period_type: KOSIS ``PRD_SE`` (``Y``, ``M``, ``W`` …).
        unit: Unit of the items.
        dimensions: Dimension names (first is si/gun when the table has a map).
        labels: Per dimension, category code → label.
        items: Item code → label.
        cells: The cells.
        metadata: Provenance and protection.
        labels_en: English labels per dimension (optional: empty, or one map per dimension,
            each giving some or all codes; missing ones show the Korean label).
        items_en: English item labels (optional, likewise).
        unit_en: English unit (optional; empty shows the Korean unit).
    """

    id: str
    title_ko: str
    title_en: str
    org_id: str
    tbl_id: str
    topic: str
    period: str
    period_type: str
    unit: str
    dimensions: tuple[str, ...]
    labels: tuple[dict[str, str], ...]
    items: dict[str, str]
    cells: tuple[Cell, ...]
    metadata: TableMetadata
    labels_en: tuple[dict[str, str], ...] = ()
    items_en: dict[str, str] = field(default_factory=dict)
    unit_en: str = ""

    def __post_init__(self) -> None:
        if not _ID.match(self.id):
            raise InvalidSpecError("table id must be lower-case letters, digits and hyphens")
        if len(self.labels) != len(self.dimensions):
            raise InvalidSpecError("one label map per dimension is needed")
        if self.labels_en and len(self.labels_en) != len(self.dimensions):
            raise InvalidSpecError("labels_en, when given, has one map per dimension")
        for cell in self.cells:
            if len(cell.keys) != len(self.dimensions):
                raise InvalidSpecError("every cell has one key per dimension")
            if cell.item not in self.items:
                raise InvalidSpecError("a cell refers to an item the table does not list")
            for key, labels in zip(cell.keys, self.labels, strict=True):
                if key not in labels:
                    raise InvalidSpecError("a cell refers to a category without a label")

    def to_json(self) -> str:
        """The table as JSON text (see :meth:`from_json`)."""
        body: dict[str, Any] = {
            k: getattr(self, k)
            for k in ("id", "title_ko", "title_en", "org_id", "tbl_id", "topic", "period")
        }
        body |= {
            "period_type": self.period_type,
            "unit": self.unit,
            "dimensions": list(self.dimensions),
            "labels": list(self.labels),
            "items": self.items,
            "cells": [
                {
                    "keys": list(c.keys), "item": c.item, "value": c.value,
                    "protection": c.protection, "ci_low": c.ci_low, "ci_high": c.ci_high,
                }
                for c in self.cells
            ],
            "metadata": {
                **vars(self.metadata),
                "custodians": list(self.metadata.custodians),
                "approvers": list(self.metadata.approvers),
            },
        }  # fmt: skip
        if self.labels_en:  # optional fields are written only when given
            body["labels_en"] = list(self.labels_en)
        if self.items_en:
            body["items_en"] = self.items_en
        if self.unit_en:
            body["unit_en"] = self.unit_en
        return json.dumps(body, ensure_ascii=False, indent=1)

    def label(self, dim: int, code: str, lang: str = "ko") -> str:
        """The label of category ``code`` of dimension ``dim`` in ``lang`` (Korean fallback).

        Example:
            >>> meta = TableMetadata(("g",), "p", "s", "2021", "t", "2026-12-01", ("c",))
            >>> t = PublishedTable("t", "제목", "Title", "1", "T", "health", "2021", "Y", "%",
            ...     ("sex",), ({"M": "남", "F": "여"},), {"n": "비율"}, (), meta,
            ...     labels_en=({"M": "Male"},))
            >>> t.label(0, "M"), t.label(0, "M", "en"), t.label(0, "F", "en")
            ('남', 'Male', '여')
        """
        english = self.labels_en[dim].get(code, "") if lang == "en" and self.labels_en else ""
        return english if english.strip() else self.labels[dim][code]

    def item_label(self, item: str, lang: str = "ko") -> str:
        """The label of ``item`` in ``lang`` (Korean fallback)."""
        english = self.items_en.get(item, "") if lang == "en" else ""
        return english if english.strip() else self.items[item]

    def unit_label(self, lang: str = "ko") -> str:
        """The unit in ``lang`` (Korean fallback).

        Example:
            >>> meta = TableMetadata(("g",), "p", "s", "2021", "t", "2026-12-01", ("c",))
            >>> t = PublishedTable("t", "제목", "Title", "1", "T", "health", "2021", "Y", "명",
            ...     (), (), {"n": "수"}, (), meta, unit_en="persons")
            >>> t.unit_label(), t.unit_label("en")
            ('명', 'persons')
        """
        return self.unit_en if lang == "en" and self.unit_en.strip() else self.unit

    def title(self, lang: str = "ko") -> str:
        """The title in ``lang`` (Korean when the English title is blank).

        Example:
            >>> meta = TableMetadata(("g",), "p", "s", "2021", "t", "2026-12-01", ("c",))
            >>> t = PublishedTable("t", "제목", "", "1", "T", "health", "2021", "Y", "명",
            ...     (), (), {"n": "수"}, (), meta)
            >>> t.title(), t.title("en")
            ('제목', '제목')
        """
        return self.title_en if lang == "en" and self.title_en.strip() else self.title_ko

    @classmethod
    def from_json(cls, text: str) -> PublishedTable:
        """Read a table written by :meth:`to_json`.

        Raises:
            InvalidSpecError: Not a valid published table.
        """
        try:
            body = json.loads(text)
            meta = body.pop("metadata")
            cells = tuple(Cell(tuple(c.pop("keys")), **c) for c in body.pop("cells"))
            return cls(
                **{k: v for k, v in body.items() if k not in ("dimensions", "labels", "labels_en")},
                dimensions=tuple(body["dimensions"]),
                labels=tuple(body["labels"]),
                labels_en=tuple(body.get("labels_en", ())),
                cells=cells,
                metadata=TableMetadata(
                    **{k: v for k, v in meta.items() if k not in ("custodians", "approvers")},
                    custodians=tuple(meta["custodians"]),
                    approvers=tuple(meta["approvers"]),
                ),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            raise InvalidSpecError(f"not a valid published table: {type(e).__name__}") from e


def publish(table: PublishedTable, home: Path) -> Path:
    """Write ``table`` to ``<home>/release/public/<id>.json`` atomically.

    The portal's caches key on the folder's contents, so a publish invalidates them.

    Returns:
        The path written.
    """
    return write_text_atomic(table.to_json(), public_dir(home) / f"{table.id}.json")


def load_published(home: Path) -> dict[str, PublishedTable]:
    """Every published table under ``home`` by id (invalid files are refused, not skipped).

    Raises:
        InvalidSpecError: A file in the folder is not a valid published table.
    """
    folder = public_dir(home)
    tables = {}
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        table = PublishedTable.from_json(path.read_text("utf-8"))
        if f"{table.id}.json" != path.name:
            raise InvalidSpecError(f"{path.name}: the file name must be the table id")
        tables[table.id] = table
    return tables
