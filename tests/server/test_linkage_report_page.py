"""The linkage unit's report page: for its operators only, this project's last run, no CDN."""

from __future__ import annotations

import os
from pathlib import Path

from ansim.linkage import RATES_FILE, REPORT_FILE, REPORT_SCRIPT_HASH
from ansim.server import create_app
from ansim.server._role_pages import _hub_rates
from tests.server.conftest import POLICY, TODAY, Site
from tests.server.pages_support import csrf, form_login
from tests.server.test_pages_flow import _sealed_trial

REPORT = "/projects/p1/linkage/report"


def _linked(root: Path) -> Site:
    """The flow's trial, its packages uploaded by the custodians' officers (nothing linked)."""
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
    return site


def test_the_report_page_is_the_linkage_units_and_serves_plotly_locally(tmp_path: Path) -> None:
    site = _linked(tmp_path / "home")
    linker = form_login(site, "operator.linkage")
    before = linker.get(REPORT)
    assert before.status_code == 200
    assert "아직 연계를 실행하지 않았습니다" in before.text  # no report yet: says so
    assert "Linkage quality report" not in before.text
    ran = linker.post(
        "/projects/p1/linkage/run", data={"method": "exact", "csrf_token": csrf(linker)}
    )
    assert ran.status_code == 200, ran.text
    assert f'href="{REPORT}"' in ran.text  # the linkage page links to it
    shown = linker.get(REPORT)
    assert shown.status_code == 200
    assert "연계 품질 보고서" in shown.text and "Linkage quality report" in shown.text
    assert '<script src="/public/static/plotly.min.js"></script>' in shown.text
    assert '<script src="http' not in shown.text and "cdn" not in shown.text.lower()
    policy = shown.headers["content-security-policy"]
    assert f"script-src 'self' '{REPORT_SCRIPT_HASH}';" in policy  # no other inline script
    assert linker.get("/public/static/plotly.min.js").status_code == 200
    for other in ("operator.hub", "analyst"):
        refused = form_login(site, other).get(REPORT)
        assert refused.status_code == 403, other
        assert "Linkage quality report" not in refused.text
    anonymous = site.anonymous().get(REPORT, follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    (site.home / "linkage_unit" / REPORT_FILE).write_text("{not json", encoding="utf-8")
    broken = linker.get(REPORT)
    assert 400 <= broken.status_code < 500 and "cannot be read" in broken.text
    assert "Traceback" not in broken.text


def test_hub_rates_older_than_the_report_are_not_shown(tmp_path: Path) -> None:
    report = tmp_path / REPORT_FILE
    report.write_text("{}", encoding="utf-8")
    rates = tmp_path / RATES_FILE
    rates.parent.mkdir()
    rates.write_text('"column","group","records","linked","rate"\n"sex","F",40,30,0.75\n')
    assert _hub_rates(report) == [
        {"column": "sex", "group": "F", "records": 40, "linked": 30, "rate": 0.75}
    ]
    stat = report.stat()
    os.utime(rates, (stat.st_atime - 60, stat.st_mtime - 60))  # about an earlier link map
    assert _hub_rates(report) is None
