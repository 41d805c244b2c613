"""DP synthetic microdata: price the synthesis, pay for it, only then read the data.

The order is the release path's (``ansim.privacy._release``):

1. ``plan_synthesis``: every measurement calibrated from the spec alone;
2. the budget is charged the plan's ρ (the project's persistent ledger, or a one-off budget
   for a plain file): an exhausted budget raises :class:`~ansim.errors.BudgetExhaustedError`
   here, before any data is opened;
3. the rows are opened, bounded to one per person and encoded into the declared domains in
   the engine; MST measures them through OpenDP and mbi fits and samples a model.

Output: ``synthetic.parquet`` (and ``<name>.csv``), ``synthesis.json`` (method, ρ, (ε, δ),
privacy unit, domain, the marginals measured, seed, the spend) and ``utility.json`` (the
aggregate TVD of 1-, 2- and 3-way marginals against the real rows, computed at the hub and
not DP; see ``ansim.privacy._synth_utility``).
"""

from __future__ import annotations

import dataclasses
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ibis
import numpy as np
import pyarrow as pa
from ibis.expr.types import Table, Value

from ansim._atomic import write_bytes_atomic, write_parquet_atomic, write_text_atomic
from ansim._safecsv import write_table_csv
from ansim.engine import Engine
from ansim.errors import InvalidSpecError
from ansim.governance import Governance, PrivacyLedger
from ansim.privacy._bounding import bound_contributions
from ansim.privacy._release import LedgerBudget, OneOffBudget, PrivacyBudget, _open_file
from ansim.privacy._synth_aim import fit_aim, round_iterations, sample_aim
from ansim.privacy._synth_mst import IntArray, fit_mst, sample_records
from ansim.privacy._synth_plan import AIMPlan, SynthesisPlan, plan_synthesis
from ansim.privacy._synth_spec import SynthColumn, SynthesisSpec
from ansim.privacy._synth_utility import utility_report

if TYPE_CHECKING:
    from ansim.release import Candidate

__all__ = [
    "SyntheticRelease",
    "encode_rows",
    "run_synthesis",
    "synthesize_dp",
    "synthesize_file",
    "synthetic_candidate",
    "write_synthetic",
]


@dataclass(frozen=True)
class SyntheticRelease:
    """A paid-for DP synthetic extract.

    Attributes:
        plan: The plan that was paid for.
        receipt: What the budget recorded.
        table: The synthetic records (one string column per declared column).
        metadata: ``synthesis.json``.
        utility: ``utility.json`` (aggregate, computed at the hub, not DP).
    """

    plan: SynthesisPlan | AIMPlan
    receipt: dict[str, Any]
    table: pa.Table
    metadata: dict[str, Any]
    utility: dict[str, Any]


def encode_rows(table: Table, spec: SynthesisSpec) -> Table:
    """One row per person, each declared column as its code in the declared domain (Ibis).

    Categorical values outside the declared ones go to the column's ``other`` label, or the
    row is dropped; numbers are clipped into the first and last band; a missing value (or
    text that is not a number, in a banded column) drops the row.

    Example:
        >>> from ansim.privacy._synth_spec import SynthColumn
        >>> spec = SynthesisSpec("s", (SynthColumn("sex", ("M", "F")),
        ...                            SynthColumn("age", edges=(0, 20, 60))), rho=1, person=None)
        >>> t = ibis.memtable({"sex": ["F", "M", "X", "F"], "age": [-5, 30, 40, 99]})
        >>> with Engine() as e:
        ...     e.to_pyarrow(encode_rows(t, spec)).to_pydict()
        {'sex': [1, 0, 1], 'age': [0, 1, 2]}
    """
    missing = [c.name for c in spec.columns if c.name not in table.columns]
    if missing:
        raise InvalidSpecError(f"synthesis {spec.name!r}: the data has no columns {missing}")
    bounded = bound_contributions(table, spec.person, [], max_groups=1, max_rows=1)
    coded = bounded.select(**{c.name: _code(bounded[c.name], c) for c in spec.columns})
    return coded.filter(*[coded[c.name].notnull() for c in spec.columns])


