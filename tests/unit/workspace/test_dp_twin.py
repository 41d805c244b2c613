"""Issue 14 part 4: a DP synthetic dummy twin, paid once per view version from the budget."""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import functools
import json
from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansim.errors import AccessDenied, BudgetExhaustedError, InvalidSpecError
from ansim.governance import PrivacyLedger, TwinKind, TwinOption, TwinOptionRegister
from ansim.workspace import OTHER_LABEL, TWIN_FOLDER, ColumnDomain, dp_twin
from ansim.workspace import _workspace as workspace_module
from tests.unit.workspace.conftest import PROJECT, Env, linked_tables

UNIT = "a person of the linked project"
DOMAINS = {
    "register": {
        "income_band": ColumnDomain(values=("Q1", "Q2", "Q3", "Q4", "Q5")),
        "vaccinated": ColumnDomain(values=("Y", "N")),
    },
    "cases": {
        "days_isolated": ColumnDomain(low=1, high=14),
        "isolation_support_krw": ColumnDomain(low=100_000, high=1_000_000),
    },
}
FAST = 100  # mbi iterations in these tests (utility is not what they measure)


def _events(env: Env, action: str) -> list[dict[str, object]]:
    return [dict(e.objects) for e in env.gov.audit.events(PROJECT) if e.action == action]


@pytest.fixture
def dp(env: Env, monkeypatch: pytest.MonkeyPatch) -> Iterator[Env]:
    """The project with a budget, a dp_synthetic twin option and a fast estimation."""
    PrivacyLedger(env.gov).set_budget("admin", PROJECT, 1.0, privacy_unit=UNIT)
    TwinOptionRegister(env.gov).set("admin", PROJECT, TwinKind.DP_SYNTHETIC, epsilon=1.0)
    monkeypatch.setattr(workspace_module, "dp_twin", functools.partial(dp_twin, iterations=FAST))
    yield env


# -- the option --------------------------------------------------------------------------------
def test_only_an_administrator_sets_the_twin_kind_and_it_is_audited(env: Env) -> None:
    register = TwinOptionRegister(env.gov)
    assert register.option(PROJECT) == TwinOption()
    for actor in ("analyst", "checker", "hubop", "officer", "outsider"):
        with pytest.raises(AccessDenied):
            register.set(actor, PROJECT, TwinKind.DP_SYNTHETIC, rho=0.1)
    assert register.option(PROJECT).kind is TwinKind.DOMAINS
    done = register.set("admin", PROJECT, TwinKind.DP_SYNTHETIC, epsilon=1.0)
    assert done.kind is TwinKind.DP_SYNTHETIC and done.set_by == "admin"
    assert done.epsilon == pytest.approx(1.0) and done.conversion_delta == 1e-6
    assert register.option(PROJECT) == done
    (event,) = _events(env, "set_twin_kind")
    assert event["kind"] == "dp_synthetic" and event["previous"] == "domains"
    assert event["rho"] == pytest.approx(done.rho)
    register.set("admin", PROJECT, TwinKind.DOMAINS)
    assert register.option(PROJECT).kind is TwinKind.DOMAINS and env.gov.verify_audit().ok


def test_the_twin_option_is_validated(env: Env) -> None:
    register = TwinOptionRegister(env.gov)
    with pytest.raises(InvalidSpecError, match="rho"):
        register.set("admin", PROJECT, TwinKind.DP_SYNTHETIC)
    with pytest.raises(InvalidSpecError, match="not both"):
        register.set("admin", PROJECT, TwinKind.DP_SYNTHETIC, rho=0.1, epsilon=1.0)
    with pytest.raises(InvalidSpecError, match="only a dp_synthetic"):
        register.set("admin", PROJECT, TwinKind.DOMAINS, rho=0.1)
    with pytest.raises(InvalidSpecError):
        register.set("admin", PROJECT, TwinKind.DP_SYNTHETIC, epsilon=-1.0)
    assert not _events(env, "set_twin_kind")


# -- paid before any row is read ---------------------------------------------------------------
def _schemas() -> dict[str, pa.Schema]:
    return {name.removeprefix("linked_"): t.schema for name, t in linked_tables().items()}


