"""One release path per project: the release service and workspace bundles share one ledger."""

from __future__ import annotations

import hashlib

import pyarrow as pa
import pytest

from ansim.disclosure import ThresholdRule, protect_table
from ansim.errors import AccessDenied, DisclosureCheckFailed
from ansim.release import Candidate, ReleaseKind, ReleaseService, ReleaseStatus
from ansim.workspace import OutputStatus, ReviewDecision

from .conftest import PROJECT, Env, linked_tables

BY_INCOME = "SELECT person_id, income_band FROM register WHERE age < 30"


def _register() -> list[dict[str, object]]:
    rows: list[dict[str, object]] = linked_tables()["linked_register"].to_pylist()
    return rows


def _young_but_q1_boys() -> frozenset[str]:
    """Everyone under 30 except the men of income band Q1 under 12: a filter's count."""
    return frozenset(
        str(r["person_id"])
        for r in _register()
        if r["age"] < 30 and not (r["income_band"] == "Q1" and r["sex"] == "M" and r["age"] < 12)
    )


def _q1_boys() -> frozenset[str]:
    young = {str(r["person_id"]) for r in _register() if r["age"] < 30}
    return frozenset(young - _young_but_q1_boys())


def _candidate(cells: dict[str, frozenset[str]]) -> Candidate:
    return Candidate(ReleaseKind.RATE_TABLE, "a count", {"t.csv": b"n\n1\n"}, cells, 10)


def _approved(service: ReleaseService, candidate: Candidate) -> str:
    submitted = service.submit("analyst", candidate)
    service.approve("checker", submitted.id, "fine")
    assert service.approve("checker2", submitted.id).status == ReleaseStatus.APPROVED
    return submitted.id


def test_two_distinct_approvals_not_the_author_then_release(env: Env) -> None:
    service = ReleaseService(env.gov, PROJECT, env.home)
    submitted = service.submit("analyst", _candidate({"all": frozenset(map(str, range(50)))}))
    assert [s.id for s in service.queue()] == [submitted.id]
    with pytest.raises(AccessDenied, match="own"):
        service.approve("analyst", submitted.id)
    assert service.approve("checker", submitted.id).status == ReleaseStatus.SUBMITTED
    with pytest.raises(AccessDenied, match="independent"):
        service.approve("checker", submitted.id)
    with pytest.raises(AccessDenied, match="submitted"):
        service.release("checker3", submitted.id, env.tmp / "early")
    with pytest.raises(AccessDenied):
        service.approve("outsider", submitted.id)  # not an output checker
    service.approve("checker2", submitted.id)
    with pytest.raises(AccessDenied, match="own"):
        service.release("analyst", submitted.id, env.tmp / "mine")
    published = service.release("checker3", submitted.id, env.tmp / "out")
    assert (env.tmp / "out" / "t.csv").read_bytes() == b"n\n1\n"
    assert published.checksums["t.csv"] == hashlib.sha256(b"n\n1\n").hexdigest()
    assert service.get(submitted.id).status == ReleaseStatus.RELEASED
    assert [r.release for r in service.ledger.released()] == [submitted.id]
    assert env.gov.verify_audit().ok


def test_a_release_that_differences_an_earlier_one_is_refused(env: Env) -> None:
    service = ReleaseService(env.gov, PROJECT, env.home)
    first = _approved(service, _candidate({"ages 20-29": frozenset(map(str, range(40)))}))
    service.release("checker3", first, env.tmp / "one")
    second = _approved(service, _candidate({"ages 20-30": frozenset(map(str, range(42)))}))
    assert not service.audit(second).passed
    with pytest.raises(DisclosureCheckFailed, match="release ledger"):
        service.release("checker3", second, env.tmp / "two")
    assert not (env.tmp / "two").exists()
    assert service.get(second).status == ReleaseStatus.APPROVED
    assert len(service.ledger.released()) == 1
    assert env.gov.verify_audit().ok


def test_the_workspace_checks_see_what_the_release_service_released(env: Env) -> None:
    # Issue 11: workspace outputs were not checked against the published rate table.
    service = ReleaseService(env.gov, PROJECT, env.home)
    assert 0 < len(_q1_boys()) < 10
    rate = _approved(service, _candidate({"filtered": _young_but_q1_boys()}))
    service.release("checker3", rate, env.tmp / "rates")
    with env.workspace() as ws:
        output = ws.crosstab(BY_INCOME, ["income_band"])
    (differencing,) = [r for r in output.report.results if r.rule == "differencing"]
    assert not differencing.passed
    assert any(rate in f for f in differencing.failing)


THREE = (
    "SELECT person_id, 'all' AS grp FROM register WHERE age >= 60 OR (age < 30 AND NOT "
    "(income_band = 'Q1' AND sex = 'M' AND age < 12))"
)


