"""The attacker-LP audit across everything a project has released.

Every published count is the size of a set of persons (or of a declared contributor unit).
Together the released sets split their members into **atoms**: persons who lie in exactly the
same published cells. Each published count is then a sum of atom sizes, and an attacker who
holds every release of the project knows exactly that system of equations, with non-negative
whole atom sizes as unknowns. The audit asks, for every atom of 1 to ``threshold − 1`` members,
how tightly the attacker can bound it, and calls it exposed unless the feasible sizes reach up
to ``threshold`` and down to ``max(0, 2·size − threshold)``: the protection levels of the
threshold rule of table protection (``UPL = n − v``, ``LPL = min(n − v, v)``), now across
outputs. Subtracting tables, nested or overlapping filters, a crosstab minus a published rate
table, or ``A + E − B`` over three tables all show up as an exposed atom.

The programs are those of secondary suppression, solved by HiGHS through SciPy: with
``integral=True`` (the default) atom sizes are whole numbers (``scipy.optimize.milp``), which is
what a real attacker may assume; ``integral=False`` solves the LP relaxation. It is fast
because:

- atoms come from hashing each member's signature (two random 64-bit keys per cell, summed),
  so the members are read once per cell, never compared pairwise; the numbering of the cells
  the last audit read is kept, and only cells after the prefix they share are read again (a
  project's audits all start with the same released tables);
- identical cells give one equation; the system splits into connected components;
- only atoms that could be small (fewer members than the threshold) are targets, and an atom
  inside a published cell smaller than the threshold is exposed without a program;
- one program shows many atoms protected at once: it maximises ``Σ min(x_a, n)`` (and
  minimises the excess over each atom's lower target); every feasible point found is kept as a
  witness for all pending atoms; an atom only gets programs of its own when no joint one helps;
- the relaxations run on one warm-started HiGHS model per component and direction
  (``highspy``: only the objective changes, so the simplex starts from the last basis); a
  relaxed optimum that is already whole is a witness, and only a fractional one costs an
  integer program.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from ansim.errors import DisclosureCheckFailed, InvalidSpecError
from ansim.release._kept import (
    Atoms,
    KeptFile,
    Numbering,
    Witnesses,
    chained,
    distinct,
    on_prefix,
    prefix_atoms,
    verified,
)

__all__ = ["AtomExposure", "LedgerAudit", "ReleasedCells", "audit_ledger"]

_TOLERANCE = 1e-6
_TIME_LIMIT = 60.0  # seconds per program; an unfinished program proves nothing
_REPORTED = 1  # exposures per unit whose exact bounds are computed for the report


@dataclass(frozen=True)
class ReleasedCells:
    """One release's published counts, as the ledger holds them (inside the hub).

    Args:
        release: The release's id in the project ledger.
        cells: Each published count's name → the ids of the members it counts. Withheld
            cells are not listed: they publish nothing.
        threshold: Smallest group the release's rules allow to be isolated.
        unit: What the ids identify: ``person`` (the platform's person ids) or a declared
            contributor unit; only releases of the same unit are audited together.

    Example:
        >>> ReleasedCells("r1", {"a": frozenset({"p1"})}, threshold=0)
        Traceback (most recent call last):
        ...
        ansim.errors.InvalidSpecError: release 'r1': threshold must be at least 1, got 0
    """

    release: str
    cells: Mapping[str, frozenset[str]]
    threshold: int
    unit: str = "person"

    def __post_init__(self) -> None:
        """Check the threshold."""
        if self.threshold < 1:
            raise InvalidSpecError(
                f"release {self.release!r}: threshold must be at least 1, got {self.threshold}"
            )


@dataclass(frozen=True)
class AtomExposure:
    """A small group the released counts let an attacker bound too tightly.

    Attributes:
        unit: Its members' unit.
        members: Their ids (kept in the hub, never shown).
        lower: The smallest size the attacker cannot exclude (``nan`` past the first
            exposure of a unit: the refusal does not need them).
        upper: The largest (``nan`` likewise).
        cells: Up to five published cells (``release: cell``) that bound it: first those that
            contain the group, then others of the equations that tie them.
    """

    unit: str
    members: frozenset[str]
    lower: float
    upper: float
    cells: tuple[str, ...]

    def describe(self) -> str:
        """The exposure without its size or members: which releases' cells isolate it."""
        return f"a group of fewer than the threshold is bounded by {', '.join(self.cells[:3])}"


@dataclass(frozen=True)
class LedgerAudit:
    """What the attacker LP found across the releases.

    Attributes:
        releases: How many releases were audited.
        cells: Distinct published cells (equations).
        atoms: Atoms of the partition the cells induce.
        small: Atoms with fewer members than their threshold (the programs' targets).
        programs: Linear or integer programs solved.
        exposed: The exposed atoms.
    """

    releases: int
    cells: int
    atoms: int
    small: int
    programs: int
    exposed: tuple[AtomExposure, ...] = field(default=())

    @property
    def passed(self) -> bool:
        """Whether no small atom is exposed."""
        return not self.exposed

    def summary(self) -> dict[str, Any]:
        """Counts and the verdict (no sizes, no ids)."""
        return {
            "releases": self.releases,
            "cells": self.cells,
            "atoms": self.atoms,
            "small_atoms": self.small,
            "programs": self.programs,
            "exposed": len(self.exposed),
            "passed": self.passed,
        }


@dataclass
class _System:
    """One component: ``A x = b`` over atom sizes ``x ≥ 0``, and its targets."""

    matrix: Any  # scipy.sparse CSR, rows = distinct cells, columns = atoms
    rhs: npt.NDArray[np.float64]
    ceiling: npt.NDArray[np.float64]  # per atom, the smallest cell containing it
    integral: bool
    programs: int = 0

    def solve(
        self,
        objective: npt.NDArray[np.float64],
        extra: Sequence[tuple[Any, Any, Any]],
        aux: npt.NDArray[np.float64],
        *,
        relaxed: bool = False,
    ) -> npt.NDArray[np.float64] | None:
        """Minimise ``objective`` over ``[x, aux]`` (``0 ≤ aux ≤ aux``); None if nothing found."""
        from scipy.optimize import (  # type: ignore[import-untyped]  # noqa: PLC0415
            Bounds,
            LinearConstraint,
            milp,
        )
        from scipy.sparse import csr_matrix, hstack  # type: ignore[import-untyped]  # noqa: PLC0415

        m, k = self.matrix.shape[1], len(aux)
        equalities = hstack([self.matrix, csr_matrix((self.matrix.shape[0], k))]).tocsr()
        constraints = [LinearConstraint(equalities, self.rhs, self.rhs)]
        constraints += [LinearConstraint(a, lo, hi) for a, lo, hi in extra]
        whole = self.integral and not relaxed
        integrality = np.concatenate([np.full(m, 1 if whole else 0), np.zeros(k)])
        self.programs += 1
        res = milp(
            objective,
            integrality=integrality,
            bounds=Bounds(np.zeros(m + k), np.concatenate([self.ceiling, aux])),
            constraints=constraints,
            options={"time_limit": _TIME_LIMIT},
        )
        if res.status == 2:  # noqa: PLR2004 - HiGHS: infeasible; the true sizes are a solution
            raise DisclosureCheckFailed(
                "the ledger's equations have no solution; a release's cells are inconsistent"
            )
        return None if res.x is None else np.asarray(res.x, dtype=np.float64)


def _links(targets: Sequence[int], m: int, sign: float) -> Any:
    """Rows ``aux_i + sign·x_{target_i}`` over ``[x, aux]``."""
    from scipy.sparse import csr_matrix  # noqa: PLC0415

    k = len(targets)
    rows = np.repeat(np.arange(k), 2)
    cols = np.ravel(np.column_stack([m + np.arange(k), np.asarray(targets, dtype=np.int64)]))
    data = np.tile([1.0, sign], k)
    return csr_matrix((data, (rows, cols)), shape=(k, m + k))


def _reach_up(
    system: _System, targets: Sequence[int], n: float, *, relaxed: bool = False
) -> npt.NDArray[np.float64] | None:
    """A point maximising ``Σ min(x_t, n)``: ``0 ≤ y_t ≤ n``, ``y_t ≤ x_t``."""
    m, k = system.matrix.shape[1], len(targets)
    objective = np.concatenate([np.zeros(m), -np.ones(k)])
    extra = [(_links(targets, m, -1.0), -np.inf, 0.0)]  # y - x ≤ 0
    return system.solve(objective, extra, np.full(k, n), relaxed=relaxed)


def _reach_down(
    system: _System,
    targets: Sequence[int],
    floor: npt.NDArray[np.float64],
    *,
    relaxed: bool = False,
) -> npt.NDArray[np.float64] | None:
    """A point minimising ``Σ max(0, x_t − floor_t)``: ``w_t ≥ x_t − floor_t``, ``w ≥ 0``."""
    m, k = system.matrix.shape[1], len(targets)
    objective = np.concatenate([np.zeros(m), np.ones(k)])
    extra = [(_links(targets, m, -1.0), -floor, np.inf)]  # w - x ≥ -floor
    return system.solve(objective, extra, np.full(k, np.inf), relaxed=relaxed)


def _witnessed(
    targets: list[int],
    relaxed: Callable[[list[int]], npt.NDArray[np.float64] | None],
    whole: Callable[[list[int]], npt.NDArray[np.float64] | None] | None,
    good: Callable[[npt.NDArray[np.float64], int], bool],
) -> tuple[set[int], set[int]]:
    """Targets shown to reach their level (by some feasible point) and those that cannot.

    ``relaxed(targets)`` returns atom sizes at an optimum of the joint program's LP relaxation
    (warm-started, see :class:`_Reach`), ``whole(targets)`` at an optimum of its integer
    program (None when atom sizes may be fractional). Every point found is a witness for every
    pending target; a whole point of the relaxation is one as good as the integer program's,
    so the integer program only runs when the relaxation's point is fractional.
    """

    def point(ts: list[int]) -> npt.NDArray[np.float64] | None:
        found = relaxed(ts)
        if found is not None and whole is not None and not _is_whole(found):
            return whole(ts)
        return found

    pending = list(targets)
    shown: set[int] = set()
    while pending:
        found = point(pending)
        hits = {t for t in pending if found is not None and good(found, t)}
        if not hits:
            break
        shown |= hits
        pending = [t for t in pending if t not in hits]
    failed: set[int] = set()
    left = set(pending)
    for t in pending:  # each remaining target alone: its own optimum decides
        if t not in left:
            continue
        left.discard(t)
        # The relaxation is optimistic for the defender: if even it cannot reach the level,
        # whole numbers cannot; only a relaxed success that is fractional needs the integer
        # program.
        found = relaxed([t])
        if found is not None and good(found, t) and whole is not None and not _is_whole(found):
            found = whole([t])
        if found is not None and good(found, t):
            shown.add(t)
            seen = {u for u in left if good(found, u)}
            shown |= seen
            left -= seen
        else:
            failed.add(t)
    return shown, failed


def _is_whole(point: npt.NDArray[np.float64]) -> bool:
    """Whether every coordinate is a whole number (within the solver's tolerance)."""
    return bool(np.all(np.abs(point - np.round(point)) <= _TOLERANCE))


class _Reach:
    """The joint programs' LP relaxations over one component, one warm-started HiGHS model.

    Columns are the atom sizes ``x`` (``0 ≤ x ≤ ceiling``) and one auxiliary per target;
    rows are ``A x = b`` and one link per target. Upwards (``up``): ``0 ≤ y_t ≤ n``,
    ``y_t ≤ x_t``, maximise ``Σ y_t`` over the chosen targets (``Σ min(x_t, n)``). Downwards:
    ``w_t ≥ 0``, ``w_t ≥ x_t − floor_t``, minimise ``Σ w_t`` (``Σ max(0, x_t − floor_t)``).
    Each program only changes which auxiliaries are in the objective, so the simplex starts
    from the previous optimal basis (``highspy``) instead of solving from scratch.
    """

    def __init__(
        self, system: _System, targets: Sequence[int], *, up: bool, level: npt.NDArray[np.float64]
    ) -> None:
        """Build the model; ``level`` is ``n`` per target upwards, ``floor_t`` downwards."""
        import highspy  # noqa: PLC0415 - only the audit needs it
        from scipy.sparse import csr_matrix, hstack, vstack  # noqa: PLC0415

        self._system = system
        self._aux = {t: i for i, t in enumerate(targets)}
        m, k = system.matrix.shape[1], len(targets)
        self._m = m
        rows = vstack(
            [hstack([system.matrix, csr_matrix((system.matrix.shape[0], k))]),
             _links(targets, m, -1.0)]
        ).tocsr()  # fmt: skip
        if up:
            aux_upper, link_lower, link_upper = level, np.full(k, -np.inf), np.zeros(k)
        else:
            aux_upper, link_lower, link_upper = np.full(k, np.inf), -level, np.full(k, np.inf)
        highs = highspy.Highs()  # type: ignore[no-untyped-call]  # unannotated pybind init
        highs.setOptionValue("output_flag", False)
        highs.setOptionValue("time_limit", _TIME_LIMIT)
        inf = highspy.kHighsInf
        upper = np.minimum(np.concatenate([system.ceiling, aux_upper]), inf)
        none = np.zeros(m + k, dtype=np.int32)
        highs.addCols(m + k, np.zeros(m + k), np.zeros(m + k), upper, 0, none, none[:0],
                      np.zeros(0))  # fmt: skip
        highs.addRows(
            rows.shape[0], np.maximum(np.concatenate([system.rhs, link_lower]), -inf),
            np.minimum(np.concatenate([system.rhs, link_upper]), inf), rows.nnz,
            rows.indptr[:-1].astype(np.int32), rows.indices.astype(np.int32),
            rows.data.astype(np.float64),
        )  # fmt: skip
        highs.changeObjectiveSense(highspy.ObjSense.kMaximize if up else highspy.ObjSense.kMinimize)
        self._highs = highs
        self._columns = np.arange(m, m + k, dtype=np.int32)
        self._optimal = highspy.HighsModelStatus.kOptimal
        self._infeasible = highspy.HighsModelStatus.kInfeasible

    def __call__(self, targets: list[int]) -> npt.NDArray[np.float64] | None:
        """Atom sizes at an optimum for these targets; None if HiGHS did not finish."""
        cost = np.zeros(len(self._columns))
        cost[[self._aux[t] for t in targets]] = 1.0
        self._highs.changeColsCost(len(self._columns), self._columns, cost)
        self._system.programs += 1
        self._highs.run()
        status = self._highs.getModelStatus()
        if status == self._infeasible:  # the true sizes are a solution
            raise DisclosureCheckFailed(
                "the ledger's equations have no solution; a release's cells are inconsistent"
            )
        if status != self._optimal:
            return None
        return np.asarray(self._highs.getSolution().col_value, dtype=np.float64)[: self._m]


_NUMBERINGS: dict[str, Numbering] = {}
_NUMBERING_LOCK = threading.Lock()


def _signatures(
    cells: Sequence[frozenset[str]], unit: str
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.uint64], Any, Any, list[int]]:
    """Members present, their signatures, every row's members (flat), row lengths, cell rows.

    Each distinct member set (row) adds two random 64-bit keys to its members' signatures;
    members of equal signature form an atom. The numbering of the cells an earlier audit read
    is reused. Rows' members are positions among the members present, concatenated.
    """
    with _NUMBERING_LOCK:
        numbering = _NUMBERINGS.setdefault(unit, Numbering())
        numbering.extend(cells)
        flat = np.concatenate(numbering.columns) if numbering.columns else np.zeros(0, np.int64)
        lengths = np.fromiter((len(c) for c in numbering.columns), np.int64)
        present = np.zeros(len(numbering.ids), dtype=bool)
        present[flat] = True
        # Members of no current cell (say, of a candidate withheld since) are not atoms.
        used = np.flatnonzero(present)
        signature = numbering.signature[used]
        row_of = list(numbering.row_of)
    renumber = np.full(len(present), -1, dtype=np.int64)
    renumber[used] = np.arange(len(used))
    return used, signature, renumber[flat], lengths, row_of


