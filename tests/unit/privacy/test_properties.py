"""Privacy invariants (hypothesis): no release without a recorded spend; bounding holds."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import ibis
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansim.engine import Engine
from ansim.errors import BudgetExhaustedError
from ansim.governance import PrivacyLedger
from ansim.privacy import (
    OneOffBudget,
    ReleasePlan,
    bound_contributions,
    parse_release_spec,
    release_dp,
    run_release,
)
from tests.unit.governance.conftest import PROJECT, populated

GROUPS = ["a", "b", "c", "d", "e"]


@dataclass
class _Recording:
    """A one-off budget that records, in order, every payment and every data read."""

    budget: OneOffBudget
    events: list[str] = field(default_factory=list)

    def pay(self, plan: ReleasePlan) -> dict[str, Any]:
        receipt = self.budget.pay(plan)  # raises before recording when exhausted
        self.events.append("paid")
        return receipt


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    budget=st.floats(0.05, 2.0),
    rhos=st.lists(st.floats(0.05, 1.0), min_size=1, max_size=5),
)
def test_no_release_reads_data_without_a_recorded_spend(budget: float, rhos: list[float]) -> None:
    recording = _Recording(OneOffBudget(budget))
    rows = pa.table({"person_id": [1, 2, 3], "g": ["a", "b", "a"]})

    def source() -> ibis.Table:
        recording.events.append("read")
        return ibis.memtable(rows)

    released = 0
    with Engine() as engine:
        for rho in rhos:
            spec = parse_release_spec({
                "name": "p", "rho": rho, "keys": {"g": GROUPS},
                "queries": [{"name": "n", "statistic": "count", "by": ["g"]}],
            })  # fmt: skip
            try:
                run_release(spec, recording, engine, source)
                released += 1
            except BudgetExhaustedError:
                pass
    # every read is immediately preceded by its payment; refused releases read nothing
    assert recording.events == ["paid", "read"] * released
    assert recording.budget.spent <= budget * (1 + 1e-9)


@settings(
    max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rhos=st.lists(st.floats(0.1, 0.6), min_size=1, max_size=4))
def test_every_ledger_release_has_its_spend(
    tmp_path_factory: pytest.TempPathFactory, rhos: list[float]
) -> None:
    home = tmp_path_factory.mktemp("gov")
    gov = populated(home / "home", f"sqlite:///{home / 'g.db'}")
    PrivacyLedger(gov).set_budget("admin", PROJECT, 1.0, privacy_unit="a person")
    rows = pa.table({"person_id": [1, 2], "g": ["a", "b"]})
    receipts = []
    with Engine() as engine:
        for rho in rhos:
            spec = parse_release_spec({
                "name": "p", "rho": rho, "keys": {"g": GROUPS},
                "queries": [{"name": "n", "statistic": "count", "by": ["g"]}],
            })  # fmt: skip
            try:
                release = release_dp(gov, "analyst", PROJECT, spec, engine=engine,
                                     table=lambda: ibis.memtable(rows))  # fmt: skip
                receipts.append(release.receipt["spend"])
            except BudgetExhaustedError:
                pass
    spends = PrivacyLedger(gov).spends(PROJECT)
    assert [s.id for s in spends] == receipts
    assert PrivacyLedger(gov).balance(PROJECT).rho_spent <= 1.0
    gov.close()


def _bounded_counts(engine: Engine, rows: pa.Table, groups: int, per_group: int) -> dict[str, int]:
    bounded = bound_contributions(
        ibis.memtable(rows), "person_id", ["g"], max_groups=groups, max_rows=per_group
    )
    found = engine.to_pyarrow(bounded.group_by("g").aggregate(n=bounded.count())).to_pylist()
    return {r["g"]: r["n"] for r in found}


@settings(max_examples=10, deadline=None)
@given(
    others=st.lists(st.tuples(st.integers(0, 30), st.sampled_from(GROUPS)), max_size=60),
    heavy_groups=st.lists(st.sampled_from(GROUPS), min_size=1000, max_size=1000),
    max_groups=st.integers(1, 3),
    max_rows=st.integers(1, 4),
)
def test_a_person_with_1000_rows_moves_counts_by_at_most_the_sensitivity(
    others: list[tuple[int, str]], heavy_groups: list[str], max_groups: int, max_rows: int
) -> None:
    base = pa.table({
        "person_id": [p for p, _ in others], "g": [g for _, g in others],
    }, schema=pa.schema([("person_id", pa.int64()), ("g", pa.string())]))  # fmt: skip
    heavy = pa.table({"person_id": [999] * 1000, "g": heavy_groups}, schema=base.schema)
    with Engine() as engine:
        without = _bounded_counts(engine, base, max_groups, max_rows)
        with_heavy = _bounded_counts(engine, pa.concat_tables([base, heavy]), max_groups, max_rows)
    changes = {g: with_heavy.get(g, 0) - without.get(g, 0) for g in GROUPS}
    assert all(0 <= d <= max_rows for d in changes.values())  # L∞ per group
    assert sum(1 for d in changes.values() if d) <= max_groups  # L0
    assert sum(changes.values()) <= max_groups * max_rows  # L1: the stated count sensitivity
