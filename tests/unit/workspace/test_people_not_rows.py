"""Issue 11: checks count people (the platform's person ids), not rows the analyst's SQL shapes."""

from __future__ import annotations

import pytest

from ansim.errors import AccessDenied
from tests.unit.workspace.conftest import Env

ONE = "SELECT person_id, sex FROM register WHERE person_id = 3"


@pytest.mark.parametrize(
    "sql",
    [
        " UNION ALL ".join([ONE] * 10),
        "SELECT person_id, sex FROM register, range(10) WHERE person_id = 3",
        "SELECT r.person_id, r.sex FROM register r CROSS JOIN (SELECT * FROM register "
        "WHERE person_id < 10) k WHERE r.person_id = 3",
    ],
)
def test_multiplied_rows_are_one_person(env: Env, sql: str) -> None:
    with env.workspace() as ws:
        try:
            out = ws.crosstab(sql, ["sex"])
        except AccessDenied:  # refused outright (e.g. a table function) is fine too
            return
    assert out.rows[0][-1] == 1
    assert "threshold" in {r.rule for r in out.report.results if not r.passed}


def test_rewritten_person_ids_are_refused(env: Env) -> None:
    sql = "SELECT CAST(person_id AS VARCHAR) || 'x' AS person_id, sex FROM register"
    with env.workspace() as ws, pytest.raises(AccessDenied, match="person_id"):
        ws.crosstab(sql, ["sex"])


def test_histogram_bins_count_people_not_multiplied_rows(env: Env) -> None:
    base = "SELECT person_id, age FROM register WHERE person_id < 14"
    sql = " UNION ALL ".join([base] * 10)
    with env.workspace() as ws:
        out = ws.histogram(sql, "age", 2)
    assert sum(r[-1] for r in out.rows) == 14
    assert not out.report.passed


def test_a_model_on_one_repeated_person_has_no_degrees_of_freedom(env: Env) -> None:
    sql = " UNION ALL ".join(["SELECT person_id, income FROM register WHERE person_id = 3"] * 12)
    with env.workspace() as ws:
        out = ws.ols(sql, "income ~ 1")
    assert not out.report.passed


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT (person_id + 1) % 600 AS person_id, sex FROM register",
        "SELECT age AS person_id, sex FROM register",
        "SELECT 3 AS person_id, sex FROM register",
        "SELECT person_id, sex FROM register WHERE person_id = 3 UNION ALL "
        "SELECT person_id + 1, sex FROM register",
        "SELECT max(person_id) AS person_id, sex FROM register GROUP BY sex",
    ],
)
def test_person_ids_computed_by_the_query_are_refused(env: Env, sql: str) -> None:
    with env.workspace() as ws, pytest.raises(AccessDenied, match="person_id"):
        ws.crosstab(sql, ["sex"])


def test_one_persons_row_dressed_as_ten_people_is_refused(env: Env) -> None:
    """A cross join gives ten real ids the target's own sex: the pairs are not theirs."""
    sql = (
        "SELECT r.person_id, t.sex FROM register r CROSS JOIN "
        "(SELECT sex FROM register WHERE person_id = 3) t WHERE r.person_id < 10"
    )
    with env.workspace() as ws, pytest.raises(AccessDenied, match="sex"):
        ws.crosstab(sql, ["sex"])


def test_a_derived_column_under_a_new_name_is_fine(env: Env) -> None:
    sql = "SELECT person_id, CASE WHEN age < 45 THEN 'young' ELSE 'old' END AS band FROM register"
    with env.workspace() as ws:
        out = ws.crosstab(sql, ["band"])
    assert sum(r[-1] for r in out.rows) == 600


def test_outputs_without_person_ids_or_with_missing_ones_are_refused(env: Env) -> None:
    with env.workspace() as ws:
        with pytest.raises(AccessDenied, match="person_id"):
            ws.ols("SELECT age, income FROM register", "income ~ age")
        with pytest.raises(AccessDenied, match="no person_id"):
            ws.crosstab(
                "SELECT c.person_id, r.sex FROM register r LEFT JOIN cases c USING (person_id)",
                ["sex"],
            )


def test_an_indicator_of_one_person_in_an_ols_is_held(env: Env) -> None:
    """The target plus 11 others: dof 10 passes, but the target alone fixes a coefficient."""
    sql = (
        "SELECT person_id, income, CASE WHEN person_id = 3 THEN 1 ELSE 0 END AS target "
        "FROM register WHERE person_id < 12"
    )
    with env.workspace() as ws:
        out = ws.ols(sql, "income ~ target")
    failing = {r.rule for r in out.report.results if not r.passed}
    assert "leverage" in failing


def test_an_exact_fit_is_held(env: Env) -> None:
    sql = "SELECT person_id, age, age * 2 + 1 AS y FROM register"
    with env.workspace() as ws:
        out = ws.ols(sql, "y ~ age")
    assert {r.rule for r in out.report.results if not r.passed} == {"exact_fit"}


@pytest.mark.parametrize("statistic", ["max", "min"])
def test_extremes_are_held_for_review_with_the_reason(env: Env, statistic: str) -> None:
    sql = "SELECT person_id, sex, income FROM register"
    with env.workspace() as ws:
        out = ws.pivot_table(sql, ["sex"], "income", statistic)
        median = ws.pivot_table(sql, ["sex"], "income", "median")
    held = {r.rule: r for r in out.report.results if not r.passed}
    assert "extreme_value" in held and "held for review" in held["extreme_value"].detail
    assert "extreme_value" not in {r.rule for r in median.report.results}


def test_histogram_edges_are_round_never_the_data_extremes(env: Env) -> None:
    with env.workspace() as ws:
        out = ws.histogram("SELECT person_id, income FROM register", "income", 10)
        top = ws.query("SELECT max(income) AS m, min(income) AS n FROM register").to_pylist()[0]
    edges = " ".join(str(r[0]) for r in out.rows)
    assert f"{top['m']}" not in edges and f"{top['n']}]" not in edges
    for row in out.rows:
        low, high = (float(x) for x in str(row[0]).strip("([]").split(", "))
        assert low % 50 == 0 and high % 50 == 0


def test_a_failing_query_shows_no_value_from_the_data(env: Env) -> None:
    from ansim.errors import EngineError  # noqa: PLC0415

    sql = "SELECT CAST(CAST(income AS VARCHAR) || '-07-04' AS DATE) AS d FROM register"
    with env.workspace() as ws, pytest.raises(EngineError) as caught:
        ws.query(sql)
    message = str(caught.value)
    assert "Conversion Error" in message and "…" in message
    assert not any(ch.isdigit() for ch in message)  # no income, no date part
