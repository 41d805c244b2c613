"""What the ledger's audit keeps between audits: the members' numbering and the witnesses.

A project's audits all read the same released cells again, plus a candidate (or a candidate
with some cells withheld since). Two things carry over:

- :class:`Numbering`: member ids numbered and signed cell by cell. Identical cells (the same
  member set, under any name) are one row: they add no equation and split no atom. The
  numbering of the longest prefix of cells equal to the last audit's is kept; only the cells
  after it are read.
- :class:`Witnesses`: whole-number atom sizes that satisfy every equation of some earlier
  audit (the programs' optima, and points carried over before). An audit lifts each onto its
  own atoms and keeps it only if it **verifies**: whole, non-negative, and every published
  count exactly the sum of its atoms. A verified point is a feasible attacker solution, so any
  atom it takes up to the threshold (or down to its lower level) is shown protected without a
  program; atoms no kept point settles go to the programs, which alone decide an exposure.
  Kept points can therefore save programs but never change a verdict.
- :class:`KeptFile`: the witnesses on disk beside the ledger (``releases/witnesses.json``), so
  that a new process's first audit starts from them too. Each stored frame is over the atoms of
  a *prefix* of the audited releases (the ledger's, and the ledger's plus the candidate's),
  named by a chained SHA-256 of those releases' cells files: atoms are numbered canonically
  (by the equations holding them), so the frame is read back onto any later audit whose
  releases begin with the same cells; a stale, tampered or malformed file matches nothing or
  fails verification, and costs at most the programs it would have saved. Values are atom
  sizes as offsets from the true sizes (whole numbers, deflated); no member id is written.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

_TOLERANCE = 1e-6
_FRAMES = 4  # audits whose points are kept
_POINTS = 48  # points kept per audit
_VERSION = 1  # of the witnesses file
_STORED = _POINTS  # points stored per frame on disk
_MAX_BYTES = 8 << 20  # a larger witnesses file is not read


@dataclass(frozen=True)
class Atoms:
    """One audit's atoms as the witnesses need them."""

    codes: npt.NDArray[np.int64]  # the numbering codes of the members present
    atom_of: npt.NDArray[np.int64]  # per member present, its atom
    sizes: npt.NDArray[np.int64]  # per atom, its true size
    matrix: Any  # distinct cells × atoms, 0/1 (CSR)
    rhs: npt.NDArray[np.float64]  # per distinct cell, its count


@dataclass(frozen=True)
class _Frame:
    """Points of one earlier audit, over its atoms."""

    atom_of_code: npt.NDArray[np.int64]  # per numbering code, its atom (-1: none)
    sizes: npt.NDArray[np.float64]  # per atom, its true size
    points: npt.NDArray[np.float64]  # points × atoms


