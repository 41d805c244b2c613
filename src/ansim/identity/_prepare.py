"""The custodian's split: an identity part for the linkage unit, a content part for the hub."""

from __future__ import annotations

import json
import math
import secrets
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from ansim._atomic import atomic_file_set, write_parquet_atomic, write_text_atomic
from ansim.identity._bloom import FieldFill, encode_bloom_detailed
from ansim.identity._checks import check_identifiers
from ansim.identity._columns import standardise_array
from ansim.identity._content_scan import scan_content
from ansim.identity._encoding import DEFAULT_ENCODING_SPEC, EncodingSpec
from ansim.identity._quality import usable_rrn
from ansim.identity._secret import LinkageSecret
from ansim.identity._tokens import DEFAULT_RECIPES, TokenRecipe, make_tokens
from ansim.packages import ENCODING_METADATA_KEY, label_part
from ansim.schema import DatasetSpec, IdentifierKind

__all__ = [
    "DEFAULT_CHUNK_ROWS",
    "ENCODING_METADATA_KEY",
    "PreparedParts",
    "new_serials",
    "prepare",
    "standardise_columns",
]

DEFAULT_CHUNK_ROWS = 250_000
"""Records prepared at a time: bounds memory and paces the progress bar."""
_SERIAL_BYTES = 16
_STANDARDISED_KINDS = (
    IdentifierKind.KOREAN_NAME,
    IdentifierKind.RRN,
    IdentifierKind.PHONE,
    IdentifierKind.SEX,
    IdentifierKind.ADDRESS,
)


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
    spec: DatasetSpec, records: pa.Table, *, kinds: Collection[IdentifierKind] | None = None
) -> tuple[dict[IdentifierKind, pa.Array], Counter[str]]:
    """Standardised identifier values by kind, and how many values of each kind were invalid.

    Args:
        spec: The dataset spec (kinds say which column is which identifier).
        records: Ingested rows.
        kinds: Only these identifier kinds (default: every kind the spec declares).

    Returns:
        Values by kind as Arrow string arrays (null where blank or invalid; birth dates as
        ``YYYY-MM-DD``) and invalid counts by kind.
    """
    values: dict[IdentifierKind, pa.Array] = {}
    invalid: Counter[str] = Counter()
    wanted = set(kinds) if kinds is not None else {*_STANDARDISED_KINDS, IdentifierKind.BIRTH_DATE}
    birth = spec.find_kind(IdentifierKind.BIRTH_DATE)
    if birth is not None and IdentifierKind.BIRTH_DATE in wanted:
        values[IdentifierKind.BIRTH_DATE] = pc.cast(
            records[birth.name], pa.string()
        ).combine_chunks()
    for kind in _STANDARDISED_KINDS:
        column = spec.find_kind(kind)
        if column is None or kind not in wanted:
            continue
        result = standardise_array(kind, records[column.name].combine_chunks())
        values[kind] = result.values
        if result.invalid:
            invalid[kind.value] += result.invalid
    return values, invalid


def _with_metadata(
    table: pa.Table, spec: DatasetSpec, part: str, project: str, extra: dict[str, str] | None = None
) -> pa.Table:
    return label_part(table, project=project, dataset=spec.dataset, kind=part, extra=extra)


def _present_kinds(spec: DatasetSpec) -> set[IdentifierKind]:
    kinds = (*_STANDARDISED_KINDS, IdentifierKind.BIRTH_DATE)
    return {k for k in kinds if spec.find_kind(k) is not None}


@dataclass
class _Accumulated:
    """Identity columns and report counts, gathered chunk by chunk."""

    columns: dict[str, list[pa.Array]] = field(default_factory=dict)
    invalid: Counter[str] = field(default_factory=Counter)
    fills: dict[str, list[FieldFill]] = field(default_factory=dict)
    checks: dict[str, Counter[str]] = field(default_factory=dict)

    def add(self, name: str, column: pa.Array) -> None:
        self.columns.setdefault(name, []).append(column)


