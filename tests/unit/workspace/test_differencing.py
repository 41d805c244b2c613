"""Differencing across releases: nested age bands, one category less, overlapping filters."""

from __future__ import annotations

import itertools

import pytest

from ansim.errors import DisclosureCheckFailed, InvalidSpecError
from ansim.workspace import Output, OutputStatus, Workspace, differencing_check

from .conftest import Env


def _ids(start: int, stop: int) -> frozenset[str]:
    return frozenset(str(i) for i in range(start, stop))


def test_exact_set_rules() -> None:
    released = {"out-0001": {"a": _ids(0, 40), "b": _ids(40, 100)}}
    failing = differencing_check({"x": _ids(0, 45)}, released, 10).failing
    assert "x minus out-0001 a" in failing  # the 5 people aged into x
    assert "x overlap out-0001 b (union: out-0001 (table total))" in failing  # the same 5
    assert differencing_check({"x": _ids(0, 60)}, released, 10).passed  # differs by 20
    assert differencing_check({"x": _ids(0, 40)}, released, 10).passed  # the same group
    overlap = {"out-0002": {"all": _ids(0, 100)}}
    both = {"p": _ids(0, 53), "q": _ids(50, 100)}  # overlap of 3; union released
    result = differencing_check(both, overlap, 10)
    assert result.failing == ("p overlap this table q (union: out-0002 all)",)
    # overlapping categories reveal their overlap through the table's own total, too
    assert not differencing_check(both, {}, 10).passed
    apart = {"p": _ids(0, 50), "q": _ids(50, 100)}
    assert differencing_check(apart, overlap, 10).passed


def _release(env: Env, output: Output) -> None:
    with env.workspace() as ws:
        assert ws.submit(output.id).status == OutputStatus.SUBMITTED
    review = env.review()
    review.approve("checker", output.id)
    review.approve("checker2", output.id)
    review.release("checker3", [output.id], env.tmp / f"bundle-{output.id}")


def _band(edges: list[int]) -> str:
    cases = " ".join(
        f"WHEN age < {hi} THEN '{lo}-{hi - 1}'" for lo, hi in itertools.pairwise(edges)
    )
    return f"CASE {cases} ELSE '{edges[-1]}+' END"


def _crosstab(ws: Workspace, sql: str, dims: list[str]) -> Output:
    return ws.crosstab(sql, dims)


def test_nested_age_bands_are_flagged_with_the_exposing_table(env: Env) -> None:
    with env.workspace() as ws:
        first = _crosstab(
            ws,
            f"SELECT person_id, {_band([0, 20, 40, 60])} AS band FROM register",  # noqa: S608 - constants
            ["band"],
        )
    assert first.report.passed
    _release(env, first)
    with env.workspace() as ws:
        shifted = _crosstab(
            ws,
            f"SELECT person_id, {_band([0, 21, 41, 61])} AS band FROM register",  # noqa: S608 - constants
            ["band"],
        )
    failing = {r.rule: r.failing for r in shifted.report.results}["differencing"]
    assert failing
    assert all(first.id in f for f in failing)
    assert {r.rule for r in shifted.report.results if not r.passed} == {"differencing"}


def test_a_table_minus_one_category_is_flagged(env: Env) -> None:
    with env.workspace() as ws:
        everyone = _crosstab(ws, "SELECT person_id, income_band FROM register", ["income_band"])
    _release(env, everyone)
    with env.workspace() as ws:
        all_but_oldest = _crosstab(
            ws, "SELECT person_id, income_band FROM register WHERE age < 89", ["income_band"]
        )
        unrelated = _crosstab(ws, "SELECT person_id, sex FROM register WHERE age < 45", ["sex"])
    failing = {r.rule: r.failing for r in all_but_oldest.report.results}["differencing"]
    assert any(f.startswith("income_band=") and everyone.id in f for f in failing)
    assert unrelated.report.passed


def test_two_overlapping_filters_are_flagged_through_the_released_total(env: Env) -> None:
    with env.workspace() as ws:
        total = _crosstab(ws, "SELECT person_id, sex FROM register", ["sex"])
    _release(env, total)
    with env.workspace() as ws:
        older = _crosstab(ws, "SELECT person_id, sex FROM register WHERE age >= 30", ["sex"])
    assert older.report.passed
    _release(env, older)
    with env.workspace() as ws:
        younger = _crosstab(ws, "SELECT person_id, sex FROM register WHERE age <= 30", ["sex"])
    failing = {r.rule: r.failing for r in younger.report.results}["differencing"]
    assert any("overlap" in f and older.id in f and total.id in f for f in failing)


def test_release_rechecks_against_what_was_released_meanwhile(env: Env) -> None:
    with env.workspace() as ws:
        sqls = [
            f"SELECT person_id, {_band(edges)} AS band FROM register"  # noqa: S608 - constants
            for edges in ([0, 20, 40, 60], [0, 21, 41, 61])
        ]
        first, second = (ws.submit(ws.crosstab(sql, ["band"]).id) for sql in sqls)
    assert first.report.passed and second.report.passed  # nothing released yet
    review = env.review()
    for output in (first, second):
        review.approve("checker", output.id)
        review.approve("checker2", output.id)
    review.release("checker3", [first.id], env.tmp / "first")
    with pytest.raises(DisclosureCheckFailed, match=f"{second.id} can now be differenced"):
        review.release("checker3", [second.id], env.tmp / "second")
    assert review.outputs.ledger() == [first.id]
    with pytest.raises(InvalidSpecError, match="exists"):
        review.release("checker3", [first.id], env.tmp / "first")
