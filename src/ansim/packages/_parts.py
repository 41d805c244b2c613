"""The part format: a Parquet table whose schema metadata names its dataset, kind and project.

This module alone knows the metadata keys; every other module labels and reads parts through
:func:`label_part`, :func:`part_label`, :func:`inspect_part` and :func:`read_part`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ansim.errors import IntegrityError

__all__ = [
    "ENCODING_METADATA_KEY",
    "Part",
    "PartInfo",
    "PartLabel",
    "inspect_part",
    "label_part",
    "part_extra",
    "part_label",
    "read_part",
]

_KIND = "ansim.part"
_DATASET = "ansim.dataset"
_PROJECT = "ansim.project"
ENCODING_METADATA_KEY = "ansim.encoding"
"""Schema-metadata key under which an identity part carries its encoding spec (JSON)."""


@dataclass(frozen=True)
class PartLabel:
    """What a table's metadata says it is.

    Attributes:
        dataset: The dataset it was prepared from ("" when none is named, e.g. a link map).
        kind: ``identity``, ``content``, ``linkmap``, … ("" when none is named).
        project: The project it was prepared for ("" when none is named).
    """

    dataset: str
    kind: str
    project: str


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


@dataclass(frozen=True)
class PartInfo:
    """A part's label and column names, read from its schema only (no rows).

    Attributes:
        label: Dataset, kind and project.
        columns: Every column of the part.
    """

    label: PartLabel
    columns: tuple[str, ...]


def label_part(
    table: pa.Table,
    *,
    project: str,
    dataset: str = "",
    kind: str | None = None,
    extra: Mapping[str, str] | None = None,
) -> pa.Table:
    """The table with its part label as schema metadata (replacing any metadata it had).

    Args:
        table: The rows.
        project: The project.
        dataset: The dataset ("" for none).
        kind: The kind of part (``None``: no kind named).
        extra: Further metadata (e.g. ``ENCODING_METADATA_KEY``), never a record value.

    Example:
        >>> table = label_part(pa.table({"serial": ["a"]}), project="p", dataset="d",
        ...                    kind="content")
        >>> part_label(table.schema)
        PartLabel(dataset='d', kind='content', project='p')
    """
    meta = {}  # in this order, so that files are byte-identical to earlier versions
    if dataset:
        meta[_DATASET] = dataset
    if kind is not None:
        meta[_KIND] = kind
    meta[_PROJECT] = project
    meta |= dict(extra or {})
    return table.replace_schema_metadata({k.encode(): v.encode() for k, v in meta.items()})


def _metadata(schema: pa.Schema) -> dict[str, str]:
    return {k.decode(): v.decode() for k, v in (schema.metadata or {}).items()}


def part_label(schema: pa.Schema) -> PartLabel:
    """What a schema's metadata says the table is (empty strings where it says nothing).

    Example:
        >>> part_label(pa.schema([("serial", pa.string())]))
        PartLabel(dataset='', kind='', project='')
    """
    meta = _metadata(schema)
    return PartLabel(meta.get(_DATASET, ""), meta.get(_KIND, ""), meta.get(_PROJECT, ""))


def part_extra(schema: pa.Schema, key: str) -> str | None:
    """One further metadata value of a part (see :func:`label_part`'s ``extra``)."""
    return _metadata(schema).get(key)


def _checked(schema: pa.Schema, name: str, kind: str) -> PartLabel:
    label = part_label(schema)
    if label.kind != kind:
        raise IntegrityError(
            f"{name} is not a {kind} part (it says {label.kind or None!r}): "
            "check which file was sent to which party"
        )
    if "serial" not in schema.names:
        raise IntegrityError(f"{name} has no serial column")
    return label


def inspect_part(path: Path, kind: str) -> PartInfo:
    """A part's label and columns, its kind checked, without reading its rows.

    Raises:
        IntegrityError: The file is not a part, or is another kind of part.
    """
    try:
        schema = pq.read_schema(path)
    except (OSError, pa.ArrowInvalid) as e:
        raise IntegrityError(f"cannot read part {path.name}: {e}") from e
    return PartInfo(_checked(schema, path.name, kind), tuple(schema.names))


def read_part(path: Path, kind: str, *, columns: Sequence[str] | None = None) -> Part:
    """Read a part and check that it is the kind of part the reader expects.

    Args:
        path: The part's file.
        kind: ``identity`` (for the linkage unit) or ``content`` (for the hub).
        columns: Only these columns (default: all).

    Returns:
        The part.

    Raises:
        IntegrityError: The file is not a part, or is another kind of part.
    """
    try:
        table = pq.read_table(path, columns=list(columns) if columns is not None else None)
    except (OSError, pa.ArrowInvalid) as e:
        raise IntegrityError(f"cannot read part {path.name}: {e}") from e
    label = _checked(table.schema, path.name, kind)
    return Part(label.dataset, kind, label.project, table)
