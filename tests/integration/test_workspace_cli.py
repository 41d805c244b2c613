"""``ansim workspace …`` end to end: a copy of the demo served, each person logged in."""

from __future__ import annotations

import re
import shutil
import sqlite3
from pathlib import Path

import pytest

from ansim.demo import DemoRun
from ansim.demo._accounts import issue_demo_accounts
from ansim.errors import AccessDenied, InvalidSpecError
from ansim.packages import read_package_header
from tests.integration.serving import cli, login, ok, serving

PROJECT = "gyeonggi-covid-demo"
BY_SEX = "SELECT person_id, sex FROM kostat_register"
DETAILED = "SELECT person_id, sigungu_code, sex, age FROM kostat_register"


@pytest.fixture
def served(demo_run: DemoRun, tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A copy of the demo directory and its people's one-time passwords.

    Governance registered the hub store by its absolute path: the copy's registry is moved
    along, so that the shared demo run is never written to.
    """
    demo = shutil.copytree(demo_run.out, tmp_path / "demo", ignore=shutil.ignore_patterns("world"))
    with sqlite3.connect(demo / "governance" / "governance.db") as db:
        db.execute(
            "UPDATE project_files SET path = replace(path, ?, ?)",
            (str(demo_run.out), str(demo)),
        )
    accounts = issue_demo_accounts(demo / "governance", demo)
    return demo, {a.user: a.password for a in accounts}


def _output_id(printed: str) -> str:
    found = re.search(r"\b(out-\d+)\b", printed)
    assert found, printed
    return found.group(1)


def test_analyst_to_release_through_the_server(
    served: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    demo, passwords = served
    people = ("analyst.snu", "checker.kostat", "checker.gyeonggi")
    machine = {p: tmp_path / "config" / p for p in people}
    with serving(demo) as url:
        for person in people:
            login(machine[person], url, person, passwords[person])
        analyst = machine["analyst.snu"]
        project = ("--project", PROJECT)
        assert "kostat_register" in ok(analyst, "workspace", "views", *project)
        assert "rows)" in ok(
            analyst, "workspace", "query", "SELECT count(*) AS n FROM kostat_register", *project
        )
        hostile = cli(analyst, "workspace", "query", "SELECT * FROM read_csv('/etc/passwd')",
                      *project)  # fmt: skip
        assert isinstance(hostile.exception, AccessDenied)
        passing = ok(analyst, "workspace", "crosstab", BY_SEX, "--by", "sex", *project)
        assert "passes" in passing
        held = ok(analyst, "workspace", "crosstab", DETAILED, "--by", "sigungu_code", "--by",
                  "age", *project)  # fmt: skip
        assert "held by the checks" in held and "threshold" in held
        good, bad = _output_id(passing), _output_id(held)
        assert "submitted" in ok(analyst, "workspace", "submit", good, *project)
        assert "held" in ok(analyst, "workspace", "submit", bad, *project)
        queue = ok(machine["checker.kostat"], "workspace", "outputs", "--queue", *project)
        assert good in queue and bad not in queue
        # the analyst cannot review, not even their own output
        mine = cli(analyst, "workspace", "review", good, *project)
        assert isinstance(mine.exception, AccessDenied)
        ok(machine["checker.kostat"], "workspace", "review", good, "--comment", "ok", *project)
        # one checker cannot approve twice to stand in for a second person
        twice = cli(machine["checker.kostat"], "workspace", "review", good, *project)
        assert twice.exit_code != 0
        assert "approved" in ok(machine["checker.gyeonggi"], "workspace", "review", good,
                                *project)  # fmt: skip
        records = tmp_path / "released"
        ok(machine["checker.kostat"], "workspace", "release", good, "--out", str(records),
           *project)  # fmt: skip
        assert (records / f"{good}.release.json").is_file()
        early = cli(analyst, "workspace", "release", bad, *project)
        assert early.exit_code != 0


def test_a_custodian_uploads_its_own_sealed_package_only(
    served: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    demo, passwords = served
    inbox = demo / "hub" / "inbox"
    (package,) = [
        p for p in inbox.glob("*.ansim") if read_package_header(p).dataset == "gyeonggi_cases"
    ]
    sent = shutil.move(package, tmp_path / package.name)  # as if not sent yet
    people = ("officer.gyeonggi", "officer.kostat", "analyst.snu")
    machine = {p: tmp_path / "config" / p for p in people}
    with serving(demo) as url:
        for person in people:
            login(machine[person], url, person, passwords[person])
        for other in ("officer.kostat", "analyst.snu"):
            refused = cli(machine[other], "hub", "upload", str(sent), "--project", PROJECT)
            assert isinstance(refused.exception, AccessDenied), refused.output
        assert not list(inbox.glob(package.name))
        done = ok(machine["officer.gyeonggi"], "hub", "upload", str(sent), "--project", PROJECT)
        assert package.name in done
        assert (inbox / package.name).read_bytes() == sent.read_bytes()
        again = cli(machine["officer.gyeonggi"], "hub", "upload", str(sent), "--project", PROJECT)
        assert isinstance(again.exception, InvalidSpecError)
        elsewhere = cli(machine["officer.gyeonggi"], "hub", "upload", str(sent), "--project",
                        "another-project")  # fmt: skip
        assert elsewhere.exit_code != 0


def _person_ids(printed: str) -> list[str]:
    """The person ids of the rows a query printed (one JSON object a row, wrapped by Rich)."""
    return re.findall(r'"person_id": "([^"]+)"', printed)


def test_query_rows_are_the_projects_row_access_policy(
    served: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    """Found 7: ``workspace query --limit 1000000`` printed the whole linked dataset."""
    from ansim.demo._run import ADMIN  # noqa: PLC0415 - the demo's administrator

    demo, passwords = served
    machine = {p: tmp_path / "config" / p for p in (ADMIN, "analyst.snu")}
    analyst = machine["analyst.snu"]
    project = ("--project", PROJECT)
    everything = ("workspace", "query", "SELECT * FROM kostat_register", "--limit", "1000000")
    with serving(demo) as url:
        for person, config in machine.items():
            login(config, url, person, passwords[person])
        assert "row access none" in ok(analyst, "project", "policy", PROJECT)
        printed = ok(analyst, *everything, *project)
        assert "DUMMY DATA" in printed and "더미 데이터" in printed
        ids = _person_ids(printed)
        assert 0 < len(ids) <= 1000  # the twin's rows, not the 25,000 people
        assert all(i.startswith("dummy-") for i in ids)
        # the analyst cannot open the rows for themself
        for mode in ("preview", "safe_setting"):
            refused = cli(analyst, "project", "policy", PROJECT, "--rows", mode,
                          "--workstation", "room-1")  # fmt: skip
            assert isinstance(refused.exception, AccessDenied | InvalidSpecError)
        refused = cli(analyst, "project", "policy", PROJECT, "--rows", "preview")
        assert isinstance(refused.exception, AccessDenied)
        assert "row access preview" in ok(machine[ADMIN], "project", "policy", PROJECT,
                                          "--rows", "preview")  # fmt: skip
        printed = ok(analyst, *everything, *project)
        ids = _person_ids(printed)
        assert len(ids) == 20 and "DUMMY" not in printed
        assert all(re.fullmatch(r"p\d{8,}", i) for i in ids)
        assert "20 rows shown, more not shown" in printed
        bad = cli(machine[ADMIN], "project", "policy", PROJECT, "--rows", "safe_setting")
        assert isinstance(bad.exception, InvalidSpecError)
        events = ok(machine[ADMIN], "audit", "events", "--project", PROJECT)
    assert "set_row_access" in events and "rows_shown" in events


@pytest.mark.parametrize("served_at", ["room-1", "room-2"])
def test_a_safe_setting_shows_real_rows_only_at_its_workstation(
    served: tuple[Path, dict[str, str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    served_at: str,
) -> None:  # fmt: skip
    """The workstation is the serving process's own (its operator's setting), never a request's."""
    from ansim.demo._run import ADMIN  # noqa: PLC0415 - the demo's administrator

    demo, passwords = served
    monkeypatch.setenv("ANSIM_WORKSTATION", served_at)
    machine = {p: tmp_path / "config" / p for p in (ADMIN, "analyst.snu")}
    with serving(demo) as url:
        for person, config in machine.items():
            login(config, url, person, passwords[person])
        set_to = ok(machine[ADMIN], "project", "policy", PROJECT, "--rows", "safe_setting",
                    "--workstation", "room-1")  # fmt: skip
        assert "row access safe_setting at workstation 'room-1'" in set_to
        printed = ok(machine["analyst.snu"], "workspace", "query",
                     "SELECT person_id FROM kostat_register", "--limit", "50",
                     "--project", PROJECT)  # fmt: skip
    ids = _person_ids(printed)
    if served_at == "room-1":
        assert len(ids) == 50 and all(re.fullmatch(r"p\d{8,}", i) for i in ids)
        assert "DUMMY" not in printed and "row access safe_setting" in printed
    else:
        assert "DUMMY DATA" in printed and all(i.startswith("dummy-") for i in ids)