def _code(column: Value, c: SynthColumn) -> Value:
    if c.banded:
        x = column.try_cast("float64")  # not a number: missing
        branches = [(x >= edge, i) for i, edge in reversed(list(enumerate(c.edges)))]
        return ibis.cases((x.isnull(), ibis.null("int64")), *branches, else_=0).cast("int64")
    text = column.cast("string")
    other = None if c.other is None else c.labels.index(c.other)
    branches = [(text == v, i) for i, v in enumerate(c.values)]
    fallback = ibis.null("int64") if other is None else ibis.literal(other, "int64")
    return ibis.cases((text.isnull(), fallback), *branches, else_=fallback).cast("int64")


def _read_codes(engine: Engine, table: Table, spec: SynthesisSpec) -> dict[str, IntArray]:
    rows = engine.to_pyarrow(encode_rows(table, spec))
    return {c.name: np.asarray(rows[c.name].to_numpy(), dtype=np.int64) for c in spec.columns}


def run_synthesis(
    spec: SynthesisSpec,
    budget: PrivacyBudget,
    engine: Engine,
    source: Callable[[], Table],
) -> SyntheticRelease:
    """Plan, pay, then read ``source()``, measure, fit and sample.

    Args:
        spec: The synthesis.
        budget: Where it is paid from.
        engine: The engine that bounds and encodes the rows.
        source: Opens the rows (called only after the budget has paid).

    Returns:
        The synthetic release.

    Raises:
        BudgetExhaustedError: The budget cannot pay (``source`` is never called).
    """
    plan = plan_synthesis(spec)
    receipt = budget.pay(plan)
    real = _read_codes(engine, source(), spec)
    if isinstance(plan, AIMPlan):
        synthetic, facts = _run_aim(real, plan)
    else:
        synthetic, facts = _run_mst(real, plan)
    table = pa.table({
        c.name: pa.array(np.asarray(c.labels, dtype=object)[synthetic[c.name]], pa.string())
        for c in spec.columns
    })  # fmt: skip
    metadata = {
        **plan.describe(),
        "domain": {c.name: list(c.labels) for c in spec.columns},
        **facts,
        "rows": table.num_rows,
        "seed": spec.seed,
        "budget": receipt,
    }
    return SyntheticRelease(
        plan, receipt, table, metadata, utility_report(real, synthetic, spec.domain)
    )


def _run_mst(
    real: dict[str, IntArray], plan: SynthesisPlan
) -> tuple[dict[str, IntArray], dict[str, Any]]:
    spec = plan.spec
    fitted = fit_mst(real, plan)
    merged = {
        c.name: [c.labels[i] for i in fitted.compressions[c.name].merged]
        for c in spec.columns
        if fitted.compressions[c.name].merged.size
    }
    facts = {
        "marginals_measured": fitted.measured,
        "merged_values": merged,
        "estimation": {"library": "mbi (Private-PGM)", "iterations": spec.estimation_iterations},
        "post_processing": "mbi's graphical-model estimation from the noisy marginals and "
        "sampling of records from it (seeded); values with a noisy count below 3 sigma merged",
    }
    return sample_records(fitted, spec.rows, spec.seed), facts


def _run_aim(
    real: dict[str, IntArray], plan: AIMPlan
) -> tuple[dict[str, IntArray], dict[str, Any]]:
    spec = plan.spec
    fitted = fit_aim(real, plan)
    facts = {
        "marginals_measured": fitted.measured,
        "rounds": [
            {"marginal": list(cl), "sigma": sigma}
            for cl, sigma in zip(fitted.selected, fitted.sigmas, strict=True)
        ],
        "annealed": fitted.annealed,
        "rho_measured": fitted.rho_spent,
        "estimation": {
            "library": "mbi (Private-PGM)", "iterations_last_round": spec.estimation_iterations,
            "earlier_rounds": (
                "iterative proportional fitting of the held joint (NumPy), warm-started; "
                "its potentials warm-start mbi's estimation"
                if fitted.joint is not None
                else f"mbi, {round_iterations(spec.estimation_iterations, last=False)} iterations, "
                "warm-started"
            ),
            "rounds": len(fitted.selected),
        },
        "post_processing": "selection scores' model side, the annealing decision, mbi's "
        "graphical-model estimation from the noisy marginals and sampling of records from it "
        "(seeded)",
    }  # fmt: skip
    return sample_aim(fitted, spec.rows, spec.seed), facts