def _refused_build(env: Env, rho: float) -> tuple[list[str], BudgetExhaustedError]:
    read: list[str] = []

    def source(view: str) -> pa.Table:
        read.append(view)
        raise AssertionError("a refused twin read rows")

    option = TwinOption(TwinKind.DP_SYNTHETIC, rho, 1e-6)
    schemas = _schemas()
    with pytest.raises(BudgetExhaustedError) as caught:
        dp_twin(env.gov, "analyst", PROJECT, schemas, dict.fromkeys(schemas, "v1"), source,
                option=option, home=env.home, domains=DOMAINS, iterations=FAST)  # fmt: skip
    return read, caught.value


def test_no_budget_refuses_the_twin_before_any_row_is_read(env: Env) -> None:
    read, error = _refused_build(env, 0.1)
    assert read == [] and "no privacy budget" in str(error)
    assert not list((env.home / TWIN_FOLDER).glob("*.parquet"))


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(total=st.floats(1e-6, 0.5), excess=st.floats(1.001, 100.0))
def test_an_exhausted_budget_refuses_the_twin_and_reads_nothing(
    env: Env, total: float, excess: float
) -> None:
    ledger = PrivacyLedger(env.gov)
    ledger.set_budget("admin", PROJECT, max(total, ledger_spent(env)), privacy_unit=UNIT)
    remaining = ledger.balance(PROJECT).rho_remaining
    read, error = _refused_build(env, remaining * excess + 1e-9)
    assert read == [] and "cannot pay" in str(error) and "ask an administrator" in str(error)
    assert ledger.spends(PROJECT) == []
    assert not list((env.home / TWIN_FOLDER).glob("*.parquet"))


def ledger_spent(env: Env) -> float:
    try:
        return PrivacyLedger(env.gov).balance(PROJECT).rho_spent
    except BudgetExhaustedError:
        return 0.0


def test_a_workspace_query_on_an_unpaid_twin_is_refused_clearly(dp: Env) -> None:
    PrivacyLedger(dp.gov).set_budget("admin", PROJECT, 1.0, privacy_unit=UNIT)
    TwinOptionRegister(dp.gov).set("admin", PROJECT, TwinKind.DP_SYNTHETIC, rho=2.0)
    with dp.workspace() as ws, pytest.raises(BudgetExhaustedError, match="cannot pay"):
        ws.show("SELECT count(*) FROM register")
    assert PrivacyLedger(dp.gov).spends(PROJECT) == []


# -- built once, reused, no real id or text ----------------------------------------------------
def test_the_twin_is_paid_once_per_view_version_and_reused(dp: Env) -> None:
    sql = "SELECT sex, count(*) AS n FROM register GROUP BY sex ORDER BY sex"
    with dp.workspace(domains=DOMAINS) as ws:
        first = ws.show(sql)
        ws.show("SELECT count(*) FROM cases")  # the same session: the same twin
    ledger = PrivacyLedger(dp.gov)
    spends = ledger.spends(PROJECT)
    assert sorted(s.release.split("-")[1] for s in spends) == ["cases", "register"]
    option = TwinOptionRegister(dp.gov).option(PROJECT)
    assert option.rho is not None  # the plan spends at most the stated rho, rounded up
    assert all(0.9 * option.rho <= s.rho <= option.rho + 1e-12 for s in spends)
    assert first.dummy and "DUMMY" in first.label and "DP synthetic" in first.label
    assert "epsilon 1 per view" in first.label and "더미" in first.label
    everything = "SELECT * FROM register ORDER BY person_id"
    with dp.workspace(domains=DOMAINS) as ws:  # a later session: read from the cache
        assert ws.show(sql) == first
        rows = ws.show(everything, 1000).rows
    # the same rows in another order (the engine's scans may reorder them): the same version
    register = linked_tables()["linked_register"]
    with dp.gov.open_hub_store("hubop", PROJECT, dp.store, write=True) as engine:
        engine.create_table("linked_register", register.take(list(range(register.num_rows))[::-1]))
    with dp.workspace(domains=DOMAINS) as ws:
        assert ws.show(everything, 1000).rows == rows
    assert len(ledger.spends(PROJECT)) == 2
    # a new version of one view is a new synthesis: one more spend, for that view only
    with dp.gov.open_hub_store("hubop", PROJECT, dp.store, write=True) as engine:
        engine.create_table("linked_cases", linked_tables(seed=99)["linked_cases"])
    with dp.workspace(domains=DOMAINS) as ws:
        ws.show(sql)
    again = ledger.spends(PROJECT)
    assert len(again) == 3 and again[-1].release.startswith("twin-cases-")
    queries = [e for e in _events(dp, "query") if e.get("source") == "dummy_twin"]
    assert queries and all(e["twin"] == "dp_synthetic" for e in queries)


