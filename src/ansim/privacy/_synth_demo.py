"""The demo's DP synthetic extract of the linked cohort (the workspace's dummy twin).

The cohort: every SNU cohort member linked to the KOSTAT register (si/gun, sex, age, income
band, household size), with their survey answers (vaccinated, chronic condition, self-rated
health) and whether they had a confirmed case. One row per person; MST at a quarter of the
demo project's budget, paid from its ledger before the hub's tables are read.

Why MST and not AIM: on this extract (about 4,100 people × 9 columns, ρ 0.25) AIM was measured
no better (docs/benchmarks.md, "On the demo's extract"): with so few rows most of the 2- and
3-way error is sampling, and AIM as published gives the 1-way marginals 0.9·d/T of ρ (5.6%;
MST a third), so its 1-way and average 2-way errors are larger. ``method`` switches it.
"""

from __future__ import annotations

from pathlib import Path

import ibis
from ibis.expr.types import Table

from ansim.engine import Engine
from ansim.errors import HubError
from ansim.governance import Governance
from ansim.hub import linked_table_name
from ansim.privacy._demo import ensure_demo_budget
from ansim.privacy._release import OneOffBudget
from ansim.privacy._spec import DEFAULT_UNIT
from ansim.privacy._synth import SyntheticRelease, run_synthesis, synthesize_dp, write_synthetic
from ansim.privacy._synth_spec import SynthesisMethod, SynthesisSpec, parse_synthesis_spec

__all__ = ["DEMO_METHOD", "demo_synthesis_spec", "write_demo_synthetic"]

DEMO_METHOD = SynthesisMethod.MST
"""The demo's mechanism (AIM measured no better on this small extract: see the module)."""

_DATASETS = ("kostat_register", "snu_cohort", "gyeonggi_cases")


def demo_synthesis_spec(rho: float = 0.25, method: SynthesisMethod = DEMO_METHOD) -> SynthesisSpec:
    """The demo cohort's synthesis spec (declared domains only).

    Example:
        >>> spec = demo_synthesis_spec()
        >>> len(spec.columns), spec.domain["sigungu_code"], spec.domain["age"], spec.method
        (9, 31, 9, <SynthesisMethod.MST: 'mst'>)
    """
    return parse_synthesis_spec({
        "name": "linked_cohort_synthetic", "rho": rho, "method": method.value,
        "person": "person_id", "seed": 2026,
        "privacy_unit": DEFAULT_UNIT,
        "columns": {
            "sigungu_code": "sigungu", "sex": ["M", "F"],
            "age": {"edges": [0, 10, 20, 30, 40, 50, 60, 70, 80]},
            "income_band": ["Q1", "Q2", "Q3", "Q4", "Q5"],
            "household_size": {"edges": [1, 2, 3, 4, 5]},
            "vaccinated": ["Y", "N"], "chronic_condition": ["Y", "N"],
            "self_rated_health": {"edges": [1, 2, 3, 4, 5]}, "confirmed": ["Y", "N"],
        },
    })  # fmt: skip


def _cohort(engine: Engine) -> Table:
    register = engine.table(linked_table_name("kostat_register"))
    survey = engine.table(linked_table_name("snu_cohort"))
    cases = engine.table(linked_table_name("gyeonggi_cases"))
    people = survey.select("person_id", "vaccinated", "chronic_condition", "self_rated_health")
    linked = people.join(
        register.select("person_id", "sigungu_code", "sex", "age", "income_band", "household_size"),
        "person_id",
    )
    confirmed = cases.select("person_id").distinct().mutate(case=ibis.literal("Y"))
    joined = linked.left_join(confirmed, "person_id")
    return joined.select(*[c for c in linked.columns], confirmed=joined["case"].fill_null("N"))


def write_demo_synthetic(
    hub: Engine | Path,
    out_dir: Path,
    *,
    governance: Governance | None = None,
    admin: str | None = None,
    actor: str | None = None,
    project: str | None = None,
    rho: float = 0.25,
    method: SynthesisMethod = DEMO_METHOD,
) -> str:
    """Write ``out_dir/release/synthetic/<name>.csv`` (and parquet, synthesis and utility JSON).

    Args:
        hub: The hub store with the linked tables: an open engine, or the store's path
            (opened through ``governance`` as ``actor``).
        out_dir: The demo folder.
        governance: Pay from this project's ledger (with ``admin``, ``actor``, ``project``).
        admin: Sets the project's budget if it has none.
        actor: The analyst spending it.
        project: The project.
        rho: What this synthesis spends.
        method: The mechanism (named in ``synthesis.json`` and the summary).

    Returns:
        A one-line summary for the demo's log.

    Raises:
        HubError: The store lacks one of the linked tables.
    """
    if isinstance(hub, Path):
        if governance is None or actor is None or project is None:
            raise HubError("a hub store path is opened through governance: give its actor")
        with governance.open_hub_store(actor, project, hub) as engine:
            return write_demo_synthetic(
                engine, out_dir, governance=governance, admin=admin, actor=actor,
                project=project, rho=rho, method=method,
            )  # fmt: skip
    engine = hub
    missing = [d for d in _DATASETS if linked_table_name(d) not in engine.list_tables()]
    if missing:
        raise HubError(f"the hub has no linked {missing}: run the demo's combine first")
    spec = demo_synthesis_spec(rho, method)
    folder = out_dir / "release" / "synthetic"
    release: SyntheticRelease
    if governance is not None and actor and project:
        ensure_demo_budget(governance, admin, project)
        release = synthesize_dp(
            governance, actor, project, spec, engine=engine, table=lambda: _cohort(engine)
        )
    else:
        release = run_synthesis(spec, OneOffBudget(rho), engine, lambda: _cohort(engine))
    write_synthetic(release, folder)
    u, plan, name = release.utility, release.plan, spec.method.value.upper()
    return (
        f"DP synthetic extract: {release.table.num_rows:,} rows of the linked cohort to {folder} "
        f"({name}, rho {plan.rho:.3g}, epsilon {plan.epsilon:.3g}; average TVD "
        f"2-way {u['tvd_2way']['average']:.3f}, 3-way {u['tvd_3way']['average']:.3f})"
    )
