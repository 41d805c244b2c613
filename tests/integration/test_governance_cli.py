"""``ansim project …``, ``ansim audit …`` and ``ansim login`` against a real server.

Every person logs in on their own machine (their own credentials directory); the server, not
the command line, says who acts.
"""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import pyotp

from ansim.errors import AccessDenied, AuthenticationFailed
from ansim.governance import AccountPolicy, Accounts, Governance, Role
from tests.integration.serving import cli, login, ok, one_time_password, serving

ENTRY = [sys.executable, "-c", "from ansim.cli import main; main()"]


def test_project_lifecycle_through_the_server(tmp_path: Path) -> None:
    home = tmp_path / "gov"
    machines = {who: tmp_path / "config" / who for who in ("admin", "off", "hubop")}
    made = ok(machines["admin"], "project", "bootstrap", "--admin", "admin", "--org", "KOSTAT",
              "--home", str(home))  # fmt: skip
    passwords = {"admin": one_time_password(made)}
    with serving(home) as url:
        login(machines["admin"], url, "admin", passwords["admin"])
        assert "admin" in ok(machines["admin"], "whoami")
        for user in ("off", "hubop"):
            made = ok(machines["admin"], "project", "user", user, "--name", user, "--org", "x")
            passwords[user] = one_time_password(made)
        ok(machines["admin"], "project", "create", "p1", "--title", "T", "--purpose",
           "statistics", "--description", "rates", "--dataset", "cases=gyeonggi",
           "--start", "2020-01-01", "--end", "2099-12-31")  # fmt: skip
        ok(machines["admin"], "project", "member", "p1", "off", "custodian_officer",
           "--custodian", "gyeonggi")  # fmt: skip
        ok(machines["admin"], "project", "member", "p1", "hubop", "hub_operator")
        assert "issued" in ok(machines["admin"], "project", "key", "p1")

        login(machines["hubop"], url, "hubop", passwords["hubop"])
        denied = cli(machines["hubop"], "project", "approve", "p1", "cases")
        assert denied.exit_code != 0 and isinstance(denied.exception, AccessDenied)
        # the hub operator's token is theirs alone: it cannot register users either
        denied = cli(machines["hubop"], "project", "user", "eve", "--name", "e", "--org", "x")
        assert isinstance(denied.exception, AccessDenied)

        login(machines["off"], url, "off", passwords["off"])
        ok(machines["off"], "project", "approve", "p1", "cases")
        assert '"cases": "approved"' in ok(machines["admin"], "project", "show", "p1")
        assert "p1" in ok(machines["admin"], "project", "list")
        records = tmp_path / "rec"
        ok(machines["admin"], "project", "records", "p1", "--out", str(records))
        assert {p.name for p in records.iterdir()} >= {
            "p1_processing_record.csv", "p1_five_safes.json"
        }  # fmt: skip
        events = [
            json.loads(line)
            for line in ok(machines["admin"], "audit", "events", "--project", "p1").splitlines()
        ]
        approvals = [e for e in events if e["action"] == "approve_dataset"]
        assert [e["actor"] for e in approvals] == ["off"]  # the authenticated officer
        head = tmp_path / "head.json"
        ok(machines["off"], "audit", "head", "--out", str(head))
        assert "record kept until" in ok(machines["admin"], "project", "destroy", "p1")

        ok(machines["hubop"], "logout")
        gone = cli(machines["hubop"], "whoami")
        assert isinstance(gone.exception, AccessDenied) and "ansim login" in str(gone.exception)
    # verification needs no identity: where the log is, against the head a custodian kept
    assert "verified" in ok(machines["off"], "audit", "verify", "--home", str(home),
                            "--head", str(head))  # fmt: skip

    with sqlite3.connect(home / "governance.db") as db:
        db.execute("update audit_events set actor = 'mallory' where seq = 4")
    done = subprocess.run(
        [*ENTRY, "audit", "verify", "--home", str(home)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert "event 4" in done.stderr


def test_login_stores_only_a_token_owner_only_and_bad_passwords_exit_2(tmp_path: Path) -> None:
    home, config = tmp_path / "gov", tmp_path / "config"
    made = ok(config, "project", "bootstrap", "--admin", "admin", "--home", str(home))
    password = one_time_password(made)
    with serving(home) as url:
        env = os.environ | {"ANSIM_CONFIG_DIR": str(config)}
        wrong = subprocess.run(
            [*ENTRY, "login", "--server", url, "--user", "admin", "--password-stdin"],
            input="not the password\n", capture_output=True, text=True, check=False, env=env,
        )  # fmt: skip
        assert wrong.returncode == 2, wrong.stderr
        assert "error:" in wrong.stderr and "Traceback" not in wrong.stderr
        assert not (config / "credentials.json").exists()
        login(config, url, "admin", password)
        stored = config / "credentials.json"
        assert stat.S_IMODE(stored.stat().st_mode) == 0o600
        assert stat.S_IMODE(config.stat().st_mode) == 0o700
        body = json.loads(stored.read_text())
        assert body["token"].startswith("ansim_") and body["server"] == url
        assert password not in stored.read_text()
        assert body["token"] not in ok(config, "whoami")
        ok(config, "logout")
        assert not stored.exists()


def test_unknown_user_and_wrong_password_fail_alike(tmp_path: Path) -> None:
    home, config = tmp_path / "gov", tmp_path / "config"
    ok(config, "project", "bootstrap", "--admin", "admin", "--home", str(home))
    with serving(home) as url:
        failures = [
            cli(config, "login", "--server", url, "--user", user, "--password-stdin",
                stdin="wrong password here\n").exception
            for user in ("nobody", "admin")
        ]  # fmt: skip
    assert all(isinstance(f, AuthenticationFailed) for f in failures)
    assert str(failures[0]) == str(failures[1])


def test_one_time_password_replaced_and_totp_from_stdin(tmp_path: Path) -> None:
    home, config = tmp_path / "gov", tmp_path / "config"
    one_time = one_time_password(ok(config, "project", "bootstrap", "--admin", "admin",
                                    "--home", str(home)))  # fmt: skip
    with serving(home, require_password_change=True) as url:
        # a one-time password alone may not act: the CLI says how to replace it
        refused = cli(config, "login", "--server", url, "--user", "admin", "--password-stdin",
                      stdin=f"{one_time}\n")  # fmt: skip
        assert isinstance(refused.exception, AccessDenied)
        assert "next line" in str(refused.exception) or "line after" in str(refused.exception)
        new = "a new and long enough password"
        ok(config, "login", "--server", url, "--user", "admin", "--password-stdin",
           stdin=f"{one_time}\n{new}\n")  # fmt: skip
        assert "admin" in ok(config, "whoami")
        stale = cli(config, "login", "--server", url, "--user", "admin", "--password-stdin",
                    stdin=f"{one_time}\n")  # fmt: skip
        assert isinstance(stale.exception, AuthenticationFailed)
    gov = Governance(home)
    try:
        accounts = Accounts(gov)
        totp = pyotp.TOTP(pyotp.parse_uri(accounts.enrol_totp("admin")).secret)
        step = int(time.time()) // totp.interval
        accounts.confirm_totp("admin", totp.generate_otp(step - 1))
    finally:
        gov.close()
    with serving(home) as url:
        without = cli(config, "login", "--server", url, "--user", "admin", "--password-stdin",
                      stdin=f"{new}\n")  # fmt: skip
        assert isinstance(without.exception, AuthenticationFailed)
        ok(config, "login", "--server", url, "--user", "admin", "--password-stdin",
           "--totp-stdin", stdin=f"{new}\n{totp.generate_otp(step + 1)}\n")  # fmt: skip
        assert "administrator" in ok(config, "whoami")


def test_a_role_that_needs_a_second_factor_is_told_to_enrol(tmp_path: Path) -> None:
    home, config = tmp_path / "gov", tmp_path / "config"
    one_time = one_time_password(ok(config, "project", "bootstrap", "--admin", "admin",
                                    "--home", str(home)))  # fmt: skip
    policy = AccountPolicy(second_factor_roles=frozenset({Role.ADMINISTRATOR}))
    with serving(home, policy=policy) as url:
        refused = cli(config, "login", "--server", url, "--user", "admin", "--password-stdin",
                      stdin=f"{one_time}\n")  # fmt: skip
    assert isinstance(refused.exception, AccessDenied)
    assert "second factor" in str(refused.exception)
    assert not (config / "credentials.json").exists()
