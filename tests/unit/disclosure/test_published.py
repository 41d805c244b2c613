"""What a protected table publishes: one symbol, and contributors totalled per margin (issue 11).

The attacker here reads only ``table.csv``: the labels give the table's structure (each margin
is the sum of its children), the published numbers are constants, every ``x`` is an unknown
that is non-negative and nothing more.
"""

from __future__ import annotations

import csv
import itertools
from pathlib import Path

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog  # type: ignore[import-untyped]

from ansim.disclosure import (
    SUPPRESSED_SYMBOL,
    TOTAL,
    DominanceRule,
    ThresholdRule,
    primary_suppression,
    protect_table,
    tabulate,
    write_protected_table,
)

# 2×2 with margins; the primary cells 9 and 1 break a threshold of 10, and their partners
# (10 and 10) are withheld to protect them, the margins are published.
LEAVES = {("A", "F"): 9, ("A", "M"): 10, ("B", "F"): 10, ("B", "M"): 1}


def _two_by_two() -> pa.Table:
    si = [s for (s, _), n in LEAVES.items() for _ in range(n)]
    sex = [x for (_, x), n in LEAVES.items() for _ in range(n)]
    return pa.table({"si": si, "sex": sex})


def _read(path: Path) -> dict[tuple[str, str], str]:
    with path.open(encoding="utf-8", newline="") as f:
        return {(r["si"], r["sex"]): r["value"] for r in csv.DictReader(f)}


def _equations(cells: dict[tuple[str, str], str]) -> list[tuple[tuple[str, str], list]]:
    """The structure a reader infers from the labels: each total is the sum of its children."""
    si = sorted({s for s, _ in cells if s != TOTAL})
    sex = sorted({x for _, x in cells if x != TOTAL})
    rows = [((s, TOTAL), [(s, x) for x in sex]) for s in [*si, TOTAL]]
    cols = [((TOTAL, x), [(s, x) for s in si]) for x in [*sex, TOTAL]]
    return rows + cols


def _attacker_intervals(
    cells: dict[tuple[str, str], str],
) -> dict[tuple[str, str], tuple[float, float]]:
    """Min and max of every withheld cell given what is published (HiGHS LP)."""
    hidden = [c for c, v in cells.items() if v == SUPPRESSED_SYMBOL]
    column = {c: i for i, c in enumerate(hidden)}
    a_eq, b_eq = [], []
    for total, parts in _equations(cells):
        row = np.zeros(len(hidden))
        rhs = 0.0
        for cell, sign in [(total, 1.0), *((p, -1.0) for p in parts)]:
            if cell in column:
                row[column[cell]] += sign
            else:
                rhs -= sign * float(cells[cell])
        if row.any():
            a_eq.append(row)
            b_eq.append(rhs)
    intervals = {}
    for cell, i in column.items():
        objective = np.zeros(len(hidden))
        objective[i] = 1.0
        low = linprog(objective, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
        high = linprog(-objective, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
        assert low.status == 0 and high.status == 0
        intervals[cell] = (float(low.fun), float(-high.fun))
    return intervals


def test_two_by_two_is_not_recovered_from_what_is_published(tmp_path: Path) -> None:
    # Issue 11: with 'primary' / 'secondary' in table.csv the four withheld cells of this
    # table were recovered exactly; from the one symbol each stays inside a wide interval.
    protected = protect_table(_two_by_two(), ["si", "sex"], [ThresholdRule(10)])
    write_protected_table(protected, tmp_path)
    published = _read(tmp_path / "table.csv")
    assert {c for c, v in published.items() if v == SUPPRESSED_SYMBOL} == set(LEAVES)
    intervals = _attacker_intervals(published)
    index = protected.cells.index()
    for cell, (low, high) in intervals.items():
        i = index[cell]
        value = float(protected.cells.values[i])
        assert low <= value <= high
        assert high - low > 0  # never exact
        if protected.primary.sensitive[i]:  # wider than the protection level, both ways
            assert high >= value + protected.primary.upper[i]
            assert low <= value - protected.primary.lower[i]


def test_the_status_labels_would_have_recovered_the_table() -> None:
    # The leak the one symbol closes, shown by exhaustive search: knowing which withheld
    # cells are primary (1-9 under a threshold of 10) and which secondary (0 or at least 10),
    # only the true table fits the published margins.
    protected = protect_table(_two_by_two(), ["si", "sex"], [ThresholdRule(10)])
    statuses = zip(protected.cells.labels, protected.status(), strict=True)
    kind = {label: s for label, s in statuses if label in LEAVES}
    fits = []
    for af, am, bf, bm in itertools.product(range(31), repeat=4):
        guess = {("A", "F"): af, ("A", "M"): am, ("B", "F"): bf, ("B", "M"): bm}
        if (af + am, bf + bm, af + bf, am + bm) != (19, 11, 19, 11):
            continue
        ok = all(
            (1 <= guess[c] <= 9) if kind[c] == "primary" else (guess[c] == 0 or guess[c] >= 10)
            for c in LEAVES
        )
        fits += [guess] if ok else []
    assert fits == [LEAVES]


def test_a_two_firm_margin_has_two_contributors_and_its_dominance_is_caught() -> None:
    # Issue 11's reproducers: a row total from 2 firms counted 6 contributors; one firm's 90
    # of 110 in that margin escaped (1, 80) dominance.
    t = pa.table(
        {
            "si": ["A"] * 6,
            "kind": ["k1", "k2", "k3", "k1", "k2", "k3"],
            "firm": ["f1", "f1", "f1", "f2", "f2", "f2"],
            "sales": [30.0, 30.0, 30.0, 10.0, 5.0, 5.0],
        }
    )
    cells = tabulate(t, ["si", "kind"], value="sales", contributor="firm")
    margin = cells.index()[("A", TOTAL)]
    assert int(cells.contributors[margin]) == 2
    assert float(cells.values[margin]) == 110.0
    assert cells.top[margin].tolist() == [90.0, 20.0]
    dominance = primary_suppression(cells, [DominanceRule(1, 80.0)])
    assert bool(dominance.sensitive[margin])  # 90 / 110 > 80 %
    leaf = cells.index()[("A", "k1")]  # f1 holds 30 of 40 there: 75 %, not dominant
    assert int(cells.contributors[leaf]) == 2
    assert not bool(dominance.sensitive[leaf])


records = st.lists(
    st.tuples(
        st.sampled_from(["s1", "s2", "s3"]),
        st.sampled_from(["k1", "k2"]),
        st.sampled_from(["f1", "f2", "f3", "f4", "f5"]),
        st.integers(1, 50),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=40, deadline=None)
@given(records)
def test_margin_contributors_are_the_distinct_contributors_of_its_leaves(rows) -> None:
    t = pa.table(
        {
            "si": [r[0] for r in rows],
            "kind": [r[1] for r in rows],
            "firm": [r[2] for r in rows],
            "sales": [float(r[3]) for r in rows],
        }
    )
    cells = tabulate(t, ["si", "kind"], value="sales", contributor="firm")
    for i, label in enumerate(cells.labels):
        inside = [r for r in rows if all(v in (TOTAL, r[d]) for d, v in enumerate(label))]
        firms = {r[2] for r in inside}
        assert int(cells.contributors[i]) == len(firms)
        per_firm = sorted((sum(r[3] for r in inside if r[2] == f) for f in firms), reverse=True)
        assert cells.top[i].tolist() == [float(v) for v in [*per_firm, 0, 0][:2]]
        assert float(cells.values[i]) == float(sum(r[3] for r in inside))
