"""A project's DP release goes through the one release path: reviewed, then published.

The release is made by the hub's release service (:class:`ansim.services.Release`), as the
server's route makes it; ``ansim privacy release --project`` is its client (tested against a
running server in ``tests/server/test_submissions_cli.py``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ansim.cli import app
from ansim.errors import AccessDenied, AnsimError, BudgetExhaustedError
from ansim.governance import PrivacyLedger
from ansim.privacy import parse_release_spec, portal_table_id
from ansim.release import ReleaseService, ReleaseStatus
from ansim.services import DPSubmission, Release
from tests.unit.release.conftest import PROJECT, Project, project

__all__ = ["project"]

runner = CliRunner()
SPEC = """
name: register
rho: 0.4
person: person_id
keys: {sigungu_code: ["41110", "41610", "41830"], sex: [M, F]}
queries:
  - {name: people_by_sigungu_sex, statistic: count, by: [sigungu_code, sex]}
  - {name: mean_age, statistic: mean, column: age, lower: 0, upper: 90, by: [sex]}
"""
TABLE = "linked_kostat_register"


def _budget(project: Project, rho: float = 1.0) -> None:
    PrivacyLedger(project.gov).set_budget("admin", PROJECT, rho, privacy_unit="a person of p1")


def _release(project: Project) -> Release:
    """The hub's release service, its portal on the deployment home."""
    return Release(project.gov, PROJECT, project.store, portal_home=project.home)


def _submit(project: Project, spec: str = SPEC, table: str = TABLE) -> DPSubmission:
    import yaml  # noqa: PLC0415

    parsed = parse_release_spec(yaml.safe_load(spec))
    return _release(project).submit_dp_tables("analyst", parsed, table)


def _files_outside_hub(project: Project) -> list[Path]:
    hub = project.store.parent
    skip = (hub, project.home)
    return [
        p for p in project.tmp.rglob("*")
        if p.is_file() and not any(p.is_relative_to(s) for s in skip) and p.suffix != ".yaml"
    ]  # fmt: skip


def test_project_release_is_submitted_reviewed_then_published_charging_once(
    project: Project,
) -> None:
    _budget(project)
    done = _submit(project)
    assert [s.id for s in done.submissions] == ["rel-0001", "rel-0002"]
    assert done.rho_remaining == pytest.approx(1.0 - done.release.plan.rho)
    assert not _files_outside_hub(project)
    public = project.home / "release" / "public"
    assert not public.exists()
    ledger = PrivacyLedger(project.gov)
    assert len(ledger.spends(PROJECT)) == 1
    spent = ledger.balance(PROJECT).rho_spent
    assert 0 < spent <= 0.4 + 1e-9

    service = ReleaseService(project.gov, PROJECT, project.workspace)
    submission = service.get("rel-0001")
    assert submission.kind.value == "dp_table" and submission.author == "analyst"
    files = service.files("rel-0001")
    assert set(files) == {"people_by_sigungu_sex.csv", "people_by_sigungu_sex.json",
                          "portal.json"}  # fmt: skip
    portal = json.loads(files["portal.json"])
    assert len(portal["cells"]) == 6
    assert all(c["protection"] == "dp" for c in portal["cells"])
    assert all(c["ci_low"] <= c["value"] <= c["ci_high"] for c in portal["cells"])
    assert json.loads(files["people_by_sigungu_sex.json"])["privacy_unit"] == "a person of p1"

    with pytest.raises(AccessDenied, match="separation of duties"):
        service.approve("analyst", "rel-0001")
    service.approve("checker", "rel-0001")
    with pytest.raises(AccessDenied, match="already approved"):
        service.approve("checker", "rel-0001")
    with pytest.raises(AccessDenied):
        service.release("checker", "rel-0001", project.tmp / "early")
    assert not (project.tmp / "early").exists() and not public.exists()

    assert service.approve("checker2", "rel-0001").status == ReleaseStatus.APPROVED
    out = project.tmp / "published"
    ReleaseService(project.gov, PROJECT, project.workspace, portal_home=project.home).release(
        "checker", "rel-0001", out
    )
    lines = (out / "people_by_sigungu_sex.csv").read_text().splitlines()
    assert lines[0] == '"sigungu_code","sex","estimate","ci_low","ci_high"' and len(lines) == 7
    published = json.loads((out / "portal.json").read_text())
    assert published["metadata"]["approvers"] == ["checker", "checker2"]
    assert ReleaseService(project.gov, PROJECT, project.workspace).get(
        "rel-0001").status == ReleaseStatus.RELEASED  # fmt: skip
    assert service.get("rel-0002").status == ReleaseStatus.SUBMITTED
    assert len(ledger.spends(PROJECT)) == 1  # reviewing and publishing charge nothing
    assert ledger.balance(PROJECT).rho_spent == spent
    entry = next(e for e in service.ledger.entries() if e["id"] == "rel-0001")
    assert entry["portal"]["id"] == "dp-register-people-by-sigungu-sex"
    # published on the deployment's portal, only now
    assert json.loads((public / "dp-register-people-by-sigungu-sex.json").read_text()) == published
    assert all(not r.cells for r in service.ledger.released())  # DP adds no exact counts
    assert project.gov.verify_audit().ok


