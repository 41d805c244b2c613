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
