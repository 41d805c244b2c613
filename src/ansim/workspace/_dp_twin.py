"""The DP synthetic dummy twin: MST fitted on each real view inside the hub, paid once per version.

When a project's twin option is ``dp_synthetic`` (:class:`~ansim.governance.TwinOptionRegister`),
the twin of each view is built the way every DP synthetic extract is (``ansim.privacy``'s
:func:`~ansim.privacy.synthesize_dp`):

1. the view's synthesis is planned from its *schema and declared domains* alone: a column with
   declared categories (or a name that implies them: ``sex``, ``*sigungu*``), a bounded number
   (declared ``min``/``max``, or ``age``) or a bounded date (declared ``start``/``end``, or a
   ``*birth*`` column) is modelled; numbers and dates (as day numbers) are cut into at most
   :data:`MAX_BANDS` bands (each integer its own band when there are few); a real value outside
   categories only *implied* by a column's name (or a missing one there, or in a truth value)
   is modelled as :data:`OTHER_LABEL`, so no person's row is dropped for a guessed domain
   (outside a declared domain, or a missing number, drops the row, as in every extract);
2. the stated ρ is charged to the project's privacy budget ledger, *before* the rows are read
   (an exhausted budget raises :class:`~ansim.errors.BudgetExhaustedError` and nothing is read);
3. the rows are bounded to one per person (the privacy unit is the project's person, as in every
   DP release), MST measures them through OpenDP and mbi fits and samples the model.

The result is cached in the workspace (``twin/<view>-<key>.parquet`` and ``.json``), keyed by
the view's content (in a canonical row order) and the synthesis (columns, domains, ρ, seed):
one spend per view version, reused by every later session, never refitted per query. A new
version of a view (or a new ρ) is a new synthesis and a new spend. If a session fails between
the spend and the cache write, the next one pays again: a twin is never refitted without paying.

Everything MST does not model is post-processing or public: banded values are drawn uniformly
within their synthetic band; columns MST cannot model (free text without declared values, other
identifiers, unbounded numbers and dates) keep the domain twin's generators, which read no data;
person ids are drawn from the twin's own id space (``dummy-…`` or negative integers), one row per
dummy person per view from one pool shared by the views, so joins on ``person_id`` still meet
(the relations *between* views are not modelled). A view without ``person_id`` (no privacy unit
to bound), or with fewer than two modelled columns, gets the domain twin and spends nothing.

The utility report of each view's twin (average and worst total variation distance of every 1-,
2- and 3-way marginal against the real rows the synthesis used) is computed at the hub, is not
DP, and is shown only to the project's members inside the hub (:func:`twin_reports`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import fcntl
import functools
import hashlib
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ibis
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ansim._atomic import write_parquet_atomic, write_text_atomic
from ansim.engine import Engine
from ansim.governance import Governance, TwinKind, TwinOption
from ansim.privacy import SynthColumn, SynthesisSpec, synthesize_dp
from ansim.workspace._twin import (
    DUMMY_LABEL,
    ColumnDomain,
    _generated,
    _person_ids,
    _seed,
    dummy_twin,
    named_default,
)

__all__ = [
    "MAX_BANDS",
    "OTHER_LABEL",
    "TWIN_FOLDER",
    "TwinBuild",
    "content_version",
    "dp_twin",
    "twin_label",
    "twin_reports",
]

TWIN_FOLDER = "twin"
"""The workspace folder holding the cached DP synthetic twins and their reports."""

MAX_BANDS = 10
"""The most bands a bounded number is cut into for MST."""

OTHER_LABEL = "DUMMY-other"
"""A modelled category's label for real values outside its declared ones (and missing ones)."""

_PERSON = "person_id"
_EPOCH = dt.date(1970, 1, 1)
_EXACT_INTEGERS = 20  # an integer domain of at most this many values keeps each value as a band
_MAX_VALUES = 1000  # the most categories MST takes per column (ansim.privacy's limit)