def test_an_exhausted_budget_submits_nothing(project: Project) -> None:
    _budget(project, rho=0.1)
    with pytest.raises(BudgetExhaustedError):
        _submit(project)
    assert ReleaseService(project.gov, PROJECT, project.workspace).all() == []
    assert PrivacyLedger(project.gov).spends(PROJECT) == []


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--input", "rows.csv"], "nothing is written before review"),
        (["--out", "o"], "nothing is written before review"),
    ],
)
def test_project_release_refuses_a_file_or_an_out_folder(
    project: Project, extra: list[str], message: str
) -> None:
    _budget(project)
    spec = project.tmp / "spec.yaml"
    spec.write_text(SPEC, encoding="utf-8")
    result = runner.invoke(app, ["privacy", "release", "--spec", str(spec), "--table", TABLE,
                                 *extra, "--project", PROJECT])  # fmt: skip
    assert result.exit_code != 0
    assert message in str(result.exception)
    assert PrivacyLedger(project.gov).spends(PROJECT) == []


@pytest.mark.parametrize(
    ("table", "spec", "message"),
    [
        ("linked_nothing", SPEC, "no table 'linked_nothing'"),
        (TABLE, SPEC.replace("column: age", "column: income"), "no columns ['income']"),
        # the privacy unit is the platform's person, not a column the analyst picks
        (TABLE, SPEC.replace("person: person_id", "person: sex"), "keep person: person_id"),
        (TABLE, SPEC.replace("person: person_id", "person: null"), "keep person: person_id"),
    ],
)
def test_a_misnamed_table_or_column_costs_no_budget(
    project: Project, table: str, spec: str, message: str
) -> None:
    _budget(project)
    with pytest.raises(AnsimError, match=re.escape(message)):
        _submit(project, spec, table)
    assert PrivacyLedger(project.gov).spends(PROJECT) == []
    assert ReleaseService(project.gov, PROJECT, project.workspace).all() == []


def test_a_portal_id_of_another_project_costs_no_budget(project: Project) -> None:
    from ansim.portal import Cell, PublishedTable, TableMetadata, publish  # noqa: PLC0415

    taken = PublishedTable(
        id=portal_table_id("register", "mean_age"), title_ko="다른", title_en="other",
        org_id="X", tbl_id="T", topic="statistics", period="2024", period_type="Y", unit="명",
        dimensions=(), labels=(), items={"estimate": "e"},
        cells=(Cell((), "estimate", 1.0, "dp", 0.0, 2.0),),
        metadata=TableMetadata(("kostat",), "other", "statistics", "2024", "dp", "2024-01-01",
                               ("c1", "c2")),
    )  # fmt: skip
    publish(taken, project.home)
    _budget(project)
    with pytest.raises(AnsimError, match="of another project"):
        _submit(project)
    assert PrivacyLedger(project.gov).spends(PROJECT) == []
    assert ReleaseService(project.gov, PROJECT, project.workspace).all() == []


@pytest.mark.parametrize("rho", ["1e-300", "1e-10", "0", "-1", ".nan", ".inf"])
def test_a_rho_too_small_to_represent_the_noise_is_refused(rho: str) -> None:
    import yaml  # noqa: PLC0415

    from ansim.errors import InvalidSpecError  # noqa: PLC0415

    with pytest.raises(InvalidSpecError, match="rho must be a finite number of at least 1e-09"):
        parse_release_spec(yaml.safe_load(SPEC.replace("rho: 0.4", f"rho: {rho}")))
