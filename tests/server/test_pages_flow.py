"""The linkage unit's and the hub's pages: sealed packages uploaded by custodians through their
page are linked, the link map sealed for the hub, and combined, each step by the party service."""

from __future__ import annotations

import shutil
from pathlib import Path

from ansim.governance import Accounts, default_key_provider
from ansim.identity import LinkageSecret
from ansim.schema import DatasetSpec
from ansim.server import create_app
from ansim.services import TrialProject
from tests.server.conftest import PASSWORD, POLICY, TODAY, Site
from tests.server.pages_support import csrf, csrf_of, form_login

SPEC = """
dataset: {dataset}
custodian: {custodian}
record_id: id
columns:
  name: {{type: string, role: direct_identifier, kind: korean_name}}
  rrn: {{type: string, role: direct_identifier, kind: rrn}}
  birth_date: {{type: date, role: quasi_identifier}}
  sex: {{type: category, role: quasi_identifier, values: [M, F]}}
  income_band: {{type: category, role: sensitive, values: [Q1, Q2]}}
"""
ROWS = [
    ("김민준", "800522-1234564", "1980-05-22", "M", "Q1"),
    ("이서연", "900102-2345678", "1990-01-02", "F", "Q2"),
    ("박지훈", "850315-1456789", "1985-03-15", "M", "Q1"),
    ("최수아", "920720-2567890", "1992-07-20", "F", "Q2"),
]
DATASETS = {"register": "kostat", "cases": "gyeonggi"}


def _sealed_trial(root: Path) -> dict[str, list[Path]]:
    """A trial project on disk whose custodians sealed their parts; officer → packages."""
    governance = root / "governance"
    keys = default_key_provider(governance, new_installation=True)
    trial = TrialProject.create(root, "p1", DATASETS, today=TODAY, keys=keys)
    try:
        accounts = Accounts(trial.governance, policy=POLICY)
        users = ("admin", *trial.officers.values(), trial.linker, trial.hub_operator, trial.analyst)
        for user in users:
            accounts.set_password("admin", user, PASSWORD)
        secret, packages = LinkageSecret.generate(), {}
        for dataset, custodian in DATASETS.items():
            spec = DatasetSpec.from_yaml_text(SPEC.format(dataset=dataset, custodian=custodian))
            data = root / f"{dataset}.csv"
            lines = ["id,name,rrn,birth_date,sex,income_band"]
            lines += [f"{i},{','.join(row)}" for i, row in enumerate(ROWS, 1)]
            data.write_text("\n".join(lines) + "\n", encoding="utf-8")
            service, officer = trial.custodian(custodian), trial.officers[custodian]
            ingested = service.ingest(officer, spec, data)
            parts = service.prepare(officer, ingested.directory, secret)
            packages[officer] = list(service.seal(officer, parts).packages.values())
    finally:
        trial.close()
    # the hub works beside the project's store: <home>/hub/p1 (its key store there too)
    shutil.copytree(root / "hub" / "keys", root / "hub" / "p1" / "keys")
    return packages


def test_custodians_upload_the_linkage_unit_links_and_the_hub_combines(tmp_path: Path) -> None:
    root = tmp_path / "home"
    packages = _sealed_trial(root)
    site = Site(root, create_app(root, secure_cookies=False, today=TODAY, policy=POLICY), {})
    for officer, sealed in packages.items():
        client = form_login(site, officer)
        for package in sealed:
            sent = client.post(
                "/projects/p1/custodian/package", data={"csrf_token": csrf(client)},
                files={"package": (package.name, package.read_bytes(), "application/octet-stream")},
            )  # fmt: skip
            assert sent.status_code == 200, sent.text
        page = client.get("/projects/p1/custodian").text
        assert page.count("수신됨, 열기 대기 중") == 2
    empty = form_login(site, "analyst").get("/projects/p1/analyst")
    assert empty.status_code == 200 and "결합된 자료가 아직 없습니다" in empty.text
    linker = form_login(site, "operator.linkage")
    page = linker.get("/projects/p1/linkage")
    assert page.status_code == 200 and page.text.count("<code>") >= 2
    assert "아직 연계를 실행하지 않았습니다" in page.text
    ran = linker.post("/projects/p1/linkage/run",
                      data={"method": "exact", "csrf_token": csrf_of(page)})  # fmt: skip
    assert ran.status_code == 200, ran.text
    assert "method" in ran.text and "exact" in ran.text  # the quality report
    assert 'class="bar"' in ran.text  # its counts drawn as bars
    assert "<td>operator.linkage</td><td>exact</td>" in ran.text  # the run is listed
    assert "<code>" not in ran.text.split("<h2>")[1]  # no identity package waits any more
    hub = form_login(site, "operator.hub")
    page = hub.get("/projects/p1/hub")
    assert page.status_code == 200 and "linkmap" in page.text and "content" in page.text
    combined = hub.post("/projects/p1/hub/combine", data={"csrf_token": csrf_of(page)})
    assert combined.status_code == 200, combined.text
    assert "linked_register" in combined.text and "linked_cases" in combined.text
    after = hub.get("/projects/p1/hub").text
    assert "hub.duckdb" in after and "<code>" not in after.split("<h2>")[1]  # nothing waits
    officer = form_login(site, next(iter(packages)))
    assert "받는 기관이 열었음" in officer.get("/projects/p1/custodian").text
    # the linkage unit's operator cannot combine: governance refuses through the page
    refused = linker.post("/projects/p1/hub/combine", data={"csrf_token": csrf(linker)})
    assert refused.status_code == 403