@dataclass(frozen=True)
class TwinBuild:
    """The twin of a project's views.

    Attributes:
        tables: View name → twin rows, with exactly the view's schema.
        reports: View name → what its twin is (kind, ρ and ε, the spend, the columns modelled
            and generated, the utility report).
    """

    tables: dict[str, pa.Table]
    reports: dict[str, dict[str, Any]]


@dataclass(frozen=True)
class _Modelled:
    """A view column MST models: its synthesis column and how to decode it."""

    synth: SynthColumn
    high: float | None = None  # the top of the last band (banded columns)
    integer: bool = False
    days: bool = False  # a date, banded as days since 1970-01-01


def content_version(table: pa.Table) -> str:
    """A view's version for its twin: the SHA-256 of its rows *in a canonical order*.

    The engine may return a table's rows in any order (parallel scans), and the same content
    must be the same version, or every session would pay for a new twin.

    Example:
        >>> a = pa.table({"x": [2, 1, None], "y": ["b", "a", "c"]})
        >>> content_version(a) == content_version(a.take([2, 0, 1]))
        True
        >>> content_version(a) == content_version(a.slice(1))
        False
        >>> content_version(a) == content_version(pa.concat_tables([a.slice(0, 1), a.slice(1)]))
        True
    """
    try:
        canonical = table.sort_by([(name, "ascending") for name in table.column_names])
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid, pa.ArrowTypeError):
        order = sorted(range(table.num_rows), key=lambda i: repr(table.slice(i, 1).to_pylist()))
        canonical = table.take(pa.array(order, pa.int64()))
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, canonical.schema) as writer:
        writer.write_table(canonical.combine_chunks())  # the bytes, not the chunking
    return hashlib.sha256(sink.getvalue().to_pybytes()).hexdigest()


def twin_label(option: TwinOption) -> str:
    """The label of every answer from the twin (English and Korean).

    Example:
        >>> from ansim.governance import TwinKind, TwinOption
        >>> twin_label(TwinOption(TwinKind.DP_SYNTHETIC, 0.05, 1e-6))[:44]
        'DUMMY DATA (DP synthetic, epsilon 1.71 per v'
    """
    if option.kind is not TwinKind.DP_SYNTHETIC or option.epsilon is None:
        return DUMMY_LABEL
    eps = f"{option.epsilon:.3g}"
    return (
        f"DUMMY DATA (DP synthetic, epsilon {eps} per view, delta {option.conversion_delta:g}): "
        f"not real records / 더미 데이터 (차분 프라이버시 합성 자료, ε {eps}): 실제 자료가 아닙니다"
    )


def _value_type(kind: pa.DataType) -> pa.DataType:
    return kind.value_type if pa.types.is_dictionary(kind) else kind


def _edges(low: float, high: float, integer: bool) -> tuple[float, ...]:
    """Band edges over ``[low, high]``: each integer when few, else :data:`MAX_BANDS` bands."""
    if integer:
        low, high = float(np.ceil(low)), float(np.floor(high))
        if high - low + 1 <= _EXACT_INTEGERS:
            return tuple(float(v) for v in range(int(low), int(high) + 1))
        raw = np.floor(np.linspace(low, high + 1, MAX_BANDS + 1)[:-1])
        return tuple(float(v) for v in sorted(set(raw.tolist())))
    if high <= low:
        return (low,)
    return tuple(float(v) for v in np.linspace(low, high, MAX_BANDS + 1)[:-1])


