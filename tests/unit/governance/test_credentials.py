"""Credentials: argon2id hashes, tokens only as digests, TOTP."""

from __future__ import annotations

import pyotp
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansim.errors import InvalidSpecError
from ansim.governance import PasswordPolicy, issue_token, token_digest, totp_secret


@settings(max_examples=5, deadline=None)
@given(st.text(min_size=12, max_size=40), st.text(min_size=1, max_size=40))
def test_a_hash_accepts_its_password_only(password: str, other: str) -> None:
    policy = PasswordPolicy()
    stored = policy.hash(password)
    assert stored.startswith("$argon2id$") and password not in stored
    assert policy.verify(stored, password)
    assert policy.verify(stored, other) == (other == password)


def test_short_passwords_and_broken_hashes() -> None:
    with pytest.raises(InvalidSpecError):
        PasswordPolicy().hash("short")
    with pytest.raises(InvalidSpecError):
        PasswordPolicy(min_length=4)
    assert not PasswordPolicy().verify("not a hash", "whatever password")


def test_tokens_are_random_and_stored_as_digests() -> None:
    a, b = issue_token(), issue_token()
    assert a.token != b.token and a.digest != b.digest
    assert token_digest(a.token) == a.digest and a.token not in repr(a)
    assert len(a.token) > 40


def test_totp_codes_verify_for_their_secret_only() -> None:
    secret, other = totp_secret(), totp_secret()
    code = pyotp.TOTP(secret).now()
    assert pyotp.TOTP(secret).verify(code)
    assert not pyotp.TOTP(other).verify(code) or pyotp.TOTP(other).now() == code
