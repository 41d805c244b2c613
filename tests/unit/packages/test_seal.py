import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansim.errors import AccessDenied, IntegrityError, InvalidSpecError
from ansim.packages import (
    PartyKeyStore,
    open_package,
    read_package_header,
    receive_packages,
    seal_part,
    seal_table,
)
from ansim.packages import _seal as seal_module
from ansim.packages._seal import open_package_to

_TAIL = 64 + 16 + 1  # the last ciphertext byte, before the GCM tag and the signature


@pytest.fixture
def parties(tmp_path: Path) -> dict[str, PartyKeyStore]:
    stores = {p: PartyKeyStore.create(tmp_path / "keys" / p, p) for p in ("kostat", "unit", "hub")}
    for a in stores.values():
        for b in stores.values():
            if a is not b:
                a.trust(b.public)
    return stores


def _table(project: str = "p1") -> pa.Table:
    table = pa.table(
        {"serial": ["first-serial", "second-serial"], "token_rrn": [b"\x01" * 32, None]}
    )
    meta = {"ansim.dataset": "register", "ansim.part": "identity", "ansim.project": project}
    return table.replace_schema_metadata(meta)


def _seal(parties: dict[str, PartyKeyStore], out: Path, **kw: str) -> Path:
    args = {"recipient": "unit", "project": "p1", "kind": "identity", "dataset": "register"}
    args.update(kw)
    return seal_table(_table(args["project"]), sender=parties["kostat"], out_dir=out, **args)


def test_round_trip(parties, tmp_path) -> None:
    path = _seal(parties, tmp_path)
    opened = open_package(path, parties["unit"], project="p1", kind="identity")
    assert opened.table.equals(_table())
    assert opened.header.sender == "kostat" and opened.header.recipient == "unit"
    assert read_package_header(path) == opened.header


def test_content_is_encrypted(parties, tmp_path) -> None:
    data = _seal(parties, tmp_path).read_bytes()
    assert b"register" in data  # the header names the dataset …
    assert (
        b"first-serial" not in data and b"token_rrn" not in data
    )  # … but no column or value is visible
    assert b"\x01" * 32 not in data


def test_no_private_key_in_package_or_repr(parties, tmp_path) -> None:
    data = _seal(parties, tmp_path).read_bytes()
    for store in parties.values():
        private = bytes.fromhex((store.root / "private.key").read_text().strip())
        assert private[:32] not in data and private[32:] not in data
        assert private.hex() not in repr(store) + str(store)
    assert (parties["unit"].root / "private.key").stat().st_mode & 0o777 == 0o600


@settings(max_examples=25, deadline=None)
@given(st.data())
def test_any_altered_byte_is_refused(tmp_path_factory, data) -> None:
    root = tmp_path_factory.mktemp("alter")
    sender = PartyKeyStore.create(root / "s", "sender")
    receiver = PartyKeyStore.create(root / "r", "receiver")
    sender.trust(receiver.public)
    receiver.trust(sender.public)
    path = seal_table(
        _table(), sender=sender, recipient="receiver", project="p1", kind="identity",
        dataset="register", out_dir=root,
    )  # fmt: skip
    raw = bytearray(path.read_bytes())
    index = data.draw(st.integers(0, len(raw) - 1))
    raw[index] ^= data.draw(st.integers(1, 255))
    path.write_bytes(bytes(raw))
    with pytest.raises((IntegrityError, AccessDenied)):
        open_package(path, receiver, project="p1", kind="identity")


def test_tampered_ciphertext_names_the_problem(parties, tmp_path) -> None:
    path = _seal(parties, tmp_path)
    raw = bytearray(path.read_bytes())
    raw[-100] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(IntegrityError, match=r"signature .* does not verify"):
        open_package(path, parties["unit"], project="p1", kind="identity")