def _modelled(  # noqa: PLR0911 - one rule a kind of column
    field: pa.Field, declared: ColumnDomain | None
) -> _Modelled | None:
    """How MST models a column, or ``None`` (free text, ids, unbounded numbers and dates)."""
    kind = _value_type(field.type)
    domain = declared or named_default(field.name)
    if pa.types.is_boolean(kind):
        return _Modelled(SynthColumn(field.name, ("true", "false"), other=OTHER_LABEL))
    if domain is None:
        return None
    text = pa.types.is_string(kind) or pa.types.is_large_string(kind)
    integer = pa.types.is_integer(kind)
    if domain.values is not None and (text or integer):
        if len(domain.values) > _MAX_VALUES or len(set(domain.values)) != len(domain.values):
            return None
        # a declared domain is what ingest validated the rows against; one implied by a name
        # is a guess, so values outside it are kept (as "other") instead of dropping the row
        guessed = declared is None and OTHER_LABEL not in domain.values
        other = OTHER_LABEL if guessed else None
        return _Modelled(SynthColumn(field.name, tuple(domain.values), other=other))
    numeric = integer or pa.types.is_floating(kind)
    if numeric and domain.low is not None and domain.high is not None:
        low = max(domain.low, 0.0) if pa.types.is_unsigned_integer(kind) else domain.low
        if low > domain.high:
            return None
        edges = _edges(low, domain.high, integer)
        return _Modelled(SynthColumn(field.name, edges=edges), domain.high, integer)
    dated = pa.types.is_date(kind) or pa.types.is_timestamp(kind)
    if dated and domain.start is not None and domain.end is not None:
        first, last = (domain.start - _EPOCH).days, (domain.end - _EPOCH).days
        edges = _edges(first, last, integer=True)
        return _Modelled(SynthColumn(field.name, edges=edges), last, integer=True, days=True)
    return None


def _plan(
    view: str,
    schema: pa.Schema,
    domains: Mapping[str, ColumnDomain],
    *,
    option: TwinOption,
    seed: int,
    version: str,
) -> tuple[SynthesisSpec, dict[str, _Modelled], str] | str:
    """The view's synthesis, its modelled columns and cache key; or why it has none."""
    if _PERSON not in schema.names:
        return f"the view has no {_PERSON} (no privacy unit to bound): domain twin"
    modelled = {
        f.name: m
        for f in schema
        if f.name != _PERSON and (m := _modelled(f, domains.get(f.name))) is not None
    }
    if len(modelled) < 2:  # noqa: PLR2004 - MST's tree needs two columns
        return "fewer than two columns with a declared domain MST can model: domain twin"
    if option.rho is None:
        return "the project's twin option states no rho: domain twin"
    described = {
        "view": view, "version": version, "rho": option.rho, "delta": option.conversion_delta,
        "seed": seed,
        "columns": {
            n: [list(m.synth.labels), m.high, m.integer, m.days] for n, m in modelled.items()
        },
    }  # fmt: skip
    key = hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()[:16]
    spec = SynthesisSpec(
        f"twin-{view}-{key}", tuple(m.synth for m in modelled.values()), rho=option.rho,
        person=_PERSON, seed=seed, conversion_delta=option.conversion_delta or 1e-6,
    )  # fmt: skip
    return spec, modelled, key


def _paths(home: Path, view: str, key: str) -> tuple[Path, Path]:
    folder = home / TWIN_FOLDER
    return folder / f"{view}-{key}.parquet", folder / f"{view}-{key}.json"


def _cached(home: Path, view: str, key: str) -> tuple[pa.Table, dict[str, Any]] | None:
    rows, report = _paths(home, view, key)
    if not (rows.is_file() and report.is_file()):
        return None
    return pq.read_table(rows), json.loads(report.read_text(encoding="utf-8"))


