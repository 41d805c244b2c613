"""Helpers for the page tests: log in through the HTML form, read a page's CSRF token."""

from __future__ import annotations

import re
import warnings
from typing import Any

from tests.server.conftest import PASSWORD, Site

with warnings.catch_warnings():  # starlette asks for httpx2, which is not installed here
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

_TOKEN = re.compile(r'name="csrf_token" value="([^"]*)"')


def form_login(site: Site, user: str, password: str = PASSWORD) -> TestClient:
    """A client logged in through ``POST /login`` (session and CSRF cookies set)."""
    client = site.anonymous()
    answer = client.post(
        "/login", data={"user": user, "password": password}, follow_redirects=False
    )
    assert answer.status_code == 303, answer.text
    return client


def csrf_of(page: Any) -> str:
    """The CSRF token the page put into its forms."""
    found = _TOKEN.search(page.text)
    assert found is not None, "the page has no form with a CSRF token"
    return found.group(1)


def csrf(client: TestClient) -> str:
    """The visitor's CSRF token, as their home page shows it."""
    return csrf_of(client.get("/home"))
