"""Encrypted DuckDB stores: nothing readable without the key, and the key never leaks."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import ibis
import pyarrow as pa
import pytest

from ansim.engine import Engine, httpfs_extension_path
from ansim.errors import EngineError

MARKER = "김영수-PLAINTEXT-41110"


def _people() -> pa.Table:
    return pa.table({"name": [f"{MARKER}-{i}" for i in range(2000)], "age": list(range(2000))})


def test_round_trip_and_no_plaintext_on_disk(tmp_path: Path) -> None:
    key, path = os.urandom(32), tmp_path / "hub.duckdb"
    with Engine(path, encryption_key=key) as engine:
        assert engine.encrypted
        stored = engine.create_table("people", _people())
        extra = ibis.memtable(pa.table({"age": [1, 2], "band": ["a", "b"]}))
        engine.create_table("joined", stored.join(extra, "age"))
        assert engine.list_tables() == ["joined", "people"]  # no in-memory views
    data = path.read_bytes()
    assert MARKER.encode() not in data and "김영수".encode() not in data
    with Engine(path, read_only=True, encryption_key=key) as engine:
        assert engine.count(engine.table("people")) == 2000
        assert engine.to_pyarrow(engine.table("joined").order_by("age"))["band"].to_pylist() == [
            "a", "b",
        ]  # fmt: skip
        with pytest.raises(EngineError):
            engine.create_table("more", _people())


def test_wrong_or_missing_key_refuses_and_never_echoes_the_key(tmp_path: Path) -> None:
    key, path = os.urandom(32), tmp_path / "hub.duckdb"
    with Engine(path, encryption_key=key) as engine:
        engine.create_table("people", _people())
    wrong = os.urandom(32)
    with pytest.raises(EngineError) as caught:
        Engine(path, read_only=True, encryption_key=wrong)
    text = str(caught.value) + repr(caught.value.__cause__)
    for k in (key, wrong):
        assert k.hex() not in text and k.hex().upper() not in text
    with pytest.raises(EngineError, match="without a key"):
        Engine(path, read_only=True)
    with pytest.raises(EngineError, match="32 bytes"):
        Engine(path, encryption_key=b"short")
    with pytest.raises(EngineError, match="no encrypted store"):
        Engine(tmp_path / "missing.duckdb", read_only=True, encryption_key=key)
    with pytest.raises(EngineError, match="needs a database file"):
        Engine(encryption_key=key)


def test_the_extension_matches_duckdb() -> None:
    assert f"v{duckdb.__version__}" in str(httpfs_extension_path())