@contextlib.contextmanager
def _locked(home: Path) -> Iterator[None]:
    """One session at a time builds a project's twins (so two never pay for the same one)."""
    folder = home / TWIN_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / ".lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _fit(
    governance: Governance,
    actor: str,
    project: str,
    spec: SynthesisSpec,
    source: Callable[[], pa.Table],
    *,
    days: Sequence[str],
    iterations: int | None,
) -> tuple[pa.Table, dict[str, Any]]:
    """Pay (the ledger refuses before ``source`` is called), read, measure, fit, sample."""

    def rows() -> ibis.Table:
        table = source()
        for name in days:  # a banded date is measured as its day number
            column = table.column(name)
            if pa.types.is_dictionary(column.type):
                column = column.cast(column.type.value_type)
            numbers = column.cast(pa.date32()).cast(pa.int32())
            table = table.set_column(table.schema.get_field_index(name), name, numbers)
        return ibis.memtable(table)

    if iterations is not None:
        spec = dataclasses.replace(spec, iterations=iterations)
    with Engine() as engine:
        release = synthesize_dp(
            governance, actor, project, spec, engine=engine,
            table=rows,
        )  # fmt: skip
    meta, receipt = release.metadata, release.receipt
    report = {
        "twin": TwinKind.DP_SYNTHETIC.value, "method": meta["method"], "rho": meta["rho"],
        "epsilon": meta["epsilon"], "delta": meta["delta"], "privacy_unit": meta["privacy_unit"],
        "spend": receipt.get("spend"), "audit_seq": receipt.get("audit_seq"),
        "rows": release.table.num_rows, "modelled": [c.name for c in spec.columns],
        "utility": release.utility,
    }  # fmt: skip
    return release.table, report


def _decode(field: pa.Field, m: _Modelled, labels: pa.Array, rng: np.random.Generator) -> pa.Array:
    """The view's values of a modelled column (a banded number is drawn within its band)."""
    kind = _value_type(field.type)
    if m.synth.banded:
        index = {label: i for i, label in enumerate(m.synth.labels)}
        codes = np.asarray([index[v] for v in labels.to_pylist()], dtype=np.int64)
        edges = np.asarray(m.synth.edges, dtype=np.float64)
        top = float(m.high if m.high is not None else edges[-1])
        if m.integer:
            tops = np.append(edges[1:], top + 1)[codes]
            values = pa.array(rng.integers(edges[codes].astype(np.int64), tops.astype(np.int64)))
        else:
            tops = np.append(edges[1:], top)[codes]
            values = pa.array(np.round(rng.uniform(edges[codes], tops), 2))
        out = values.cast(pa.int32()).cast(pa.date32()).cast(kind) if m.days else values.cast(kind)
    else:
        other = pc.equal(labels, OTHER_LABEL)
        if pa.types.is_string(kind) or pa.types.is_large_string(kind):
            out = labels.cast(kind)
        else:  # a number or truth value has no "other": it is missing in the twin
            out = pc.if_else(other, pa.scalar(None, pa.string()), labels).cast(kind)
    return out.dictionary_encode() if pa.types.is_dictionary(field.type) else out


def _assemble(
    view: str,
    schema: pa.Schema,
    synthetic: pa.Table,
    modelled: Mapping[str, _Modelled],
    *,
    domains: Mapping[str, ColumnDomain],
    seed: int,
    pool: int,
) -> pa.Table:
    rows = synthetic.num_rows
    numbers = np.sort(_seed(seed, view, _PERSON).choice(pool, size=rows, replace=False))
    arrays = []
    for field in schema:
        if field.name == _PERSON:
            arrays.append(_person_ids(field.type, numbers))
        elif field.name in modelled:
            rng = _seed(seed, view, field.name)
            column = synthetic.column(field.name).combine_chunks()
            arrays.append(_decode(field, modelled[field.name], column, rng))
        else:
            arrays.append(_generated(view, field, domains.get(field.name), seed, rows))
    return pa.Table.from_arrays(arrays, schema=schema)


