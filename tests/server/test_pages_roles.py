"""Each role's page shows its work and performs its actions through the API's handlers."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from ansim.server import create_app
from tests.server.conftest import P1, PASSWORD, POLICY, TODAY, Site, build_deployment
from tests.server.pages_support import csrf, csrf_of, form_login

_CROSSTAB = {"sql": "SELECT person_id, sex FROM register", "by": "sex"}


def _output(site: Site) -> str:
    """An analyst makes a crosstab through the page and submits it; its id."""
    analyst = form_login(site, "analyst")
    made = analyst.post(f"/projects/{P1}/analyst/analysis",
                        data={**_CROSSTAB, "csrf_token": csrf(analyst)})  # fmt: skip
    assert made.status_code == 200 and "out-" in made.text, made.text
    output = sorted(o["id"] for o in site.login("analyst").get(
        f"/api/projects/{P1}/outputs").json())[-1]  # fmt: skip
    submitted = analyst.post(f"/projects/{P1}/analyst/outputs/{output}/submit",
                             data={"csrf_token": csrf(analyst)})  # fmt: skip
    assert submitted.status_code == 200, submitted.text
    return output


def test_custodian_sees_its_datasets_and_revokes_an_approval(fresh: Callable[[], Site]) -> None:
    site = fresh()
    officer = form_login(site, "officer")
    page = officer.get(f"/projects/{P1}/custodian")
    assert page.status_code == 200 and "cases" in page.text
    assert "register" not in page.text.split("<h2>")[1]  # kostat's dataset is not theirs
    done = officer.post(f"/projects/{P1}/custodian/decision",
                        data={"dataset": "cases", "decision": "revoke",
                              "csrf_token": csrf_of(page)})  # fmt: skip
    assert done.status_code == 200 and "철회됨" in done.text
    assert site.login("admin").get(f"/api/projects/{P1}").json()["approvals"]["cases"] == "revoked"
    # another custodian's dataset: governance refuses, the page says so
    refused = officer.post(f"/projects/{P1}/custodian/decision",
                           data={"dataset": "register", "decision": "revoke",
                                 "csrf_token": csrf_of(page)})  # fmt: skip
    assert refused.status_code == 403 and 'role="alert"' in refused.text


def test_custodian_upload_refuses_what_is_not_a_sealed_package(fresh: Callable[[], Site]) -> None:
    site = fresh()
    officer = form_login(site, "officer")
    answer = officer.post(
        f"/projects/{P1}/custodian/package", data={"csrf_token": csrf(officer)},
        files={"package": ("cases.parquet", b"PAR1 not a package", "application/octet-stream")},
    )  # fmt: skip
    assert answer.status_code == 422 and 'role="alert"' in answer.text
    assert "Traceback" not in answer.text


def test_analyst_queries_and_sees_outputs_with_their_checks(fresh: Callable[[], Site]) -> None:
    site = fresh()
    analyst = form_login(site, "analyst")
    page = analyst.get(f"/projects/{P1}/analyst")
    assert page.status_code == 200 and "register" in page.text and "income_band" in page.text
    result = analyst.post(f"/projects/{P1}/analyst/query",
                          data={"sql": "SELECT count(*) AS n FROM register",
                                "csrf_token": csrf_of(page)})  # fmt: skip
    assert result.status_code == 200 and '<th scope="col">n</th>' in result.text
    drop = {"sql": "DROP TABLE register", "csrf_token": csrf_of(page)}
    bad = analyst.post(f"/projects/{P1}/analyst/query", data=drop)
    assert bad.status_code in {403, 422} and 'role="alert"' in bad.text
    output = _output(site)
    listed = analyst.get(f"/projects/{P1}/analyst").text
    assert output in listed and "심사 요청됨" in listed


def test_checker_reviews_with_the_sql_and_checks_then_two_approve_and_release(
    fresh: Callable[[], Site],
) -> None:
    site = fresh()
    output = _output(site)
    checker = form_login(site, "checker")
    queue = checker.get(f"/projects/{P1}/checker")
    assert queue.status_code == 200 and output in queue.text
    page = checker.get(f"/projects/{P1}/checker/outputs/{output}")
    assert page.status_code == 200
    assert "SELECT person_id, sex FROM register" in page.text and "threshold" in page.text
    approve = {"decision": "approve", "comment": "fine", "csrf_token": csrf_of(page)}
    assert checker.post(f"/projects/{P1}/checker/outputs/{output}/review",
                        data=approve).status_code == 200  # fmt: skip
    twice = checker.post(f"/projects/{P1}/checker/outputs/{output}/review", data=approve)
    assert twice.status_code in {403, 409, 422} and 'role="alert"' in twice.text
    second = form_login(site, "checker2")
    assert second.post(f"/projects/{P1}/checker/outputs/{output}/review",
                       data={**approve, "csrf_token": csrf(second)}).status_code == 200  # fmt: skip
    detail = second.get(f"/projects/{P1}/checker/outputs/{output}").text
    assert "/release" in detail
    released = second.post(f"/projects/{P1}/checker/outputs/{output}/release",
                           data={"csrf_token": csrf(second)})  # fmt: skip
    assert released.status_code == 200, released.text
    assert output in site.anonymous().get("/register").text


def test_failing_cells_are_highlighted_for_the_checker(fresh: Callable[[], Site]) -> None:
    site = fresh()
    analyst = form_login(site, "analyst")
    sql = "SELECT person_id, age FROM register WHERE age < 3"
    analyst.post(f"/projects/{P1}/analyst/analysis",
                 data={"sql": sql, "by": "age", "csrf_token": csrf(analyst)})  # fmt: skip
    output = sorted(o["id"] for o in site.login("analyst").get(
        f"/api/projects/{P1}/outputs").json())[-1]  # fmt: skip
    made = site.login("checker").get(f"/api/projects/{P1}/outputs/{output}").json()
    assert not made["report"]["passed"]  # small cells
    page = form_login(site, "checker").get(f"/projects/{P1}/checker/outputs/{output}").text
    assert 'class="failing"' in page and 'class="failed"' in page
    # submitted, it is held; its author asks for an exception, which the checker then reads
    analyst.post(f"/projects/{P1}/analyst/outputs/{output}/submit",
                 data={"csrf_token": csrf(analyst)})  # fmt: skip
    listed = analyst.get(f"/projects/{P1}/analyst").text
    assert f"/outputs/{output}/exception" in listed
    why = {"justification": "a published total", "csrf_token": csrf(analyst)}
    asked = analyst.post(f"/projects/{P1}/analyst/outputs/{output}/exception", data=why)
    assert asked.status_code == 200, asked.text
    shown = form_login(site, "checker").get(f"/projects/{P1}/checker/outputs/{output}").text
    assert "a published total" in shown


def test_admin_sees_projects_users_and_audit_and_grants_a_role(fresh: Callable[[], Site]) -> None:
    site = fresh()
    admin = form_login(site, "admin")
    page = admin.get("/admin")
    assert page.status_code == 200
    assert "COVID-19 cases (p1)" in page.text and "checker_p2" in page.text
    assert "key_fingerprint" in page.text
    made = admin.post("/admin/users", data={"user": "newcomer", "name": "New Comer",
                                            "csrf_token": csrf_of(page)})  # fmt: skip
    assert made.status_code == 200 and "newcomer" in made.text
    grant = {"project": P1, "user": "newcomer", "role": "analyst", "csrf_token": csrf_of(page)}
    granted = admin.post("/admin/members", data=grant)
    assert granted.status_code == 200, granted.text
    roles = site.login("admin").get("/api/users").json()
    assert any(u["user"] == "newcomer" and u["roles"] for u in roles)
    # incompatible: an analyst of p1 becoming its output checker is refused
    refused = admin.post("/admin/members", data={"project": P1, "user": "analyst",
                                                 "role": "output_checker",
                                                 "csrf_token": csrf_of(page)})  # fmt: skip
    assert refused.status_code == 403 and 'role="alert"' in refused.text


def test_admin_destroys_a_project(tmp_path: Path) -> None:
    # its own deployment: a copy of the shared one still names the original's files, and
    # destruction removes every file the project registered
    build_deployment(tmp_path / "home")
    site = Site(tmp_path / "home", create_app(tmp_path / "home", secure_cookies=False,
                                              today=TODAY, policy=POLICY), {})  # fmt: skip
    admin = form_login(site, "admin")
    done = admin.post(f"/admin/projects/{P1}/destroy",
                      data={"reason": "end of study", "csrf_token": csrf(admin)})  # fmt: skip
    assert done.status_code == 200, done.text
    assert site.login("admin").get(f"/api/projects/{P1}").json()["status"] == "destroyed"


def test_admin_applies_for_a_project_and_issues_its_key(fresh: Callable[[], Site]) -> None:
    site = fresh()
    admin = form_login(site, "admin")
    application = {
        "project": "p3", "title": "Isolation support", "purpose": "statistics",
        "description": "Uptake by si/gun", "datasets": "cases: gyeonggi\nregister: kostat",
        "start": "2026-01-01", "end": "2026-12-31", "csrf_token": csrf(admin),
    }  # fmt: skip
    made = admin.post("/admin/projects", data=application)
    assert made.status_code == 200, made.text
    record = site.login("admin").get("/api/projects/p3").json()
    assert [d["custodian"] for d in record["datasets"]] == ["gyeonggi", "kostat"]
    assert record["key"] is None
    issued = admin.post("/admin/projects/p3/key", data={"csrf_token": csrf(admin)})
    assert issued.status_code == 200
    assert site.login("admin").get("/api/projects/p3").json()["key"]["key_id"] in issued.text
    bad = admin.post("/admin/projects", data={**application, "project": "p4", "purpose": "fun"})
    assert bad.status_code == 422 and 'role="alert"' in bad.text


def test_admin_gives_a_user_a_new_one_time_password(fresh: Callable[[], Site]) -> None:
    site = fresh()
    admin = form_login(site, "admin")
    made = admin.post("/admin/users/analyst/password", data={"csrf_token": csrf(admin)})
    assert made.status_code == 200
    password = re.search(r"<code>([^<]+)</code>", made.text)
    assert password is not None
    refused = site.anonymous().post("/login", data={"user": "analyst", "password": PASSWORD})
    assert refused.status_code == 401
    assert form_login(site, "analyst", password.group(1)).get("/home").status_code == 200