def _atoms_of(signature: npt.NDArray[np.uint64]) -> tuple[Any, Any]:
    """Per member its atom (equal signatures), per atom its size: hash-based, no sort."""
    import pandas as pd  # noqa: PLC0415

    first, _ = pd.factorize(signature[:, 0])
    second, seconds = pd.factorize(signature[:, 1])
    atom_of, atoms = pd.factorize(np.asarray(first) * len(seconds) + np.asarray(second))
    return np.asarray(atom_of, dtype=np.int64), np.bincount(atom_of, minlength=len(atoms))


@dataclass
class _Partition:
    """The atoms of one unit's released cells and the equations over their sizes."""

    ids: npt.NDArray[Any]  # member ids, by position
    atoms: Atoms  # members' codes and atoms, atom sizes, one equation per distinct cell
    names: list[tuple[str, int]]  # every published cell's name and its equation

    @property
    def sizes(self) -> npt.NDArray[np.int64]:
        """Per atom, its true size."""
        return self.atoms.sizes

    @property
    def matrix(self) -> Any:
        """Distinct cells × atoms, 0/1 (CSR)."""
        return self.atoms.matrix

    @property
    def rhs(self) -> npt.NDArray[np.float64]:
        """Per distinct cell, its published count."""
        return self.atoms.rhs

    @classmethod
    def build(cls, named: Sequence[tuple[str, frozenset[str]]], unit: str) -> _Partition:
        """Hash the members' signatures into atoms; one equation per distinct cell."""
        from scipy.sparse import csr_matrix  # noqa: PLC0415

        used, signature, flat, lengths, row_of = _signatures([s for _, s in named], unit)
        with _NUMBERING_LOCK:
            ids = _NUMBERINGS[unit].ids[used]
        atom_of, sizes = _atoms_of(signature)
        rows = np.repeat(np.arange(len(lengths)), lengths)
        matrix = csr_matrix((np.ones(len(flat)), (rows, atom_of[flat])),
                            shape=(len(lengths), len(sizes)))  # fmt: skip
        matrix.sum_duplicates()  # a row's members of one atom: one entry
        matrix.data[:] = 1.0
        rhs = lengths.astype(np.float64)
        atoms = Atoms(used, atom_of, np.asarray(sizes), matrix, rhs)
        return cls(ids, atoms, [(n, r) for (n, _), r in zip(named, row_of, strict=True)])

    def near(self, atom: int, rows: Iterable[int]) -> list[str]:
        """Up to five cell names bounding ``atom``: those holding it, then those of ``rows``."""
        holding = set(self.matrix[:, [atom]].nonzero()[0].tolist())
        shown: dict[str, None] = {}
        for name, row in self.names:
            if row in holding:
                shown[name] = None
                if len(shown) >= 5:  # noqa: PLR2004 - the report names five at most
                    return list(shown)
        first: dict[int, str] = {}
        wanted = set(rows)
        for name, row in self.names:
            if row in wanted:
                first.setdefault(row, name)
        for row in sorted(first):  # equations in the order they were first released
            shown.setdefault(first[row], None)
            if len(shown) >= 5:  # noqa: PLR2004
                break
        return list(shown)[:5]

    def components(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Connected components of the atom–cell graph: labels of atoms and of cells."""
        from scipy.sparse import bmat  # noqa: PLC0415
        from scipy.sparse.csgraph import (  # type: ignore[import-untyped]  # noqa: PLC0415
            connected_components,
        )

        graph = bmat([[None, self.matrix], [self.matrix.T, None]]).tocsr()
        _, label = connected_components(graph, directed=False)
        cells = self.matrix.shape[0]
        return np.asarray(label[cells:]), np.asarray(label[:cells])

    def members(self, atoms: Iterable[int]) -> dict[int, frozenset[str]]:
        """The member ids of some atoms."""
        return {a: frozenset(str(m) for m in self.ids[self.atoms.atom_of == a]) for a in set(atoms)}


@dataclass(frozen=True)
class _UnitAudit:
    cells: int
    atoms: int
    small: int
    programs: int
    exposed: tuple[AtomExposure, ...]


def _exposed_in(
    system: _System,
    targets: list[int],
    sizes: npt.NDArray[np.float64],
    n: float,
    *,
    settled: tuple[set[int], set[int]] = (set(), set()),
    keep: Callable[[npt.NDArray[np.float64]], None] | None = None,
) -> set[int]:
    """Targets of one component the attacker bounds too tightly.

    ``settled`` holds the targets already shown to reach ``n`` and those shown to reach their
    lower level (by verified kept points); only the others need programs. ``keep`` receives
    every whole point the programs find.
    """
    floor = np.maximum(0.0, 2 * sizes - n)
    # Inside a published cell smaller than the threshold an atom cannot reach it.
    capped = {t for t in targets if system.ceiling[t] < n - _TOLERANCE}
    up_done, down_done = settled
    rising = [t for t in targets if t not in capped and t not in up_done]
    falling = [t for t in targets if t not in down_done]
    m = system.matrix.shape[1]

    def kept(
        program: Callable[[list[int]], npt.NDArray[np.float64] | None],
    ) -> Callable[[list[int]], npt.NDArray[np.float64] | None]:
        def sizes_of(ts: list[int]) -> npt.NDArray[np.float64] | None:
            found = program(ts)
            found = None if found is None else found[:m]
            if found is not None and keep is not None and _is_whole(found):
                keep(found)
            return found

        return sizes_of

    def whole(
        program: Callable[[list[int]], npt.NDArray[np.float64] | None],
    ) -> Callable[[list[int]], npt.NDArray[np.float64] | None] | None:
        return kept(program) if system.integral else None

    too_low: set[int] = set()
    if rising:
        _, too_low = _witnessed(
            rising, kept(_Reach(system, rising, up=True, level=np.full(len(rising), n))),
            whole(lambda ts: _reach_up(system, ts, n)), lambda x, t: x[t] >= n - _TOLERANCE,
        )  # fmt: skip
    too_high: set[int] = set()
    if falling:
        _, too_high = _witnessed(
            falling, kept(_Reach(system, falling, up=False, level=floor[np.asarray(falling)])),
            whole(lambda ts: _reach_down(system, ts, floor[np.asarray(ts)])),
            lambda x, t: x[t] <= floor[t] + _TOLERANCE,
        )  # fmt: skip
    return capped | too_low | too_high


def _ceiling(part: _Partition) -> npt.NDArray[np.float64]:
    """Per atom, the smallest published count holding it."""
    matrix = part.matrix
    counts = np.repeat(part.rhs, np.diff(matrix.indptr))
    ceiling = np.full(len(part.sizes), np.inf)
    np.minimum.at(ceiling, matrix.indices, counts)
    return ceiling


def _settled(
    points: npt.NDArray[np.float64], small: npt.NDArray[np.int64], sizes: Any, n: float
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """What verified points settle: per small atom, up to ``n`` and down to its floor.

    Also per point, whether it settles anything.
    """
    if not len(points):
        none = np.zeros(len(small), dtype=bool)
        return none, none, np.zeros(0, dtype=bool)
    floor = np.maximum(0.0, 2 * sizes[small].astype(np.float64) - n)
    at = points[:, small]
    up, down = at >= n - _TOLERANCE, at <= floor[None, :] + _TOLERANCE
    return (np.asarray(up.any(axis=0)), np.asarray(down.any(axis=0)),
            np.asarray((up | down).any(axis=1)))  # fmt: skip


@dataclass(frozen=True)
class _Stored:
    """Where one unit's witnesses are stored: the file, per release its chained digest."""

    file: KeptFile
    chain: list[str]  # per prefix of the unit's releases (1, 2, …)
    ledger: int  # how many of the unit's releases are the ledger's

    @staticmethod
    def boundaries(releases: Sequence[ReleasedCells]) -> list[int]:
        """Per prefix of releases, how many non-empty cells it holds."""
        out, total = [], 0
        for r in releases:
            total += sum(1 for s in r.cells.values() if s)
            out.append(total)
        return out


def _rows(part: _Partition, cells: int) -> int:
    """How many equations the first ``cells`` published cells give."""
    return max((row for _, row in part.names[:cells]), default=-1) + 1


def _load(
    stored: _Stored, part: _Partition, witnesses: Witnesses, unit: str, counts: list[int]
) -> None:
    """Add the file's frames over prefixes of these releases not read in yet (under the lock)."""
    wanted = stored.file.prefixes(unit) - witnesses.loaded
    for digest, cells in zip(stored.chain, counts, strict=True):
        if digest not in wanted:
            continue
        rows = _rows(part, cells)
        atoms = int(prefix_atoms(part.atoms, rows)[1].size)
        offsets = stored.file.stored(unit, digest, atoms)
        witnesses.loaded.add(digest)
        if offsets is not None and len(offsets):
            witnesses.add_stored(part.atoms, rows, offsets)


def _save(
    stored: _Stored,
    part: _Partition,
    *,
    witnesses: Witnesses,
    unit: str,
    counts: list[int],
    points: npt.NDArray[np.float64],
) -> None:
    """Store the verified points over the ledger's prefix and over all releases audited."""
    for b in sorted({stored.ledger, len(counts)} - {0}):
        digest = stored.chain[b - 1]
        stored.file.store(unit, digest, on_prefix(part.atoms, _rows(part, counts[b - 1]), points))
        witnesses.loaded.add(digest)


def _unit(
    releases: Sequence[ReleasedCells], integral: bool, bounds: bool, stored: _Stored | None = None
) -> _UnitAudit:
    """Audit one unit's releases."""
    threshold = max(r.threshold for r in releases)
    unit = releases[0].unit
    named = [(f"{r.release}: {c}", s) for r in releases for c, s in r.cells.items() if s]
    if not named:
        return _UnitAudit(0, 0, 0, 0, ())
    part = _Partition.build(named, unit)
    small = np.flatnonzero(part.sizes < threshold)
    if not len(small):
        return _UnitAudit(len(part.rhs), len(part.sizes), 0, 0, ())
    n = float(threshold)
    ceiling = _ceiling(part)
    counts = stored.boundaries(releases) if stored is not None else []
    with _NUMBERING_LOCK:
        witnesses = _NUMBERINGS[unit].witnesses if integral else Witnesses()
        if stored is not None and integral:
            _load(stored, part, witnesses, unit, counts)
        points = witnesses.lift(part.atoms)
    up, down, useful = _settled(points, small, part.sizes, n)
    up_done = {int(a) for a in small[up]}
    down_done = {int(a) for a in small[down]}
    fresh: list[npt.NDArray[np.float64]] = []
    atom_label, row_label = part.components()
    found: dict[int, tuple[float, float, list[str]]] = {}
    programs = 0
    pending = [int(a) for a in small if int(a) not in up_done or int(a) not in down_done]
    for component in np.unique(atom_label[pending]).tolist() if pending else []:
        atoms = np.flatnonzero(atom_label == component)
        local = {int(a): i for i, a in enumerate(atoms)}
        rows = np.flatnonzero(row_label == component)
        system = _System(part.matrix[rows][:, atoms].tocsr(), part.rhs[rows], ceiling[atoms],
                         integral)  # fmt: skip
        targets = [local[int(a)] for a in small if int(a) in local]
        settled = ({local[a] for a in up_done if a in local},
                   {local[a] for a in down_done if a in local})  # fmt: skip

        def keep(point: npt.NDArray[np.float64], atoms: Any = atoms) -> None:
            whole = part.sizes.astype(np.float64)
            whole[atoms] = np.round(point)
            fresh.append(whole)

        sizes = part.sizes[atoms].astype(np.float64)
        for t in sorted(_exposed_in(system, targets, sizes, n, settled=settled, keep=keep)):
            a = int(atoms[t])
            report = bounds and len(found) < _REPORTED
            low_high = _interval(system, t) if report else (np.nan, np.nan)
            found[a] = (*low_high, part.near(a, rows.tolist()))
        programs += system.programs
    if integral:
        new = verified(part.atoms, np.asarray(fresh)) if fresh else np.zeros((0, len(part.sizes)))
        with _NUMBERING_LOCK:
            witnesses.keep(part.atoms, distinct([points[useful], new], len(part.sizes)))
            if stored is not None and (len(points) or len(new)):
                every = distinct([points, new], len(part.sizes))
                _save(stored, part, witnesses=witnesses, unit=unit, counts=counts, points=every)
    members = part.members(found)
    exposed = tuple(
        AtomExposure(unit, members[a], low, high, tuple(near))
        for a, (low, high, near) in sorted(found.items())
    )
    return _UnitAudit(len(part.rhs), len(part.sizes), len(small), programs, exposed)


def _interval(system: _System, target: int) -> tuple[float, float]:
    """The attacker's exact bounds on one atom (for the hub's report)."""
    m = system.matrix.shape[1]
    objective = np.zeros(m)
    objective[target] = 1.0

    def optimum(cost: npt.NDArray[np.float64]) -> npt.NDArray[np.float64] | None:
        # A whole optimum of the relaxation is an integer optimum too (it bounds it and is
        # feasible); only a fractional one needs the integer program.
        point = system.solve(cost, [], np.zeros(0), relaxed=True)
        if system.integral and point is not None and not _is_whole(point):
            point = system.solve(cost, [], np.zeros(0))
        return point

    low, high = optimum(objective), optimum(-objective)
    lower = float(low[target]) if low is not None else 0.0
    upper = float(high[target]) if high is not None else float(system.ceiling[target])
    return lower, upper


def audit_ledger(
    releases: Iterable[ReleasedCells],
    *,
    integral: bool = True,
    bounds: bool = True,
    kept: KeptFile | None = None,
) -> LedgerAudit:
    """Bound every small atom of the released cells as an attacker holding all of them would.

    Args:
        releases: Everything the project has released, and the release being considered.
        integral: Whole atom sizes (an integer program per bound, what an attacker may
            assume) or the LP relaxation.
        bounds: Compute the exact bounds of the first exposure for the report (two more
            programs); without, its ``lower`` and ``upper`` are ``nan``.
        kept: The project's witnesses file (its digests aligned with ``releases``): frames
            over prefixes of these releases are read in, and what this audit keeps is written
            back. Stored points are only verified, never trusted: verdicts do not depend on it.

    Returns:
        The audit; :attr:`LedgerAudit.passed` is False when some group of 1 to
        ``threshold − 1`` members can be bounded more tightly than the threshold rule's
        protection levels.

    Raises:
        DisclosureCheckFailed: HiGHS failed.

    Example:
        >>> a = ReleasedCells("r1", {"ages 20-29": frozenset(map(str, range(40)))}, 10)
        >>> b = ReleasedCells("r2", {"ages 20-30": frozenset(map(str, range(42)))}, 10)
        >>> audit = audit_ledger([a, b])
        >>> audit.passed, audit.exposed[0].upper
        (False, 2.0)
        >>> audit.exposed[0].describe()
        'a group of fewer than the threshold is bounded by r2: ages 20-30, r1: ages 20-29'
    """
    given = list(releases)
    by_unit: dict[str, list[ReleasedCells]] = {}
    digests: dict[str, list[str]] = {}
    ledger: dict[str, int] = {}
    for i, r in enumerate(given):
        by_unit.setdefault(r.unit, []).append(r)
        if kept is not None:
            digests.setdefault(r.unit, []).append(f"{r.threshold}:{kept.digests[i]}")
            ledger[r.unit] = ledger.get(r.unit, 0) + (i < kept.ledger)
    parts: list[_UnitAudit] = []
    for unit in sorted(by_unit):
        stored = None
        if kept is not None:
            stored = _Stored(kept, chained(digests[unit]), ledger[unit])
        try:
            parts.append(_unit(by_unit[unit], integral, bounds, stored))
        except ValueError as e:  # HiGHS or SciPy refusing the system
            raise DisclosureCheckFailed(f"the ledger's attacker program failed ({e})") from e
    if kept is not None:
        kept.flush()
    return LedgerAudit(
        releases=len(given),
        cells=sum(p.cells for p in parts),
        atoms=sum(p.atoms for p in parts),
        small=sum(p.small for p in parts),
        programs=sum(p.programs for p in parts),
        exposed=tuple(e for p in parts for e in p.exposed),
    )