def test_misaddressed_package_is_refused(parties, tmp_path) -> None:
    path = _seal(parties, tmp_path, recipient="hub")
    with pytest.raises(AccessDenied, match="addressed to 'hub'"):
        open_package(path, parties["unit"], project="p1", kind="identity")


def test_untrusted_sender_is_refused(parties, tmp_path) -> None:
    stranger = PartyKeyStore.create(tmp_path / "stranger", "stranger")
    stranger.trust(parties["unit"].public)
    path = seal_table(
        _table(), sender=stranger, recipient="unit", project="p1", kind="identity",
        dataset="register", out_dir=tmp_path,
    )  # fmt: skip
    with pytest.raises(AccessDenied, match="does not trust 'stranger'"):
        open_package(path, parties["unit"], project="p1", kind="identity")


def test_impostor_signature_is_refused(parties, tmp_path) -> None:
    # a party with the name of a trusted sender but other keys
    impostor = PartyKeyStore.create(tmp_path / "impostor", "kostat")
    impostor.trust(parties["unit"].public)
    path = seal_table(
        _table(), sender=impostor, recipient="unit", project="p1", kind="identity",
        dataset="register", out_dir=tmp_path,
    )  # fmt: skip
    with pytest.raises(IntegrityError, match="does not verify"):
        open_package(path, parties["unit"], project="p1", kind="identity")


def test_wrong_project_or_kind_is_refused(parties, tmp_path) -> None:
    path = _seal(parties, tmp_path)
    with pytest.raises(IntegrityError, match="belongs to project 'p1'"):
        open_package(path, parties["unit"], project="p2", kind="identity")
    with pytest.raises(IntegrityError, match="not the content expected"):
        open_package(path, parties["unit"], project="p1", kind="content")


def test_replay_is_refused(parties, tmp_path) -> None:
    path = _seal(parties, tmp_path)
    open_package(path, parties["unit"], project="p1", kind="identity")
    with pytest.raises(IntegrityError, match="replay"):
        open_package(path, parties["unit"], project="p1", kind="identity")


def test_header_and_content_must_agree(parties, tmp_path) -> None:
    table = _table(project="other")
    path = seal_table(
        table, sender=parties["kostat"], recipient="unit", project="p1", kind="identity",
        dataset="register", out_dir=tmp_path,
    )  # fmt: skip
    with pytest.raises(IntegrityError, match="disagrees"):
        open_package(path, parties["unit"], project="p1", kind="identity")


def test_not_a_package(parties, tmp_path) -> None:
    path = tmp_path / "x.ansim"
    path.write_bytes(b"PAR1 not a package")
    with pytest.raises(IntegrityError, match="not an Ansim sealed package"):
        open_package(path, parties["unit"], project="p1", kind="identity")


def test_seal_part_and_receive(parties, tmp_path) -> None:
    part = tmp_path / "register.parquet"
    pq.write_table(_table(), part)
    package = seal_part(part, sender=parties["kostat"], recipient="unit", out_dir=tmp_path / "in")
    (opened,) = receive_packages(
        [package], parties["unit"], project="p1", kind="identity", out_dir=tmp_path / "got"
    )
    assert opened.name == "register.parquet"
    assert pq.read_table(opened).equals(_table())


def test_key_store_reopens_and_refuses_overwrite(parties, tmp_path) -> None:
    again = PartyKeyStore.open(parties["unit"].root)
    assert again.public == parties["unit"].public
    with pytest.raises(InvalidSpecError, match="already exists"):
        PartyKeyStore.create(parties["unit"].root, "unit")
    with pytest.raises(InvalidSpecError, match="no readable key store"):
        PartyKeyStore.open(tmp_path / "nowhere")