def _prepare_chunk(
    spec: DatasetSpec,
    chunk: pa.Table,
    secret: LinkageSecret,
    plan: tuple[Sequence[TokenRecipe], EncodingSpec | None],
    into: _Accumulated,
) -> None:
    recipes, encoding = plan
    values, invalid = standardise_columns(spec, chunk)
    into.invalid.update(invalid)
    # A number failing its date or check-digit test makes no exact RRN token (it may still
    # feed the fuzzy Bloom-filter encodings below); quality.csv says which rows.
    exact = dict(values)
    if IdentifierKind.RRN in exact:
        exact[IdentifierKind.RRN] = usable_rrn(exact[IdentifierKind.RRN])
    for recipe in recipes:
        into.add(recipe.column, make_tokens(recipe, exact, secret))
    if encoding is not None:
        bloom = encode_bloom_detailed(encoding, values, secret)
        for name, column in bloom.columns.items():
            into.add(name, column)
            into.fills.setdefault(name, []).append(bloom.fill[name])
    for kind, counts in check_identifiers(spec, chunk, values).items():
        into.checks.setdefault(kind, Counter()).update(counts)


def _merged_fill(fills: list[FieldFill], bits: int) -> dict[str, object]:
    """One report entry from the fill statistics of several chunks (weighted by records)."""
    encoded = sum(f.encoded for f in fills)

    def mean(values: list[float]) -> float:
        return sum(v * f.encoded for v, f in zip(values, fills, strict=True)) / max(encoded, 1)

    grams = mean([f.mean_qgrams for f in fills])
    return {
        "bits": fills[0].bits,
        "encoded": encoded,
        "mean_qgrams": round(grams, 2),
        "fill": round(mean([f.fill for f in fills]), 4),
        "stored_fill": round(mean([f.stored_fill for f in fills]), 4),
        "suggested_hashes": max(1, round(bits * math.log(2) / grams)) if grams and bits else 0,
    }


def prepare(
    spec: DatasetSpec,
    records: pa.Table,
    secret: LinkageSecret,
    out: Path,
    *,
    project: str,
    recipes: Sequence[TokenRecipe] = DEFAULT_RECIPES,
    encoding: EncodingSpec | None = DEFAULT_ENCODING_SPEC,
    progress: Callable[[int, int], None] | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    serial_source: Callable[[int], list[str]] | None = None,
) -> PreparedParts:
    """Standardise, tokenise, encode and split a custodian's records.

    Writes ``identity/<dataset>.parquet`` (``serial``, ``token_<recipe>`` as ``binary(32)``,
    ``bf_<field>`` per field-level Bloom filter and ``clk``, each fixed-size binary and null
    where the field is blank; the encoding spec as JSON in the schema metadata under
    ``ansim.encoding``), ``content/<dataset>.parquet`` (serial and every column that is not a
    direct identifier), ``serials/<dataset>.parquet`` (record id and serial: stays here) and
    ``reports/<dataset>.prepare.json`` (counts, invalid identifiers by kind, cross-checks,
    fill rates; no identifier) under ``out``.

    Args:
        spec: The dataset spec.
        records: Ingested rows (see :func:`ansim.ingest.ingest_file`).
        secret: The project's linkage secret (tokens and Bloom filters use keys derived from it).
        out: The custodian's output directory.
        project: Project identifier recorded in the parts' metadata.
        recipes: Which tokens to make; recipes whose identifiers the spec lacks are skipped.
        encoding: The project's Bloom-filter encoding spec (default: the hardened
            ``DEFAULT_ENCODING_SPEC``; ``None``: tokens only); fields the dataset lacks are
            skipped.
        progress: Called with (records done, records in all) after each chunk.
        chunk_rows: Records standardised and encoded at a time (bounds memory).
        serial_source: Makes ``count`` serials (default: :func:`new_serials`, random; a
            seeded trial run passes derived ones so its output is reproducible).

    Returns:
        Where the parts are.

    The four files are one set (:func:`ansim._atomic.atomic_file_set`): a crash leaves the
    previous run's four or this run's four, never a mix of serials.

    Raises:
        IdentifierInContentError: A content column holds an RRN-, phone- or name-shaped value
            (see :func:`ansim.identity.scan_content`); nothing is written then.
    """
    scan_content(spec, records)
    kinds = _present_kinds(spec)
    usable = [r for r in recipes if all(k in kinds for k in r.kinds)]
    used = None if encoding is None else encoding.for_kinds(kinds)
    acc = _Accumulated()
    total = records.num_rows
    for start in range(0, max(total, 1), chunk_rows):
        chunk = records.slice(start, chunk_rows)
        _prepare_chunk(spec, chunk, secret, (usable, used), acc)
        if progress is not None:
            progress(min(total, start + chunk_rows), total)
    serials = pa.array((serial_source or new_serials)(total), pa.string())
    identity: dict[str, pa.Array | pa.ChunkedArray] = {"serial": serials}
    identity |= {name: pa.chunked_array(parts) for name, parts in acc.columns.items()}
    content = {"serial": serials} | {c.name: records[c.name] for c in spec.content_columns}
    return _write_parts(
        spec, out, project, (recipes, usable, used), acc, identity, content,
        records[spec.record_id], total,
    )  # fmt: skip


