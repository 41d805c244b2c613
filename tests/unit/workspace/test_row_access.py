"""Issue 11: row access is a project policy: a dummy twin (default), 20 real rows, a safe room."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pytest

from ansim.errors import AccessDenied, EngineError, InvalidSpecError
from ansim.governance import PREVIEW_ROWS, RowAccess, RowAccessMode, RowAccessRegister
from ansim.workspace import DUMMY_LABEL, ColumnDomain
from tests.unit.workspace.conftest import PEOPLE, PROJECT, Env, linked_tables

RARE = 60  # persons of the "rare" view: every value of theirs is held by one person only


def _rare_view() -> pa.Table:
    """Identifying and rare columns: unique codes, exact amounts, birth dates, ids."""
    rng = np.random.default_rng(11)
    ids = np.arange(RARE)
    return pa.table(
        {
            "person_id": ids,
            "diagnosis_code": [f"X{int(v):05d}" for v in rng.choice(99_999, RARE, replace=False)],
            "payment_krw": rng.integers(1_000_000, 9_000_000, RARE),
            "birth_date": [
                dt.date(1930, 1, 1) + dt.timedelta(days=int(d))
                for d in rng.integers(0, 30_000, RARE)
            ],
            "note": [f"only-person-{i}" for i in ids],
        }
    )


@pytest.fixture
def rare(env: Env) -> Env:
    """The project's store with one more linked view of identifying and rare values."""
    with env.gov.open_hub_store("hubop", PROJECT, env.store, write=True) as engine:
        engine.create_table("linked_rare", _rare_view())
    return env


def _events(env: Env, action: str) -> list[dict[str, object]]:
    return [dict(e.objects) for e in env.gov.audit.events(PROJECT) if e.action == action]


# -- who sets the policy -----------------------------------------------------------------------
def test_the_default_is_none_and_only_an_administrator_changes_it(env: Env) -> None:
    register = RowAccessRegister(env.gov)
    assert register.policy(PROJECT).mode is RowAccessMode.NONE
    for actor in ("analyst", "checker", "hubop", "officer", "outsider"):
        with pytest.raises(AccessDenied, match="administrator"):
            register.set(actor, PROJECT, RowAccessMode.PREVIEW)
        with pytest.raises(AccessDenied):
            register.set(actor, PROJECT, RowAccessMode.SAFE_SETTING, "room-1")
    assert register.policy(PROJECT).mode is RowAccessMode.NONE
    denied = _events(env, "access_denied")
    assert len(denied) >= 10 and all(d["operation"] == "create_project" for d in denied)
    done = register.set("admin", PROJECT, RowAccessMode.SAFE_SETTING, "room-1")
    assert (done.mode, done.workstation, done.set_by) == (RowAccessMode.SAFE_SETTING, "room-1",
                                                          "admin")  # fmt: skip
    assert register.policy(PROJECT) == done
    assert _events(env, "set_row_access") == [
        {"mode": "safe_setting", "workstation": "room-1", "previous": "none"}
    ]
    assert env.gov.verify_audit().ok


def test_a_policy_is_validated() -> None:
    with pytest.raises(InvalidSpecError, match="workstation"):
        RowAccess(RowAccessMode.SAFE_SETTING)
    with pytest.raises(InvalidSpecError, match="only row access safe_setting"):
        RowAccess(RowAccessMode.PREVIEW, "room-1")
    with pytest.raises(InvalidSpecError):
        RowAccess(RowAccessMode.SAFE_SETTING, "Room 1; drop")


def test_a_workspace_session_cannot_change_its_own_policy(env: Env) -> None:
    with env.workspace() as ws:
        assert ws.row_access.mode is RowAccessMode.NONE
        with pytest.raises(AttributeError):
            ws.row_access.mode = RowAccessMode.SAFE_SETTING  # type: ignore[misc] # frozen
    assert RowAccessRegister(env.gov).policy(PROJECT).mode is RowAccessMode.NONE


# -- none: the dummy twin --------------------------------------------------------------------
def test_none_shows_a_labelled_twin_and_never_a_real_value(rare: Env) -> None:
    real = _rare_view()
    with rare.workspace() as ws:
        answer = ws.show("SELECT * FROM rare", 1_000_000)  # found 7: a huge limit
        register = ws.show("SELECT * FROM register", 1_000_000)
    assert answer.dummy and answer.label == DUMMY_LABEL and answer.row_access == "none"
    assert "더미" in answer.label and "DUMMY" in answer.label
    assert answer.columns == tuple(real.column_names)
    twin = {c: {r[i] for r in answer.rows} for i, c in enumerate(answer.columns)}
    for column in ("person_id", "diagnosis_code", "note"):  # identifying: disjoint by design
        assert not twin[column] & set(real.column(column).to_pylist()), column
    assert all(v is None or v < 0 for v in twin["person_id"])
    assert all(str(v).startswith("DUMMY-") for v in twin["note"] - {None})
    # no real record is reproduced, not even without its id
    records = {tuple(r.values())[1:] for r in real.to_pylist()}
    assert not {r[1:] for r in answer.rows} & records
    assert register.row_count is not None and register.row_count != PEOPLE
    real_ids = set(linked_tables()["linked_register"].column("person_id").to_pylist())
    assert not {r[0] for r in register.rows} & real_ids


