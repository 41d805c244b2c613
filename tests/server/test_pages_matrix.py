"""Every page × every role, generated from the route table: allowed, 403, 404 or the login form.

A route added without a rule here fails :func:`test_every_page_route_has_a_rule`. Forms are
sent with the visitor's own CSRF token, so each refusal here is the role's; the CSRF tests at
the end send none, a wrong one, another session's and an ended session's.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.routing import APIRoute

from ansim.server import _admin_pages, _pages, _role_pages
from tests.server.conftest import P1, P2, Site
from tests.server.pages_support import csrf, form_login

# the role each page is for: the first prefix that matches decides
RULES: tuple[tuple[str, str], ...] = (
    ("/projects/{project}/custodian", "officer"),
    ("/projects/{project}/linkage", "linker"),
    ("/projects/{project}/hub", "hubop"),
    ("/projects/{project}/analyst", "analyst"),
    ("/projects/{project}/checker", "checker"),
    ("/admin", "admin"),
    ("/home", "anyone"),
    ("/password", "anyone"),
    ("/totp", "anyone"),
    ("/logout", "anyone"),
    ("/login", "public"),
    ("/register", "public"),
)
VISITORS = ("admin", "officer", "linker", "hubop", "analyst", "checker", "outsider")
_UPLOAD = {"package": ("x.ansim", b"not a package", "application/octet-stream")}


def _routes() -> list[tuple[str, str]]:
    """(method, path) of every page route."""
    found = []
    for router in (_pages.router, _pages._forms, _role_pages.router, _admin_pages.router):
        for route in router.routes:
            if isinstance(route, APIRoute):
                found.extend((m, route.path) for m in sorted(route.methods))
    return sorted(set(found))


def _rule(path: str) -> str:
    return next(who for prefix, who in RULES if path.startswith(prefix))


def _url(path: str, project: str, output: str) -> str:
    return path.replace("{project}", project).replace("{output}", output)


@pytest.fixture(scope="module")
def visitors(site: Site) -> Iterator[dict[str, object]]:
    """A logged-in browser per visitor (and an output to look at)."""
    analyst = site.login("analyst")
    body = {"kind": "crosstab", "sql": "SELECT person_id, sex FROM register", "by": ["sex"]}
    made = analyst.post(f"/api/projects/{P1}/analyses", json=body)
    assert made.status_code == 201, made.text
    clients = {user: form_login(site, user) for user in VISITORS}
    yield {"clients": clients, "output": made.json()["id"]}


def test_every_page_route_has_a_rule() -> None:
    routes = _routes()
    assert len(routes) > 20
    for _method, path in routes:
        assert any(path.startswith(prefix) for prefix, _ in RULES), path


@pytest.mark.parametrize(("method", "path"), [r for r in _routes() if r[0] == "GET"])
def test_pages_by_role(site: Site, visitors: dict[str, object], method: str, path: str) -> None:
    del method
    clients: dict[str, object] = visitors["clients"]  # type: ignore[assignment]
    url = _url(path, P1, str(visitors["output"]))
    who = _rule(path)
    anonymous = site.anonymous().get(url, follow_redirects=False)
    if who == "public":
        assert anonymous.status_code == 200
        return
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    for user, client in clients.items():
        answer = client.get(url, follow_redirects=False)  # type: ignore[attr-defined]
        if who in {"anyone", user}:
            expected = 200
        elif "{project}" in path and user in {"outsider"}:
            expected = 404  # no member of p1: as if it did not exist
        else:
            expected = 403
        assert answer.status_code == expected, (user, url, answer.text[:300])
    if "{project}" in path and who != "admin":
        # cross-project: the p1 role holder asks for p2, where analysts and checkers are others
        other = clients[who].get(_url(path, P2, str(visitors["output"])),  # type: ignore[attr-defined]
                                 follow_redirects=False)  # fmt: skip
        expected = 404 if who in {"analyst", "checker"} else 200  # the others hold both
        assert other.status_code == expected, (who, path, other.text[:300])


@pytest.mark.parametrize(("method", "path"), [r for r in _routes() if r[0] == "POST"])
def test_forms_by_role(site: Site, visitors: dict[str, object], method: str, path: str) -> None:
    del method
    clients: dict[str, object] = visitors["clients"]  # type: ignore[assignment]
    url = _url(path, P1, str(visitors["output"]))
    who = _rule(path)
    files = _UPLOAD if path.endswith("/package") else None
    if who in {"public", "anyone"}:
        return  # login, logout and password: their own tests
    anonymous = site.anonymous().post(url, data={"csrf_token": "x"}, files=files)
    assert anonymous.status_code == 401, anonymous.text[:200]
    for user, client in clients.items():
        if user == who:
            continue  # the holder's actions: test_pages_roles and test_pages_flow
        token = csrf(client)  # type: ignore[arg-type]
        answer = client.post(url, data={"csrf_token": token}, files=files)  # type: ignore[attr-defined]
        expected = 404 if who != "admin" and user == "outsider" else 403
        assert answer.status_code == expected, (user, url, answer.text[:300])
        assert "Traceback" not in answer.text


@pytest.mark.parametrize(("method", "path"), [r for r in _routes() if r[0] == "POST"])
def test_every_form_refuses_a_missing_or_wrong_csrf_token(
    site: Site, visitors: dict[str, object], method: str, path: str
) -> None:
    del method
    clients: dict[str, object] = visitors["clients"]  # type: ignore[assignment]
    who = _rule(path)
    if who == "public":
        return  # the login form opens the session; it is checked for its origin instead
    user = "checker" if who == "anyone" else who
    client = clients[user]
    url = _url(path, P1, str(visitors["output"]))
    files = _UPLOAD if path.endswith("/package") else None
    someone_else = csrf(clients["outsider" if user != "outsider" else "admin"])  # type: ignore[arg-type]
    for data in ({}, {"csrf_token": ""}, {"csrf_token": "wrong"}, {"csrf_token": someone_else}):
        answer = client.post(url, data=data, files=files, follow_redirects=False)  # type: ignore[attr-defined]
        assert answer.status_code == 403, (url, data, answer.text[:200])
        assert "CSRF" in answer.text
    assert client.get("/home").status_code == 200  # type: ignore[attr-defined]  # still logged in


def test_a_replayed_csrf_token_of_an_ended_session_is_refused(site: Site) -> None:
    client = form_login(site, "officer")
    token, cookies = csrf(client), dict(client.cookies)
    assert client.post("/logout", data={"csrf_token": token}).status_code == 200
    replay = site.anonymous()
    replay.cookies.update(cookies)
    revoke = {"dataset": "cases", "decision": "revoke", "csrf_token": token}
    answer = replay.post(f"/projects/{P1}/custodian/decision", data=revoke)
    assert answer.status_code == 401
    assert site.login("admin").get(f"/api/projects/{P1}").json()["approvals"]["cases"] == "approved"
