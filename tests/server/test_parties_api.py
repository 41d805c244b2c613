"""The linkage unit's and the hub's JSON API: custodians upload sealed packages, the linkage unit
links them and seals the link map, the hub combines, analysts and the hub see the views."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ansim.server import create_app
from tests.server.conftest import POLICY, TODAY, Site
from tests.server.test_pages_flow import _sealed_trial  # one trial for both

LINKER, HUB, ANALYST = "operator.linkage", "operator.hub", "analyst"
RUNS, COMBINE, VIEWS = (
    "/api/projects/p1/linkage/runs",
    "/api/projects/p1/hub/combine",
    "/api/projects/p1/hub/views",
)


@pytest.fixture
def trial(tmp_path: Path) -> tuple[Site, dict[str, list[Path]]]:
    """A served trial deployment whose custodians sealed their parts (not yet uploaded)."""
    root = tmp_path / "home"
    packages = _sealed_trial(root)
    app = create_app(root, secure_cookies=False, today=TODAY, policy=POLICY)
    return Site(root, app, {}), packages


def _upload(site: Site, packages: dict[str, list[Path]]) -> None:
    for officer, sealed in packages.items():
        client = site.login(officer)
        for package in sealed:
            files = {"package": (package.name, package.read_bytes(), "application/octet-stream")}
            sent = client.post("/api/projects/p1/packages", files=files)
            assert sent.status_code == 201, sent.text


def _errors_are_value_free(site: Site, answer_text: str) -> None:
    assert str(site.home) not in answer_text and "Traceback" not in answer_text


def test_link_then_combine_then_list_the_views(
    trial: tuple[Site, dict[str, list[Path]]],
) -> None:
    site, packages = trial
    _upload(site, packages)
    linker, hub, analyst = site.login(LINKER), site.login(HUB), site.login(ANALYST)
    before = linker.get(RUNS).json()
    assert before["runs"] == [] and before["last_report"] is None
    assert len(before["waiting"]) == 2
    # the hub has nothing to combine before the link map arrives
    early = hub.post(COMBINE)
    assert early.status_code == 422 and "exactly one link map" in early.json()["error"]
    assert analyst.get(VIEWS).json() == {"project": "p1", "views": []}

    ran = linker.post(RUNS, json={"method": "exact"})
    assert ran.status_code == 201, ran.text
    report = ran.json()
    assert report["method"] == "exact" and report["records"] == {"cases": 4, "register": 4}
    assert report["persons"] == 4 and report["link_map_package"]
    assert sorted(report["packages"]) == sorted(before["waiting"])
    after = linker.get(RUNS).json()
    assert [r["by"] for r in after["runs"]] == [LINKER] and after["runs"][0]["method"] == "exact"
    assert after["waiting"] == []  # opened packages are not offered again
    assert after["last_report"] == {"method": "exact", "persons": 4,
                                    "records": {"cases": 4, "register": 4}}  # fmt: skip
    again = linker.post(RUNS, json={"method": "exact"})
    assert again.status_code == 422
    _errors_are_value_free(site, again.text)

    combined = hub.post(COMBINE)
    assert combined.status_code == 201, combined.text
    assert combined.json()["tables"] == {"linked_cases": 4, "linked_register": 4}
    assert combined.json()["persons"] == 4
    expected = [{"name": "linked_cases", "rows": 4}, {"name": "linked_register", "rows": 4}]
    for client in (analyst, hub):
        views = client.get(VIEWS)
        assert views.status_code == 200 and views.json()["views"] == expected
    assert hub.post(COMBINE).status_code == 422  # nothing waits any more

    events = site.login("admin").get("/api/audit/events", params={"project": "p1"}).json()
    steps = {(e["actor"], e["action"], e["objects"].get("step")) for e in events}
    assert {(LINKER, "run_linkage", "link"), (LINKER, "run_linkage", "seal link map"),
            (HUB, "combine", "combine")} <= steps  # fmt: skip


def test_each_party_route_is_for_its_own_role_only(
    trial: tuple[Site, dict[str, list[Path]]],
) -> None:
    site, packages = trial
    _upload(site, packages)
    officer = next(iter(packages))
    for user in ("admin", officer, HUB, ANALYST):
        refused = site.login(user).post(RUNS, json={"method": "exact"})
        assert refused.status_code == 403, (user, refused.text)
        assert site.login(user).get(RUNS).status_code == 403
    for user in ("admin", officer, LINKER, ANALYST):
        assert site.login(user).post(COMBINE).status_code == 403
    for user in ("admin", officer, LINKER):
        assert site.login(user).get(VIEWS).status_code == 403
    # a name in the body changes nothing: the actor is the session's user
    forged = site.login(HUB).post(RUNS, json={"method": "exact", "user": LINKER, "actor": LINKER})
    assert forged.status_code == 403
    events = site.login("admin").get("/api/audit/events", params={"project": "p1"}).json()
    assert not [e for e in events if e["action"] == "run_linkage"]
    # each refusal is audited by governance, under the refused user and operation
    denied = {(e["actor"], e["objects"]["operation"]) for e in events
              if e["action"] == "access_denied"}  # fmt: skip
    assert {(HUB, "run_linkage"), (LINKER, "combine"), (officer, "query")} <= denied
    # an unknown project is hidden, a bad method refused with a clear error
    assert site.login(LINKER).get("/api/projects/nope/linkage/runs").status_code == 404
    bad = site.login(LINKER).post(RUNS, json={"method": "telepathy"})
    assert bad.status_code == 422 and "error" in bad.json()


def test_a_token_acts_only_within_its_scope(trial: tuple[Site, dict[str, list[Path]]]) -> None:
    site, packages = trial
    _upload(site, packages)
    other = site.token(HUB, role="hub_operator", project="p1")
    assert other.post(RUNS, json={"method": "exact"}).status_code == 403
    scoped = site.token(LINKER, role="linkage_unit_operator", project="p1")
    assert scoped.post(RUNS, json={"method": "exact"}).status_code == 201


def test_the_routes_are_documented(trial: tuple[Site, dict[str, list[Path]]]) -> None:
    site, _ = trial
    paths = site.anonymous().get("/openapi.json").json()["paths"]
    for path, method in (("/api/projects/{project}/linkage/runs", "post"),
                         ("/api/projects/{project}/linkage/runs", "get"),
                         ("/api/projects/{project}/hub/combine", "post"),
                         ("/api/projects/{project}/hub/views", "get")):  # fmt: skip
        assert paths[path][method]["summary"], (path, method)
        answered = json.dumps(paths[path][method]["responses"])
        assert "#/components/schemas/" in answered, (path, method)  # a documented answer
    for path in (RUNS, COMBINE, VIEWS):
        assert site.anonymous().get(path).status_code in {401, 405}
