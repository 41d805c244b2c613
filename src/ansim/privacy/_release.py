"""The DP release path: price the release, pay for it, only then read the data and add noise.

``release_dp`` pays from the project's persistent ledger (governance, with an actor whose
role and approvals the ledger checks); ``release_file`` pays from a one-off budget kept in the
release's own report (a plain input file, no project). Either way the order is fixed:

1. ``plan_release``: every measurement calibrated from the spec alone;
2. the budget is charged the plan's ρ and δ: an exhausted budget raises
   :class:`~ansim.errors.BudgetExhaustedError` here, before any data is opened;
3. the data source is opened, contributions bounded in the engine, OpenDP adds the noise.

Output (one pair per query): ``<name>.csv`` (the cell columns, then ``estimate``,
``ci_low``, ``ci_high``) and ``<name>.json`` (``rho``, ``epsilon``, ``delta``,
``privacy_unit``, ``mechanism``, bounds, the spend that paid for it), and ``release.json``.
"""

from __future__ import annotations

import dataclasses
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.csv as pacsv
from ibis.expr.types import Table

from ansim._atomic import write_bytes_atomic, write_text_atomic
from ansim.engine import Engine
from ansim.errors import BudgetExhaustedError, IngestError, InvalidSpecError
from ansim.governance import Governance, PrivacyLedger
from ansim.privacy._bounding import derive_keys
from ansim.privacy._noise import epsilon_of_rho
from ansim.privacy._plan import ReleasePlan, plan_release
from ansim.privacy._spec import ReleaseSpec
from ansim.privacy._statistics import DPTable, measure_queries

__all__ = [
    "TRIAL_FOLDER",
    "DPRelease",
    "LedgerBudget",
    "OneOffBudget",
    "PricedPlan",
    "PrivacyBudget",
    "check_columns",
    "describe_plan",
    "release_dp",
    "release_file",
    "run_release",
    "write_dp_release",
]


class _Named(Protocol):
    @property
    def name(self) -> str: ...  # pragma: no cover


class PricedPlan(Protocol):
    """What a budget charges: a plan's ρ and δ, its mechanisms and its release's name.

    A DP release's :class:`ReleasePlan` and a synthesis's plan both are one.
    """

    @property
    def spec(self) -> _Named: ...  # pragma: no cover

    @property
    def rho(self) -> float: ...  # pragma: no cover

    @property
    def delta(self) -> float: ...  # pragma: no cover

    @property
    def mechanism(self) -> str: ...  # pragma: no cover


class PrivacyBudget(Protocol):
    """Where a release's ρ and δ are paid from."""

    def pay(self, plan: PricedPlan) -> dict[str, Any]:
        """Charge the plan (or raise ``BudgetExhaustedError``); returns the receipt."""
        ...  # pragma: no cover


@dataclass
class OneOffBudget:
    """A budget for releases from a plain file, kept in the release's report (no project).

    Args:
        rho: The budget.

    Example:
        >>> from ansim.privacy._spec import parse_release_spec
        >>> spec = parse_release_spec({"name": "r", "rho": 0.5,
        ...     "queries": [{"name": "n", "statistic": "count"}]})
        >>> budget = OneOffBudget(0.4)
        >>> budget.pay(plan_release(spec))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ansim.errors.BudgetExhaustedError: the one-off budget cannot pay for release 'r' ...
    """

    rho: float
    spent: float = 0.0
    spent_delta: float = 0.0

    def pay(self, plan: PricedPlan) -> dict[str, Any]:
        """Charge the plan against what is left of the one-off budget."""
        left = self.rho - self.spent
        if plan.rho > left * (1 + 1e-12):
            raise BudgetExhaustedError(
                f"the one-off budget cannot pay for release {plan.spec.name!r} "
                f"(rho {plan.rho:.6g} but {max(left, 0):.6g} is left)"
            )
        self.spent += plan.rho
        self.spent_delta += plan.delta
        return {
            "budget": "one-off (this release only)",
            "rho_total": self.rho,
            "rho_spent": self.spent,
            "delta_spent": self.spent_delta,
        }


@dataclass(frozen=True)
class LedgerBudget:
    """A project's persistent budget on the governance ledger.

    Args:
        governance: The governance service.
        actor: The analyst spending (authenticated by the caller; a name alone proves nothing).
        project: The project.
    """

    governance: Governance
    actor: str
    project: str

    def pay(self, plan: PricedPlan) -> dict[str, Any]:
        """Record the spend on the ledger (audited; refused if it would overspend)."""
        spend = PrivacyLedger(self.governance).spend(
            self.actor, self.project, rho=plan.rho, delta=plan.delta,
            release=plan.spec.name, mechanism=plan.mechanism,
        )  # fmt: skip
        balance = PrivacyLedger(self.governance).balance(self.project)
        return {
            "budget": f"project {self.project}", "spend": spend.id,
            "audit_seq": spend.audit_seq, "rho_total": balance.rho_total,
            "rho_spent": balance.rho_spent, "delta_spent": balance.delta_spent,
        }  # fmt: skip


