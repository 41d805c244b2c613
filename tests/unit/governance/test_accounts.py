"""Accounts: one-time passwords, sessions and CSRF, API tokens, TOTP, login rate limits."""

from __future__ import annotations

import dataclasses
import datetime as dt
import statistics
import time
from collections.abc import Iterator
from pathlib import Path

import pyotp
import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from ansim.errors import (
    AccessDenied,
    AuthenticationFailed,
    InvalidSpecError,
    NotFoundError,
    RateLimited,
)
from ansim.governance import AccountPolicy, Accounts, Governance, PasswordPolicy, Role
from ansim.governance._tables import api_tokens, credentials, login_failures, sessions
from tests.unit.governance.conftest import PROJECT, populated

PASSWORD = "correct horse battery"  # noqa: S105  # a test account's


# a light argon2id profile keeps the tests quick; the hashes are still argon2id
LIGHT = AccountPolicy(password=PasswordPolicy(time_cost=1, memory_kib=8192, parallelism=1))


class Clock:
    """A settable clock for expiry and rate-limit windows."""

    def __init__(self) -> None:
        self.now = dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def gov_sqlite(tmp_path: Path) -> Iterator[Governance]:
    g = populated(tmp_path / "home", f"sqlite:///{tmp_path / 'governance.db'}")
    yield g
    g.close()


@pytest.fixture
def accounts(gov_sqlite: Governance, clock: Clock) -> Accounts:
    a = Accounts(gov_sqlite, policy=LIGHT, clock=clock)
    for user in ("admin", "analyst", "checker", "outsider"):
        a.set_password("admin", user, PASSWORD)
    return a


def test_one_time_password_must_be_changed_and_is_hashed(accounts: Accounts) -> None:
    one_time = accounts.set_password("admin", "analyst")
    issued = accounts.authenticate("analyst", one_time, address="10.0.0.1")
    assert issued.session.must_change
    with accounts.governance.store.engine.connect() as c:
        stored = c.execute(sa.select(credentials.c.password_hash)).scalars().all()
    assert all(h.startswith("$argon2id$") and one_time not in h for h in stored)
    accounts.change_password("analyst", one_time, "a brand new password")
    assert not accounts.authenticate(
        "analyst", "a brand new password", address="x"
    ).session.must_change
    with pytest.raises(AuthenticationFailed):
        accounts.authenticate("analyst", one_time, address="x")
    with pytest.raises(AuthenticationFailed):
        accounts.change_password("analyst", "not the password", "another new password")


def test_only_administrators_set_passwords(accounts: Accounts) -> None:
    with pytest.raises(AccessDenied):
        accounts.set_password("analyst", "checker", "a chosen password")
    with pytest.raises(NotFoundError):
        accounts.set_password("admin", "ghost", "a chosen password")
    with pytest.raises(InvalidSpecError):
        accounts.set_password("admin", "checker", "short")


def test_unknown_user_and_wrong_password_fail_alike(accounts: Accounts) -> None:
    messages, times = {}, {}
    for user, password in (("ghost", PASSWORD), ("analyst", "wrong password!")):
        spent = []
        for _ in range(3):
            start = time.perf_counter()
            with pytest.raises(AuthenticationFailed) as e:
                accounts.authenticate(user, password, address=f"addr-{user}")
            spent.append(time.perf_counter() - start)
        messages[user], times[user] = str(e.value), statistics.median(spent)
    assert messages["ghost"] == messages["analyst"]
    # the unknown user pays for an argon2id verification too (within a factor of 3)
    assert times["ghost"] > times["analyst"] / 3


def test_sessions_expire_end_and_carry_their_own_csrf_token(
    accounts: Accounts, clock: Clock
) -> None:
    a = accounts.authenticate("analyst", PASSWORD, address="x")
    b = accounts.authenticate("checker", PASSWORD, address="x")
    session = accounts.resolve_session(a.session_id)
    assert session.user == "analyst"
    session.check_csrf(a.csrf_token)
    for wrong in (b.csrf_token, None, ""):  # another session's token, or none
        with pytest.raises(AccessDenied, match="CSRF"):
            session.check_csrf(wrong)
    with accounts.governance.store.engine.connect() as c:
        stored = c.execute(sa.select(sessions)).all()
    assert all(a.session_id not in str(r) and a.csrf_token not in str(r) for r in stored)
    accounts.end_session(a.session_id)
    with pytest.raises(AuthenticationFailed):
        accounts.resolve_session(a.session_id)
    clock.advance(hours=8, seconds=1)
    with pytest.raises(AuthenticationFailed):
        accounts.resolve_session(b.session_id)
    with pytest.raises(AuthenticationFailed):
        accounts.resolve_session("made-up")


def test_login_rate_limit_per_user_and_address(accounts: Accounts, clock: Clock) -> None:
    for _ in range(5):
        with pytest.raises(AuthenticationFailed):
            accounts.authenticate("analyst", "wrong password!", address=f"a{_}")
    with pytest.raises(RateLimited):  # even the right password, within the window
        accounts.authenticate("analyst", PASSWORD, address="fresh")
    accounts.authenticate("checker", PASSWORD, address="fresh")  # other users are unaffected
    clock.advance(minutes=15, seconds=1)
    accounts.authenticate("analyst", PASSWORD, address="fresh")
    # per address: 20 failures across many names
    for i in range(20):
        with pytest.raises(AuthenticationFailed):
            accounts.authenticate(f"spray{i}", PASSWORD, address="10.9.9.9")
    with pytest.raises(RateLimited):
        accounts.authenticate("checker", PASSWORD, address="10.9.9.9")
    with accounts.governance.store.engine.connect() as c:
        keys = c.execute(sa.select(login_failures.c.user_key)).scalars().all()
    assert "spray1" not in keys  # the names tried are stored as digests


