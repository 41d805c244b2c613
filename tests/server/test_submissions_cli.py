"""``ansim release …``, ``privacy release --project`` and ``disclose table --project`` as clients.

Each person logs in from their own machine (config directory) to a real server; the commands
act as the stored token's user, and an audit hook proves the CLI's own process never opens a
file under the deployment home (governance database, keys, hub store) nor connects to SQLite.
"""

from __future__ import annotations

import hashlib
import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from ansim.errors import AccessDenied, InvalidSpecError
from ansim.governance import Governance
from ansim.release import ReleaseService, ReleaseStatus
from tests.integration.serving import cli, login, ok, serving

from .conftest import P1, PASSWORD, POLICY, TODAY, Site
from .test_submissions_api import SPEC, with_rate_data

PROJECT = ("--project", P1)
PEOPLE = ("analyst", "analyst_b", "checker", "checker2")


class _HomeWatch:
    """Records every ``open`` and ``sqlite3.connect`` under a folder from one thread."""

    def __init__(self) -> None:
        self.root: str | None = None
        self.thread: int | None = None
        self.seen: list[tuple[str, str]] = []

    def __call__(self, event: str, args: tuple[Any, ...]) -> None:
        if self.root is None or threading.get_ident() != self.thread:
            return
        if event not in {"open", "sqlite3.connect"} or not args:
            return
        target = args[0]
        if isinstance(target, str | bytes | os.PathLike):
            path = os.path.abspath(os.fsdecode(target))
            if path.startswith(self.root):
                self.seen.append((event, path))

    @contextmanager
    def watching(self, root: Path) -> Iterator[list[tuple[str, str]]]:
        self.root, self.thread, self.seen = str(root.resolve()) + os.sep, threading.get_ident(), []
        try:
            yield self.seen
        finally:
            self.root = None


_WATCH = _HomeWatch()
sys.addaudithook(_WATCH)  # hooks cannot be removed: it does nothing outside `watching`


@pytest.fixture
def served(
    fresh: Callable[[], Site], tmp_path: Path
) -> Iterator[tuple[Path, str, dict[str, Path]]]:
    """A running server over a fresh deployment with rate data; each person logged in."""
    site = with_rate_data(fresh())
    machine = {p: tmp_path / "config" / p for p in PEOPLE}
    with serving(site.home, secure_cookies=False, today=TODAY, policy=POLICY) as url:
        for person in PEOPLE:
            login(machine[person], url, person, PASSWORD)
        yield site.home, url, machine


def _said(config: Path, *args: str) -> str:
    """A command's output with Rich's line wrapping undone."""
    return " ".join(ok(config, *args).split())


def _records(path: Path) -> Path:
    rows = ["person,sex,band", *(f"p{i:04d},{'MF'[i % 2]},{'ABC'[i % 3]}" for i in range(90))]
    path.write_text("\n".join([*rows, "broken,row"]) + "\n", encoding="utf-8")
    return path


def test_release_commands_go_through_the_server_only(
    served: tuple[Path, str, dict[str, Path]], tmp_path: Path
) -> None:
    home, url, machine = served
    analyst, checker, checker2 = machine["analyst"], machine["checker"], machine["checker2"]
    with _WATCH.watching(home) as opened:
        made = ok(analyst, "release", "table", *PROJECT, "--server", url)
        assert "submitted as rel-0001" in made
        own = cli(analyst, "release", "review", "rel-0001", *PROJECT)
        assert isinstance(own.exception, AccessDenied)
        assert "separation of duties" in str(own.exception)
        early = cli(checker, "release", "publish", "rel-0001", *PROJECT, "--out",
                    str(tmp_path / "early"))  # fmt: skip
        assert isinstance(early.exception, AccessDenied) and not (tmp_path / "early").exists()
        assert "1/2 approvals" in ok(checker, "release", "review", "rel-0001", *PROJECT)
        twice = cli(checker, "release", "review", "rel-0001", *PROJECT)
        assert isinstance(twice.exception, AccessDenied)
        assert "approved (2/2" in ok(checker2, "release", "review", "rel-0001", "--comment",
                                     "ok", *PROJECT)  # fmt: skip
        assert "rel-0001 rate_table approved" in ok(analyst, "release", "queue", *PROJECT)
        out = tmp_path / "published"
        printed = ok(checker, "release", "publish", "rel-0001", *PROJECT, "--out", str(out))
        assert "released rel-0001" in printed
        sums = (out / "SHA256SUMS").read_text().splitlines()
        assert {line.split()[1] for line in sums} == {"rates.csv", "rates.json"}
        for line in sums:
            digest, name = line.split()
            assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest
        copy = tmp_path / "copy"
        fetched = ok(machine["analyst_b"], "release", "fetch", "rel-0001", *PROJECT, "--out",
                     str(copy))  # fmt: skip
        assert "rel-0001 (released): 2 files" in fetched
        assert (copy / "rates.csv").read_bytes() == (out / "rates.csv").read_bytes()
        again = cli(checker, "release", "publish", "rel-0001", *PROJECT, "--out", str(out))
        assert isinstance(again.exception, InvalidSpecError)  # refused before the server acts
    assert opened == []
    gov = Governance(home, today=TODAY)
    try:  # the ledger holds the released table; the audit chain is whole
        service = ReleaseService(gov, P1, home / "hub" / P1 / "workspace")
        assert [e["id"] for e in service.ledger.entries()] == ["rel-0001"]
        assert service.get("rel-0001").status == ReleaseStatus.RELEASED
        assert gov.verify_audit().ok
    finally:
        gov.close()