@dataclass(frozen=True)
class DPRelease:
    """A paid-for, measured release.

    Attributes:
        plan: The plan that was paid for.
        receipt: What the budget recorded.
        tables: One table per query.
    """

    plan: ReleasePlan
    receipt: dict[str, Any]
    tables: tuple[DPTable, ...]

    @property
    def report(self) -> dict[str, Any]:
        """The release's report (``release.json``)."""
        spec = self.plan.spec
        return {
            "release": spec.name,
            "rho": self.plan.rho,
            "epsilon": self.plan.epsilon,
            "delta": spec.conversion_delta + self.plan.delta,
            "privacy_unit": spec.privacy_unit,
            "mechanism": self.plan.mechanism,
            "budget": self.receipt,
            "tables": [t.name for t in self.tables],
            "post_processing": {
                t.name: t.metadata["post_processing"]
                for t in self.tables
                if t.metadata.get("post_processing")
            }
            or "none",
        }


def run_release(
    spec: ReleaseSpec,
    budget: PrivacyBudget,
    engine: Engine,
    source: Callable[[], Table],
) -> DPRelease:
    """Plan, pay, then read ``source()`` and measure every query.

    Args:
        spec: The release.
        budget: Where it is paid from.
        engine: The engine that runs the bounding and aggregation.
        source: Opens the rows (called only after the budget has paid).

    Returns:
        The release.

    Raises:
        BudgetExhaustedError: The budget cannot pay (``source`` is never called).
    """
    plan = plan_release(spec)
    receipt = budget.pay(plan)
    keyed = derive_keys(source(), spec)
    tables = measure_queries(engine, keyed, plan)  # one engine pass per grouping when it can
    stamped = tuple(
        dataclasses.replace(t, metadata={**t.metadata, "paid_by": receipt}) for t in tables
    )
    return DPRelease(plan, receipt, stamped)


def release_dp(
    governance: Governance,
    actor: str,
    project: str,
    spec: ReleaseSpec,
    *,
    engine: Engine,
    table: str | Callable[[], Table],
    out_dir: Path | None = None,
) -> DPRelease:
    """A DP release from a project's data, paid from the project's ledger.

    The privacy unit stated on the release is the one the project's budget was set for.

    Args:
        governance: The governance service (holds the ledger).
        actor: The analyst (authenticated by the caller; the ledger checks role and approvals).
        project: The project.
        spec: The release.
        engine: The engine holding the project's data (e.g. the hub store).
        table: The table to read, or a function opening it (called after payment).
        out_dir: Where to write the tables (optional).

    Returns:
        The release.

    Raises:
        BudgetExhaustedError: The project's budget cannot pay; nothing is read.
    """
    unit = PrivacyLedger(governance).balance(project).privacy_unit
    spec = dataclasses.replace(spec, privacy_unit=unit)
    if not callable(table):  # a misnamed table or column must not cost budget: check first
        if table not in engine.list_tables():
            raise InvalidSpecError(f"the hub store has no table {table!r}")
        check_columns(spec, engine.table(table).columns)
    source = table if callable(table) else (lambda: engine.table(str(table)))
    release = run_release(spec, LedgerBudget(governance, actor, project), engine, source)
    if out_dir is not None:
        write_dp_release(release, out_dir)
    return release


TRIAL_FOLDER = "trial-not-for-publication"
"""Where ``ansim privacy release`` without a project writes its trial (inside ``--out``)."""

TRIAL_NOTICE = (
    "TRIAL: not reviewed, not for publication. These DP tables were made from a plain file "
    "with a one-off budget that no project's ledger knows of; a project's DP release goes "
    "through its release path ('ansim privacy release --project P --table T' on the hub's "
    "server, then two output checkers with 'ansim release review/publish').\n"
    "시험용: 검토를 거치지 않았으며 공개할 수 없습니다. 프로젝트의 차분 프라이버시 공표는 "
    "'ansim privacy release --project …'로 제출하고 반출 검토자 두 명의 승인을 받습니다.\n"
)
"""The notice a trial release carries (``NOT-FOR-PUBLICATION.txt``), in English and Korean."""


