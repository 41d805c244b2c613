"""Every endpoint × every role × both projects: 2xx when allowed, 403 when not, 404 when hidden.

A project the caller is not part of answers 404, as a project that does not exist; so does an
output id of another project (IDOR). Impersonation — another session's CSRF token, a replayed
one, none, a token scoped to another project or role, a revoked or expired token — is refused.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from ansim.governance import Role
from ansim.server import CSRF_HEADER
from tests.server.conftest import MEMBERS, P1, P2, PASSWORD, USERS, Site

ADMINS = {"admin", "admin2"}
CROSSTAB = {
    "kind": "crosstab",
    "sql": "SELECT person_id, sex FROM register",
    "by": ["sex"],
}
DP_SPEC = (
    "name: r\nrho: 0.1\nkeys: {sex: [M, F]}\nqueries: [{name: n, statistic: count, by: [sex]}]\n"
)
# name → (method, path, body, roles allowed in the project; "admin" for administrators)
ENDPOINTS: dict[str, tuple[str, str, dict[str, object] | None, set[str]]] = {
    "project": ("GET", "/api/projects/{p}", None, {"member", "admin"}),
    "views": ("GET", "/api/projects/{p}/views", None, {Role.ANALYST}),
    "query": ("POST", "/api/projects/{p}/query", {"sql": "SELECT 1 AS one FROM register"},
              {Role.ANALYST}),
    "analyses": ("POST", "/api/projects/{p}/analyses", CROSSTAB, {Role.ANALYST}),
    "outputs": ("GET", "/api/projects/{p}/outputs", None, {Role.ANALYST, Role.OUTPUT_CHECKER}),
    "records": ("GET", "/api/projects/{p}/records", None, {"admin"}),
    "approve": ("POST", "/api/projects/{p}/approvals", {"dataset": "cases", "decision": "approve"},
                {"officer-of-cases"}),
    "events": ("GET", "/api/audit/events?project={p}", None, {"member", "admin"}),
    "key": ("POST", "/api/projects/{p}/key", None, set()),  # issued already: refused for all
    "row_access": ("GET", "/api/projects/{p}/row-access", None, {"member", "admin"}),
    "set_row_access": ("PUT", "/api/projects/{p}/row-access", {"mode": "none"}, {"admin"}),
    "twin": ("GET", "/api/projects/{p}/twin", None, {"member", "admin"}),
    "set_twin": ("PUT", "/api/projects/{p}/twin", {"kind": "domains"}, {"admin"}),
    "twin_report": ("GET", "/api/projects/{p}/twin/report", None, {Role.ANALYST}),
    "linkage_runs": ("GET", "/api/projects/{p}/linkage/runs", None, {Role.LINKAGE_UNIT_OPERATOR}),
    "linkage_run": ("POST", "/api/projects/{p}/linkage/runs", {"method": "exact"},
                    {Role.LINKAGE_UNIT_OPERATOR}),
    "hub_combine": ("POST", "/api/projects/{p}/hub/combine", None, {Role.HUB_OPERATOR}),
    "hub_views": ("GET", "/api/projects/{p}/hub/views", None, {Role.ANALYST, Role.HUB_OPERATOR}),
    "releases": ("GET", "/api/projects/{p}/releases", None, {Role.ANALYST, Role.OUTPUT_CHECKER}),
    "submit_rate_table": ("POST", "/api/projects/{p}/releases/rate-table", {}, {Role.ANALYST}),
    "submit_dp": ("POST", "/api/projects/{p}/releases/dp",
                  {"spec": DP_SPEC, "table": "linked_register"}, {Role.ANALYST}),
    "party_keys": ("GET", "/api/projects/{p}/parties/keys", None, {"member", "admin"}),
}  # fmt: skip
# what an allowed caller gets where the deployment holds nothing to act on (no package waits)
WHEN_ALLOWED = {"linkage_run": 422, "hub_combine": 422,
                "submit_rate_table": 422,  # the hub holds no linked cases and register
                "submit_dp": 409}  # the project has no privacy budget  # fmt: skip


def _roles(user: str, project: str) -> set[object]:
    held: set[object] = set()
    if user in ADMINS:
        held.add("admin")
    if project in MEMBERS.get(user, {}):
        role, custodian = MEMBERS[user][project]
        held |= {role, "member"}
        if custodian == "gyeonggi":
            held.add("officer-of-cases")
    return held


def _expected(user: str, project: str, allowed: set[object]) -> int:
    held = _roles(user, project)
    if not held:
        return 404
    return 200 if held & allowed else 403


@pytest.mark.parametrize("project", [P1, P2])
@pytest.mark.parametrize("endpoint", sorted(ENDPOINTS))
def test_matrix(site: Site, endpoint: str, project: str) -> None:
    method, path, body, allowed = ENDPOINTS[endpoint]
    outcome, expected = {}, {}
    for user in USERS:
        answer = site.login(user).request(method, path.format(p=project), json=body)
        outcome[user] = 200 if answer.status_code in {200, 201} else answer.status_code
        expected[user] = _expected(user, project, allowed)
        if expected[user] == 200:
            expected[user] = WHEN_ALLOWED.get(endpoint, 200)
        assert "error" in answer.json() or answer.status_code < 300
    assert outcome == expected


@pytest.mark.parametrize(
    ("path", "admins"),
    [("/api/users", 200), ("/api/audit/verify", 200), ("/api/audit/events", 200)],
)
def test_global_administration_is_for_administrators(site: Site, path: str, admins: int) -> None:
    for user in USERS:
        status = site.login(user).get(path).status_code
        assert status == (admins if user in ADMINS else 403), (user, path)


def test_administrative_writes_are_refused_to_everyone_else(site: Site) -> None:
    for user in set(USERS) - ADMINS:
        client = site.login(user)
        made = client.post("/api/users", json={"user": f"x-{user}", "name": "X"})
        assert made.status_code == 403
        grant = client.post(f"/api/projects/{P1}/members", json={"user": "outsider",
                                                                "role": "analyst"})  # fmt: skip
        assert grant.status_code in {403, 404}
        reset = client.post("/api/users/analyst/password", json={})
        assert reset.status_code == 403


def test_unknown_projects_and_other_projects_outputs_are_404(site: Site) -> None:
    made = site.login("analyst").post(f"/api/projects/{P1}/analyses", json=CROSSTAB)
    output = made.json()["id"]
    # the p2 analyst: p1 is hidden, and the p1 output id does not exist in p2
    other = site.login("analyst_p2")
    assert other.get(f"/api/projects/{P1}/outputs/{output}").status_code == 404
    assert other.get(f"/api/projects/{P2}/outputs/{output}").status_code == 404
    assert other.post(f"/api/projects/{P1}/outputs/{output}/submit").status_code == 404
    checker_p2 = site.login("checker_p2")
    for path in (f"/api/projects/{P2}/outputs/{output}/reviews",
                 f"/api/projects/{P1}/outputs/{output}/reviews"):  # fmt: skip
        assert checker_p2.post(path, json={"decision": "approve"}).status_code == 404
    for user in ("admin", "analyst", "outsider"):
        assert site.login(user).get("/api/projects/nope").status_code == 404
    assert site.login("analyst").get(f"/api/projects/{P1}/outputs/../../etc").status_code == 404
    assert site.login("analyst").get(f"/api/projects/{P1}/outputs/out-9999").status_code == 404
    # the project list shows only one's own projects
    assert [p["id"] for p in other.get("/api/projects").json()] == [P2]
    assert [p["id"] for p in site.login("outsider").get("/api/projects").json()] == []


def test_another_sessions_csrf_token_a_replayed_one_or_none_is_refused(
    fresh: Callable[[], Site],
) -> None:
    site = fresh()
    analyst, checker = site.login("analyst"), site.login("checker")
    body = {"sql": "SELECT 1 AS one FROM register"}
    url = f"/api/projects/{P1}/query"
    theirs = {CSRF_HEADER: checker.headers[CSRF_HEADER]}
    assert analyst.post(url, json=body, headers=theirs).status_code == 403
    naked = site.anonymous()
    naked.cookies.update(analyst.cookies)
    assert naked.post(url, json=body).status_code == 403  # cookie without CSRF header
    assert naked.get("/api/me").json()["user"] == "analyst"  # reads need no CSRF
    # replay: a token of an ended session does not work with the new session
    old = analyst.headers[CSRF_HEADER]
    analyst.delete("/api/session")
    fresh_login = analyst.post("/api/session", json={"user": "analyst", "password": PASSWORD})
    assert fresh_login.status_code == 200
    assert analyst.post(url, json=body, headers={CSRF_HEADER: old}).status_code == 403
    new = {CSRF_HEADER: fresh_login.json()["csrf_token"]}
    assert analyst.post(url, json=body, headers=new).status_code == 200
    # an ended session's cookie is dead
    assert naked.get("/api/me").status_code == 401


def test_one_users_cookie_acts_as_that_user_only(fresh: Callable[[], Site]) -> None:
    site = fresh()
    analyst = site.login("analyst")
    made = analyst.post(f"/api/projects/{P1}/analyses", json=CROSSTAB).json()["id"]
    analyst.post(f"/api/projects/{P1}/outputs/{made}/submit")
    # naming another user in the body changes nothing: the actor is the cookie's user
    forged = analyst.post(
        f"/api/projects/{P1}/outputs/{made}/reviews",
        json={"decision": "approve", "user": "checker", "actor": "checker"},
    )
    assert forged.status_code == 403
    events = site.login("admin").get("/api/audit/events", params={"project": P1}).json()
    assert not [e for e in events if e["action"] == "review_output"]


def test_token_scopes_revocation_and_expiry(fresh: Callable[[], Site]) -> None:
    site = fresh()
    scoped = site.token("hubop", project=P1)
    assert scoped.get(f"/api/projects/{P1}").status_code == 200
    refused = scoped.get(f"/api/projects/{P2}")
    assert refused.status_code == 403 and "limited to project" in refused.json()["error"]
    assert [p["id"] for p in scoped.get("/api/projects").json()] == [P1]
    officer = site.token("officer", role="custodian_officer", project=P1)
    approve = {"dataset": "cases", "decision": "approve"}
    assert officer.post(f"/api/projects/{P1}/approvals", json=approve).status_code == 200
    admin_token = site.token("admin", role="administrator")
    assert admin_token.get("/api/users").status_code == 200
    analyst = site.token("analyst", role="analyst", project=P1)
    assert analyst.get(f"/api/projects/{P1}/records").status_code == 403
    # a role the user does not hold cannot be put on a token
    wrong = site.login("analyst").post("/api/tokens", json={"name": "x", "role": "output_checker"})
    assert wrong.status_code == 403
    # revoked
    listed = site.login("hubop").get("/api/tokens").json()
    site.login("hubop").delete(f"/api/tokens/{listed[0]['id']}")
    assert scoped.get("/api/me").status_code == 401
    # another user's token id is not found, and cannot be revoked
    assert site.login("analyst").delete(f"/api/tokens/{listed[0]['id']}").status_code == 404
    # expired: move the accounts' clock past the 30 days
    accounts = site.app.state.deployment.accounts  # type: ignore[attr-defined]
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=31)
    accounts._clock = lambda: later
    assert analyst.get("/api/me").status_code == 401
    garbage = site.anonymous()
    garbage.headers["Authorization"] = "Bearer ansim_not-a-token"
    assert garbage.get("/api/me").status_code == 401
    garbage.headers["Authorization"] = "Basic YWRtaW46YWRtaW4="
    assert garbage.get("/api/me").status_code == 401