def dp_twin(  # noqa: PLR0917 - a governed build: who pays, for what, from where
    governance: Governance,
    actor: str,
    project: str,
    schemas: Mapping[str, pa.Schema],
    versions: Mapping[str, str],
    source: Callable[[str], pa.Table],
    *,
    option: TwinOption,
    home: Path,
    domains: Mapping[str, Mapping[str, ColumnDomain]] | None = None,
    seed: int = 0,
    iterations: int | None = None,
) -> TwinBuild:
    """The DP synthetic twin of each view: cached, else paid for from the ledger and fitted.

    Args:
        governance: The governance service (holds the project's budget ledger).
        actor: The analyst whose session builds it (the ledger checks role and approvals).
        project: The project.
        schemas: View name → its schema.
        versions: View name → its version (:func:`content_version`).
        source: Reads a view's real rows (called only after its twin is paid for).
        option: The project's twin option (``dp_synthetic``, with ρ per view).
        home: The project's workspace directory (the cache).
        domains: View → column → declared domain.
        seed: Seed of the sampling and of the generated columns (never of the noise).
        iterations: mbi's estimation iterations (``None``: MST's default).

    Returns:
        The twin of every view and what each is.

    Raises:
        BudgetExhaustedError: The project's budget cannot pay for a view's twin (that view's
            rows are never read).
        AccessDenied: The actor may not spend the project's budget.
    """
    declared = domains or {}
    built: dict[str, tuple[pa.Table, dict[str, Any], dict[str, _Modelled]]] = {}
    fallback: dict[str, str] = {}
    planned = {
        view: _plan(
            view, schema, declared.get(view, {}), option=option, seed=seed, version=versions[view]
        )
        for view, schema in schemas.items()
    }
    with _locked(home):
        for view, plan in planned.items():
            if isinstance(plan, str):
                fallback[view] = plan
                continue
            spec, modelled, key = plan
            found = _cached(home, view, key)
            if found is None:
                rows = functools.partial(source, view)
                table, report = _fit(
                    governance, actor, project, spec, rows,
                    days=[n for n, m in modelled.items() if m.days], iterations=iterations,
                )  # fmt: skip
                report = {**report, "view": view, "key": key,
                          "generated": [n for n in schemas[view].names
                                        if n not in modelled and n != _PERSON]}  # fmt: skip
                rows_path, report_path = _paths(home, view, key)
                write_parquet_atomic(table, rows_path)
                write_text_atomic(json.dumps(report, indent=2, ensure_ascii=False), report_path)
                found = (table, report)
            built[view] = (*found, modelled)
    pool = max([t.num_rows for t, _, _ in built.values()] + [800]) * 5 // 4 + 1
    tables = {
        view: _assemble(
            view, schemas[view], t, modelled, domains=declared.get(view, {}), seed=seed, pool=pool
        )
        for view, (t, _, modelled) in built.items()
    }
    if fallback:
        tables |= dummy_twin({v: schemas[v] for v in fallback}, declared, persons=pool, seed=seed)
    reports = {view: r for view, (_, r, _) in built.items()}
    for view, why in fallback.items():
        reports[view] = {"view": view, "twin": TwinKind.DOMAINS.value, "reason": why}
    return TwinBuild({v: tables[v] for v in schemas}, {v: reports[v] for v in schemas})


def twin_reports(
    schemas: Mapping[str, pa.Schema],
    versions: Mapping[str, str],
    *,
    option: TwinOption,
    home: Path,
    domains: Mapping[str, Mapping[str, ColumnDomain]] | None = None,
    seed: int = 0,
) -> dict[str, dict[str, Any]]:
    """What each view's twin is, from the cache alone (nothing is fitted, nothing spent).

    Returns:
        View name → its report: the kind, ρ and ε, the spend, the columns modelled and
        generated and the utility (``tvd_1way``/``2way``/``3way``: average and worst), or
        ``built: false`` when no session has built the twin of this version yet.
    """
    declared = domains or {}
    reports: dict[str, dict[str, Any]] = {}
    for view, schema in schemas.items():
        if option.kind is not TwinKind.DP_SYNTHETIC:
            reports[view] = {"view": view, "twin": TwinKind.DOMAINS.value}
            continue
        plan = _plan(
            view, schema, declared.get(view, {}), option=option, seed=seed, version=versions[view]
        )
        if isinstance(plan, str):
            reports[view] = {"view": view, "twin": TwinKind.DOMAINS.value, "reason": plan}
            continue
        found = _cached(home, view, plan[2])
        reports[view] = (
            {**found[1], "built": True}
            if found is not None
            else {
                "view": view,
                "twin": TwinKind.DP_SYNTHETIC.value,
                "built": False,
                "rho": option.rho,
                "epsilon": option.epsilon,
            }
        )
    return reports
