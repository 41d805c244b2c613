"""Submissions to the release path over HTTP: made in the hub, reviewed by two, released, fetched.

Each submit route × role (analysts submit; checkers, operators, administrators do not; other
projects' members and outsiders see 404; no login 401), the author never reviews their own,
two distinct checkers, other projects' release ids 404, files readable by checkers and the
author before release and by the project's readers after, uploads size-limited and quarantined.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

import pytest

from ansim.governance import Governance, PrivacyLedger
from ansim.server import create_app
from tests.unit.release.conftest import register

from .conftest import P1, P2, POLICY, TODAY, USERS, Site

RATE = f"/api/projects/{P1}/releases/rate-table"
DP = f"/api/projects/{P1}/releases/dp"
TABLE = f"/api/projects/{P1}/releases/protected-table"
RELEASES = f"/api/projects/{P1}/releases"
SPEC = """
name: register
rho: 0.4
person: person_id
privacy_unit: a person of p1
keys: {sex: [M, F]}
queries:
  - {name: people_by_sex, statistic: count, by: [sex]}
"""
# what each user gets from a submit route of p1: analysts submit, others may not, strangers 404
SUBMITTERS = {"analyst", "analyst_b"}
STRANGERS = {"analyst_p2", "checker_p2", "outsider"}


def _expected_submit(user: str) -> int:
    if user in SUBMITTERS:
        return 201
    return 404 if user in STRANGERS else 403


def with_rate_data(site: Site) -> Site:
    """Give p1's hub store the linked register and cases a rate table is made of."""
    people, cases = register(seed=5)
    gov = Governance(site.home, today=TODAY)
    try:
        store = site.home / "hub" / P1 / "hub.duckdb"
        with gov.open_hub_store("hubop", P1, store, write=True) as engine:
            engine.create_table("linked_kostat_register", people)
            engine.create_table("linked_gyeonggi_cases", cases)
        PrivacyLedger(gov).set_budget("admin", P1, 1.0, privacy_unit="a person of p1")
    finally:
        gov.close()
    return site


@pytest.fixture
def rates(fresh: Callable[[], Site]) -> Site:
    return with_rate_data(fresh())


def _records(rows: int = 80, damaged: int = 0) -> bytes:
    lines = ["person,sex,band"]
    lines += [f"p{i:04d},{'MF'[i % 2]},{'ABC'[i % 3]}" for i in range(rows)]
    lines += [f"bad{i},only-two" for i in range(damaged)]  # wrong column count
    return ("\n".join(lines) + "\n").encode()


def _upload(client: object, data: bytes, name: str = "records.csv", **form: object) -> object:
    fields = {"by": ["sex,band"], "contributor": "person", "threshold": "5", **form}
    return client.post(  # type: ignore[attr-defined]
        TABLE, files={"records": (name, data, "text/csv")}, data=fields
    )


def test_a_rate_table_is_made_in_the_hub_reviewed_by_two_and_released(rates: Site) -> None:
    analyst = rates.login("analyst")
    made = analyst.post(RATE, json={"threshold": 10})
    assert made.status_code == 201, made.text
    rel = made.json()["submission"]["id"]
    assert made.json()["submission"]["author"] == "analyst"
    assert made.json()["cells"] > 0 and "p0000" not in made.text  # no member id
    queue = rates.login("checker").get(RELEASES, params={"queue": True}).json()
    assert [s["id"] for s in queue] == [rel]
    own = analyst.post(f"{RELEASES}/{rel}/reviews", json={"decision": "approve"})
    assert own.status_code == 403 and "separation of duties" in own.json()["error"]
    first = rates.login("checker").post(f"{RELEASES}/{rel}/reviews", json={"decision": "approve"})
    assert first.json()["status"] == "submitted"
    twice = rates.login("checker").post(f"{RELEASES}/{rel}/reviews", json={"decision": "approve"})
    assert twice.status_code == 403 and "independent" in twice.json()["error"]
    assert rates.login("checker").post(f"{RELEASES}/{rel}/release").status_code == 403
    second = rates.login("checker2").post(f"{RELEASES}/{rel}/reviews", json={"decision": "approve"})
    assert second.json()["status"] == "approved"
    assert analyst.post(f"{RELEASES}/{rel}/release").status_code == 403  # the author
    done = rates.login("checker").post(f"{RELEASES}/{rel}/release")
    assert done.status_code == 200, done.text
    # released: every reader of the project fetches the files; strangers see nothing
    listed = rates.login("analyst_b").get(f"{RELEASES}/{rel}/files")
    assert listed.status_code == 200 and "rates.csv" in listed.json()["files"]
    body = rates.login("analyst_b").get(f"{RELEASES}/{rel}/files/rates.csv")
    assert body.status_code == 200
    rows = list(csv.DictReader(io.StringIO(body.content.decode("utf-8-sig"))))
    assert rows and all(r["cases"] == "x" or int(r["cases"]) >= 10 for r in rows)
    for user in ("analyst_p2", "outsider"):
        assert rates.login(user).get(f"{RELEASES}/{rel}/files").status_code == 404
    assert rates.login("hubop").get(f"{RELEASES}/{rel}/files").status_code == 403
    missing = rates.login("analyst_b").get(f"{RELEASES}/{rel}/files/nothing.csv")
    assert missing.status_code == 404
    assert rates.login("admin").get("/api/audit/verify").json()["ok"]