def test_passphrase_protected_key_store(tmp_path) -> None:
    store = PartyKeyStore.create(tmp_path / "k", "kostat", passphrase=b"correct horse")
    text = (tmp_path / "k" / "private.key").read_text()
    assert "scrypt" in text
    again = PartyKeyStore.open(tmp_path / "k", passphrase=b"correct horse")
    assert again.public == store.public
    with pytest.raises(AccessDenied, match="wrong passphrase"):
        PartyKeyStore.open(tmp_path / "k", passphrase=b"wrong")
    with pytest.raises(InvalidSpecError, match="passphrase-protected"):
        PartyKeyStore.open(tmp_path / "k")


def _big_part(path: Path, rows: int = 3000) -> pa.Table:
    rng = np.random.default_rng(5)
    filters = pa.array(
        [bytes(r) for r in rng.integers(0, 256, (rows, 64), np.uint8)], pa.binary(64)
    )
    table = pa.table({"serial": [f"s{i}" for i in range(rows)], "bf_name": filters})
    meta = {"ansim.dataset": "register", "ansim.part": "identity", "ansim.project": "p1"}
    table = table.replace_schema_metadata(meta)
    pq.write_table(table, path)
    return table


def test_chunked_sealing_matches_one_shot_gcm(parties, tmp_path, monkeypatch) -> None:
    # a part of many chunks: sealed piece by piece, opened by the one-shot AES-GCM call
    monkeypatch.setattr(seal_module, "_CHUNK", 4096)
    table = _big_part(tmp_path / "register.parquet")
    package = seal_part(
        tmp_path / "register.parquet", sender=parties["kostat"], recipient="unit",
        out_dir=tmp_path / "in",
    )  # fmt: skip
    assert package.stat().st_size > 10 * 4096
    opened = open_package(package, parties["unit"], project="p1", kind="identity")
    assert opened.table.equals(table)


def test_chunked_receiving_matches_one_shot_gcm(parties, tmp_path, monkeypatch) -> None:
    # sealed by the one-shot path (a table), received piece by piece into a file
    table = _big_part(tmp_path / "register.parquet")
    package = seal_table(
        table, sender=parties["kostat"], recipient="unit", project="p1", kind="identity",
        dataset="register", out_dir=tmp_path / "in",
    )  # fmt: skip
    monkeypatch.setattr(seal_module, "_CHUNK", 4096)
    (opened,) = receive_packages(
        [package], parties["unit"], project="p1", kind="identity", out_dir=tmp_path / "got"
    )
    assert pq.read_table(opened).equals(table)


def test_one_bad_package_lands_nothing(parties, tmp_path) -> None:
    good = _seal(parties, tmp_path / "a")
    bad = _seal(parties, tmp_path / "b", dataset="other")
    data = bytearray(bad.read_bytes())
    data[-_TAIL] ^= 1  # a ciphertext byte: the signature no longer verifies
    bad.write_bytes(bytes(data))
    out = tmp_path / "got"
    with pytest.raises(IntegrityError):
        receive_packages([good, bad], parties["unit"], project="p1", kind="identity", out_dir=out)
    assert not [p for p in out.rglob("*") if p.is_file() and p.suffix == ".parquet"]


def test_content_that_does_not_decrypt_leaves_no_file(parties, tmp_path) -> None:
    # signed by the sender, but encrypted under another key: verified, then refused intact
    path = _seal(parties, tmp_path / "a")
    target = tmp_path / "got" / "x.parquet"
    target.parent.mkdir()
    data = bytearray(path.read_bytes())
    size = int.from_bytes(data[9:13], "big")
    header = json.loads(data[13 : 13 + size])
    header["nonce"] = "00" * 12  # a different nonce: the tag cannot verify
    head = json.dumps(header, sort_keys=True).encode()
    body = b"ANSIMPKG\x01" + len(head).to_bytes(4, "big") + head + bytes(data[13 + size : -64])
    path.write_bytes(body + parties["kostat"].sign(body))
    with pytest.raises(IntegrityError, match="does not decrypt intact"):
        open_package_to(path, parties["unit"], project="p1", kind="identity", target=target)
    assert not target.exists()
