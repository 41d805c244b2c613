"""Table protection: rules, secondary suppression and the attacker-LP audit."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansim.disclosure import (
    SUPPRESSED_SYMBOL,
    DominanceRule,
    Hierarchy,
    PPercentRule,
    SecondaryMethod,
    ThresholdRule,
    audit_suppression,
    controlled_rounding,
    link_tables,
    primary_suppression,
    protect_table,
    secondary_suppression,
    tabulate,
    write_protected_table,
)
from ansim.errors import InvalidSpecError

REGIONS = Hierarchy(
    "si",
    (
        ("s1", "north", "gyeonggi"),
        ("s2", "north", "gyeonggi"),
        ("s3", "north", "gyeonggi"),
        ("s4", "south", "gyeonggi"),
        ("s5", "south", "gyeonggi"),
    ),
)


@st.composite
def _tables(draw: st.DrawFn) -> pa.Table:
    """Random records over a hierarchical region × sex (× age band) table."""
    dims = draw(st.integers(2, 3))
    weights = draw(st.lists(st.integers(0, 9), min_size=5, max_size=5))
    n = draw(st.integers(5, 80))
    seed = draw(st.integers(0, 2**31))
    rng = np.random.default_rng(seed)
    probability = np.array(weights, dtype=float) + 0.2
    columns = {
        "si": [f"s{i + 1}" for i in rng.choice(5, n, p=probability / probability.sum())],
        "sex": [str(v) for v in rng.choice(["F", "M"], n)],
    }
    if dims == 3:
        columns["age"] = [str(v) for v in rng.choice(["0-29", "30-59", "60+"], n)]
    return pa.table(columns)


def _dims(table: pa.Table) -> list[str]:
    return [c for c in ("si", "sex", "age") if c in table.column_names]


@settings(max_examples=25, deadline=None)
@given(table=_tables(), threshold=st.integers(2, 5))
def test_heuristic_passes_audit_on_random_hierarchical_tables(
    table: pa.Table, threshold: int
) -> None:
    cells = tabulate(table, _dims(table), hierarchies={"si": REGIONS})
    primary = primary_suppression(cells, [ThresholdRule(threshold)])
    result = secondary_suppression(cells, primary)
    assert (result.suppressed >= primary.sensitive).all()
    audit = audit_suppression(cells, result.suppressed, primary)
    assert audit.passed, audit.failing()
    # The audit's intervals contain the true values.
    truth = cells.values[audit.cells]
    assert (audit.lower <= truth + 1e-6).all()
    assert (audit.upper >= truth - 1e-6).all()


@settings(max_examples=12, deadline=None)
@given(table=_tables())
def test_optimal_passes_audit_and_costs_no_more_than_heuristic(table: pa.Table) -> None:
    cells = tabulate(table, ["si", "sex"], hierarchies={"si": REGIONS})
    primary = primary_suppression(cells, [ThresholdRule(3)])
    optimal = secondary_suppression(cells, primary, SecondaryMethod.OPTIMAL)
    heuristic = secondary_suppression(cells, primary, SecondaryMethod.HEURISTIC)
    assert audit_suppression(cells, optimal.suppressed, primary).passed
    assert optimal.cost <= heuristic.cost + 1e-6 + 1e-3 * max(1.0, cells.values.max()) * (
        cells.cells
    )


@settings(max_examples=25, deadline=None)
@given(table=_tables(), threshold=st.integers(2, 5))
def test_primary_only_suppression_fails_whenever_a_sensitive_cell_is_alone(
    table: pa.Table, threshold: int
) -> None:
    cells = tabulate(table, _dims(table), hierarchies={"si": REGIONS})
    primary = primary_suppression(cells, [ThresholdRule(threshold)])
    lonely = any(
        sum(primary.sensitive[c] for c in (eq.total, *eq.parts)) == 1 for eq in cells.equations
    )
    if lonely:
        assert not audit_suppression(cells, primary.sensitive, primary).passed


def test_naive_primary_suppression_is_recovered_exactly() -> None:
    table = pa.table({"si": ["s1"] * 6 + ["s2"] + ["s3"] * 7 + ["s4"] * 5 + ["s5"] * 8,
                      "sex": ["F", "M"] * 13 + ["F"]})  # fmt: skip
    cells = tabulate(table, ["si", "sex"], hierarchies={"si": REGIONS})
    primary = primary_suppression(cells, [ThresholdRule(3)])
    assert primary.sensitive.any()
    naive = audit_suppression(cells, primary.sensitive, primary)
    assert not naive.passed
    for cell in naive.failing():
        i = list(naive.cells).index(cell)
        assert naive.lower[i] == pytest.approx(cells.values[cell])
        assert naive.upper[i] == pytest.approx(cells.values[cell])
    protected = secondary_suppression(cells, primary)
    assert audit_suppression(cells, protected.suppressed, primary).passed


def test_magnitude_rules() -> None:
    table = pa.table({"si": ["s1", "s1", "s1", "s2", "s2", "s2"],
                      "pay": [100.0, 5.0, 5.0, 40.0, 35.0, 30.0]})  # fmt: skip
    cells = tabulate(table, ["si"], value="pay")
    s1, s2, total = (cells.index()[(x,)] for x in ("s1", "s2", "Total"))
    dominance = primary_suppression(cells, [DominanceRule(1, 80)])
    assert dominance.sensitive[s1]
    assert not dominance.sensitive[s2]
    assert dominance.upper[s1] == pytest.approx(100 / 0.8 - 110)
    p = primary_suppression(cells, [PPercentRule(10)])
    assert p.sensitive[s1]  # 110 − 100 − 5 = 5 < 10 % of 100
    assert not p.sensitive[total]
    assert p.upper[s1] == pytest.approx(10 - 5)
    with pytest.raises(InvalidSpecError):
        DominanceRule(3, 80)
    with pytest.raises(InvalidSpecError, match="not numeric"):
        tabulate(pa.table({"si": ["s1"], "pay": ["x"]}), ["si"], value="pay")


@settings(max_examples=25, deadline=None)
@given(table=_tables(), base=st.integers(2, 5))
def test_controlled_rounding_of_two_way_tables(table: pa.Table, base: int) -> None:
    cells = tabulate(table, ["si", "sex"], hierarchies={"si": REGIONS})
    rounded = controlled_rounding(cells, base)
    assert np.all(rounded.values % base == 0)
    assert np.all(np.abs(rounded.values - cells.values) < base)
    assert np.all(
        rounded.values[cells.values % base == 0] == cells.values[cells.values % base == 0]
    )
    for eq in cells.equations:
        assert rounded.values[eq.total] == rounded.values[list(eq.parts)].sum()
    with pytest.raises(InvalidSpecError):
        controlled_rounding(cells, 1)


@settings(max_examples=15, deadline=None)
@given(table=_tables(), threshold=st.integers(2, 4))
def test_linked_tables_share_cells_and_pass_audit(table: pa.Table, threshold: int) -> None:
    if "age" not in table.column_names:
        table = table.append_column("age", pa.array(["0-29"] * table.num_rows))
    first = tabulate(table, ["si", "sex"], hierarchies={"si": REGIONS})
    second = tabulate(table, ["si", "age"], hierarchies={"si": REGIONS})
    linked = link_tables(first, second)
    shared = sum(1 for label in first.labels if label[1] == "Total")
    assert linked.cells == first.cells + second.cells - shared
    assert len(linked.equations) <= len(first.equations) + len(second.equations)
    primary = primary_suppression(linked, [ThresholdRule(threshold)])
    result = secondary_suppression(linked, primary)
    assert audit_suppression(linked, result.suppressed, primary).passed


def test_linked_tables_must_agree() -> None:
    a = tabulate(pa.table({"si": ["s1", "s2"]}), ["si"])
    b = tabulate(pa.table({"si": ["s1", "s1"]}), ["si"])
    with pytest.raises(InvalidSpecError, match="disagree"):
        link_tables(a, b)


def test_margins_count_each_contributor_once_and_sum_its_value() -> None:
    # Issue 11: a row total from 2 firms was published as 6 contributors, and one firm's
    # 90 of 110 in a margin escaped (1, 80) dominance.
    t = pa.table(
        {
            "si": ["A"] * 6,
            "kind": ["k1", "k2", "k3", "k1", "k2", "k3"],
            "firm": ["f1", "f1", "f1", "f2", "f2", "f2"],
            "sales": [30.0, 30.0, 30.0, 10.0, 5.0, 5.0],
        }
    )
    cells = tabulate(t, ["si", "kind"], value="sales", contributor="firm")
    row_total = cells.index()[("A", "Total")]
    assert int(cells.contributors[row_total]) == 2
    assert cells.top[row_total].tolist() == [90.0, 20.0]
    primary = primary_suppression(cells, [DominanceRule(1, 80.0), ThresholdRule(3)])
    assert bool(primary.sensitive[row_total])


def test_protected_table_csv_shows_one_symbol_and_no_status(tmp_path: Path) -> None:
    # Issue 11: 'primary' / 'secondary' labels gave 1-9 versus 0-or-≥10 bounds, which recover
    # a 2×2 table's four suppressed cells exactly.
    t = pa.table(
        {
            "si": ["A"] * 3 + ["A"] * 20 + ["B"] * 20 + ["B"] * 4,
            "sex": ["F"] * 3 + ["M"] * 20 + ["F"] * 20 + ["M"] * 4,
        }
    )
    protected = protect_table(t, ["si", "sex"], [ThresholdRule(10)])
    write_protected_table(protected, tmp_path)
    text = (tmp_path / "table.csv").read_text(encoding="utf-8")
    assert "primary" not in text and "secondary" not in text
    with (tmp_path / "table.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    hidden = [r for r in rows if r["value"] == SUPPRESSED_SYMBOL]
    assert len(hidden) >= 4
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert {s["status"] for s in report["status"]} >= {"primary", "secondary"}