def test_submit_routes_by_role(rates: Site) -> None:
    for user in USERS:
        answer = rates.login(user).post(RATE, json={"threshold": 10})
        assert answer.status_code == _expected_submit(user), (user, answer.text)
        assert answer.status_code == 201 or "error" in answer.json()
    for path, body in ((RATE, {}), (DP, {"spec": SPEC, "table": "x"})):
        assert rates.anonymous().post(path, json=body).status_code == 401
    upload = _upload(rates.anonymous(), _records())
    assert upload.status_code == 401  # type: ignore[attr-defined]


def test_a_session_without_its_csrf_token_and_a_scoped_token_are_refused(rates: Site) -> None:
    naked = rates.anonymous()
    naked.cookies.update(rates.login("analyst").cookies)
    assert naked.post(RATE, json={}).status_code == 403
    other_project = rates.token("analyst", project=P1)
    assert other_project.post(RATE.replace(P1, P2), json={}).status_code in {403, 404}
    checker_token = rates.token("checker", role="output_checker")
    assert checker_token.post(RATE, json={}).status_code == 403


def test_unreleased_files_and_checksums_are_for_the_checkers_only(rates: Site) -> None:
    """The author did not see the hub's rate table: its file, or a checksum to confirm a
    guess of it, would pass the two reviews and the ledger's audit at release."""
    made = rates.login("analyst").post(RATE, json={}).json()["submission"]
    rel = made["id"]
    names = set(made["files"])
    assert "rates.csv" in names and set(made["files"].values()) == {""}
    files = f"{RELEASES}/{rel}/files"
    assert rates.login("analyst").get(files).status_code == 403  # the author
    assert rates.login("analyst").get(f"{files}/rates.csv").status_code == 403
    checked = rates.login("checker").get(files)
    assert checked.status_code == 200 and len(checked.json()["files"]["rates.csv"]) == 64
    assert rates.login("analyst_b").get(files).status_code == 403  # another analyst
    for user in ("analyst", "analyst_b"):
        state = rates.login(user).get(f"{RELEASES}/{rel}")
        assert state.status_code == 200 and state.json()["files"] == dict.fromkeys(names, "")
        listed = rates.login(user).get(RELEASES).json()
        assert [s["files"] for s in listed] == [dict.fromkeys(names, "")]
    review = {"decision": "approve", "comment": "row 3 is close"}
    rates.login("checker").post(f"{RELEASES}/{rel}/reviews", json=review)
    assert "row 3" in str(rates.login("analyst").get(f"{RELEASES}/{rel}").json()["comments"])
    assert rates.login("analyst_b").get(f"{RELEASES}/{rel}").json()["comments"] == []
    full = rates.login("checker").get(f"{RELEASES}/{rel}").json()
    assert full["files"] == checked.json()["files"] and not full.get("withheld")
    assert rates.login("checker_p2").get(files).status_code == 404
    # another project's id: p2 has no such submission, and p1's is not reachable through p2
    p2 = f"/api/projects/{P2}/releases/{rel}"
    assert rates.login("checker_p2").get(p2).status_code == 404
    assert rates.login("checker_p2").get(f"{p2}/files").status_code == 404
    review = rates.login("checker_p2").post(f"{p2}/reviews", json={"decision": "approve"})
    assert review.status_code in {404, 422}
    assert rates.login("checker").get(f"{RELEASES}/rel-9999").status_code == 404
    assert rates.login("checker").get(f"{files}/..%2Fledger.json").status_code == 404


