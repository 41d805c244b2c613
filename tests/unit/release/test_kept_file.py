"""The ledger's kept witnesses on disk: read back by a new process, never trusted (issue 11)."""

from __future__ import annotations

import base64
import itertools
import json
import tempfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ansim.release import ProjectLedger, ReleasedCells, _ledger, audit_ledger
from ansim.release._kept import KeptFile

from .test_ledger import _bounded_one_by_one


def _ids(start: int, stop: int) -> frozenset[str]:
    return frozenset(f"p{i}" for i in range(start, stop))


RELEASES = [
    ReleasedCells("t1", {"a": _ids(0, 40), "b": _ids(30, 80)}, 10),
    ReleasedCells("t2", {"c": _ids(5, 60), "d": _ids(0, 15) | _ids(70, 75)}, 10),
]
CANDIDATE = ReleasedCells("next", {"e": _ids(10, 52)}, 10)  # passes
EXPOSING = ReleasedCells("next", {"g": _ids(0, 33), "h": _ids(33, 80)}, 10)


def _new_process() -> None:
    """Forget what this process kept: the next audit starts as a new process's first."""
    _ledger._NUMBERINGS.clear()


def _ledger_of(home: Path, releases: list[ReleasedCells]) -> ProjectLedger:
    ledger = ProjectLedger(home)
    ledger.record(releases)
    return ledger


def _strings(value: Any) -> list[str]:
    """Every string in a parsed JSON value, keys included."""
    if isinstance(value, dict):
        return [*value, *(s for v in value.values() for s in _strings(v))]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [value] if isinstance(value, str) else []


def test_a_new_process_starts_from_the_stored_witnesses() -> None:
    with tempfile.TemporaryDirectory() as home:
        ledger = _ledger_of(Path(home), RELEASES)
        _new_process()
        first = ledger.audit([CANDIDATE])
        assert first.small and first.programs  # from nothing: programs needed
        assert (Path(home) / "releases" / "witnesses.json").is_file()
        _new_process()
        again = ledger.audit([CANDIDATE])
        assert again.programs == 0 and again.exposed == first.exposed
        # the candidate released: the next process's ledger begins with the stored prefix
        ledger.record([CANDIDATE])
        _new_process()
        after = ledger.audit([])
        assert after.passed and after.programs == 0


def test_exposures_still_take_their_programs_and_decide_the_same() -> None:
    # A stored point never shows an atom exposed: only its own programs do, in every process.
    with tempfile.TemporaryDirectory() as home:
        ledger = _ledger_of(Path(home), RELEASES)
        _new_process()
        first = ledger.audit([EXPOSING])
        _new_process()
        again = ledger.audit([EXPOSING])
        assert not first.passed and again.exposed == first.exposed
        assert 0 < again.programs < first.programs


def test_the_file_holds_counts_and_digests_not_member_ids() -> None:
    with tempfile.TemporaryDirectory() as home:
        ledger = _ledger_of(Path(home), RELEASES)
        _new_process()
        ledger.audit([EXPOSING])
        path = Path(home) / "releases" / "witnesses.json"
        text = path.read_text(encoding="utf-8")
        ids = {m for r in [*RELEASES, EXPOSING] for c in r.cells.values() for m in c}
        data = json.loads(text)
        frames = data["units"]["person"]
        packed = {f["offsets"] for f in frames.values()}
        names = {"version", "units", "person", "atoms", "points", "width", "offsets"}
        assert set(_strings(data)) == names | set(frames) | packed
        assert all(len(d) == 64 and int(d, 16) >= 0 for d in frames)  # SHA-256 digests
        assert not any(m in text for m in ids if len(m) > 2)  # nothing spells a member id
        for digest, frame in frames.items():
            offsets = KeptFile(path, [], 0).stored("person", digest, frame["atoms"])
            assert offsets is not None and len(offsets) == frame["points"]
            assert np.array_equal(offsets, np.round(offsets))  # whole atom counts only


def test_a_stale_file_is_ignored() -> None:
    # The ledger's first release changed since the file was written: its prefixes match nothing.
    with tempfile.TemporaryDirectory() as one, tempfile.TemporaryDirectory() as two:
        _ledger_of(Path(one), RELEASES).audit([CANDIDATE])
        changed = ReleasedCells("t1", {"a": _ids(0, 41), "b": _ids(30, 80)}, 10)
        other = _ledger_of(Path(two), [changed, *RELEASES[1:]])
        (Path(two) / "releases" / "witnesses.json").write_bytes(
            (Path(one) / "releases" / "witnesses.json").read_bytes()
        )
        _new_process()
        stale = other.audit([CANDIDATE])
        _new_process()
        fresh = audit_ledger([changed, *RELEASES[1:], CANDIDATE])
        assert stale.programs == fresh.programs and stale.exposed == fresh.exposed


