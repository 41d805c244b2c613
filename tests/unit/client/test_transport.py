"""Server answers become Ansim errors; the token goes only in the Authorization header."""

from __future__ import annotations

import json

import httpx
import pytest

from ansim.client import Client
from ansim.errors import (
    AccessDenied,
    AuthenticationFailed,
    InvalidSpecError,
    RateLimited,
    ServerError,
)

TOKEN = "ansim_" + "s" * 43


def _answering(status: int, body: object, seen: list[httpx.Request]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, json=body)

    return httpx.MockTransport(handle)


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (401, AuthenticationFailed),
        (403, AccessDenied),
        (404, AccessDenied),
        (429, RateLimited),
        (400, InvalidSpecError),
        (413, InvalidSpecError),
        (422, InvalidSpecError),
        (500, ServerError),
        (503, ServerError),
    ],
)
def test_each_status_maps_onto_the_error_tree(status: int, error: type[Exception]) -> None:
    seen: list[httpx.Request] = []
    transport = _answering(status, {"error": "the server's reason"}, seen)
    with (
        Client("http://127.0.0.1:1", TOKEN, transport=transport) as client,
        pytest.raises(error, match="the server's reason") as raised,
    ):
        client.workspace.views("p1")
    assert type(raised.value) is error
    (request,) = seen
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert TOKEN not in str(request.url)


def test_a_refused_stored_token_says_log_in_again() -> None:
    transport = _answering(401, {"error": "not logged in"}, [])
    with (
        Client("http://127.0.0.1:1", TOKEN, transport=transport) as client,
        pytest.raises(AuthenticationFailed, match="ansim login"),
    ):
        client.me()


def test_validation_details_name_fields_not_values() -> None:
    detail = [{"loc": ["body", "sql"], "msg": "field required", "input": "SECRET-VALUE"}]
    transport = _answering(422, {"detail": detail}, [])
    with (
        Client("http://127.0.0.1:1", TOKEN, transport=transport) as client,
        pytest.raises(InvalidSpecError) as raised,
    ):
        client.workspace.query("p1", "SELECT 1", 5)
    assert "sql: field required" in str(raised.value)
    assert "SECRET-VALUE" not in str(raised.value)


def test_an_unreachable_server_is_a_server_error() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with (
        Client("http://127.0.0.1:1", TOKEN, transport=httpx.MockTransport(refuse)) as client,
        pytest.raises(ServerError, match="cannot reach the server"),
    ):
        client.me()


def test_ids_are_one_quoted_path_segment() -> None:
    seen: list[httpx.Request] = []
    with Client("http://127.0.0.1:1", TOKEN, transport=_answering(200, {}, seen)) as client:
        client.workspace.output("p1", "../../users")
    assert seen[0].url.raw_path == b"/api/projects/p1/outputs/..%2F..%2Fusers"


def test_login_sends_the_csrf_token_on_writes_and_no_user_on_later_calls() -> None:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/api/session" and request.method == "POST":
            return httpx.Response(
                200, json={"user": "ana", "csrf_token": "c1"},
                headers={"set-cookie": "ansim_session=s1; HttpOnly; Path=/"},
            )  # fmt: skip
        return httpx.Response(201, json={"id": "tok-1", "token": TOKEN})

    with Client("http://127.0.0.1:1", transport=httpx.MockTransport(handle)) as client:
        assert client.open_session("ana", "a long password", "123456") == "ana"
        client.issue_token()
    login, token = seen
    assert json.loads(login.content) == {"user": "ana", "password": "a long password",
                                         "totp": "123456"}  # fmt: skip
    assert token.headers["X-CSRF-Token"] == "c1"
    assert "ansim_session=s1" in token.headers["cookie"]
    assert json.loads(token.content) == {"role": "*", "name": "cli", "expires_days": 30}
