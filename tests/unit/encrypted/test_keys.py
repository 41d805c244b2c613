"""The split decryption key, the audited ceremony and authenticated ciphertext packages."""

import itertools
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
import tenseal as ts
from hypothesis import given, settings
from hypothesis import strategies as st

from ansim.encrypted import (
    DecryptionCeremony,
    EncryptedAttribute,
    KeyHolder,
    KeyShare,
    ProjectEncryption,
    aggregate_encrypted,
    encrypt_attributes,
    open_share,
    split_key,
)
from ansim.errors import AccessDenied, IntegrityError, InvalidSpecError
from ansim.packages import PartyKeyStore, introduce, open_package, seal_table

from .conftest import PARAMETERS, PROJECT

HOLDERS = (
    KeyHolder("officer.kostat", "kostat", "register"),
    KeyHolder("officer.gyeonggi", "gyeonggi", "support"),
    KeyHolder("checker", "review"),
)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(2, 6), data=st.data())
def test_any_k_shares_open_the_escrow_and_fewer_never_do(n, data):
    k = data.draw(st.integers(2, n))
    holders = [KeyHolder(f"u{i}", f"p{i}") for i in range(n)]
    secret = data.draw(st.binary(min_size=1, max_size=64))
    escrow, shares = split_key({"ckks": secret}, {"ckks": "f"}, holders, k)
    chosen = data.draw(st.permutations(shares))
    assert escrow.open(chosen[:k])["ckks"] == secret
    with pytest.raises(AccessDenied, match=f"needs shares of {k}"):
        escrow.open(chosen[: k - 1])


def test_a_threshold_of_one_is_refused():
    with pytest.raises(InvalidSpecError, match="at least 2"):
        split_key({"ckks": b"s"}, {"ckks": "f"}, list(HOLDERS), 1)
    with pytest.raises(InvalidSpecError, match="different"):
        split_key({"ckks": b"s"}, {"ckks": "f"}, [HOLDERS[0], HOLDERS[0]], 2)


def test_a_wrong_or_altered_share_does_not_reconstruct_the_key():
    escrow, shares = split_key({"ckks": b"secret"}, {"ckks": "f"}, list(HOLDERS), 2)
    flipped = bytes([shares[1].share[0] ^ 1]) + shares[1].share[1:]
    altered = KeyShare(shares[1].key_id, shares[1].holder, shares[1].index, flipped)
    with pytest.raises(IntegrityError, match="do not reconstruct"):
        escrow.open([shares[0], altered])
    with pytest.raises(AccessDenied):  # the same share twice is one holder, not two
        escrow.open([shares[0], shares[0]])


def test_one_share_holds_no_usable_secret():
    """A holder's share, alone or with the escrow file, decrypts nothing."""
    escrow, shares = split_key({"ckks": b"the secret context"}, {"ckks": "f"}, list(HOLDERS), 2)
    for share in shares:
        assert b"the secret context" not in share.share + escrow.sealed
        with pytest.raises(AccessDenied):
            escrow.open([share])
    # every 16-byte half-share is uniformly distributed: two holders' shares differ
    assert len({s.share for s in shares}) == len(shares)


def _parties(root: Path) -> dict[str, PartyKeyStore]:
    stores = {
        p: PartyKeyStore.create(root / p, p)
        for p in ("administration", "kostat", "gyeonggi", "review", "hub")
    }
    introduce(list(stores.values()))
    return stores


@pytest.fixture
def issued(tmp_path, governance):
    parties = _parties(tmp_path / "parties")
    enc = ProjectEncryption.issue(
        governance,
        "admin",
        PROJECT,
        holders=HOLDERS,
        threshold=2,
        issuer=parties["administration"],
        out=tmp_path / "keys",
    )
    return enc, parties


def _aggregates(enc):
    values = pa.table({"serial": [f"s{i}" for i in range(40)], "pay": np.arange(40.0) * 1000})
    groups = pa.table({"serial": [f"s{i}" for i in range(40)], "sex": ["F", "M"] * 20})
    cts = encrypt_attributes(
        values,
        [EncryptedAttribute("pay")],
        enc.public,
        PARAMETERS,
        project=PROJECT,
        dataset="support",
    )
    return aggregate_encrypted(cts, groups, ["sex"], enc.public)


def test_the_ceremony_needs_k_holders_and_is_audited(issued, governance, tmp_path):
    enc, parties = issued
    assert not list((tmp_path / "keys").rglob("*secret*"))
    agg = _aggregates(enc)
    ceremony = DecryptionCeremony(governance, PROJECT, enc.escrow, agg)
    share = open_share(enc.shares["officer.kostat"], parties["kostat"], PROJECT)
    ceremony.contribute("officer.kostat", share)
    with pytest.raises(AccessDenied, match="needs 2 key holders"):
        ceremony.decrypt()
    ceremony.contribute("checker", open_share(enc.shares["checker"], parties["review"], PROJECT))
    (table,) = ceremony.decrypt()
    assert table.count.tolist() == [20, 20]
    assert np.allclose(table.sum, [380_000.0, 400_000.0], atol=0.01)
    actions = [e.action for e in governance.audit.events(PROJECT)]
    assert actions.count("decrypt_aggregates") == 1
    assert "issue_key" in actions and "review_output" in actions and "view_dataset" in actions
    assert governance.verify_audit().ok