def synthesize_dp(
    governance: Governance,
    actor: str,
    project: str,
    spec: SynthesisSpec,
    *,
    engine: Engine,
    table: str | Callable[[], Table],
    out_dir: Path | None = None,
) -> SyntheticRelease:
    """A DP synthetic extract of a project's data, paid from the project's ledger.

    The privacy unit stated on the extract is the one the project's budget was set for.

    Args:
        governance: The governance service (holds the ledger).
        actor: The analyst (authenticated by the caller; the ledger checks role and approvals).
        project: The project.
        spec: The synthesis.
        engine: The engine holding the project's data.
        table: The table to read, or a function opening it (called after payment).
        out_dir: Where to write the extract (optional).

    Returns:
        The synthetic release.

    Raises:
        BudgetExhaustedError: The project's budget cannot pay; nothing is read.
    """
    unit = PrivacyLedger(governance).balance(project).privacy_unit
    spec = dataclasses.replace(spec, privacy_unit=unit)
    source = table if callable(table) else (lambda: engine.table(str(table)))
    release = run_synthesis(spec, LedgerBudget(governance, actor, project), engine, source)
    if out_dir is not None:
        write_synthetic(release, out_dir)
    return release


def synthesize_file(
    spec: SynthesisSpec, input_path: Path, out_dir: Path, *, rho: float | None = None
) -> SyntheticRelease:
    """A DP synthetic extract of a Parquet or CSV file with a one-off budget.

    Args:
        spec: The synthesis.
        input_path: ``.parquet`` or ``.csv`` (with a header).
        out_dir: Where to write the extract.
        rho: The one-off budget (default: the spec's ρ).

    Returns:
        The synthetic release.
    """
    budget = OneOffBudget(spec.rho if rho is None else rho)
    if rho is not None:
        spec = spec.with_rho(rho)
    with Engine() as engine:
        release = run_synthesis(spec, budget, engine, lambda: _open_file(engine, input_path))
    write_synthetic(release, out_dir)
    return release


def write_synthetic(release: SyntheticRelease, out_dir: Path) -> list[Path]:
    """Write ``synthetic.parquet``, ``<name>.csv``, ``synthesis.json`` and ``utility.json``.

    Returns:
        The files written.
    """
    buffer = io.BytesIO()
    write_table_csv(release.table, buffer)  # a CSV people open: formula-leading text neutralised
    name = release.plan.spec.name
    return [
        write_parquet_atomic(release.table, out_dir / "synthetic.parquet"),
        write_bytes_atomic(buffer.getvalue(), out_dir / f"{name}.csv"),
        write_text_atomic(_json(release.metadata), out_dir / "synthesis.json"),
        write_text_atomic(_json(release.utility), out_dir / "utility.json"),
    ]


def _json(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False)


def synthetic_candidate(folder: Path, title: str) -> Candidate:
    """A DP synthetic extract in ``folder`` (see :func:`write_synthetic`) as a release candidate.

    The extract goes through the project's one release path like every other output: two
    output checkers see the synthesis report and the utility figures (computed on the real
    data, so they are reviewed like any output) before anything is published. It lists no
    ledger cells: its protection is the privacy budget it spent.

    Args:
        folder: Where :func:`write_synthetic` wrote the extract.
        title: A short description for the checkers.

    Returns:
        The candidate, with every file of the extract.

    Raises:
        InvalidSpecError: ``folder`` holds no synthesis report.
    """
    from ansim.privacy._submission import DP_THRESHOLD  # noqa: PLC0415 - one threshold for DP
    from ansim.release import Candidate, ReleaseKind  # noqa: PLC0415 - the release path

    if not (folder / "synthesis.json").is_file():
        raise InvalidSpecError(f"{folder} holds no DP synthetic extract (no synthesis.json)")
    files = {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}
    return Candidate(ReleaseKind.DP_SYNTHETIC, title, files, {}, DP_THRESHOLD)