def test_a_dp_synthetic_twin_through_the_cli(
    served: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    """Issue 14 part 4: the administrator names the twin's kind; the analyst's queries run on
    MST synthetic data paid once per view from the project's budget, labelled DUMMY."""
    from ansim.demo._run import ADMIN  # noqa: PLC0415 - the demo's administrator

    demo, passwords = served
    machine = {p: tmp_path / "config" / p for p in (ADMIN, "analyst.snu")}
    analyst, admin = machine["analyst.snu"], machine[ADMIN]
    sql = ("workspace", "query", "SELECT person_id, sex, age, sigungu_code FROM kostat_register",
           "--limit", "1000000", "--project", PROJECT)  # fmt: skip
    with serving(demo) as url:
        for person, config in machine.items():
            login(config, url, person, passwords[person])
        assert "dummy twin domains" in ok(analyst, "project", "policy", PROJECT)
        refused = cli(analyst, "project", "policy", PROJECT, "--twin", "dp_synthetic",
                      "--epsilon", "1")  # fmt: skip
        assert isinstance(refused.exception, AccessDenied)
        bad = cli(admin, "project", "policy", PROJECT, "--twin", "dp_synthetic")
        assert isinstance(bad.exception, InvalidSpecError)
        set_to = ok(admin, "project", "policy", PROJECT, "--twin", "dp_synthetic",
                    "--epsilon", "0.5")  # fmt: skip
        assert "dummy twin dp_synthetic (rho" in set_to and "epsilon 0.5 per view" in set_to
        assert "not built yet" in ok(analyst, "workspace", "twin", "--project", PROJECT)
        printed = ok(analyst, *sql)
        assert "DUMMY DATA (DP synthetic, epsilon 0.5 per view" in printed
        ids = _person_ids(printed)
        assert ids and all(i.startswith("dummy-") for i in ids)
        again = ok(analyst, *sql)  # the cached twin: the same rows, no second spend
        assert again == printed
        report = " ".join(ok(analyst, "workspace", "twin", "--project", PROJECT).split())
        assert "kostat_register: dp_synthetic (MST, epsilon 0.5" in report
        assert re.search(
            r"kostat_register: dp_synthetic \(MST, epsilon 0\.5, spend [0-9a-f]{32}\), "
            r"\d+ rows; modelled [^;]*sex, sigungu_code, age[^;]*; generated [^;]*; "
            r"TVD average/worst 1 0\.\d{3}/0\.\d{3}, 2 ",
            report,
        ), report
        # a twin costing more than the project has left: refused, nothing read
        ok(admin, "project", "policy", PROJECT, "--twin", "dp_synthetic", "--rho", "50")
        exhausted = cli(analyst, *sql)
        assert isinstance(exhausted.exception, InvalidSpecError)  # the server's 409
        assert "cannot pay" in str(exhausted.exception)
        events = ok(admin, "audit", "events", "--project", PROJECT)
    assert "set_twin_kind" in events and "privacy_spend_refused" in events
    assert events.count("twin-kostat_register-") == 1  # one spend for the register's twin