def _write_parts(  # noqa: PLR0917 - the pieces of one preparation
    spec: DatasetSpec,
    out: Path,
    project: str,
    plan: tuple[Sequence[TokenRecipe], list[TokenRecipe], EncodingSpec | None],
    acc: _Accumulated,
    identity: dict[str, pa.Array | pa.ChunkedArray],
    content: dict[str, pa.Array | pa.ChunkedArray],
    record_ids: pa.Array | pa.ChunkedArray,
    total: int,
) -> PreparedParts:
    """The four files of a preparation, written as one atomic set (they share the serials)."""
    recipes, usable, used = plan
    name = spec.dataset
    parts = PreparedParts(
        dataset=name,
        identity=out / "identity" / f"{name}.parquet",
        content=out / "content" / f"{name}.parquet",
        serial_map=out / "serials" / f"{name}.parquet",
        report=out / "reports" / f"{name}.prepare.json",
        records=total,
    )
    extra = {} if used is None else {ENCODING_METADATA_KEY: used.to_json()}
    identity_table = _with_metadata(pa.table(identity), spec, "identity", project, extra)
    report = {"dataset": name, "project": project, "records": total}
    report |= _report(spec, recipes, usable, used, acc, identity, total)
    with atomic_file_set(out, name) as staging:
        write_parquet_atomic(identity_table, staging / parts.identity.relative_to(out))
        write_parquet_atomic(
            _with_metadata(pa.table(content), spec, "content", project),
            staging / parts.content.relative_to(out),
        )
        write_parquet_atomic(
            pa.table({"record_id": record_ids, "serial": identity["serial"]}),
            staging / parts.serial_map.relative_to(out),
        )
        text = json.dumps(report, ensure_ascii=False, indent=2)
        write_text_atomic(text, staging / parts.report.relative_to(out))
    return parts


def _report(  # noqa: PLR0917  (the pieces of one preparation)
    spec: DatasetSpec,
    recipes: Sequence[TokenRecipe],
    usable: list[TokenRecipe],
    used: EncodingSpec | None,
    acc: _Accumulated,
    identity: dict[str, pa.Array | pa.ChunkedArray],
    total: int,
) -> dict[str, object]:
    """The preparation report's counts and rates (no identifier, no token, no filter)."""
    return {
        "tokens": [r.name for r in usable],
        "tokens_skipped": [r.name for r in recipes if r not in usable],
        "token_fill_rate": {
            r.name: round(1 - identity[r.column].null_count / max(total, 1), 4) for r in usable
        },
        "encoding": None if used is None else {"name": used.name, "version": used.version},
        "bloom_filters": {
            c: _merged_fill(f, used.clk_bits if c == "clk" else used.field(c[3:]).bits)
            for c, f in acc.fills.items()
            if used is not None
        },
        "invalid_identifiers": dict(acc.invalid),
        "identifier_checks": {k: dict(v) for k, v in acc.checks.items()},
        "content_columns": [c.name for c in spec.content_columns],
    }
