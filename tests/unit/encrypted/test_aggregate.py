"""Encrypted totals against the plaintext path, on random data."""

import numpy as np
import pyarrow as pa
import pytest
import tenseal as ts
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansim.encrypted import (
    AggregateTable,
    EncryptedAttribute,
    Scheme,
    aggregate_encrypted,
    compare_tables,
    encrypt_attributes,
    plaintext_aggregates,
    protect_aggregates,
)
from ansim.encrypted._ceremony import _decrypt_attribute
from ansim.errors import IntegrityError, InvalidSpecError

from .conftest import PARAMETERS


def _secret(keys):
    return {s: ts.context_from(k.secret) for s, k in keys.items()}


def _world(seed: int, n: int, missing: float, linked: float):
    rng = np.random.default_rng(seed)
    serial = [f"r{i:06d}" for i in range(n)]
    x = rng.integers(0, 2_000_000, n).astype(float)
    x[rng.random(n) < missing] = np.nan
    values = pa.table({"serial": serial, "pay": x})
    keep = rng.random(n) < linked  # the hub links only some of the custodian's records
    groups = pa.table(
        {
            "serial": [s for s, k in zip(serial, keep, strict=False) if k],
            "si": rng.choice(["41110", "41130", "41150"], int(keep.sum())),
            "sex": rng.choice(["M", "F"], int(keep.sum())),
        }
    )
    return values, groups


@settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 5000),
    missing=st.sampled_from([0.0, 0.3]),
    linked=st.sampled_from([1.0, 0.6]),
    exact=st.booleans(),
)
def test_encrypted_totals_match_the_plaintext_path(keys, public, seed, n, missing, linked, exact):  # noqa: PLR0917 - hypothesis draws
    values, groups = _world(seed, n, missing, linked)
    attribute = EncryptedAttribute("pay", exact=exact)
    cts = encrypt_attributes(values, [attribute], public, PARAMETERS, project="p", dataset="d")
    agg = aggregate_encrypted(cts, groups, ["si", "sex"], public)
    got = _decrypt_attribute(agg, "pay", 1.0, _secret(keys))
    want = plaintext_aggregates(values, groups, ["si", "sex"], "pay")
    assert got.cells == want.cells
    assert got.count.tolist() == want.count.tolist()  # BFV: exact
    if exact:
        assert got.sum.tolist() == want.sum.tolist()
    else:
        assert np.allclose(got.sum, want.sum, rtol=1e-9, atol=0.05)
    # CKKS noise on squares is absolute, at the scale of the largest squared input (values up to
    # 2e6, squares up to 4e12): about 1e-8 of the largest cell, whatever the cell's own size.
    scale = max(1.0, float(np.max(want.sum_squares, initial=0.0)))
    assert np.allclose(got.sum_squares, want.sum_squares, rtol=1e-9, atol=1e-7 * scale)
    comparison = compare_tables(protect_aggregates(got), protect_aggregates(want))
    assert comparison["same_pattern"] and comparison["counts_equal"]
    assert comparison["max_abs_error_sum"] < 0.05


def test_only_linked_records_count_and_empty_cells_are_zero(keys, public):
    values = pa.table({"serial": ["a", "b", "c", "d"], "pay": [10.0, 20.0, 30.0, 40.0]})
    groups = pa.table({"serial": ["a", "c"], "sex": ["F", "F"]})
    cts = encrypt_attributes(
        values, [EncryptedAttribute("pay")], public, PARAMETERS, project="p", dataset="d"
    )
    agg = aggregate_encrypted(cts, groups, ["sex"], public, categories={"sex": ["F", "M"]})
    got = _decrypt_attribute(agg, "pay", 1.0, _secret(keys))
    assert got.cells == (("F",), ("M",))
    assert got.count.tolist() == [2, 0]
    assert np.allclose(got.sum, [40.0, 0.0], atol=1e-3)


def test_ciphertexts_under_other_keys_are_refused(keys, public):
    values = pa.table({"serial": ["a"], "pay": [1.0]})
    cts = encrypt_attributes(
        values, [EncryptedAttribute("pay")], public, PARAMETERS, project="p", dataset="d"
    )
    other = {Scheme.CKKS: public[Scheme.BFV], Scheme.BFV: public[Scheme.CKKS]}
    with pytest.raises(IntegrityError, match="other"):
        aggregate_encrypted(cts, pa.table({"serial": ["a"], "s": ["F"]}), ["s"], other)


def test_a_secret_context_is_never_accepted_as_public(keys, public):
    values = pa.table({"serial": ["a"], "pay": [1.0]})
    secret = {s: k.secret for s, k in keys.items()}
    with pytest.raises(InvalidSpecError, match="secret key"):
        encrypt_attributes(
            values, [EncryptedAttribute("pay")], secret, PARAMETERS, project="p", dataset="d"
        )


@pytest.mark.parametrize("bad", [[-1.0], ["x"]])
def test_bad_values_are_refused_before_encryption(public, bad):
    values = pa.table({"serial": ["a"], "pay": bad})
    with pytest.raises(InvalidSpecError):
        encrypt_attributes(
            values, [EncryptedAttribute("pay")], public, PARAMETERS, project="p", dataset="d"
        )


def test_totals_that_would_overflow_the_modulus_are_refused(public):
    values = pa.table({"serial": ["a", "b"], "pay": [1e9, 1e9]})
    with pytest.raises(InvalidSpecError, match="larger unit"):
        encrypt_attributes(
            values, [EncryptedAttribute("pay")], public, PARAMETERS, project="p", dataset="d"
        )
    encrypt_attributes(
        values, [EncryptedAttribute("pay", unit=1000)], public, PARAMETERS, project="p", dataset="d"
    )


def test_dominance_bounds_hold_a_cell_dominated_by_one_contributor():
    # 20 records, one of 1,000,000 and 19 of 1: the encrypted sum of squares gives it away
    count, total, squares = np.array([20]), np.array([1_000_019.0]), np.array([1e12 + 19])
    table = AggregateTable(("si",), (("A",),), "x", count, total, squares)
    assert protect_aggregates(table).status()[0] == "primary"
