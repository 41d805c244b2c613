"""Private set intersection and business registration numbers."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansim.encrypted import (
    PsiTranscript,
    brn_check_digit,
    joined_serials,
    overlap_size,
    standardise_brn,
)
from ansim.errors import InvalidIdentifierError
from ansim.identity import LinkageSecret

keys = st.lists(st.text("0123456789", min_size=10, max_size=10), max_size=60)


@settings(max_examples=30, deadline=None)
@given(a=keys, b=keys)
def test_overlap_size_is_the_size_of_the_intersection(a, b):
    assert overlap_size(a, b) == len(set(a) & set(b))


@settings(max_examples=30, deadline=None)
@given(a=keys, b=keys)
def test_joined_serials_pair_exactly_the_shared_keys(a, b):
    sa, sb = joined_serials(a, b, LinkageSecret.generate(), "p")
    shared = set(a) & set(b)
    assert {k for k, s in zip(a, sa, strict=False) if s >= 0} == shared
    assert {k for k, s in zip(b, sb, strict=False) if s >= 0} == shared
    pairs_a = {k: s for k, s in zip(a, sa, strict=False) if s >= 0}
    assert all(pairs_a[k] == s for k, s in zip(b, sb, strict=False) if s >= 0)
    assert sorted(set(pairs_a.values())) == list(range(len(shared)))


def test_no_key_crosses_in_a_form_the_other_can_read():
    a = [f"12345{i:05d}" for i in range(200)]
    b = [f"12345{i:05d}" for i in range(100, 300)]
    transcript = PsiTranscript([])
    joined_serials(a, b, LinkageSecret.generate(), "p", transcript=transcript)
    blob = b"".join(transcript.messages)
    assert transcript.bytes_sent > 0
    for key in a + b:
        assert key.encode() not in blob
        assert key.encode("utf-16-le") not in blob


def test_the_order_is_fresh_per_project_and_secret():
    a = [f"{i:010d}" for i in range(50)]
    secret = LinkageSecret.generate()
    first, _ = joined_serials(a, a, secret, "p1")
    second, _ = joined_serials(a, a, secret, "p2")
    other, _ = joined_serials(a, a, LinkageSecret.generate(), "p1")
    assert not np.array_equal(first, second) and not np.array_equal(first, other)
    assert np.array_equal(first, joined_serials(a, a, secret, "p1")[0])


@settings(max_examples=200)
@given(st.text("0123456789", min_size=9, max_size=9))
def test_exactly_one_check_digit_is_valid(nine):
    valid = [d for d in range(10) if _ok(nine + str(d))]
    assert valid == [brn_check_digit(nine)]
    assert standardise_brn(f"{nine[:3]}-{nine[3:5]}-{nine[5:]}{valid[0]}") == nine + str(valid[0])


def _ok(text):
    try:
        standardise_brn(text)
    except InvalidIdentifierError:
        return False
    return True


@pytest.mark.parametrize("known", ["124-81-00998", "220-81-62517", "１２４８１００９９８"])
def test_published_numbers_are_valid(known):
    assert len(standardise_brn(known)) == 10


@pytest.mark.parametrize("bad", ["124-81-00997", "12481009", "12481009989", "", "abc-de-fghij"])
def test_bad_numbers_are_refused_without_repeating_them(bad):
    with pytest.raises(InvalidIdentifierError) as info:
        standardise_brn(bad)
    assert not bad or bad not in str(info.value)
