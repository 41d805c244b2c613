"""The public transparency register, and ``ansim serve`` as a command."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from tests.server.conftest import P1, Site


def test_register_lists_approved_projects_and_releases(fresh: Callable[[], Site]) -> None:
    site = fresh()
    analyst = site.login("analyst")
    body = {"kind": "crosstab", "sql": "SELECT person_id, sex FROM register", "by": ["sex"]}
    output = analyst.post(f"/api/projects/{P1}/analyses", json=body).json()["id"]
    analyst.post(f"/api/projects/{P1}/outputs/{output}/submit")
    for checker in ("checker", "checker2"):
        site.login(checker).post(
            f"/api/projects/{P1}/outputs/{output}/reviews", json={"decision": "approve"}
        )
    assert site.login("checker").post(f"/api/projects/{P1}/outputs/{output}/release").is_success
    site.login("officer").post("/api/projects/p2/approvals",
                               json={"dataset": "cases", "decision": "revoke"})  # fmt: skip
    public = site.anonymous()
    korean = public.get("/register")
    assert korean.status_code == 200 and 'lang="ko"' in korean.text and "투명성" in korean.text
    assert "COVID-19 cases (p1)" in korean.text and "(p2)" not in korean.text  # p2 revoked
    assert output in korean.text and "checker" in korean.text and "gyeonggi" in korean.text
    english = public.get("/register", params={"lang": "en"})
    assert "Transparency register" in english.text
    assert public.get("/register", params={"lang": "xx"}).status_code == 422
    assert "<script" not in korean.text  # plain HTML, no JavaScript needed


def test_serve_refuses_a_missing_home_with_exit_2(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", "from ansim.cli import main; main()", "serve", "--home",
         str(tmp_path / "none")],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert "error:" in done.stderr and "governance home" in done.stderr
    assert "Traceback" not in done.stderr