def test_a_workspace_bundle_is_refused_by_the_ledger_when_no_pair_shows_it(env: Env) -> None:
    # Three tables: A (under 30) and E (60 and over) released as counts, then the workspace
    # count B = (A − D) ∪ E: A + E − B is D, the boys of Q1 under 12. No pair shows it.
    people = _register()
    a = frozenset(str(r["person_id"]) for r in people if r["age"] < 30)
    e = frozenset(str(r["person_id"]) for r in people if r["age"] >= 60)
    service = ReleaseService(env.gov, PROJECT, env.home)
    for name, cells in (("a", a), ("e", e)):
        service.release("checker3", _approved(service, _candidate({name: cells})), env.tmp / name)
    with env.workspace() as ws:
        output = ws.crosstab(THREE, ["grp"])
        assert output.report.passed  # every check of the workspace, pairwise differencing too
        ws.submit(output.id)
    review = env.review()
    review.approve("checker", output.id)
    review.approve("checker2", output.id)
    with pytest.raises(DisclosureCheckFailed, match="release ledger"):
        review.release("checker3", [output.id], env.tmp / "bundle")
    assert not (env.tmp / "bundle").exists()
    assert len(service.ledger.released()) == 2


def test_a_rate_count_is_refused_against_a_released_workspace_bundle(env: Env) -> None:
    with env.workspace() as ws:
        output = ws.submit(ws.crosstab(BY_INCOME, ["income_band"]).id)
    review = env.review()
    review.approve("checker", output.id)
    review.approve("checker2", output.id)
    review.release("checker3", [output.id], env.tmp / "bundle")
    service = ReleaseService(env.gov, PROJECT, env.home)
    assert [r.release for r in service.ledger.released()] == [f"workspace {output.id}"]
    rate = _approved(service, _candidate({"filtered": _young_but_q1_boys()}))
    audit = service.audit(rate)
    assert [e.members for e in audit.exposed] == [_q1_boys()]
    with pytest.raises(DisclosureCheckFailed, match="release ledger"):
        service.release("checker3", rate, env.tmp / "rates")


def test_a_protected_table_goes_through_the_same_path(env: Env) -> None:
    t = pa.table({"si": ["A"] * 19 + ["B"] * 11, "firm": [f"f{i}" for i in range(30)]})
    protected = protect_table(t, ["si"], [ThresholdRule(10)], contributor="firm")
    candidate = Candidate.protected_table(protected, threshold=10, unit="firm")
    assert set(candidate.files) == {"table.csv", "report.json"}
    assert set(candidate.cells) == {"A", "B", "Total"}
    service = ReleaseService(env.gov, PROJECT, env.home)
    release = _approved(service, candidate)
    service.release("checker3", release, env.tmp / "table")
    assert (env.tmp / "table" / "table.csv").read_bytes() == candidate.files["table.csv"]
    (entry,) = service.ledger.released()
    assert entry.unit == "firm"


def test_workspace_review_is_the_release_services_path(env: Env) -> None:
    # One copy of the decide and release logic: the workspace's review delegates to the service.
    with env.workspace() as ws:
        output = ws.submit(ws.crosstab(BY_INCOME, ["income_band"]).id)
    review = env.review()
    review.approve("checker", output.id, "fine")
    (entered,) = review.service.all()
    assert (entered.kind, entered.source, entered.author) == (
        ReleaseKind.WORKSPACE,
        output.id,
        "analyst",
    )
    assert entered.approvals == ("checker",) and entered.status == ReleaseStatus.SUBMITTED
    with pytest.raises(AccessDenied, match="own"):
        review.service.approve("analyst", entered.id)
    review.approve("checker2", output.id)
    assert review.service.get(entered.id).status == ReleaseStatus.APPROVED
    review.release("checker3", [output.id], env.tmp / "bundle")
    assert review.service.get(entered.id).status == ReleaseStatus.RELEASED
    assert review.outputs.get(output.id).status.value == "released"
    assert [e["id"] for e in review.service.ledger.entries()] == [f"workspace {output.id}"]
    assert env.gov.verify_audit().ok


def test_an_output_approved_before_the_release_path_keeps_its_approvals(env: Env) -> None:
    # Workspaces reviewed before outputs were entered in the release service: their record holds.
    with env.workspace() as ws:
        output = ws.submit(ws.crosstab(BY_INCOME, ["income_band"]).id)
    review = env.review()
    decisions = tuple(ReviewDecision(c, True, "", "2026-06-01T00:00:00+00:00")
                      for c in ("checker", "checker2"))  # fmt: skip
    review.outputs.save(output.evolve(reviews=decisions, status=OutputStatus.APPROVED))
    review.release("checker3", [output.id], env.tmp / "bundle")
    (entered,) = review.service.all()
    assert entered.approvals == ("checker", "checker2")
    assert entered.status == ReleaseStatus.RELEASED


def test_a_released_bundle_is_safe_to_open_in_a_spreadsheet(env: Env) -> None:
    with env.workspace() as ws:
        made = ws.crosstab(
            "SELECT person_id, '=cmd' || income_band AS band FROM register", ["band"]
        )
        output = ws.submit(made.id)
    review = env.review()
    review.approve("checker", output.id)
    review.approve("checker2", output.id)
    review.release("checker3", [output.id], env.tmp / "bundle")
    lines = (env.tmp / "bundle" / f"{output.id}.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "band,count"
    assert all(line.startswith("'=cmdQ") and line.split(",")[1].isdigit() for line in lines[1:])
