from pathlib import Path

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
