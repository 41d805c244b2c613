"""The token buckets' stores: SQLite shared by processes, and in memory, giving the same answers."""

from __future__ import annotations

import logging
import sqlite3
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansim.portal import (
    MemoryBucketStore,
    RateLimit,
    SqliteBucketStore,
    create_app,
    rate_limits_file,
)
from ansim.portal import _limits as limits
from tests.unit.portal.tables import publish_all

with warnings.catch_warnings():  # starlette asks for httpx2, which is not installed here
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

LIST = "/public/tables"
_WORKER = """
import sys, warnings
from pathlib import Path
from ansim.portal import RateLimit, create_app
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient
client = TestClient(create_app(Path(sys.argv[1]), RateLimit(per_minute=1, burst=10)))
print(" ".join(str(client.get("/public/tables").status_code) for _ in range(8)))
"""


def test_two_processes_share_one_limit(tmp_path: Path) -> None:
    """Two server processes over one home: together they get one burst, not one each."""
    publish_all(tmp_path)
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, str(tmp_path)], stdout=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outputs = [worker.communicate(timeout=120)[0].split() for worker in workers]
    assert all(worker.returncode == 0 for worker in workers)
    statuses = [status for output in outputs for status in output]
    assert len(statuses) == 16  # 8 requests in each of 2 processes
    assert statuses.count("200") == 10 and statuses.count("429") == 6
    assert rate_limits_file(tmp_path).is_file()


def test_the_default_store_is_the_home_s_file(tmp_path: Path) -> None:
    publish_all(tmp_path)
    tight = RateLimit(per_minute=1, burst=3)
    one, two = (TestClient(create_app(tmp_path, tight)) for _ in range(2))
    assert [one.get(LIST).status_code, two.get(LIST).status_code, one.get(LIST).status_code] == [
        200, 200, 200
    ]  # fmt: skip
    assert two.get(LIST).status_code == 429  # the 4th request of the pair
    with sqlite3.connect(rate_limits_file(tmp_path)) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert [row[0] for row in db.execute("SELECT client FROM buckets")] == ["ip:testclient"]
    separate = TestClient(create_app(tmp_path, tight, MemoryBucketStore()))
    assert separate.get(LIST).status_code == 200  # its own buckets


_STEPS = st.lists(
    st.tuples(st.sampled_from(["a", "b", "c"]), st.floats(0, 5), st.booleans()), max_size=40
)


@given(steps=_STEPS, rate=st.floats(0.01, 10), size=st.integers(1, 5))
@settings(max_examples=40, deadline=None)
def test_sqlite_and_memory_stores_answer_alike(
    steps: list[tuple[str, float, bool]], rate: float, size: int
) -> None:
    """Whatever the clients and the gaps between requests (the clock may even go back)."""
    now = [1000.0]
    memory = MemoryBucketStore(clock=lambda: now[0])
    with tempfile.TemporaryDirectory() as folder:
        sqlite = SqliteBucketStore(Path(folder) / "b.sqlite", clock=lambda: now[0])
        for client, gap, back in steps:
            now[0] += -gap if back else gap
            expected = memory.take(client, rate, float(size))
            got = sqlite.take(client, rate, float(size))
            assert (got is None) == (expected is None)
            if got is not None and expected is not None:
                assert got == pytest.approx(expected) and got > 0
        sqlite.close()


def test_idle_buckets_are_swept_and_a_swept_client_starts_full(tmp_path: Path) -> None:
    now = [0.0]
    store = SqliteBucketStore(tmp_path / "b.sqlite", clock=lambda: now[0], idle_after=10)
    assert [store.take("old", 0.001, 2.0) for _ in range(3)][-1] is not None
    now[0] = 100.0
    for _ in range(limits._PRUNE_EVERY):
        store.take("new", 1000.0, 1000.0)
    with sqlite3.connect(tmp_path / "b.sqlite") as db:
        assert [row[0] for row in db.execute("SELECT client FROM buckets")] == ["new"]
    assert store.take("old", 0.001, 2.0) is None  # full again, as if it had been kept


def test_an_unusable_file_falls_back_to_counting_in_the_process(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "portal").write_text("not a folder", "utf-8")
    store = SqliteBucketStore(tmp_path / "portal" / "b.sqlite")
    with caplog.at_level(logging.WARNING, logger="ansim.portal._limits"):
        answers = [store.take("a", 0.001, 2.0) for _ in range(3)]
    assert answers[:2] == [None, None] and answers[2] is not None  # still limited
    assert "counted per process" in caplog.text and "b.sqlite" in caplog.text


def test_a_process_opening_the_file_sweeps_what_a_quiet_portal_left(tmp_path: Path) -> None:
    now = [0.0]
    first = SqliteBucketStore(tmp_path / "b.sqlite", clock=lambda: now[0], idle_after=10)
    first.take("ip:192.0.2.1", 1.0, 5.0)
    first.close()
    now[0] = 11.0
    SqliteBucketStore(tmp_path / "b.sqlite", clock=lambda: now[0], idle_after=10).take(
        "ip:192.0.2.2", 1.0, 5.0
    )
    with sqlite3.connect(tmp_path / "b.sqlite") as db:
        assert [row[0] for row in db.execute("SELECT client FROM buckets")] == ["ip:192.0.2.2"]