def test_a_dp_release_is_charged_once_and_submitted(rates: Site) -> None:
    made = rates.login("analyst").post(DP, json={"spec": SPEC, "table": "linked_register"})
    assert made.status_code == 201, made.text
    body = made.json()
    assert [s["kind"] for s in body["submissions"]] == ["dp_table"]
    assert 0 < body["rho"] <= 0.4 + 1e-9 and body["rho_remaining"] == pytest.approx(1 - body["rho"])
    assert body["privacy_unit"] == "a person of p1"
    rel = body["submissions"][0]["id"]
    names = rates.login("checker").get(f"{RELEASES}/{rel}/files").json()["files"]
    assert set(names) == {"people_by_sex.csv", "people_by_sex.json", "portal.json"}
    # a spec the budget cannot pay charges nothing and submits nothing
    greedy = SPEC.replace("rho: 0.4", "rho: 5")
    refused = rates.login("analyst").post(DP, json={"spec": greedy, "table": "linked_register"})
    assert refused.status_code == 409
    assert len(rates.login("checker").get(RELEASES).json()) == 1
    bad = rates.login("analyst").post(DP, json={"spec": "queries: [", "table": "t"})
    assert bad.status_code == 422 and "YAML" in bad.json()["error"]
    assert rates.login("checker").post(DP, json={"spec": SPEC, "table": "t"}).status_code == 403


def test_an_uploaded_table_is_protected_with_its_unreadable_rows_quarantined(
    rates: Site,
) -> None:
    made = _upload(rates.login("analyst"), _records(damaged=3))
    assert made.status_code == 201, made.text  # type: ignore[attr-defined]
    body = made.json()  # type: ignore[attr-defined]
    q = body["quarantine"]
    assert (q["rows_read"], q["rows_used"], q["rows_quarantined"]) == (83, 80, 3)
    assert [p["row_number"] for p in q["problems"]] == [82, 83, 84]
    assert sum(q["quarantine_reasons"].values()) == 3 and q["data_lines"] == 83
    assert "bad" not in made.text and "only-two" not in made.text  # type: ignore[attr-defined]
    submission = body["submission"]
    assert submission["kind"] == "protected_table" and submission["unit"] == "person"
    assert body["summary"]["cells"] > 0
    assert not list((rates.home / "hub" / P1 / "uploads").iterdir())  # deleted after use
    # the author uploaded the records: the protected table shows them nothing they lacked
    table = rates.login("analyst").get(f"{RELEASES}/{submission['id']}/files/table.csv")
    assert table.status_code == 200 and b"p0001" not in table.content
    other = rates.login("analyst_b").get(f"{RELEASES}/{submission['id']}/files/table.csv")
    assert other.status_code == 403
    nothing = _upload(rates.login("analyst"), b"person,sex,band\nx,y\n")
    assert nothing.status_code == 422  # type: ignore[attr-defined]
    broken = _upload(rates.login("analyst"), b"PAR1 not parquet", name="r.parquet")
    assert broken.status_code == 422  # type: ignore[attr-defined]
    assert str(rates.home) not in broken.text and ".records-" not in broken.text  # type: ignore[attr-defined]
    wrong = _upload(rates.login("analyst"), _records(), name="records.exe")
    assert wrong.status_code == 422  # type: ignore[attr-defined]
    column = _upload(rates.login("analyst"), _records(), by=["nope"])
    assert column.status_code == 422  # type: ignore[attr-defined]
    assert _upload(rates.login("checker"), _records()).status_code == 403  # type: ignore[attr-defined]
    assert len(rates.login("checker").get(RELEASES).json()) == 1


def test_an_upload_over_the_limit_is_refused_and_not_kept(fresh: Callable[[], Site]) -> None:
    site = fresh()
    small = Site(site.home, create_app(site.home, secure_cookies=False, today=TODAY,
                                       policy=POLICY, max_upload_bytes=500), {})  # fmt: skip
    answer = _upload(small.login("analyst"), _records(rows=200))
    assert answer.status_code == 413  # type: ignore[attr-defined]
    assert "upload limit" in answer.json()["error"]  # type: ignore[attr-defined]
    assert not list((site.home / "hub" / P1 / "uploads").iterdir())
    assert small.login("checker").get(RELEASES).json() == []