def _planted(path: Path, digests: list[str], atoms: int, offsets: list[list[int]]) -> None:
    """A well-formed file whose frames are over the right prefixes but hold chosen points."""
    chosen = np.zeros((max(len(offsets), 1), atoms))
    for i, row in enumerate(offsets):
        for a, d in itertools.pairwise(row):
            chosen[i, a % atoms] = d
    planted = KeptFile(path, [], 0)
    for digest in digests:
        planted.store("person", digest, chosen)
    planted.flush()


member_sets = st.integers(4, 9).flatmap(
    lambda n: st.lists(
        st.frozensets(st.sampled_from([f"p{i}" for i in range(n)]), min_size=1),
        min_size=2,
        max_size=6,
    )
)


@settings(max_examples=30, deadline=None)
@given(
    member_sets,
    st.integers(2, 4),
    st.lists(st.lists(st.integers(-12, 12), max_size=12), max_size=6),
    st.sampled_from(["planted", "garbage", "truncated", "wrong atoms"]),
)
def test_a_corrupted_or_planted_file_decides_as_a_fresh_audit(
    cells: list[frozenset[str]], threshold: int, offsets: list[list[int]], kind: str
) -> None:
    # Whatever the file holds (points someone chose over the right prefixes, bytes that are
    # no JSON, a cut-off file, frames over the wrong number of atoms), the verdict is the
    # fresh audit's and that of two programs per atom: a stored point is only verified.
    half = len(cells) // 2
    releases = [
        ReleasedCells("t1", {f"c{i}": c for i, c in enumerate(cells[:half])}, threshold),
        ReleasedCells("t2", {f"c{i}": c for i, c in enumerate(cells[half:])}, threshold),
    ]
    _new_process()
    fresh = {e.members for e in audit_ledger(releases).exposed}
    assert fresh == _bounded_one_by_one(cells, threshold)
    with tempfile.TemporaryDirectory() as home:
        ledger = _ledger_of(Path(home), releases)
        path = Path(home) / "releases" / "witnesses.json"
        _new_process()
        ledger.audit([])  # writes the honest file; its prefixes' digests are then known
        honest = json.loads(path.read_text(encoding="utf-8")) if path.exists() else None
        digests = list(honest["units"]["person"]) if honest else ["0" * 64]
        if kind == "planted":
            atoms = honest["units"]["person"][digests[0]]["atoms"] if honest else 1
            _planted(path, digests, atoms, offsets)
        elif kind == "garbage":
            path.write_bytes(bytes(range(256)))
        elif kind == "truncated" and honest:
            path.write_text(json.dumps(honest)[:-7], encoding="utf-8")
        elif honest:
            for frame in honest["units"]["person"].values():
                frame["atoms"] += 1
            path.write_text(json.dumps(honest), encoding="utf-8")
        _new_process()
        assert {e.members for e in ledger.audit([]).exposed} == fresh


def test_a_malformed_file_reads_as_empty() -> None:
    with tempfile.TemporaryDirectory() as home:
        path = Path(home) / "witnesses.json"
        for text in ["[]", '{"version": 2, "units": {}}', '{"version": 1, "units": []}', "{"]:
            path.write_text(text, encoding="utf-8")
            assert KeptFile(path, [], 0).prefixes("person") == set()
        written = KeptFile(path, [], 0)
        written.store("person", "d", np.array([[0.0, -3.0]]))
        written.flush()
        assert np.array_equal(KeptFile(path, [], 0).stored("person", "d", 2), [[0.0, -3.0]])
        assert KeptFile(path, [], 0).stored("person", "d", 3) is None  # other atoms
        data = json.loads(path.read_text(encoding="utf-8"))
        frame = data["units"]["person"]["d"]
        for bad in [{"points": 2}, {"points": 0}, {"width": 3}, {"offsets": "not base64!"},
                    {"offsets": base64.b64encode(zlib.compress(bytes(4096))).decode()},
                    {"offsets": base64.b64encode(b"not deflated").decode()}]:  # fmt: skip
            data["units"]["person"]["d"] = frame | bad
            path.write_text(json.dumps(data), encoding="utf-8")
            assert KeptFile(path, [], 0).stored("person", "d", 2) is None
        wide = KeptFile(path, [], 0)
        wide.store("person", "w", np.array([[40_000.0, -1.0]]))  # past 16 bits: 32
        wide.flush()
        assert np.array_equal(KeptFile(path, [], 0).stored("person", "w", 2), [[40_000, -1]])
