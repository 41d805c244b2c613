"""Review and release: queue, independent approvals, separation of duties, exceptions, bundles."""

from __future__ import annotations

import hashlib
import json

import pytest

from ansim.errors import AccessDenied, InvalidSpecError
from ansim.workspace import CheckPolicy, Output, OutputStatus

from .conftest import PROJECT, Env

GOOD = "SELECT person_id, income_band, vaccinated FROM register"
SMALL = "SELECT person_id, income_band, sex FROM register WHERE age < 12"


def _submitted(env: Env, sql: str = GOOD, actor: str = "analyst") -> Output:
    with env.workspace(actor) as ws:
        output = ws.crosstab(sql, ["income_band", "vaccinated" if sql == GOOD else "sex"])
        return ws.submit(output.id)


def test_two_independent_approvals_then_release(env: Env) -> None:
    output = _submitted(env)
    review = env.review()
    assert [o.id for o in review.queue()] == [output.id]
    assert review.approve("checker", output.id, "counts fine").status == OutputStatus.SUBMITTED
    with pytest.raises(AccessDenied, match="independent"):
        review.approve("checker", output.id)
    assert review.approve("checker2", output.id).status == OutputStatus.APPROVED
    bundle = env.tmp / "bundle"
    release = review.release("checker3", [output.id], bundle)
    assert review.outputs.get(output.id).status == OutputStatus.RELEASED
    assert review.outputs.ledger() == [output.id]
    for name, digest in release.checksums.items():
        assert hashlib.sha256((bundle / name).read_bytes()).hexdigest() == digest
        assert (bundle / "checksums" / f"{name}.txt").read_text() == digest
    assert (
        f"{release.checksums['results.json']}  results.json" in (bundle / "SHA256SUMS").read_text()
    )
    results = json.loads((bundle / "results.json").read_text())
    record = results["results"][output.id]
    assert record["status"] == "pass"
    assert record["files"][0]["name"] == f"{output.id}.csv"
    assert set(record["files"][0]["sdc"]["summary"]) >= {
        "MinimumThresholdCheck",
        "PPercentCheck",
        "NKCheck",
    }
    assert record["comments"] == ["checker: counts fine"]
    csv_text = (bundle / f"{output.id}.csv").read_text()
    assert csv_text.splitlines()[0] == "income_band,vaccinated,count"
    assert "person_id" not in csv_text
    assert env.gov.verify_audit().ok


def test_nobody_reviews_or_releases_their_own_output(env: Env) -> None:
    output = _submitted(env, actor="dual")
    review = env.review()
    with pytest.raises(AccessDenied, match="separation of duties"):
        review.approve("dual", output.id)
    review.approve("checker", output.id)
    review.approve("checker2", output.id)
    with pytest.raises(AccessDenied, match="separation of duties"):
        review.release("dual", [output.id], env.tmp / "b")
    assert not (env.tmp / "b").exists()
    denials = [
        e
        for e in env.gov.audit.events(PROJECT)
        if e.action == "access_denied" and e.actor == "dual"
    ]
    assert len(denials) == 2
    assert env.gov.verify_audit().ok


def test_only_output_checkers_review_and_approved_outputs_release(env: Env) -> None:
    output = _submitted(env)
    review = env.review()
    with pytest.raises(AccessDenied, match="output_checker"):
        review.approve("outsider", output.id)
    with pytest.raises(AccessDenied, match="only approved"):
        review.release("checker", [output.id], env.tmp / "b")
    with pytest.raises(InvalidSpecError, match="comment"):
        review.reject("checker", output.id, " ")
    assert review.reject("checker", output.id, "too detailed").status == OutputStatus.REJECTED
    with pytest.raises(AccessDenied, match="not awaiting review"):
        review.approve("checker2", output.id)


