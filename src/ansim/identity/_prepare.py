"""The custodian's split: an identity part for the linkage unit, a content part for the hub."""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from ansim._atomic import write_parquet_atomic, write_text_atomic
from ansim.errors import InvalidIdentifierError
from ansim.identity._secret import LinkageSecret
from ansim.identity._standardise import (
    standardise_name,
    standardise_phone,
    standardise_rrn,
    standardise_sex,
)
from ansim.identity._tokens import DEFAULT_RECIPES, TokenRecipe, make_tokens
from ansim.schema import DatasetSpec, IdentifierKind

__all__ = ["PART_METADATA_KEYS", "PreparedParts", "new_serials", "prepare", "standardise_columns"]

PART_METADATA_KEYS = ("ansim.dataset", "ansim.part", "ansim.project")
_SERIAL_BYTES = 16


def _iso(value: object) -> str | None:
    return value.isoformat() if isinstance(value, dt.date) else None


_STANDARDISERS: dict[IdentifierKind, Callable[[str | None], str | None]] = {
    IdentifierKind.KOREAN_NAME: standardise_name,
    IdentifierKind.RRN: standardise_rrn,
    IdentifierKind.PHONE: standardise_phone,
    IdentifierKind.SEX: standardise_sex,
}


@dataclass(frozen=True)
class PreparedParts:
    """Files a custodian's preparation wrote.

    Attributes:
        dataset: Dataset name.
        identity: Identity part (serial + tokens), for the linkage unit.
        content: Content part (serial + attributes), for the hub.
        serial_map: Record id ↔ serial; stays with the custodian.
        report: Preparation report (counts and fill rates, no identifiers).
        records: Records prepared.
    """

    dataset: str
    identity: Path
    content: Path
    serial_map: Path
    report: Path
    records: int


def new_serials(count: int) -> list[str]:
    """Fresh random record serials (128 bits, hex), unique within the call.

    Serials are drawn anew for every project, so they cannot be linked across projects.

    Example:
        >>> serials = new_serials(3)
        >>> len(set(serials)), len(serials[0])
        (3, 32)
    """
    while True:
        raw = secrets.token_bytes(_SERIAL_BYTES * count).hex()
        width = 2 * _SERIAL_BYTES
        serials = [raw[i : i + width] for i in range(0, len(raw), width)]
        if len(set(serials)) == count:
            return serials


def standardise_columns(
    spec: DatasetSpec, records: pa.Table
) -> tuple[dict[IdentifierKind, list[str | None]], Counter[str]]:
    """Standardised identifier values by kind, and how many values of each kind were invalid.

    Args:
        spec: The dataset spec (kinds say which column is which identifier).
        records: Ingested rows.

    Returns:
        Values by kind (``None`` where blank or invalid) and invalid counts by kind.
    """
    values: dict[IdentifierKind, list[str | None]] = {}
    invalid: Counter[str] = Counter()
    birth = spec.find_kind(IdentifierKind.BIRTH_DATE)
    if birth is not None:
        values[IdentifierKind.BIRTH_DATE] = [_iso(v) for v in records[birth.name].to_pylist()]
    for kind, standardise in _STANDARDISERS.items():
        column = spec.find_kind(kind)
        if column is None:
            continue
        out: list[str | None] = []
        for raw in records[column.name].to_pylist():
            try:
                out.append(standardise(None if raw is None else str(raw)))
            except InvalidIdentifierError:
                invalid[kind.value] += 1
                out.append(None)
        values[kind] = out
    return values, invalid


def _with_metadata(table: pa.Table, spec: DatasetSpec, part: str, project: str) -> pa.Table:
    meta = dict(zip(PART_METADATA_KEYS, (spec.dataset, part, project), strict=True))
    return table.replace_schema_metadata({k.encode(): v.encode() for k, v in meta.items()})


def prepare(
    spec: DatasetSpec,
    records: pa.Table,
    secret: LinkageSecret,
    out: Path,
    *,
    project: str,
    recipes: Sequence[TokenRecipe] = DEFAULT_RECIPES,
) -> PreparedParts:
    """Standardise, tokenise and split a custodian's records.

    Writes ``identity/<dataset>.parquet`` (serial and ``token_*`` columns only),
    ``content/<dataset>.parquet`` (serial and every column that is not a direct identifier),
    ``serials/<dataset>.parquet`` (record id and serial: stays here) and
    ``reports/<dataset>.prepare.json`` under ``out``.

    Args:
        spec: The dataset spec.
        records: Ingested rows (see :func:`ansim.ingest.ingest_file`).
        secret: The project's linkage secret.
        out: The custodian's output directory.
        project: Project identifier recorded in the parts' metadata.
        recipes: Which tokens to make; recipes whose identifiers the spec lacks are skipped.

    Returns:
        Where the parts are.
    """
    values, invalid = standardise_columns(spec, records)
    serials = new_serials(records.num_rows)
    usable = [r for r in recipes if all(k in values for k in r.kinds)]
    identity = {"serial": pa.array(serials, pa.string())}
    for recipe in usable:
        identity[recipe.column] = pa.array(make_tokens(recipe, values, secret), pa.binary(32))
    content = {"serial": pa.array(serials, pa.string())}
    content.update({c.name: records[c.name] for c in spec.content_columns})
    serial_map = pa.table({"record_id": records[spec.record_id], "serial": identity["serial"]})
    name = spec.dataset
    parts = PreparedParts(
        dataset=name,
        identity=out / "identity" / f"{name}.parquet",
        content=out / "content" / f"{name}.parquet",
        serial_map=out / "serials" / f"{name}.parquet",
        report=out / "reports" / f"{name}.prepare.json",
        records=records.num_rows,
    )
    write_parquet_atomic(
        _with_metadata(pa.table(identity), spec, "identity", project), parts.identity
    )
    write_parquet_atomic(_with_metadata(pa.table(content), spec, "content", project), parts.content)
    write_parquet_atomic(serial_map, parts.serial_map)
    fill = {
        r.name: round(1 - identity[r.column].null_count / max(records.num_rows, 1), 4)
        for r in usable
    }
    report = {
        "dataset": name,
        "project": project,
        "records": records.num_rows,
        "tokens": [r.name for r in usable],
        "tokens_skipped": [r.name for r in recipes if r not in usable],
        "token_fill_rate": fill,
        "invalid_identifiers": dict(invalid),
        "content_columns": [c.name for c in spec.content_columns],
    }
    write_text_atomic(json.dumps(report, ensure_ascii=False, indent=2), parts.report)
    return parts
