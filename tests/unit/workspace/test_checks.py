"""Each automatic rule with passing and failing cases, against ACRO's documented default rules.

The rules are re-stated here as ACRO's ``default.yaml`` and ``acro_tables.agg_*`` define them
(threshold 10 with zeros disclosive, (n,k) = (2, 0.9), p-ratio p = 0.1, all values the same),
on many generated tables; ``test_acro_oracle.py`` runs ACRO itself on the same kind of data.
Ansim must agree on every cell, while also catching the top-1 dominance case they pass.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ansim.errors import InvalidSpecError
from ansim.workspace import CellStats, CheckPolicy, check_model, check_table, strictest


def _cells(*groups: list[float], dims: tuple[str, ...] = ("g",)) -> CellStats:
    labels = tuple((f"c{i}",) if len(dims) == 1 else ("a", f"c{i}") for i in range(len(groups)))
    tops = [[*sorted((abs(v) for v in g), reverse=True), 0.0, 0.0] for g in groups]
    return CellStats(
        dims,
        labels,
        np.array([len(g) for g in groups], dtype=np.int64),
        np.array([sum(abs(v) for v in g) for g in groups], dtype=float),
        np.array([t[0] for t in tops]),
        np.array([t[1] for t in tops]),
        np.array([len(set(g)) for g in groups], dtype=np.int64),
    )


def _verdicts(
    stats: CellStats, statistic: str, policy: CheckPolicy | None = None
) -> dict[str, tuple[str, ...]]:
    report = check_table(stats, statistic, policy or CheckPolicy())
    return {r.rule: r.failing for r in report.results}


def test_threshold_fails_small_cells_and_zeros_by_default() -> None:
    stats = _cells([1.0] * 12, [1.0] * 3, [])
    assert _verdicts(stats, "count")["threshold"] == ("g=c1", "g=c2")
    relaxed = CheckPolicy(zeros_disclosive=False)
    assert _verdicts(stats, "count", relaxed)["threshold"] == ("g=c1",)
    assert check_table(_cells([1.0] * 10), "count", CheckPolicy()).passed


def test_dominance_two_largest_over_90_percent() -> None:
    dominated = [50.0, 45.0] + [1.0] * 8
    balanced = [float(v) for v in range(5, 15)]
    verdicts = _verdicts(_cells(dominated, balanced), "sum")
    assert verdicts["dominance"] == ("g=c0",)
    assert check_table(_cells(balanced), "sum", CheckPolicy()).passed


def test_top1_share_catches_what_acro_defaults_pass() -> None:
    one_holds_75 = [75.0] + [2.0, 2.5] * 5 + [2.5]
    stats = _cells(one_holds_75)
    verdicts = _verdicts(stats, "sum")
    assert verdicts["threshold"] == verdicts["dominance"] == verdicts["p_percent"] == ()
    assert not any(_acro(one_holds_75).values())  # ACRO's documented defaults pass it
    assert verdicts["top1"] == ("g=c0",)


def test_p_percent_rule() -> None:
    policy = CheckPolicy(dominance_k=99, top1_share=99)
    hidden_badly = [60.0, 38.0] + [0.25] * 8
    hidden_well = [60.0, 20.0] + [5.0] * 8
    verdicts = _verdicts(_cells(hidden_badly, hidden_well), "mean", policy)
    assert verdicts["p_percent"] == ("g=c0",)
    assert verdicts["dominance"] == ()


def test_all_values_the_same_reveal_each_contributor() -> None:
    stats = _cells([7.0] * 12, [7.0] * 11 + [8.0])
    assert _verdicts(stats, "mean")["same_values"] == ("g=c0",)
    assert _verdicts(stats, "median")["same_values"] == ("g=c0",)
    assert "same_values" not in _verdicts(stats, "count")


def test_extremes_need_contributors() -> None:
    stats = _cells([1.0] * 5, [1.0] * 12)
    for statistic in ("min", "max", "median", "quantile"):
        assert _verdicts(stats, statistic, CheckPolicy(threshold=3))["extremes"] == ("g=c0",)
    assert "extremes" not in _verdicts(stats, "sum")


def test_class_disclosure_flags_a_group_all_in_one_category() -> None:
    stats = CellStats(
        ("sex", "vaccinated"),
        (("F", "N"), ("F", "Y"), ("M", "N"), ("M", "Y")),
        np.array([0, 15, 12, 13]),
        np.zeros(4),
        np.zeros(4),
        np.zeros(4),
    )
    verdicts = _verdicts(stats, "count")
    assert verdicts["class_disclosure"] == ("sex=F; vaccinated=N", "sex=F; vaccinated=Y")
    assert "class_disclosure" not in _verdicts(stats, "count", CheckPolicy(class_disclosure=False))


def test_model_residual_degrees_of_freedom() -> None:
    failed = check_model(5, CheckPolicy(), ("Intercept", "age"))
    assert not failed.passed
    assert failed.failing_cells == ("Intercept", "age")
    assert check_model(10, CheckPolicy()).passed


def test_strictest_policy_of_the_custodians_applies() -> None:
    combined = strictest(
        [
            CheckPolicy(threshold=5, p_percent=20),
            CheckPolicy(threshold=20, dominance_k=80, approvals=3),
        ]
    )
    assert (combined.threshold, combined.p_percent, combined.dominance_k, combined.approvals) == (
        20,
        20,
        80,
        3,
    )
    assert strictest([]) == CheckPolicy()


@pytest.mark.parametrize(
    "settings_",
    [
        {"threshold": 0},
        {"dominance_n": 3},
        {"dominance_k": 100},
        {"top1_share": 0},
        {"p_percent": 0},
        {"nope": 1},
    ],
)
def test_bad_policies_are_refused(settings_: dict[str, int]) -> None:
    with pytest.raises(InvalidSpecError):
        CheckPolicy.from_dict(settings_)


def test_unknown_statistic_and_ragged_stats_are_refused() -> None:
    with pytest.raises(InvalidSpecError, match="unknown statistic"):
        check_table(_cells([1.0]), "mode", CheckPolicy())
    with pytest.raises(InvalidSpecError, match="differ in length"):
        CellStats(("g",), (("a",),), np.array([1, 2]), np.zeros(1), np.zeros(1), np.zeros(1))


def _acro(values: list[float]) -> dict[str, bool]:
    """ACRO's documented default rules on one cell (True = the cell fails the rule)."""
    contributions = [*sorted((abs(v) for v in values), reverse=True), 0.0, 0.0]
    total = sum(contributions)
    x1, x2 = contributions[0], contributions[1]
    return {
        "threshold": len(values) < 10,
        "dominance": total > 0 and x1 + x2 > 0.9 * total,
        "p_percent": total > 0 and total - x1 - x2 < 0.1 * x1,
        "same_values": len(set(values)) == 1,
    }


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.lists(
            st.floats(min_value=0.01, max_value=1e6, allow_nan=False), min_size=1, max_size=30
        ),
        min_size=1,
        max_size=6,
    )
)
def test_agrees_with_acro_documented_rules_and_only_adds(groups: list[list[float]]) -> None:
    for group in groups:  # floating-point ties at a rule's boundary are not the point here
        top = [*sorted(group, reverse=True), 0.0]
        total = sum(group)
        assume(abs(top[0] + top[1] - 0.9 * total) > 1e-6 * total)
        assume(abs(total - top[0] - top[1] - 0.1 * top[0]) > 1e-6 * total)
        assume(abs(top[0] - 0.5 * total) > 1e-6 * total)
    verdicts = _verdicts(_cells(*groups), "sum")
    for i, group in enumerate(groups):
        oracle = _acro(group)
        for rule, fails in oracle.items():
            assert (f"g=c{i}" in verdicts[rule]) == fails, (rule, group)
        if any(oracle.values()):
            continue
        top = max(group) / sum(group)
        assert (f"g=c{i}" in verdicts["top1"]) == (top > 0.5)
