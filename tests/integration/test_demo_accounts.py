"""The demo's accounts (a Stable form): ``DIR/demo-accounts.json``, mode 0600, one per person."""

from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path

import pytest
import typer
import uvicorn

from ansim.cli import app
from ansim.cli._demo import _accounts, _serve
from ansim.demo import DemoRun
from ansim.governance import Accounts, Governance

ROLES = {
    "administrator": 1, "custodian_officer": 3, "linkage_unit_operator": 1, "hub_operator": 1,
    "analyst": 1, "output_checker": 2,
}  # fmt: skip


@pytest.fixture
def demo(demo_run: DemoRun, tmp_path: Path) -> Path:
    return shutil.copytree(demo_run.out, tmp_path / "demo", ignore=shutil.ignore_patterns("world"))


def test_every_demo_person_gets_a_working_one_time_password(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _accounts(demo / "governance", demo)
    path = demo / "demo-accounts.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    listed = json.loads(path.read_text(encoding="utf-8"))
    assert all(set(a) == {"user", "role", "password"} for a in listed)
    assert {r: sum(a["role"] == r for a in listed) for r in ROLES} == ROLES
    assert len({a["user"] for a in listed}) == len(listed)
    printed = capsys.readouterr().out
    assert "gyeonggi-covid-demo" in printed
    assert all(a["user"] in printed for a in listed)

    gov = Governance(demo / "governance")
    try:
        accounts = Accounts(gov)
        for a in listed:
            issued = accounts.authenticate(a["user"], a["password"], address="127.0.0.1")
            assert issued.session.user == a["user"] and issued.session.must_change
    finally:
        gov.close()


def test_issuing_again_replaces_the_passwords(demo: Path) -> None:
    _accounts(demo / "governance", demo)
    first = json.loads((demo / "demo-accounts.json").read_text(encoding="utf-8"))
    _accounts(demo / "governance", demo)
    second = json.loads((demo / "demo-accounts.json").read_text(encoding="utf-8"))
    assert [a["user"] for a in first] == [a["user"] for a in second]
    assert all(a["password"] != b["password"] for a, b in zip(first, second, strict=True))
    gov = Governance(demo / "governance")
    try:
        old = first[0]
        with pytest.raises(PermissionError):
            Accounts(gov).authenticate(old["user"], old["password"], address="127.0.0.1")
    finally:
        gov.close()


def test_in_a_terminal_the_demo_serves_its_pages_on_the_loopback(
    demo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    served: list[tuple[object, str, int]] = []
    monkeypatch.setattr(
        uvicorn,
        "run",
        lambda application, host, port, **_: served.append((application, host, port)),
    )
    root = typer.main.get_command(app)
    with root.make_context("ansim", ["demo"]) as ctx:
        _serve(ctx, demo, 8765, "analyst.snu")
    ((application, host, port),) = served
    assert (host, port) == ("127.0.0.1", 8765)
    assert "/api/session" in application.openapi()["paths"]  # type: ignore[attr-defined]