def test_api_tokens_scoped_hashed_revocable_and_expiring(accounts: Accounts, clock: Clock) -> None:
    issued = accounts.issue_token("analyst", "script", role="analyst", project=PROJECT)
    grant = accounts.resolve_token(issued.token)
    assert (grant.user, grant.project, grant.role) == ("analyst", PROJECT, "analyst")
    assert grant.allows(Role.ANALYST) and not grant.allows(Role.OUTPUT_CHECKER)
    with accounts.governance.store.engine.connect() as c:
        rows = c.execute(sa.select(api_tokens)).all()
    assert all(issued.token not in str(r) for r in rows)
    assert [t.id for t in accounts.tokens("analyst")] == [grant.id]
    # not a role the user holds, nor a project that exists
    with pytest.raises(AccessDenied):
        accounts.issue_token("analyst", "x", role="output_checker", project=PROJECT)
    with pytest.raises(NotFoundError):
        accounts.issue_token("analyst", "x", project="nope")
    with pytest.raises(InvalidSpecError):
        accounts.issue_token("analyst", "x", role="wizard")
    with pytest.raises(InvalidSpecError):
        accounts.issue_token("analyst", "x", expires_days=0)
    # another user cannot revoke it (nor learn that it exists); its owner can
    with pytest.raises(NotFoundError):
        accounts.revoke_token("checker", grant.id)
    accounts.revoke_token("analyst", grant.id)
    with pytest.raises(AuthenticationFailed):
        accounts.resolve_token(issued.token)
    short = accounts.issue_token("analyst", "cli", expires_days=1)
    clock.advance(days=1, seconds=1)
    with pytest.raises(AuthenticationFailed):
        accounts.resolve_token(short.token)
    with pytest.raises(AuthenticationFailed):
        accounts.resolve_token("ansim_forged")


def test_resetting_a_password_ends_sessions_and_tokens(accounts: Accounts) -> None:
    session = accounts.authenticate("analyst", PASSWORD, address="x")
    token = accounts.issue_token("analyst", "cli")
    accounts.set_password("admin", "analyst")
    with pytest.raises(AuthenticationFailed):
        accounts.resolve_session(session.session_id)
    with pytest.raises(AuthenticationFailed):
        accounts.resolve_token(token.token)


def test_totp_is_encrypted_required_once_confirmed_and_not_replayable(
    accounts: Accounts, clock: Clock
) -> None:
    uri = accounts.enrol_totp("checker")
    secret = pyotp.parse_uri(uri).secret
    with accounts.governance.store.engine.connect() as c:
        sealed = c.execute(
            sa.select(credentials.c.totp_sealed).where(credentials.c.user_id == "checker")
        ).scalar_one()
    assert secret.encode() not in sealed
    accounts.authenticate("checker", PASSWORD, address="x")  # not confirmed yet: not required
    code = pyotp.TOTP(secret).at(clock.now)
    accounts.confirm_totp("checker", code)
    clock.advance(seconds=30)
    with pytest.raises(AuthenticationFailed):
        accounts.authenticate("checker", PASSWORD, address="x")  # the code is now required
    with pytest.raises(AuthenticationFailed):
        accounts.authenticate("checker", PASSWORD, code, address="x")  # replayed code
    fresh = pyotp.TOTP(secret).at(clock.now)
    issued = accounts.authenticate("checker", PASSWORD, fresh, address="x")
    assert issued.session.second_factor
    with pytest.raises(AuthenticationFailed):
        accounts.authenticate("checker", PASSWORD, fresh, address="x")  # same step again


def test_second_factor_roles_flag_sessions_until_enrolled(gov_sqlite: Governance) -> None:
    roles = frozenset({Role.ADMINISTRATOR, Role.OUTPUT_CHECKER})
    accounts = Accounts(gov_sqlite, policy=dataclasses.replace(LIGHT, second_factor_roles=roles))
    accounts.set_password("admin", "checker", PASSWORD)
    accounts.set_password("admin", "analyst", PASSWORD)
    assert accounts.authenticate("checker", PASSWORD, address="x").session.needs_second_factor
    assert not accounts.authenticate("analyst", PASSWORD, address="x").session.needs_second_factor


def test_logins_and_account_changes_are_audited(accounts: Accounts) -> None:
    accounts.authenticate("analyst", PASSWORD, address="x")
    token = accounts.issue_token("analyst", "cli")
    accounts.revoke_token("admin", token.record.id)
    actions = [(e.actor, e.action) for e in accounts.governance.audit.events()]
    for expected in (("admin", "set_password"), ("analyst", "login"),
                     ("analyst", "issue_token"), ("admin", "revoke_token")):  # fmt: skip
        assert expected in actions
    assert accounts.governance.verify_audit().ok
    text = str([e.objects for e in accounts.governance.audit.events()])
    assert PASSWORD not in text and token.token not in text


def test_no_string_is_a_valid_token_or_session(accounts: Accounts) -> None:
    accounts.issue_token("analyst", "cli")
    accounts.authenticate("analyst", PASSWORD, address="x")

    @settings(max_examples=25, deadline=None)
    @given(st.text(min_size=0, max_size=60))
    def guess(text: str) -> None:
        with pytest.raises(AuthenticationFailed):
            accounts.resolve_token(text)
        with pytest.raises(AuthenticationFailed):
            accounts.resolve_session(text)

    guess()
