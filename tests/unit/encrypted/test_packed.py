"""The fast (packed) layout against the plaintext path, and what its ceremony refuses."""

import dataclasses

import numpy as np
import pyarrow as pa
import pytest
import tenseal as ts
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansim.encrypted import (
    EncryptedAttribute,
    Scheme,
    aggregate_encrypted,
    compare_tables,
    encrypt_attributes,
    plaintext_aggregates,
    protect_aggregates,
)
from ansim.encrypted._aggregate import _with_ciphertext, resized
from ansim.encrypted._ceremony import _decrypt_attribute
from ansim.errors import IntegrityError, InvalidSpecError

from .conftest import PARAMETERS


def _secret(keys):
    return {s: ts.context_from(k.secret) for s, k in keys.items()}


def _world(seed: int, n: int, missing: float, linked: float, cells: int):
    rng = np.random.default_rng(seed)
    serial = [f"r{i:06d}" for i in range(n)]
    x = rng.integers(0, 2_000_000, n).astype(float)
    x[rng.random(n) < missing] = np.nan
    keep = rng.random(n) < linked
    groups = pa.table({
        "serial": [s for s, k in zip(serial, keep, strict=True) if k],
        "si": rng.choice([f"41{i:03d}" for i in range(cells)], int(keep.sum())),
        "sex": rng.choice(["M", "F"], int(keep.sum())),
    })  # fmt: skip
    return pa.table({"serial": serial, "pay": x}), groups


@settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 5000),
    missing=st.sampled_from([0.0, 0.3]),
    linked=st.sampled_from([1.0, 0.6]),
    bounds=st.booleans(),
    cells=st.integers(1, 31),
)
def test_packed_totals_match_the_plaintext_path(  # noqa: PLR0917 - hypothesis draws
    keys, public, seed, n, missing, linked, bounds, cells
):
    values, groups = _world(seed, n, missing, linked, cells)
    attribute = EncryptedAttribute("pay", bounds=bounds, packed=True)
    cts = encrypt_attributes(values, [attribute], public, PARAMETERS, project="p", dataset="d")
    assert set(cts.column("statistic").to_pylist()) == {"packed"}
    agg = aggregate_encrypted(cts, groups, ["si", "sex"], public)
    got = _decrypt_attribute(agg, "pay", 1.0, _secret(keys))
    want = plaintext_aggregates(values, groups, ["si", "sex"], "pay")
    assert got.cells == want.cells
    assert got.count.tolist() == want.count.tolist()  # CKKS counts, rounded: exact
    assert np.allclose(got.sum, want.sum, rtol=1e-9, atol=0.05)
    if bounds:
        scale = max(1.0, float(np.max(want.sum_squares, initial=0.0)))
        assert np.allclose(got.sum_squares, want.sum_squares, rtol=1e-9, atol=1e-7 * scale)
    else:
        assert got.sum_squares is None
    comparison = compare_tables(protect_aggregates(got), protect_aggregates(want))
    assert comparison["counts_equal"] and comparison["max_abs_error_sum"] < 0.05
    assert comparison["same_pattern"] or not bounds  # without squares: worst-case bounds


def test_packed_aggregates_are_one_ciphertext_per_cell(public):
    values = pa.table({"serial": [f"s{i}" for i in range(3000)], "pay": np.arange(3000.0)})
    groups = pa.table({"serial": values.column("serial"), "sex": ["F", "M", "M"] * 1000})
    attribute = EncryptedAttribute("pay", packed=True)
    cts = encrypt_attributes(values, [attribute], public, PARAMETERS, project="p", dataset="d")
    assert cts.num_rows == 3  # 1024 records per ciphertext: sum, squares, count blocks
    agg = aggregate_encrypted(cts, groups, ["sex"], public)
    assert agg.ciphertexts.column("cell").to_pylist() == [0, 1]
    assert agg.records == (1000, 2000)


def test_an_unfolded_packed_ciphertext_is_refused_by_the_ceremony(keys, public):
    """A record-level ciphertext passed off as an aggregate: its 'count' slot is not whole."""
    values = pa.table({"serial": ["a", "b"], "pay": [5.0, 7.0]})
    attribute = EncryptedAttribute("pay", packed=True, bounds=False)
    cts = encrypt_attributes(values, [attribute], public, PARAMETERS, project="p", dataset="d")
    agg = aggregate_encrypted(cts, pa.table({"serial": ["a"], "s": ["F"]}), ["s"], public)
    ctx = ts.context_from(public[Scheme.CKKS])
    fake = ts.ckks_vector(ctx, [5.0] + [0.0] * 2047 + [0.5] + [0.0] * 2047)
    forged = agg.ciphertexts.set_column(
        3, "ciphertext", pa.array([bytes(fake.serialize())], pa.large_binary())
    )
    with pytest.raises(IntegrityError, match="not a whole number"):
        _decrypt_attribute(dataclasses.replace(agg, ciphertexts=forged), "pay", 1.0, _secret(keys))


def test_resized_rewrites_only_the_declared_size(public):
    ctx = ts.context_from(public[Scheme.CKKS])
    data = bytes(ts.ckks_vector(ctx, [1.0, 2.0, 3.0, 4.0]).serialize())
    smaller = ts.ckks_vector_from(ctx, resized(data, 2))
    assert smaller.size() == 2
    assert resized(resized(data, 2), 4) == data
    with pytest.raises(IntegrityError):
        resized(b"\x12\x00", 4)


def test_the_packed_layout_is_not_exact():
    with pytest.raises(InvalidSpecError, match="CKKS only"):
        EncryptedAttribute("pay", packed=True, exact=True)


def test_with_ciphertext_replaces_only_the_ciphertext(public):
    ctx = ts.context_from(public[Scheme.CKKS])
    one = bytes(ts.ckks_vector(ctx, [1.0, 2.0]).serialize())
    two = bytes(ts.ckks_vector(ctx, [5.0, 6.0]).serialize())
    assert _with_ciphertext(one, b"x")[:4] == one[:4]
    assert _with_ciphertext(two, b"abc").endswith(b"abc" + two[-9:])  # the scale after it kept
    with pytest.raises(IntegrityError):
        _with_ciphertext(b"\x0a\x01\x01\x1a\x00", b"x")  # field 3 where 2 belongs
