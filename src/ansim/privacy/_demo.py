"""The demo's DP release: confirmed cases by week (by si/gun, and the province), payments by month.

Each person with a confirmed case counts once (one group, one row: sensitivity 1), under the
discrete Gaussian with 95% intervals; the si/gun table is then made consistent with the
province table by post-processing. Paid from the demo project's ledger when governance is
given (the administrator sets the budget once), else from a one-off budget. Isolation support
and disaster basic income are summed by month of the case date (clipped to the demo's payment
amounts, one row per person), in the same ρ.
"""

from __future__ import annotations

from pathlib import Path

from ansim.engine import Engine
from ansim.errors import BudgetExhaustedError, HubError
from ansim.governance import Governance, PrivacyLedger
from ansim.hub import linked_table_name
from ansim.privacy._consistency import make_consistent
from ansim.privacy._release import (
    DPRelease,
    OneOffBudget,
    release_dp,
    run_release,
    write_dp_release,
)
from ansim.privacy._spec import DEFAULT_UNIT, ReleaseSpec, parse_release_spec

__all__ = ["demo_release_spec", "write_demo_dp_releases"]

PROJECT_RHO = 1.0  # the demo project's whole budget; this release spends half of it
ISOLATION_MAX_KRW = 600_000  # the demo's largest isolation support (6-person household)
INCOME_MAX_KRW = 100_000  # the demo's disaster basic income
PAYMENT_STEP_KRW = 10_000  # every demo payment is a multiple of it


def demo_release_spec(rho: float = 0.5) -> ReleaseSpec:
    """The demo's release spec (public keys: the 31 si/gun, every week and month of 2020-2022).

    Confirmed cases by si/gun × week and by week (counts); isolation support and disaster
    basic income paid by month of the case date (sums in won, clipped to the demo's
    payment amounts), all in one ρ split by the queries' weights.

    Example:
        >>> spec = demo_release_spec()
        >>> [q.name for q in spec.queries][2:], len(spec.keys["sigungu_code"])
        (['isolation_support_by_month', 'disaster_income_by_month'], 31)
        >>> spec.keys["month"][0], len(spec.keys["month"])
        ('2020-01', 36)
    """
    return parse_release_spec({
        "name": "confirmed_cases_dp", "rho": rho, "person": "person_id",
        "privacy_unit": DEFAULT_UNIT, "mechanism": "gaussian", "max_groups": 1, "max_rows": 1,
        "derive": {"week": {"from": "case_date", "kind": "week"},
                   "month": {"from": "case_date", "kind": "month"}},
        "keys": {"sigungu_code": "sigungu", "week": {"from": "2020-01-20", "to": "2022-12-31"},
                 "month": {"from": "2020-01-01", "to": "2022-12-31"}},
        "queries": [
            {"name": "confirmed_by_sigungu_week", "statistic": "count",
             "by": ["sigungu_code", "week"], "weight": 3},
            {"name": "confirmed_by_week", "statistic": "count", "by": ["week"], "weight": 1},
            # support paid by month of case_date, province level: a case's isolation support
            # is 100,000 won per household member (households of 1 to 6) or a flat 100,000 /
            # 150,000; disaster basic income is 100,000 won (demo/_world.py)
            {"name": "isolation_support_by_month", "statistic": "sum",
             "column": "isolation_support_krw", "lower": 0, "upper": ISOLATION_MAX_KRW,
             "step": PAYMENT_STEP_KRW, "by": ["month"], "weight": 0.5},
            {"name": "disaster_income_by_month", "statistic": "sum",
             "column": "disaster_income_krw", "lower": 0, "upper": INCOME_MAX_KRW,
             "step": PAYMENT_STEP_KRW, "by": ["month"], "weight": 0.5},
        ],
    })  # fmt: skip


def ensure_demo_budget(governance: Governance, admin: str | None, project: str) -> None:
    """Give the demo project its budget (``PROJECT_RHO``, set by ``admin``) if it has none.

    Raises:
        BudgetExhaustedError: The project has no budget and no administrator is given.
    """
    ledger = PrivacyLedger(governance)
    try:
        ledger.balance(project)
    except BudgetExhaustedError:  # no budget yet: the administrator sets the demo's
        if admin is None:
            raise
        ledger.set_budget(admin, project, PROJECT_RHO, privacy_unit=DEFAULT_UNIT)


def write_demo_dp_releases(
    hub: Engine | Path,
    out_dir: Path,
    *,
    governance: Governance | None = None,
    admin: str | None = None,
    actor: str | None = None,
    project: str | None = None,
    rho: float = 0.5,
) -> str:
    """Write ``out_dir/release/dp/<name>.csv`` and ``.json`` for the demo's DP tables.

    Args:
        hub: The hub store with the linked ``gyeonggi_cases``: an open engine, or the store's
            path (opened through ``governance`` as ``actor``).
        out_dir: The demo folder.
        governance: Pay from this project's ledger (with ``admin``, ``actor``, ``project``).
        admin: Sets the project's budget if it has none.
        actor: The analyst spending it.
        project: The project.
        rho: What this release spends.

    Returns:
        A one-line summary for the demo's log.

    Raises:
        HubError: The store has no linked cases.
    """
    if isinstance(hub, Path):
        if governance is None or actor is None or project is None:
            raise HubError("a hub store path is opened through governance: give its actor")
        with governance.open_hub_store(actor, project, hub) as engine:
            return write_demo_dp_releases(
                engine, out_dir, governance=governance, admin=admin, actor=actor,
                project=project, rho=rho,
            )  # fmt: skip
    engine = hub
    spec = demo_release_spec(rho)
    name = linked_table_name("gyeonggi_cases")
    if name not in engine.list_tables():
        raise HubError("the hub has no linked 'gyeonggi_cases': run the demo's combine first")
    dp_dir = out_dir / "release" / "dp"
    if governance is not None and actor and project:
        ensure_demo_budget(governance, admin, project)
        release: DPRelease = release_dp(governance, actor, project, spec, engine=engine, table=name)
    else:
        release = run_release(spec, OneOffBudget(rho), engine, lambda: engine.table(name))
    consistent = make_consistent(release.tables[0], release.tables[1], child_key="sigungu_code")
    final = DPRelease(release.plan, release.receipt, (*release.tables, consistent))
    write_dp_release(final, dp_dir)
    return (
        f"DP release: confirmed cases by si/gun × week, support paid by month, with 95% "
        f"intervals to {dp_dir} "
        f"(rho {release.plan.rho:.3g}, epsilon {release.plan.epsilon:.3g} at delta "
        f"{spec.conversion_delta:g}, {release.receipt['budget']})"
    )
