"""Login and logout forms: the API's accounts and sessions, CSRF on every form, no name as proof."""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Callable

import pyotp

from ansim.governance import Role
from ansim.server import COOKIE, create_app
from ansim.server._auth import CSRF_COOKIE
from tests.server.conftest import PASSWORD, POLICY, TODAY, Site
from tests.server.pages_support import csrf, csrf_of, form_login


def test_login_form_sets_the_session_and_csrf_cookies(fresh: Callable[[], Site]) -> None:
    site = fresh()
    client = site.anonymous()
    answer = client.post(
        "/login", data={"user": "analyst", "password": "server test password",
                        "next": "/projects/p1/analyst"}, follow_redirects=False,
    )  # fmt: skip
    assert answer.status_code == 303
    assert answer.headers["location"] == "/projects/p1/analyst"
    cookies = answer.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith(f"{COOKIE}="))
    token = next(c for c in cookies if c.startswith(f"{CSRF_COOKIE}="))
    for cookie in (session, token):
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    home = client.get("/home")
    assert home.status_code == 200 and "analyst" in home.text and "p1" in home.text
    # the same session works for the JSON API (one account machinery)
    assert client.get("/api/me").json()["user"] == "analyst"


def test_a_wrong_password_gets_the_form_again_and_no_session(fresh: Callable[[], Site]) -> None:
    site = fresh()
    client = site.anonymous()
    answer = client.post("/login", data={"user": "analyst", "password": "wrong"},
                         follow_redirects=False)  # fmt: skip
    assert answer.status_code == 401
    assert 'role="alert"' in answer.text and "set-cookie" not in answer.headers
    assert client.get("/home", follow_redirects=False).status_code == 303


def test_pages_need_a_login_and_send_the_visitor_to_the_form(fresh: Callable[[], Site]) -> None:
    client = fresh().anonymous()
    answer = client.get("/projects/p1/checker", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=/projects/p1/checker"
    # a user name in a form or query string proves nothing
    assert client.get("/home", params={"user": "admin"}, follow_redirects=False).status_code == 303
    refused = client.post("/logout", data={"user": "admin", "csrf_token": "x"})
    assert refused.status_code == 401


def test_login_never_redirects_off_site(fresh: Callable[[], Site]) -> None:
    client = fresh().anonymous()
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        answer = client.post(
            "/login", data={"user": "analyst", "password": "server test password",
                            "next": target}, follow_redirects=False,
        )  # fmt: skip
        assert answer.headers["location"] == "/home"


def test_logout_needs_the_csrf_token_and_ends_the_session(fresh: Callable[[], Site]) -> None:
    site = fresh()
    client = form_login(site, "checker")
    token = csrf(client)
    assert client.post("/logout", data={}).status_code == 403
    assert client.post("/logout", data={"csrf_token": "wrong"}).status_code == 403
    assert client.get("/home").status_code == 200  # still logged in
    other = form_login(site, "checker2")
    assert client.post("/logout", data={"csrf_token": csrf(other)}).status_code == 403
    answer = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/login")
    assert client.get("/home", follow_redirects=False).status_code == 303
    assert client.get("/api/me").status_code == 401  # the session is over, not just the cookie


def test_a_form_posted_from_another_site_is_refused(fresh: Callable[[], Site]) -> None:
    site = fresh()
    client = form_login(site, "checker")
    token = csrf(client)
    answer = client.post("/logout", data={"csrf_token": token},
                         headers={"Origin": "https://evil.example"})  # fmt: skip
    assert answer.status_code == 403
    login = site.anonymous().post(
        "/login", data={"user": "analyst", "password": "server test password"},
        headers={"Origin": "https://evil.example"}, follow_redirects=False,
    )  # fmt: skip
    assert login.status_code == 403 and "set-cookie" not in login.headers


def test_an_api_session_has_no_form_token_and_its_forms_are_refused(
    fresh: Callable[[], Site],
) -> None:
    site = fresh()
    client = site.login("checker")  # JSON login: session cookie, CSRF token in a header only
    home = client.get("/home")
    assert home.status_code == 200 and 'value=""' in home.text
    assert client.post("/logout", data={"csrf_token": ""}).status_code == 403


def test_a_one_time_password_is_changed_first_when_the_server_requires_it(
    fresh: Callable[[], Site],
) -> None:
    site = fresh()
    reset = site.login("admin").post(
        "/api/users/analyst/password", json={"password": "one-time pass 1"}
    )
    assert reset.is_success, reset.text
    site.app = create_app(site.home, secure_cookies=False, today=TODAY, policy=POLICY,
                          require_password_change=True)  # fmt: skip
    client = site.anonymous()
    answer = client.post("/login", data={"user": "analyst", "password": "one-time pass 1"},
                         follow_redirects=False)  # fmt: skip
    assert answer.headers["location"] == "/password"
    assert client.get("/projects/p1/analyst", follow_redirects=False).headers["location"] == (
        "/password"
    )
    page = client.get("/password")
    changed = client.post(
        "/password", data={"old": "one-time pass 1", "new": "a new password 2",
                           "csrf_token": csrf_of(page)}, follow_redirects=False,
    )  # fmt: skip
    assert changed.status_code == 303, changed.text
    again = form_login(site, "analyst", "a new password 2")
    assert again.get("/projects/p1/analyst").status_code == 200


def test_a_checker_enrols_the_required_second_factor_first(fresh: Callable[[], Site]) -> None:
    site = fresh()
    policy = dataclasses.replace(POLICY, second_factor_roles=frozenset({Role.OUTPUT_CHECKER}))
    site.app = create_app(site.home, secure_cookies=False, today=TODAY, policy=policy)
    client = form_login(site, "checker")
    assert client.get("/projects/p1/checker", follow_redirects=False).headers["location"] == (
        "/totp"
    )
    assert client.get("/api/projects/p1/outputs").status_code == 403  # the API agrees
    page = client.get("/totp")
    started = client.post("/totp", data={"csrf_token": csrf_of(page)})
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', started.text)
    assert started.status_code == 200 and secret is not None
    totp = pyotp.TOTP(secret.group(1))
    wrong = client.post("/totp/confirm", data={"code": "000000", "csrf_token": csrf_of(page)})
    assert wrong.status_code == 401
    confirmed = client.post("/totp/confirm", data={"code": totp.now(), "csrf_token": csrf_of(page)},
                            follow_redirects=False)  # fmt: skip
    assert confirmed.headers["location"] == "/home?notice=totp_enrolled"
    assert client.get("/projects/p1/checker").status_code == 200
    # from now on the login form needs the code
    without = site.anonymous().post("/login", data={"user": "checker", "password": PASSWORD},
                                    follow_redirects=False)  # fmt: skip
    assert without.status_code == 401
    later = totp.at(time.time() + 30)  # the next step: the first code may not be used twice
    with_code = site.anonymous().post(
        "/login", data={"user": "checker", "password": PASSWORD, "totp": later},
        follow_redirects=False,
    )  # fmt: skip
    assert with_code.status_code == 303