def test_the_twin_holds_no_real_person_id_and_no_real_free_text(dp: Env) -> None:
    real = linked_tables()["linked_register"]
    notes = pa.array([f"only-person-{i}" for i in range(real.num_rows)])
    with dp.gov.open_hub_store("hubop", PROJECT, dp.store, write=True) as engine:
        births = pa.array(
            [dt.date(1950, 1, 1) + dt.timedelta(days=i) for i in range(real.num_rows)]
        )
        dated = real.append_column("note", notes).append_column("birth_date", births)
        engine.create_table("linked_register", dated)
    with dp.workspace(domains=DOMAINS) as ws:
        answer = ws.show("SELECT * FROM register", 1_000_000)
        joined = ws.show("SELECT count(*) FROM register JOIN cases USING (person_id)")
    twin = {c: [r[i] for r in answer.rows] for i, c in enumerate(answer.columns)}
    assert not set(twin["person_id"]) & set(real.column("person_id").to_pylist())
    assert all(v < 0 for v in twin["person_id"])
    assert len(set(twin["person_id"])) == len(twin["person_id"])  # one row per dummy person
    assert not set(twin["note"]) & set(notes.to_pylist())
    assert all(v is None or v.startswith("DUMMY-note-") for v in twin["note"])
    # modelled columns stay in their declared (or implied) domains
    assert set(twin["sex"]) <= {"M", "F", OTHER_LABEL} and set(twin["income_band"]) <= set(DOMAINS[
        "register"]["income_band"].values or ())  # fmt: skip
    assert all(0 <= a <= 99 for a in twin["age"])
    assert joined.rows[0][0] > 0  # joins on person_id still meet
    # a date with an implied domain (birth_date: 1920 to 2024) is modelled by its day number
    assert all(dt.date(1920, 1, 1) <= d <= dt.date(2024, 12, 31) for d in twin["birth_date"])
    born = sorted(d.year for d in twin["birth_date"])
    assert 1945 <= born[len(born) // 2] <= 1955  # the real ones: 1950-1951; DP keeps the band


def test_workspace_queries_run_on_the_dp_twin_under_policy_none(dp: Env) -> None:
    sql = "SELECT income_band, avg(age) AS mean_age, count(*) AS n FROM register GROUP BY 1"
    with dp.workspace(domains=DOMAINS) as ws:
        answer = ws.show(sql)
        real = {r["income_band"]: r["n"] for r in ws.query(sql).to_pylist()}
    assert answer.dummy and answer.row_access == "none"
    twin = {r[0]: r[2] for r in answer.rows}
    assert set(twin) <= set(real) and sum(twin.values()) > 0
    total = sum(real.values())
    # the twin follows the real one-way distribution (a DP fit at epsilon 1, 600 people)
    assert sum(abs(twin.get(k, 0) / sum(twin.values()) - n / total) for k, n in real.items()) < 0.5


def test_the_utility_report_is_read_from_the_cache(dp: Env) -> None:
    with dp.workspace(domains=DOMAINS) as ws:
        before = ws.twin_report()
        ws.show("SELECT 1 AS one FROM register LIMIT 1")
        after = ws.twin_report()
    assert before["option"]["kind"] == "dp_synthetic"
    assert before["views"]["register"]["built"] is False
    register = after["views"]["register"]
    assert register["built"] is True and register["twin"] == "dp_synthetic"
    assert register["modelled"] == ["age", "sex", "income_band", "vaccinated"]
    assert register["generated"] == ["income"]
    for order in ("tvd_1way", "tvd_2way", "tvd_3way"):
        assert 0 <= register["utility"][order]["average"] <= register["utility"][order]["worst"]
        assert register["utility"][order]["worst"] <= 1
    assert register["utility"]["differentially_private"] is False
    assert register["epsilon"] == pytest.approx(1.0) and register["privacy_unit"] == UNIT
    spend = PrivacyLedger(dp.gov).spends(PROJECT)
    assert register["spend"] in {s.id for s in spend}
    stored = json.loads(next((dp.home / TWIN_FOLDER).glob("register-*.json")).read_text())
    assert stored["utility"] == register["utility"]


def test_a_view_without_enough_declared_domains_gets_the_domain_twin(dp: Env) -> None:
    with dp.workspace() as ws:  # cases: no declared domain for its two columns
        ws.show("SELECT count(*) FROM cases")
        report = ws.twin_report()["views"]
    assert report["cases"]["twin"] == "domains" and "fewer than two" in report["cases"]["reason"]
    assert report["register"]["twin"] == "dp_synthetic"  # sex and age: implied domains
    assert [s.release.split("-")[1] for s in PrivacyLedger(dp.gov).spends(PROJECT)] == ["register"]


def test_bands_decode_into_the_view_type() -> None:
    from ansim.workspace._dp_twin import _decode, _modelled  # noqa: PLC0415 - a private step

    field = pa.field("days", pa.int64())
    m = _modelled(field, ColumnDomain(low=1, high=100))
    assert m is not None and m.synth.banded and len(m.synth.labels) == 10
    labels = pa.array([m.synth.labels[0], m.synth.labels[-1]] * 50)
    values = _decode(field, m, labels, np.random.default_rng(0)).to_pylist()
    assert values[0::2] and all(1 <= v < m.synth.edges[1] for v in values[0::2])
    assert all(m.synth.edges[-1] <= v <= 100 for v in values[1::2])
    sex = _modelled(pa.field("sex", pa.string()), None)  # implied M/F; others kept as "other"
    assert sex is not None and sex.synth.labels == ("M", "F", OTHER_LABEL)
    flag = pa.field("flag", pa.bool_())
    truth = _modelled(flag, None)
    assert truth is not None
    decoded = _decode(flag, truth, pa.array(["true", OTHER_LABEL]), np.random.default_rng(0))
    assert decoded.to_pylist() == [True, None]
    assert _modelled(pa.field("note", pa.string()), None) is None  # free text: generated
    assert _modelled(pa.field("when", pa.date32()), None) is None  # no domain: generated
    day = pa.field("when", pa.timestamp("us"))
    dated = _modelled(day, ColumnDomain(start=dt.date(2020, 1, 1), end=dt.date(2020, 12, 31)))
    assert dated is not None and dated.days and len(dated.synth.labels) == 10
    when = _decode(day, dated, pa.array([dated.synth.labels[-1]] * 20), np.random.default_rng(0))
    assert when.type == pa.timestamp("us")
    assert all(dt.datetime(2020, 11, 1) < v <= dt.datetime(2020, 12, 31) for v in when.to_pylist())


def test_two_sessions_building_at_once_pay_once(dp: Env) -> None:
    """The workspace's lock: a second session waits and reads the first one's twin."""
    tables = {name.removeprefix("linked_"): t for name, t in linked_tables().items()}
    schemas = {name: t.schema for name, t in tables.items()}
    versions = dict.fromkeys(schemas, "v1")
    option = TwinOptionRegister(dp.gov).option(PROJECT)
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        builds = list(pool.map(lambda _: dp_twin(
            dp.gov, "analyst", PROJECT, schemas, versions, tables.__getitem__, option=option,
            home=dp.home, domains=DOMAINS, iterations=FAST,
        ), range(2)))  # fmt: skip
    assert len(PrivacyLedger(dp.gov).spends(PROJECT)) == len(schemas)
    assert builds[0].tables == builds[1].tables
