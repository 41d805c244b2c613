"""The linkage unit's and the hub's client calls: their paths, bodies and answers' shapes."""

from __future__ import annotations

import json

import httpx
import pytest

from ansim.client import Client
from ansim.errors import ServerError

TOKEN = "ansim_" + "s" * 43


def _client(body: object, seen: list[httpx.Request]) -> Client:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=body)

    return Client("http://127.0.0.1:1", TOKEN, transport=httpx.MockTransport(handle))


def test_linkage_run_posts_the_method_and_names_no_user() -> None:
    seen: list[httpx.Request] = []
    with _client({"persons": 4}, seen) as client:
        assert client.linkage.run("p/1", "exact") == {"persons": 4}
        client.linkage.runs("p1")
    assert seen[0].method == "POST"
    assert seen[0].url.raw_path == b"/api/projects/p%2F1/linkage/runs"
    assert json.loads(seen[0].content) == {"method": "exact"}  # the token says who acts
    assert (seen[1].method, seen[1].url.path) == ("GET", "/api/projects/p1/linkage/runs")


def test_hub_combine_and_views() -> None:
    seen: list[httpx.Request] = []
    views = {"project": "p1", "views": [{"name": "linked_cases", "rows": 4}]}
    with _client(views, seen) as client:
        assert client.hub.views("p1") == [{"name": "linked_cases", "rows": 4}]
        client.hub.combine("p1")
    assert [(r.method, r.url.path) for r in seen] == [
        ("GET", "/api/projects/p1/hub/views"),
        ("POST", "/api/projects/p1/hub/combine"),
    ]


def test_an_answer_of_the_wrong_shape_is_a_server_error() -> None:
    with _client([1, 2], []) as client, pytest.raises(ServerError):
        client.linkage.run("p1")
    with _client({"views": "none"}, []) as client, pytest.raises(ServerError):
        client.hub.views("p1")