def test_dp_and_protected_tables_are_submitted_through_the_server_only(
    served: tuple[Path, str, dict[str, Path]], tmp_path: Path
) -> None:
    home, _, machine = served
    analyst, checker = machine["analyst"], machine["checker"]
    with _WATCH.watching(home) as opened:
        spec = tmp_path / "spec.yaml"
        spec.write_text(SPEC, encoding="utf-8")
        dp = _said(analyst, "privacy", "release", "--spec", str(spec), "--table",
                "linked_register", *PROJECT)  # fmt: skip
        assert "submitted rel-0001 for review" in dp and "nothing is published yet" in dp

        table = tmp_path / "table"
        printed = _said(analyst, "disclose", "table", "--input", str(_records(tmp_path / "r.csv")),
                     "--by", "sex,band", "--threshold", "5", "--contributor", "person",
                     "--out", str(table), *PROJECT)  # fmt: skip
        assert "submitted as rel-0002" in printed and "1 quarantined" in printed
        assert "90 of 91 rows used" in printed
        waiting = ok(checker, "release", "queue", *PROJECT, "--waiting")
        assert "rel-0001" in waiting and "rel-0002" in waiting
        unreleased = cli(machine["analyst_b"], "release", "fetch", "rel-0002", *PROJECT,
                         "--out", str(tmp_path / "not-yet"))  # fmt: skip
        assert isinstance(unreleased.exception, AccessDenied)  # not theirs, not released
        assert not (tmp_path / "not-yet").exists()
        assert (table / "table.csv").is_file() and (table / "report.json").is_file()
        bare = cli(checker, "release", "review", "rel-0001", "--reject", *PROJECT)
        assert isinstance(bare.exception, InvalidSpecError)  # a rejection says why
        assert "rejected" in ok(checker, "release", "review", "rel-0001", "--reject",
                                "--comment", "too fine", *PROJECT)  # fmt: skip
    assert opened == []


def test_the_watch_sees_a_process_that_opens_the_governance_home(
    served: tuple[Path, str, dict[str, Path]],
) -> None:
    home, _, _ = served
    with _WATCH.watching(home) as opened:
        Governance(home, today=TODAY).close()
    assert any(event == "sqlite3.connect" for event, _ in opened)


def test_the_token_goes_to_its_own_server_only_and_a_login_is_needed(
    served: tuple[Path, str, dict[str, Path]], tmp_path: Path
) -> None:
    _, _, machine = served
    elsewhere = cli(machine["analyst"], "release", "queue", *PROJECT, "--server",
                    "http://127.0.0.1:9")  # fmt: skip
    assert isinstance(elsewhere.exception, AccessDenied)
    assert "logged in to" in str(elsewhere.exception)
    nobody = cli(tmp_path / "nobody", "release", "queue", *PROJECT)
    assert isinstance(nobody.exception, AccessDenied) and "not logged in" in str(nobody.exception)
    missing = cli(machine["analyst"], "disclose", "table", "--input", "r.csv", "--by", "sex",
                  "--out", str(tmp_path / "t"), *PROJECT)  # fmt: skip
    assert isinstance(missing.exception, InvalidSpecError)
    assert "--contributor" in str(missing.exception)


@pytest.mark.parametrize(
    "command",
    [("release", "table"), ("release", "queue"), ("release", "review"), ("release", "publish"),
     ("release", "fetch"), ("privacy", "release"), ("disclose", "table")],
)  # fmt: skip
def test_no_command_reaches_the_hub_from_the_users_process(
    command: tuple[str, str], tmp_path: Path
) -> None:
    shown = ok(tmp_path, *command, "--help")
    for flag in ("--home", "--store", "--url", "--as"):
        assert flag not in shown, (command, flag)


def test_a_custodian_trusts_the_receiving_parties_keys_from_the_server(
    fresh: Callable[[], Site], tmp_path: Path
) -> None:
    from ansim.errors import NotFoundError  # noqa: PLC0415
    from ansim.packages import PartyKeyStore  # noqa: PLC0415

    site = fresh()
    unit = PartyKeyStore.create(site.home / "linkage_unit" / "keys", "linkage_unit")
    hub = PartyKeyStore.create(site.home / "hub" / P1 / "keys", "hub")
    officer, outsider = tmp_path / "officer", tmp_path / "outsider"
    mine = tmp_path / "gyeonggi-keys"
    ok(officer, "keys", "init", "--party", "gyeonggi", "--store", str(mine))
    with serving(site.home, secure_cookies=False, today=TODAY, policy=POLICY) as url:
        login(officer, url, "officer", PASSWORD)
        login(outsider, url, "outsider", PASSWORD)
        trust = ("keys", "trust", "--from-server", "--store", str(mine), *PROJECT)
        wrong = cli(officer, *trust, "--fingerprint", "0" * 32)
        assert isinstance(wrong.exception, InvalidSpecError)
        assert not (mine / "trusted").exists()
        hidden = cli(outsider, *trust)
        assert isinstance(hidden.exception, NotFoundError)
        only_hub = _said(officer, *trust, "--fingerprint", hub.public.fingerprint)
        assert "'hub'" in only_hub and "linkage_unit" not in only_hub
        refused = cli(officer, *trust)  # no fingerprint: shown, nothing trusted
        assert isinstance(refused.exception, InvalidSpecError)
        pinned = ("--fingerprint", unit.public.fingerprint, "--fingerprint", hub.public.fingerprint)
        both = _said(officer, *trust, *pinned)
        assert unit.public.fingerprint in both and hub.public.fingerprint in both
    passphrase = os.environ.get("ANSIM_KEY_PASSPHRASE")
    store = PartyKeyStore.open(mine, passphrase=passphrase.encode() if passphrase else None)
    assert store.trusted("linkage_unit") == unit.public and store.trusted("hub") == hub.public