def test_held_output_goes_to_review_only_with_an_exception(env: Env) -> None:
    with env.workspace() as ws:
        output = ws.crosstab(SMALL, ["income_band", "sex"])
        assert not output.report.passed
        held = ws.submit(output.id)
        assert held.status == OutputStatus.HELD
        assert env.review().queue() == []
        with pytest.raises(InvalidSpecError, match="justification"):
            ws.request_exception(output.id, "please")
        asked = ws.request_exception(output.id, "Counts are of a public school roll, not people.")
    assert asked.status == OutputStatus.SUBMITTED
    review = env.review()
    review.approve("checker", output.id)
    review.approve("checker2", output.id)
    review.release("checker3", [output.id], env.tmp / "b")
    record = json.loads((env.tmp / "b" / "results.json").read_text())["results"][output.id]
    assert record["status"] == "fail"
    assert record["exception"].startswith("Counts are")
    assert record["files"][0]["sdc"]["summary"]["MinimumThresholdCheck"] > 0
    assert record["files"][0]["sdc"]["cells"]["MinimumThresholdCheck"]


def test_only_the_author_submits_and_policy_sets_the_number_of_approvals(env: Env) -> None:
    with env.workspace("dual") as ws:
        output = ws.crosstab(GOOD, ["income_band", "vaccinated"])
    with env.workspace() as ws, pytest.raises(AccessDenied, match="not yours"):
        ws.submit(output.id)
    strict = {"kostat": CheckPolicy(approvals=3)}
    with env.workspace(policies=strict) as ws:
        three = ws.submit(ws.crosstab(GOOD, ["income_band", "vaccinated"]).id)
    review = env.review()
    review.approve("checker", three.id)
    assert review.approve("checker2", three.id).status == OutputStatus.SUBMITTED
    assert review.approve("dual", three.id).status == OutputStatus.APPROVED


def test_custodian_thresholds_apply_to_the_views_an_analysis_reads(env: Env) -> None:
    strict = {"kostat": CheckPolicy(threshold=400)}
    with env.workspace(policies=strict) as ws:
        register = ws.crosstab("SELECT person_id, sex FROM register", ["sex"])
        cases = ws.crosstab("SELECT person_id, days_isolated > 7 AS long FROM cases", ["long"])
    assert not register.report.passed  # kostat's 400 applies to the register
    assert cases.report.passed  # gyeonggi's cases: the default 10


def test_analyses_hold_results_not_records(env: Env) -> None:
    with env.workspace() as ws:
        mean = ws.pivot_table(
            "SELECT r.person_id, r.income_band, c.isolation_support_krw FROM register r "
            "JOIN cases c USING (person_id)",
            ["income_band"],
            "isolation_support_krw",
            "mean",
        )
        maximum = ws.pivot_table(SMALL, ["sex"], "person_id", "max")
        hist = ws.histogram("SELECT person_id, age FROM register", "age", [0, 30, 60, 90])
        life = ws.survival(
            "SELECT person_id, days_isolated, 1 AS ended FROM cases",
            "days_isolated",
            "ended",
            [0, 7, 14],
        )
        ols = ws.ols(
            "SELECT person_id, age, income, vaccinated FROM register",
            "income ~ age + C(vaccinated)",
        )
        logit = ws.logit(
            "SELECT person_id, age, CASE WHEN vaccinated = 'Y' THEN 1 ELSE 0 END AS v "
            "FROM register",
            "v ~ age",
        )
        tiny = ws.ols(
            "SELECT person_id, age, income FROM register WHERE person_id < 8", "income ~ age"
        )
    assert len(mean.rows) == 5 and {r.rule for r in mean.report.results} >= {"top1", "p_percent"}
    assert "extremes" in {r.rule for r in maximum.report.results}
    assert len(hist.rows) == 3
    assert sum(r[1] for r in hist.rows) == 600
    assert {r[1] for r in life.rows} == {"censored", "event"}
    assert "censored" in " ".join(life.report.failing_cells)  # zero censored: disclosive zeros
    assert ols.report.passed and logit.report.passed
    assert ols.columns[0] == "term" and ols.rows[0][0] == "Intercept"
    assert not tiny.report.passed and tiny.report.results[0].rule == "residual_dof"
    with env.workspace() as ws, pytest.raises(AccessDenied, match="person_id"):
        ws.crosstab("SELECT sex FROM register", ["sex"])