def test_a_share_is_sealed_for_its_holder_only(issued):
    enc, parties = issued
    with pytest.raises(AccessDenied, match="addressed"):
        open_share(enc.shares["checker"], parties["hub"], PROJECT)


def test_nobody_may_hand_in_a_share_not_theirs(issued, governance):
    enc, parties = issued
    ceremony = DecryptionCeremony(governance, PROJECT, enc.escrow, _aggregates(enc))
    share = open_share(enc.shares["checker"], parties["review"], PROJECT)
    with pytest.raises(AccessDenied, match="only their own"):
        ceremony.contribute("officer.kostat", share)
    with pytest.raises(AccessDenied, match="holds no share"):
        ceremony.contribute("hub", share)


def test_only_final_aggregates_are_decrypted(issued, governance):
    """A record-level ciphertext slipped into the aggregates is refused at decryption."""
    enc, parties = issued
    agg = _aggregates(enc)
    values = pa.table({"serial": ["x"], "pay": [123.0]})
    records = encrypt_attributes(
        values,
        [EncryptedAttribute("pay")],
        enc.public,
        PARAMETERS,
        project=PROJECT,
        dataset="support",
    )
    raw = records.column("ciphertext")[0].as_py()
    forged = agg.ciphertexts.set_column(
        3, "ciphertext", pa.array([raw] * agg.ciphertexts.num_rows, pa.large_binary())
    )
    agg = type(agg)(agg.dimensions, agg.cells, agg.records, agg.attributes, agg.dataset, forged)
    ceremony = DecryptionCeremony(governance, PROJECT, enc.escrow, agg)
    for user, party in (("officer.kostat", "kostat"), ("checker", "review")):
        ceremony.contribute(user, open_share(enc.shares[user], parties[party], PROJECT))
    with pytest.raises(IntegrityError, match="more than one value"):
        ceremony.decrypt()


def test_a_tampered_ciphertext_package_is_refused(issued, tmp_path):
    enc, parties = issued
    values = pa.table({"serial": ["a", "b"], "pay": [1.0, 2.0]})
    cts = encrypt_attributes(
        values,
        [EncryptedAttribute("pay")],
        enc.public,
        PARAMETERS,
        project=PROJECT,
        dataset="support",
    )
    path = seal_table(
        cts,
        sender=parties["gyeonggi"],
        recipient="hub",
        project=PROJECT,
        kind="ciphertexts",
        dataset="support",
        out_dir=tmp_path / "inbox",
    )
    data = bytearray(path.read_bytes())
    for position in (len(data) // 2, len(data) - 100, 40):
        tampered = tmp_path / f"t{position}.ansim"
        copy = bytearray(data)
        copy[position] ^= 0x01
        tampered.write_bytes(bytes(copy))
        with pytest.raises(IntegrityError):
            open_package(tampered, parties["hub"], project=PROJECT, kind="ciphertexts")
    opened = open_package(path, parties["hub"], project=PROJECT, kind="ciphertexts")
    assert opened.table.num_rows == cts.num_rows


def test_the_hub_cannot_decrypt_with_the_public_keys(issued):
    enc, _ = issued
    values = pa.table({"serial": ["a"], "pay": [7.0]})
    cts = encrypt_attributes(
        values,
        [EncryptedAttribute("pay")],
        enc.public,
        PARAMETERS,
        project=PROJECT,
        dataset="support",
    )
    ctx = ts.context_from(enc.public[next(iter(enc.public))])
    vector = ts.ckks_vector_from(ctx, cts.column("ciphertext")[0].as_py())
    with pytest.raises(ValueError, match="secret_key"):
        vector.decrypt()


def test_reloaded_keys_are_checked_against_the_escrow(issued, tmp_path):
    enc, _ = issued
    loaded = ProjectEncryption.load(PROJECT, tmp_path / "keys")
    assert loaded.escrow.key_id == enc.escrow.key_id
    a, b = (tmp_path / "keys" / f"public_{s}.tenseal" for s in ("ckks", "bfv"))
    a.write_bytes(b.read_bytes())
    with pytest.raises(IntegrityError, match="not the escrowed"):
        ProjectEncryption.load(PROJECT, tmp_path / "keys")


def test_all_pairs_of_holders_can_decrypt(issued, governance):
    enc, parties = issued
    shares = {h.user: open_share(enc.shares[h.user], parties[h.party], PROJECT) for h in HOLDERS}
    agg = _aggregates(enc)
    for pair in itertools.combinations(shares, 2):
        ceremony = DecryptionCeremony(governance, PROJECT, enc.escrow, agg)
        for user in pair:
            ceremony.contribute(user, shares[user])
        assert ceremony.decrypt()[0].count.tolist() == [20, 20]
