"""``ansim linkage run/runs`` and ``ansim hub combine --project/views`` against a real server:
custodians upload sealed packages, the linkage unit links them, the hub combines."""

from __future__ import annotations

from pathlib import Path

from ansim.errors import AccessDenied, InvalidSpecError
from tests.integration.serving import cli, login, ok, serving
from tests.server.conftest import PASSWORD, POLICY, TODAY
from tests.server.test_pages_flow import _sealed_trial

LINKER, HUB, ANALYST = "operator.linkage", "operator.hub", "analyst"


def test_link_and_combine_through_the_server(tmp_path: Path) -> None:
    root = tmp_path / "home"
    packages = _sealed_trial(root)
    people = [*packages, LINKER, HUB, ANALYST]
    machine = {p: tmp_path / "config" / p for p in people}
    project = ("--project", "p1")
    with serving(root, secure_cookies=False, today=TODAY, policy=POLICY) as url:
        for person in people:
            login(machine[person], url, person, PASSWORD)
        for officer, sealed in packages.items():
            ok(machine[officer], "hub", "upload", *map(str, sealed), *project)
        linker = machine[LINKER]
        assert "no linkage run yet" in ok(linker, "linkage", "runs", *project)
        # only the linkage unit links: the hub operator is refused by the server
        refused = cli(machine[HUB], "linkage", "run", "--method", "exact", *project)
        assert isinstance(refused.exception, AccessDenied)
        ran = ok(linker, "linkage", "run", "--method", "exact", *project)
        assert "exact: 8 records" in ran and "4 persons" in ran and "link map sealed" in ran
        runs = ok(linker, "linkage", "runs", *project)
        assert LINKER in runs and "exact" in runs and "0 identity packages waiting" in runs
        assert "no linked views yet" in ok(machine[ANALYST], "hub", "views", *project)
        combined = ok(machine[HUB], "hub", "combine", *project)
        assert "4 persons" in combined and "linked_register 4" in combined
        views = ok(machine[ANALYST], "hub", "views", *project)
        assert "linked_cases: 4 rows" in views and "linked_register: 4 rows" in views
        assert isinstance(cli(linker, "hub", "views", *project).exception, AccessDenied)
        # nothing waits any more: a clear refusal, no traceback
        again = cli(machine[HUB], "hub", "combine", *project)
        assert isinstance(again.exception, InvalidSpecError)
        assert "no package waits" in str(again.exception) and str(root) not in str(again.exception)
    mixed = cli(machine[HUB], "hub", "combine", "--store", "x.duckdb", *project)
    assert isinstance(mixed.exception, InvalidSpecError)
    alone = cli(machine[HUB], "hub", "combine")
    assert isinstance(alone.exception, InvalidSpecError) and "--content" in str(alone.exception)