def check_columns(spec: ReleaseSpec, columns: Sequence[str]) -> None:
    """Refuse a source whose schema lacks a column the spec reads (before anything is paid).

    Example:
        >>> from ansim.privacy._spec import parse_release_spec
        >>> spec = parse_release_spec({"name": "r", "rho": 1, "person": "pid",
        ...     "keys": {"sex": ["M", "F"]},
        ...     "queries": [{"name": "n", "statistic": "count", "by": ["sex"]}]})
        >>> check_columns(spec, ["pid", "age"])
        Traceback (most recent call last):
        ...
        ansim.errors.InvalidSpecError: the data has no columns ['sex'] that release 'r' reads

    Raises:
        InvalidSpecError: A column is missing.
    """
    derived = {d.name for d in spec.derive}
    needed = {d.source for d in spec.derive} | ({spec.person} if spec.person else set())
    for q in spec.queries:
        needed |= {c for c in q.by if c not in derived}
        needed |= {q.column} if q.column else set()
    missing = sorted(needed - set(columns))
    if missing:
        raise InvalidSpecError(
            f"the data has no columns {missing} that release {spec.name!r} reads"
        )


def release_file(
    spec: ReleaseSpec, input_path: Path, out_dir: Path, *, rho: float | None = None
) -> DPRelease:
    """A trial DP release from a Parquet or CSV file with a one-off budget (kept in the report).

    A trial is for trying a spec on test data: it is not reviewed, its ``release.json`` says
    ``"trial": "not reviewed, not for publication"`` and the folder carries
    ``NOT-FOR-PUBLICATION.txt``. A project's releases go through :func:`release_dp` and the
    project's release path instead.

    Args:
        spec: The release.
        input_path: ``.parquet`` or ``.csv`` (with a header).
        out_dir: Where to write the tables and ``release.json``.
        rho: The one-off budget (default: the spec's ρ).

    Returns:
        The release.
    """
    budget = OneOffBudget(spec.rho if rho is None else rho)
    if rho is not None:
        spec = spec.with_rho(rho)
    with Engine() as engine:

        def source() -> Table:
            return _open_file(engine, input_path)

        release = run_release(spec, budget, engine, source)
    write_dp_release(release, out_dir, extra={"trial": "not reviewed, not for publication"})
    write_text_atomic(TRIAL_NOTICE, out_dir / "NOT-FOR-PUBLICATION.txt")
    return release


def _open_file(engine: Engine, path: Path) -> Table:
    suffix = path.suffix.lower()
    if not path.is_file():
        raise IngestError(f"no input file at {path}")
    if suffix == ".parquet":
        return engine.read_parquet(path)
    if suffix == ".csv":
        try:
            rows = pacsv.read_csv(path)
        except pa.ArrowInvalid as e:
            raise IngestError(f"cannot read the CSV file {path}: it is not a CSV table") from e
        return engine.create_table("dp_input", rows)
    raise InvalidSpecError(f"input {path}: give a .parquet or .csv file")


def write_dp_release(
    release: DPRelease, out_dir: Path, *, extra: dict[str, Any] | None = None
) -> list[Path]:
    """Write ``<name>.csv`` and ``<name>.json`` per table and ``release.json``.

    Args:
        release: The release.
        out_dir: The folder.
        extra: More facts for ``release.json`` (e.g. that it is a trial).

    Returns:
        The files written.
    """
    written: list[Path] = []
    for t in release.tables:
        buffer = io.BytesIO()
        pacsv.write_csv(t.table, buffer)
        written.append(write_bytes_atomic(buffer.getvalue(), out_dir / f"{t.name}.csv"))
        text = json.dumps(t.metadata, indent=2, ensure_ascii=False)
        written.append(write_text_atomic(text, out_dir / f"{t.name}.json"))
    report = json.dumps(release.report | (extra or {}), indent=2, ensure_ascii=False)
    written.append(write_text_atomic(report, out_dir / "release.json"))
    return written


def describe_plan(plan: ReleasePlan) -> dict[str, Any]:
    """What a release costs and how noisy it is, without data (``ansim privacy budget``)."""
    spec = plan.spec
    queries = []
    for q in plan.queries:
        noise = {
            part: {"scale": m.scale, "sensitivity": m.sensitivity,
                   "half_width_95": m.half_width(1 - spec.confidence)}
            for part, m in (("count", q.count), ("values", q.values)) if m is not None
        }  # fmt: skip
        if q.selection is not None:
            noise["selection"] = {"scale": q.selection.scale, "threshold": q.selection.threshold}
        queries.append({
            "name": q.query.name, "statistic": q.query.statistic.value, "rho": q.rho,
            "epsilon": epsilon_of_rho(q.rho, spec.conversion_delta), "delta": q.delta,
            "cells": None if q.cells is None else len(q.cells), "noise": noise,
        })  # fmt: skip
    return {
        "release": spec.name, "rho": plan.rho, "epsilon": plan.epsilon,
        "delta": spec.conversion_delta + plan.delta, "privacy_unit": spec.privacy_unit,
        "mechanism": plan.mechanism, "queries": queries,
    }  # fmt: skip
