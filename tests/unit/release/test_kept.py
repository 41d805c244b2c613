"""The ledger's kept witnesses between audits decide exactly as a fresh audit (issue 11)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ansim.release import ProjectLedger, ReleasedCells, _kept, _ledger, audit_ledger
from ansim.release._withhold import withhold_exposing

from .test_ledger import _bounded_one_by_one, _exhaustive


def _ids(start: int, stop: int) -> frozenset[str]:
    return frozenset(f"p{i}" for i in range(start, stop))


def _fresh(releases: list[ReleasedCells]) -> set[frozenset[str]]:
    """The exposed groups of an audit that keeps nothing from earlier ones."""
    kept = dict(_ledger._NUMBERINGS)
    _ledger._NUMBERINGS.clear()
    try:
        return {e.members for e in audit_ledger(releases).exposed}
    finally:
        _ledger._NUMBERINGS.clear()
        _ledger._NUMBERINGS.update(kept)


cells = st.integers(4, 10).flatmap(
    lambda n: st.lists(
        st.frozensets(st.sampled_from([f"p{i}" for i in range(n)]), min_size=1),
        min_size=1,
        max_size=3,
    )
)


@settings(max_examples=25, deadline=None)
@given(
    st.lists(cells, min_size=2, max_size=4),
    st.integers(2, 4),
    st.lists(st.integers(0, 3), min_size=4, max_size=4),
)
def test_a_ledgers_successive_audits_decide_as_fresh_full_programs(tables, threshold, drops):
    # A ledger grows a table at a time; between, a candidate is audited whole, then with some
    # cells withheld, then the ledger alone again (what withhold_exposing does): each audit
    # starts from the witnesses the one before kept, and must expose exactly what two integer
    # programs per atom (and, when small enough, an exhaustive search) expose.
    _ledger._NUMBERINGS.clear()
    ledger: list[ReleasedCells] = []
    for i, table in enumerate(tables):
        whole = ReleasedCells(f"t{i}", {f"c{j}": c for j, c in enumerate(table)}, threshold)
        drop = drops[i % len(drops)] % (len(table) + 1)
        part = ReleasedCells(f"t{i}", {f"c{j}": c for j, c in enumerate(table[drop:])}, threshold)
        for releases in ([*ledger, whole], [*ledger, part], ledger, [*ledger, whole]):
            flat = [c for r in releases for c in r.cells.values()]
            if not flat:
                continue
            kept = {e.members for e in audit_ledger(releases).exposed}
            assert kept == _bounded_one_by_one(flat, threshold)
            if len(frozenset().union(*flat)) <= 6:  # few enough to enumerate
                assert kept == _exhaustive(flat, threshold)
            assert kept == _fresh(releases)
        ledger.append(part)


def test_an_audit_repeated_needs_no_program() -> None:
    # The second audit of the same releases is settled by the first one's witnesses.
    _ledger._NUMBERINGS.clear()
    releases = [
        ReleasedCells("t1", {"a": _ids(0, 40), "b": _ids(30, 80)}, 10),
        ReleasedCells("t2", {"c": _ids(5, 60), "d": _ids(0, 15) | _ids(70, 75)}, 10),
    ]
    first = audit_ledger(releases)
    assert first.passed and first.small and first.programs
    again = audit_ledger(releases)
    assert again.passed and again.programs == 0
    # a candidate that repeats a released count is settled the same way
    repeat = ReleasedCells("t3", {"a again": _ids(0, 40)}, 10)
    assert audit_ledger([*releases, repeat]).programs == 0


def test_kept_points_that_are_no_solution_settle_nothing() -> None:
    # Points are proposals: only a whole, non-negative solution of every equation counts.
    _ledger._NUMBERINGS.clear()
    releases = [
        ReleasedCells("t1", {"20-29": _ids(0, 40)}, 10),
        ReleasedCells("t2", {"20-30": _ids(0, 42)}, 10),
    ]
    assert not audit_ledger(releases).passed
    numbering = _ledger._NUMBERINGS["person"]
    part = _ledger._Partition.build(
        [(f"{r.release}: {c}", m) for r in releases for c, m in r.cells.items()], "person"
    )
    small = int(np.flatnonzero(part.sizes < 10)[0])
    forged = part.sizes.astype(np.float64)
    forged[small] = 10.0  # what the attacker cannot exclude is exactly 2
    assert not len(_kept.verified(part.atoms, forged[None, :]))
    numbering.witnesses.keep(part.atoms, forged[None, :])
    assert [e.members for e in audit_ledger(releases).exposed] == [_ids(40, 42)]


def test_vetting_a_ledger_table_by_table_keeps_it_free_of_exposures() -> None:
    # withhold_exposing on each of several overlapping tables: every vetted table joins a
    # ledger that a fresh audit passes, and a table repeating released counts publishes all.
    _ledger._NUMBERINGS.clear()
    rng = np.random.default_rng(7)
    people = [f"p{i}" for i in range(400)]
    region = rng.integers(0, 6, len(people))
    age = rng.integers(0, 5, len(people))
    with tempfile.TemporaryDirectory() as home:
        ledger = ProjectLedger(Path(home))
        tables = []
        for t in range(6):
            keep = age == t % 5 if t % 2 else np.ones(len(people), dtype=bool)
            groups = {
                f"r{r}": {f"r{r}": frozenset(p for p, k, g in zip(people, keep, region,
                                                                   strict=True) if k and g == r)}
                for r in range(6)
            }  # fmt: skip
            groups = {g: c for g, c in groups.items() if len(next(iter(c.values()))) >= 10}
            withheld = withhold_exposing(ledger, groups, 10)
            cells = {g: next(iter(c.values())) for g, c in groups.items() if g not in withheld}
            table = ReleasedCells(f"t{t}", cells, 10)
            ledger.record([table])
            tables.append(table)
            assert not _fresh(ledger.released())
        first = {g: {g: m} for g, m in tables[0].cells.items()}
        assert withhold_exposing(ledger, first, 10) == set()
