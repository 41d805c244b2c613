"""The metadata store's migrations on both backends, and key wrapping."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from ansim.errors import IntegrityError, InvalidSpecError
from ansim.governance import EnvKeyStore, FileKeyStore, KeyStore, MetadataStore, ProjectKey
from ansim.governance._tables import metadata


def test_migrations_build_exactly_the_declared_schema(store_url: str) -> None:
    store = MetadataStore(store_url)
    store.upgrade()  # idempotent
    assert store.revision() == "0006_twin_kind"
    with store.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), metadata)
    store.close()
    assert diff == []


def test_migrations_ship_inside_the_package() -> None:
    versions = resources.files("ansim.governance").joinpath("migrations", "versions")
    assert any(p.name.endswith("_initial.py") for p in versions.iterdir())


def test_bad_store_url_says_what_to_use() -> None:
    with pytest.raises(InvalidSpecError, match="sqlite"):
        MetadataStore("not a url")


def test_file_key_store_wraps_per_project(tmp_path: Path) -> None:
    store = FileKeyStore(tmp_path / "keys" / "master.key", create=True)
    assert isinstance(store, KeyStore)
    assert (tmp_path / "keys" / "master.key").stat().st_mode & 0o777 == 0o600
    key = ProjectKey.generate()
    wrapped = store.wrap("p1", key)
    assert key.key not in wrapped
    assert store.unwrap("p1", wrapped).key == key.key
    with pytest.raises(IntegrityError, match="another project"):
        store.unwrap("p2", wrapped)
    tampered = wrapped[:-1] + bytes([wrapped[-1] ^ 1])
    with pytest.raises(IntegrityError):
        store.unwrap("p1", tampered)
    again = FileKeyStore(tmp_path / "keys" / "master.key", create=False)
    assert again.master_key_id == store.master_key_id
    assert again.unwrap("p1", wrapped).key == key.key
    with pytest.raises(IntegrityError):
        FileKeyStore(tmp_path / "other.key", create=True).unwrap("p1", wrapped)


def test_env_key_store(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANSIM_TEST_MASTER", os.urandom(32).hex())
    store = EnvKeyStore("ANSIM_TEST_MASTER")
    key = ProjectKey.generate()
    assert store.unwrap("p", store.wrap("p", key)).key == key.key
    monkeypatch.setenv("ANSIM_TEST_MASTER", "zz")
    with pytest.raises(InvalidSpecError, match="64 hex"):
        EnvKeyStore("ANSIM_TEST_MASTER")
    monkeypatch.delenv("ANSIM_TEST_MASTER")
    with pytest.raises(InvalidSpecError, match="set ANSIM_TEST_MASTER"):
        EnvKeyStore("ANSIM_TEST_MASTER")


def test_keys_never_show_in_repr() -> None:
    key = ProjectKey.generate()
    assert key.key.hex() not in repr(key) + str(key)
    with pytest.raises(InvalidSpecError):
        ProjectKey(b"short")
