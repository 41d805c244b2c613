"""The server's governed flow: login, tokens, the workspace, two-person review and release."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest

from ansim.server import COOKIE, create_app
from tests.server.conftest import P1, P2, PASSWORD, POLICY, TODAY, Site, TestClient

CROSSTAB = {
    "kind": "crosstab",
    "sql": "SELECT person_id, sex, income_band FROM register",
    "by": ["sex", "income_band"],
}


def _submitted(site: Site, analyst: str = "analyst") -> str:
    client = site.login(analyst)
    made = client.post(f"/api/projects/{P1}/analyses", json=CROSSTAB)
    assert made.status_code == 201, made.text
    output = made.json()["id"]
    assert client.post(f"/api/projects/{P1}/outputs/{output}/submit").json()["status"] == (
        "submitted"
    )
    return str(output)


def test_login_sets_a_strict_httponly_cookie_and_returns_csrf(site: Site) -> None:
    client = site.anonymous()
    answer = client.post("/api/session", json={"user": "analyst", "password": PASSWORD})
    assert answer.status_code == 200
    body = answer.json()
    assert body["user"] == "analyst" and len(body["csrf_token"]) > 30
    cookie = answer.headers["set-cookie"]
    assert f"{COOKIE}=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert client.get("/api/me").json()["user"] == "analyst"


def test_cookie_is_secure_unless_served_on_loopback(fresh: Callable[[], Site]) -> None:
    site = fresh()
    app = create_app(site.home, policy=POLICY, today=TODAY)  # default: decide per host
    remote = TestClient(app, base_url="https://hub.example")
    answer = remote.post("/api/session", json={"user": "analyst", "password": PASSWORD})
    assert "Secure" in answer.headers["set-cookie"]
    local = TestClient(app, base_url="http://127.0.0.1")
    answer = local.post("/api/session", json={"user": "analyst", "password": PASSWORD})
    assert "Secure" not in answer.headers["set-cookie"]


def test_bad_credentials_are_401_with_one_message(site: Site) -> None:
    client = site.anonymous()
    unknown = client.post("/api/session", json={"user": "ghost", "password": PASSWORD})
    wrong = client.post("/api/session", json={"user": "checker_p2", "password": "not it at all"})
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json() == wrong.json()


def test_login_rate_limit_answers_429(fresh: Callable[[], Site]) -> None:
    site = fresh()
    client = site.anonymous()
    for _ in range(5):
        answer = client.post("/api/session", json={"user": "analyst", "password": "wrong guess!"})
        assert answer.status_code == 401
    limited = client.post("/api/session", json={"user": "analyst", "password": PASSWORD})
    assert limited.status_code == 429 and "try again" in limited.json()["error"]
    assert limited.headers["retry-after"]


def test_cli_login_is_a_session_then_a_token(site: Site) -> None:
    issued = site.login("analyst_p2").post("/api/tokens", json={"role": "*", "name": "cli"})
    assert issued.status_code == 201
    token = issued.json()["token"]
    client = site.anonymous()
    client.headers["Authorization"] = f"Bearer {token}"
    assert client.get("/api/me").json()["via"] == "token"
    listed = site.login("analyst_p2").get("/api/tokens").json()
    assert token not in str(listed) and issued.json()["id"] in {t["id"] for t in listed}
    # a token does not mint tokens
    assert client.post("/api/tokens", json={"name": "more"}).status_code == 403


def test_logout_ends_the_session(fresh: Callable[[], Site]) -> None:
    site = fresh()
    client = site.login("analyst")
    assert client.delete("/api/session").status_code == 200
    assert client.get("/api/me").status_code == 401


def test_query_views_and_a_checked_analysis(site: Site) -> None:
    client = site.login("analyst")
    assert set(client.get(f"/api/projects/{P1}/views").json()) == {"cases", "register"}
    rows = client.post(
        f"/api/projects/{P1}/query",
        json={"sql": "SELECT sex, count(*) AS n FROM register GROUP BY sex", "limit": 5},
    ).json()
    assert rows["columns"] == ["sex", "n"]
    # row access "none" (the default): the rows are the dummy twin's, labelled, never real
    assert rows["dummy"] is True and "DUMMY" in rows["label"] and rows["row_access"] == "none"
    refused = client.post(f"/api/projects/{P1}/query", json={"sql": "DROP TABLE register"})
    assert refused.status_code == 403 and "traceback" not in refused.text.lower()
    made = client.post(f"/api/projects/{P1}/analyses", json=CROSSTAB).json()
    assert made["author"] == "analyst" and made["status"] == "draft"
    assert made["report"]["results"]


def test_two_distinct_checkers_then_release(fresh: Callable[[], Site]) -> None:
    site = fresh()
    output = _submitted(site)
    checker, checker2 = site.login("checker"), site.login("checker2")
    queue = checker.get(f"/api/projects/{P1}/outputs", params={"queue": 1}).json()
    assert [o["id"] for o in queue] == [output]
    url = f"/api/projects/{P1}/outputs/{output}"
    assert checker.post(f"{url}/reviews", json={"decision": "approve"}).json()["status"] == (
        "submitted"
    )
    # the same checker again is not a second reviewer; nor is releasing before two approvals
    again = checker.post(f"{url}/reviews", json={"decision": "approve"})
    assert again.status_code == 403 and "independent" in again.json()["error"]
    assert checker.post(f"{url}/release").status_code == 403
    assert checker2.post(f"{url}/reviews", json={"decision": "approve"}).json()["status"] == (
        "approved"
    )
    released = checker.post(f"{url}/release")
    assert released.status_code == 200, released.text
    assert released.json()["outputs"] == [output] and released.json()["released_by"] == "checker"
    events = site.login("admin").get("/api/audit/events", params={"project": P1}).json()
    reviewers = [e["actor"] for e in events if e["action"] == "review_output"]
    assert reviewers == ["checker", "checker2"]
    assert site.login("admin").get("/api/audit/verify").json()["ok"]


def test_an_author_never_reviews_their_own_output(fresh: Callable[[], Site]) -> None:
    site = fresh()
    admin, admin2 = site.login("admin"), site.login("admin2")
    # analyst + checker on one project needs a second administrator's approval first
    refused = admin.post(f"/api/projects/{P1}/members",
                         json={"user": "analyst", "role": "output_checker"})  # fmt: skip
    assert refused.status_code == 403 and "separation of duties" in refused.json()["error"]
    grant = {"user": "analyst", "role": "output_checker", "project": P1}
    approved = admin2.post("/api/grant-approvals", json=grant)
    assert approved.status_code == 201
    granted = admin.post(f"/api/projects/{P1}/members",
                         json={"user": "analyst", "role": "output_checker"})  # fmt: skip
    assert granted.status_code == 201, granted.text
    output = _submitted(site)
    own = site.login("analyst").post(
        f"/api/projects/{P1}/outputs/{output}/reviews", json={"decision": "approve"}
    )
    assert own.status_code == 403 and "own output" in own.json()["error"]


def test_administration(fresh: Callable[[], Site]) -> None:
    site = fresh()
    admin = site.login("admin")
    made = admin.post("/api/users", json={"user": "newbie", "name": "New", "organisation": "SNU"})
    assert made.status_code == 201
    one_time = made.json()["password"]
    login = site.anonymous().post("/api/session", json={"user": "newbie", "password": one_time})
    assert login.json()["must_change"]
    project = {
        "project": "p3", "title": "T", "purpose": "statistics", "description": "D",
        "datasets": [{"dataset": "cases", "custodian": "gyeonggi"}],
        "start": "2026-01-01", "end": "2026-12-31",
    }  # fmt: skip
    assert admin.post("/api/projects", json=project).status_code == 201
    assert admin.post("/api/projects", json=project).status_code == 422  # exists already
    member = {"user": "newbie", "role": "custodian_officer", "dataset": "cases"}
    assert admin.post("/api/projects/p3/members", json=member).status_code == 201
    assert admin.post("/api/projects/p3/key").status_code == 201
    assert admin.post("/api/projects/p3/key").status_code == 403  # one key per project
    assert "p3_processing_record.json" in str(admin.get("/api/projects/p3/records").json())
    destroyed = admin.post("/api/projects/p3/destroy", json={"reason": "test"})
    assert destroyed.status_code == 200 and destroyed.json()["signature"]
    users = {u["user"]: u for u in admin.get("/api/users").json()}
    assert users["newbie"]["must_change"] and not users["admin"]["second_factor"]
    assert site.login("analyst").get("/api/users").status_code == 403


def test_custodian_approvals_and_package_upload(fresh: Callable[[], Site]) -> None:
    site = fresh()
    officer = site.login("officer")
    revoked = officer.post(f"/api/projects/{P2}/approvals",
                           json={"dataset": "cases", "decision": "revoke"})  # fmt: skip
    assert revoked.json()["approvals"]["cases"] == "revoked"
    # the analyst of p2 can no longer query
    sql = {"sql": "SELECT 1 AS one FROM register"}
    blocked = site.login("analyst_p2").post(f"/api/projects/{P2}/query", json=sql)
    assert blocked.status_code == 403
    # another custodian's dataset
    other = officer.post(f"/api/projects/{P2}/approvals",
                         json={"dataset": "register", "decision": "revoke"})  # fmt: skip
    assert other.status_code == 403
    # not a sealed package
    sent = officer.post(
        f"/api/projects/{P1}/packages",
        files={"package": ("x.ansim", io.BytesIO(b"not a package"), "application/octet-stream")},
    )
    assert sent.status_code == 422 and "sealed package" in sent.json()["error"]


def test_uploads_are_size_limited(fresh: Callable[[], Site]) -> None:
    site = fresh()
    site.app.state.max_upload_bytes = 1024  # type: ignore[attr-defined]
    sent = site.login("officer").post(
        f"/api/projects/{P1}/packages",
        files={"package": ("big.ansim", io.BytesIO(b"x" * 5000), "application/octet-stream")},
    )
    assert sent.status_code == 413 and "upload limit" in sent.json()["error"]
    assert not list((site.home / "hub" / P1 / "inbox").iterdir())


@pytest.mark.parametrize("path", ["/api/me", "/api/projects", "/api/audit/head", "/api/tokens"])
def test_everything_under_api_needs_credentials(site: Site, path: str) -> None:
    answer = site.anonymous().get(path)
    assert answer.status_code == 401 and answer.json()["error"]


def test_public_pages_and_schema_need_no_login(site: Site) -> None:
    client = site.anonymous()
    assert client.get("/openapi.json").status_code == 200
    assert client.get("/public/tables").status_code == 200