def verified(atoms: Atoms, points: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """The rows of ``points`` that are whole, non-negative solutions of every equation."""
    if not len(points):
        return points
    whole = np.all(np.abs(points - np.round(points)) <= _TOLERANCE, axis=1)
    positive = np.all(points >= -_TOLERANCE, axis=1)
    residual = np.abs(np.asarray(atoms.matrix @ points.T) - atoms.rhs[:, None])
    exact = np.all(residual <= _TOLERANCE, axis=0) if residual.size else np.ones(len(points), bool)
    kept: npt.NDArray[np.float64] = np.round(points[whole & positive & exact])
    return kept


def distinct(parts: Sequence[npt.NDArray[np.float64]], width: int) -> npt.NDArray[np.float64]:
    """The rows of ``parts`` stacked, each distinct row once (first kept)."""
    seen: dict[bytes, npt.NDArray[np.float64]] = {}
    for part in parts:
        for row in part:
            seen.setdefault(row.tobytes(), row)
    return np.vstack(list(seen.values())) if seen else np.zeros((0, width))


@dataclass
class Witnesses:
    """Whole attacker solutions of earlier audits, lifted and verified for the next one."""

    frames: list[_Frame] = field(default_factory=list)
    loaded: set[str] = field(default_factory=set)  # stored frames read in (their digests)

    def lift(self, atoms: Atoms) -> npt.NDArray[np.float64]:
        """Every kept point carried onto ``atoms`` that verifies there (points × atoms)."""
        found = [verified(atoms, self._carry(frame, atoms)) for frame in self.frames]
        return distinct(found, len(atoms.sizes))

    @staticmethod
    def _carry(frame: _Frame, atoms: Atoms) -> npt.NDArray[np.float64]:
        """A frame's points on these atoms: true sizes, plus each old atom's excess on one.

        An old atom's excess over its true size goes to one new atom holding some of its
        members: the one in the fewest published cells, the largest among those. The result
        is only a proposal: :func:`verified` decides whether it is a solution.
        """
        from scipy.sparse import csr_matrix  # type: ignore[import-untyped]  # noqa: PLC0415

        n_new = len(atoms.sizes)
        old_of = np.full(len(atoms.codes), -1, dtype=np.int64)
        inside = atoms.codes < len(frame.atom_of_code)
        old_of[inside] = frame.atom_of_code[atoms.codes[inside]]
        if len(frame.sizes) == n_new and np.array_equal(old_of, atoms.atom_of):
            return frame.points  # the same atoms (no cell split one): the points as they are
        valid = old_of >= 0
        pairs = np.unique(old_of[valid] * n_new + atoms.atom_of[valid])
        old, new = pairs // n_new, pairs % n_new
        degree = np.asarray(atoms.matrix.sum(axis=0)).ravel()
        order = np.lexsort((-atoms.sizes[new], degree[new], old))
        old, new = old[order], new[order]
        first = np.ones(len(old), dtype=bool)
        first[1:] = old[1:] != old[:-1]
        old, new = old[first], new[first]
        carry = csr_matrix(
            (np.ones(len(old)), (old, new)), shape=(len(frame.sizes), n_new)
        )  # fmt: skip
        excess = frame.points - frame.sizes[None, :]
        moved = np.asarray((carry.T @ excess.T).T, dtype=np.float64)
        carried: npt.NDArray[np.float64] = atoms.sizes.astype(np.float64)[None, :] + moved
        return carried

    def keep(self, atoms: Atoms, points: npt.NDArray[np.float64]) -> None:
        """Keep ``points`` (verified solutions over ``atoms``) for later audits."""
        if not len(points):
            return
        size = int(atoms.codes.max()) + 1 if len(atoms.codes) else 0
        atom_of_code = np.full(size, -1, dtype=np.int64)
        atom_of_code[atoms.codes] = atoms.atom_of
        frame = _Frame(atom_of_code, atoms.sizes.astype(np.float64), points[:_POINTS])
        self.frames = [*self.frames[-(_FRAMES - 1) :], frame]

    def add_stored(self, atoms: Atoms, rows: int, offsets: npt.NDArray[np.float64]) -> None:
        """Add a stored frame over the atoms of the first ``rows`` equations of ``atoms``."""
        prefix, sizes = prefix_atoms(atoms, rows)
        if offsets.shape[1] != len(sizes):
            return  # not over these atoms: stale or tampered
        size = int(atoms.codes.max()) + 1 if len(atoms.codes) else 0
        atom_of_code = np.full(size, -1, dtype=np.int64)
        atom_of_code[atoms.codes] = prefix[atoms.atom_of]
        frame = _Frame(atom_of_code, sizes, sizes[None, :] + offsets)
        self.frames = [*self.frames[-(_FRAMES - 1) :], frame]


def prefix_atoms(atoms: Atoms, rows: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Per atom, its atom over the first ``rows`` equations only (-1: in none); their sizes.

    Those atoms are numbered canonically, in the order of the sorted lists of equations
    holding them, so another process numbers the same equations' atoms the same way.
    """
    head = atoms.matrix[:rows].tocsc()
    head.sort_indices()
    patterns = [
        tuple(head.indices[head.indptr[a] : head.indptr[a + 1]].tolist())
        for a in range(head.shape[1])
    ]
    index = {p: i for i, p in enumerate(sorted({p for p in patterns if p}))}
    of = np.fromiter((index.get(p, -1) for p in patterns), np.int64, len(patterns))
    inside = of >= 0
    sizes = np.bincount(of[inside], weights=atoms.sizes[inside], minlength=len(index))
    return of, np.asarray(sizes, dtype=np.float64)


def on_prefix(atoms: Atoms, rows: int, points: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Points over ``atoms`` summed onto the atoms of the first ``rows`` equations.

    Returned as offsets from those atoms' true sizes, each distinct point once (a solution of
    all equations solves the first ``rows``).
    """
    prefix, sizes = prefix_atoms(atoms, rows)
    out = np.zeros((len(points), len(sizes)))
    inside = prefix >= 0
    np.add.at(out.T, prefix[inside], points[:, inside].T)
    summed: npt.NDArray[np.float64] = np.unique(out - sizes[None, :], axis=0)
    return summed


def cells_text(cells: Mapping[str, frozenset[str]]) -> str:
    """A release's cells as the ledger stores them (``cells/<hash>.json``)."""
    return json.dumps({name: sorted(ids) for name, ids in cells.items()})


def cells_digest(text: str | bytes) -> str:
    """SHA-256 of a release's stored cells (what names a prefix of the ledger)."""
    return hashlib.sha256(text.encode() if isinstance(text, str) else text).hexdigest()


def chained(digests: Sequence[str]) -> list[str]:
    """Per prefix of releases (1, 2, …), one digest of all their cells in order."""
    out: list[str] = []
    last = ""
    for digest in digests:
        last = hashlib.sha256(f"{last}:{digest}".encode()).hexdigest()
        out.append(last)
    return out


class KeptFile:
    """The kept witnesses of one project's ledger, in ``witnesses.json`` beside it.

    Args:
        path: The file.
        digests: Per release given to the audit (in order), :func:`cells_digest` of its cells.
        ledger: How many of those releases are the ledger's (the rest are candidates).
    """

    def __init__(self, path: Path, digests: Sequence[str], ledger: int) -> None:
        """Nothing is read until a unit asks."""
        self.path = path
        self.digests = list(digests)
        self.ledger = ledger
        self._text: str | None = None
        self._units: dict[str, dict[str, Any]] | None = None
        self._written: dict[str, dict[str, Any]] = {}

    def _read(self) -> dict[str, dict[str, Any]]:
        """The file's frames per unit; nothing if it is missing, too large or malformed."""
        if self._units is None:
            self._units = {}
            try:
                if self.path.stat().st_size <= _MAX_BYTES:
                    self._text = self.path.read_text(encoding="utf-8")
                    data = json.loads(self._text)
                    if isinstance(data, dict) and data.get("version") == _VERSION:
                        units = data.get("units")
                        if isinstance(units, dict):
                            self._units = {
                                str(u): f for u, f in units.items() if isinstance(f, dict)
                            }
            except (OSError, ValueError):
                self._units = {}
        return self._units

    def prefixes(self, unit: str) -> set[str]:
        """The prefixes ``unit`` has stored frames over."""
        return set(self._read().get(unit, {}))

    def stored(self, unit: str, digest: str, atoms: int) -> npt.NDArray[np.float64] | None:
        """The offsets stored for ``unit`` over the prefix named ``digest``, if well formed."""
        frame = self._read().get(unit, {}).get(digest)
        try:
            if not isinstance(frame, dict) or frame.get("atoms") != atoms or atoms <= 0:
                return None
            points, packed = frame["points"], frame["offsets"]
            if not isinstance(points, int) or not 0 < points <= _STORED:
                return None
            width = frame.get("width", 4)
            if width not in {2, 4}:
                return None
            size = points * atoms * width
            unpack = zlib.decompressobj()
            raw = unpack.decompress(base64.b64decode(packed, validate=True), size + 1)
            if len(raw) != size:
                return None
            whole = np.frombuffer(raw, dtype=f"<i{width}").reshape(points, atoms)
            return whole.astype(np.float64)
        except (KeyError, TypeError, ValueError, zlib.error):
            return None

    def store(self, unit: str, digest: str, offsets: npt.NDArray[np.float64]) -> None:
        """Keep the offsets of ``unit`` over the prefix named ``digest`` for :meth:`flush`.

        They are whole numbers, stored as little-endian 16-bit integers (32-bit if one does
        not fit), deflated, base64.
        """
        whole = np.round(offsets[:_STORED])
        width = 2 if not whole.size or np.abs(whole).max() < 2**15 else 4
        packed = zlib.compress(whole.astype(f"<i{width}").tobytes(), 9)
        frames = self._written.setdefault(unit, {})
        frames[digest] = {"atoms": int(offsets.shape[1]), "points": len(whole), "width": width,
                          "offsets": base64.b64encode(packed).decode("ascii")}  # fmt: skip

    def flush(self) -> None:
        """Write the stored frames atomically if they differ from the file's."""
        if not self._written:
            return
        from ansim._atomic import write_text_atomic  # noqa: PLC0415

        units = dict(self._read())
        units.update(self._written)
        text = json.dumps({"version": _VERSION, "units": units}, separators=(",", ":"))
        if text != self._text:
            write_text_atomic(text, self.path)
            self._text = text


@dataclass
class Numbering:
    """Member ids numbered and signed row by row (one row per distinct member set)."""

    cells: list[frozenset[str]] = field(default_factory=list)  # the last audit's, in order
    row_of: list[int] = field(default_factory=list)  # per cell, its row
    rows: dict[frozenset[str], int] = field(default_factory=dict)  # member set → row
    row_sets: list[frozenset[str]] = field(default_factory=list)  # per row, its members
    columns: list[npt.NDArray[np.int64]] = field(default_factory=list)  # per row, codes
    keys: list[npt.NDArray[np.uint64]] = field(default_factory=list)  # per row, its key
    ids: npt.NDArray[Any] = field(default_factory=lambda: np.zeros(0, dtype=object))  # by code
    # per member, the sum of the keys of the rows holding it (modulo 2**64)
    signature: npt.NDArray[np.uint64] = field(
        default_factory=lambda: np.zeros((0, 2), dtype=np.uint64)
    )
    # whole solutions of earlier audits, over these codes (integer programs only)
    witnesses: Witnesses = field(default_factory=Witnesses)

    def extend(self, cells: Sequence[frozenset[str]]) -> None:
        """Make the numbering that of ``cells``, reusing the common prefix."""
        keep = 0
        for old, new in zip(self.cells, cells, strict=False):
            if old is not new:
                if old != new:
                    break
                self.cells[keep] = new  # the next audit compares by identity
            keep += 1
        if keep < len(self.cells):  # drop the rows first read after the common prefix
            kept_rows = max(self.row_of[:keep]) + 1 if keep else 0
            signature = self.signature.copy()
            for idx, key in zip(self.columns[kept_rows:], self.keys[kept_rows:], strict=True):
                signature[idx] -= key  # wraps back: the sums are modulo 2**64
            self.signature = signature
            for members in self.row_sets[kept_rows:]:
                del self.rows[members]
            del self.cells[keep:], self.row_of[keep:], self.row_sets[kept_rows:]
            del self.columns[kept_rows:], self.keys[kept_rows:]
        fresh: list[frozenset[str]] = []
        for members in cells[keep:]:
            row = self.rows.setdefault(members, len(self.rows))
            if row == len(self.row_sets) + len(fresh):
                fresh.append(members)
            self.cells.append(members)
            self.row_of.append(row)
        if fresh:
            self._number(fresh)

    def _number(self, fresh: list[frozenset[str]]) -> None:
        """Number the members of new rows and add their keys to the signatures."""
        import pandas as pd  # noqa: PLC0415 - only the audit needs it

        lengths = np.fromiter((len(m) for m in fresh), np.int64, len(fresh))
        flat = np.fromiter((p for members in fresh for p in members), object, int(lengths.sum()))
        # One hash-based lookup and factorisation in C (pandas), not a Python loop per member.
        known = np.asarray(pd.Index(self.ids).get_indexer(flat), dtype=np.int64)
        missing = known < 0
        codes, uniques = pd.factorize(flat[missing])
        known[missing] = np.asarray(codes, dtype=np.int64) + len(self.ids)
        self.ids = np.concatenate([self.ids, np.asarray(uniques, dtype=object)])
        grown = len(self.ids) - len(self.signature)
        if grown:
            self.signature = np.vstack([self.signature, np.zeros((grown, 2), dtype=np.uint64)])
        rng = np.random.default_rng(secrets.randbits(128))
        for members, idx in zip(fresh, np.split(known, np.cumsum(lengths)[:-1]), strict=True):
            key = rng.integers(0, np.iinfo(np.uint64).max, 2, np.uint64, endpoint=True)
            self.row_sets.append(members)
            self.columns.append(idx)
            self.keys.append(key)
            self.signature[idx] += key