def test_the_twin_does_not_depend_on_the_real_values(env: Env) -> None:
    """The same schema with other real values gives exactly the same twin answers."""
    sql = "SELECT sex, count(*) AS n, avg(income) AS mean FROM register GROUP BY sex ORDER BY sex"
    with env.workspace() as ws:
        first = ws.show(sql)
    with env.gov.open_hub_store("hubop", PROJECT, env.store, write=True) as engine:
        engine.create_table("linked_register", linked_tables(seed=99)["linked_register"])
    with env.workspace() as ws:
        again = ws.show(sql)
        real = ws.query(sql).to_pylist()
    assert first == again
    assert [r["n"] for r in real] != [r[1] for r in first.rows]


def test_twin_joins_meet_on_dummy_persons(env: Env) -> None:
    sql = "SELECT count(*) AS n FROM register JOIN cases USING (person_id)"
    with env.workspace() as ws:
        (row,) = ws.show(sql).rows
    assert row[0] > 0


def test_checked_outputs_still_use_the_real_views(env: Env) -> None:
    with env.workspace() as ws:
        out = ws.crosstab("SELECT person_id, sex FROM register", ["sex"])
    real = linked_tables()["linked_register"].column("sex").to_pylist()
    assert sorted(r[-1] for r in out.rows) == sorted([real.count("F"), real.count("M")])


def test_every_query_is_audited_with_what_it_showed(env: Env) -> None:
    with env.workspace() as ws:
        ws.show("SELECT * FROM register", 5)
    (result,) = _events(env, "query_result")
    assert result == {"rows": 800, "rows_shown": 5, "row_access": "none", "source": "dummy_twin"}
    query = _events(env, "query")[-1]
    assert query["source"] == "dummy_twin" and "SELECT" in str(query["sql"])


# -- preview -----------------------------------------------------------------------------------
def test_preview_shows_at_most_twenty_real_rows_each_audited(env: Env) -> None:
    RowAccessRegister(env.gov).set("admin", PROJECT, RowAccessMode.PREVIEW)
    real = linked_tables()["linked_register"]
    with env.workspace() as ws:
        answer = ws.show("SELECT * FROM register ORDER BY person_id", 1_000_000)
        few = ws.show("SELECT * FROM register WHERE person_id < 3", 1_000_000)
    assert not answer.dummy and len(answer.rows) == PREVIEW_ROWS
    assert answer.more and answer.row_count is None  # no unchecked count of real rows
    assert [r[0] for r in answer.rows] == real.column("person_id").to_pylist()[:PREVIEW_ROWS]
    assert len(few.rows) == 3 and not few.more
    shown = [e for e in _events(env, "query_result") if e["source"] == "real"]
    assert [e["rows_shown"] for e in shown] == [PREVIEW_ROWS, 3]
    assert all(e["row_access"] == "preview" for e in shown)


# -- safe setting ------------------------------------------------------------------------------
def test_safe_setting_shows_real_rows_at_its_workstation_only(env: Env) -> None:
    RowAccessRegister(env.gov).set("admin", PROJECT, RowAccessMode.SAFE_SETTING, "room-1")
    sql = "SELECT * FROM register"
    with env.workspace(workstation="room-1") as ws:
        inside = ws.show(sql, 1_000_000)
    for elsewhere in (None, "room-2"):
        with env.workspace(workstation=elsewhere) as ws:
            outside = ws.show(sql, 1_000_000)
        assert outside.dummy and outside.label == DUMMY_LABEL
    assert not inside.dummy and len(inside.rows) == PEOPLE and inside.row_count == PEOPLE
    audited = [e for e in _events(env, "query_result") if e["source"] == "real"]
    assert audited == [
        {"rows": PEOPLE, "rows_shown": PEOPLE, "row_access": "safe_setting", "source": "real"}
    ]


# -- errors ------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", [RowAccessMode.NONE, RowAccessMode.PREVIEW])
def test_a_failing_shown_query_names_no_value(env: Env, mode: RowAccessMode) -> None:
    """Found 7: "Could not convert string '414601998-07-04'" must not reach the analyst."""
    RowAccessRegister(env.gov).set("admin", PROJECT, mode)
    sql = "SELECT CAST(CAST(age * 10000000 AS VARCHAR) || '-07-04' AS DATE) AS d FROM register"
    with env.workspace() as ws, pytest.raises(EngineError) as caught:
        ws.show(sql)
    message = str(caught.value)
    assert "Conversion Error" in message and "-07-04" not in message
    assert not any(ch.isdigit() for ch in message)


def test_show_needs_a_positive_limit(env: Env) -> None:
    with env.workspace() as ws, pytest.raises(InvalidSpecError):
        ws.show("SELECT 1", 0)


def test_the_twin_draws_from_the_declared_domains(env: Env) -> None:
    domains = {"register": {"income_band": ColumnDomain(values=("Q9",)),
                            "age": ColumnDomain(low=40, high=41)}}  # fmt: skip
    with env.workspace(domains=domains) as ws:
        answer = ws.show("SELECT DISTINCT income_band, age FROM register", 100)
    assert {r[0] for r in answer.rows} <= {"Q9", None}
    assert {r[1] for r in answer.rows} <= {40, 41, None}
