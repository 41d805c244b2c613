"""One release path per project: review, two approvals, the ledger's attacker LP, then out.

Every number a project publishes goes through :class:`ReleaseService` — the rate table, a
protected table from ``disclose table``, the demo's portal tables, and workspace outputs
(:class:`~ansim.workspace.Review` enters each submitted output here and delegates every
decision and release to this service): the author submits a :class:`Candidate` (the files to
publish and, inside the hub, the member ids behind every published count); two output
checkers, neither the author nor each other, approve it; a checker who is not the author
releases it, and only if :func:`~ansim.release.audit_ledger` over everything the project has
released plus this candidate finds no exposed group. Roles, separation of duties and the audit
trail are :class:`~ansim.governance.Governance`'s (``submit_output``, ``review_output``,
``release_output``); the acting user is always the caller's authenticated actor.

A candidate may carry ``portal.json``, a :class:`~ansim.portal.PublishedTable` (validated at
submission); on release the service fills in the project, the release date and the approvers
and publishes it with :func:`ansim.portal.publish` into ``<portal home>/release/public``: the
portal's tables are written by this path and nothing else.

The project's ledger lives in the hub beside the workspace (``<home>/releases``); member ids
never leave it. Releases hold the ledger's lock (``fcntl``) from the audit to the record, so
two concurrent releases cannot both pass the attacker LP on a stale ledger.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ansim._atomic import write_bytes_atomic, write_text_atomic
from ansim.errors import AccessDenied, DisclosureCheckFailed, InvalidSpecError
from ansim.governance import Governance, Operation, Role
from ansim.release._kept import KeptFile, cells_digest, cells_text
from ansim.release._ledger import LedgerAudit, ReleasedCells, audit_ledger
from ansim.release._rates import ReleasedTable, release_files

if TYPE_CHECKING:
    from ansim.disclosure import ProtectedTable
    from ansim.portal import PublishedTable

__all__ = [
    "APPROVALS",
    "PORTAL_FILE",
    "Candidate",
    "ProjectLedger",
    "Published",
    "ReleaseKind",
    "ReleaseService",
    "ReleaseStatus",
    "Submission",
]

APPROVALS = 2
"""Independent approvals every release needs at least (distinct checkers, not the author)."""

PORTAL_FILE = "portal.json"
"""A candidate's file that the release publishes on the portal (a PublishedTable's JSON)."""

_PENDING_APPROVER = "pending"


class ReleaseKind(StrEnum):
    """What is released."""

    WORKSPACE = "workspace"
    RATE_TABLE = "rate_table"
    PROTECTED_TABLE = "protected_table"
    PORTAL_TABLE = "portal_table"
    DP_TABLE = "dp_table"
    DP_SYNTHETIC = "dp_synthetic"


class ReleaseStatus(StrEnum):
    """Where a submission is: (held →) submitted → approved → released, or rejected."""

    HELD = "held"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    RELEASED = "released"


def portal_table(
    data: bytes, *, project: str, approvers: Sequence[str], release_date: str
) -> PublishedTable:
    """A candidate's ``portal.json`` with the release's project, date and approvers filled in.

    Args:
        data: The JSON (its ``metadata`` may omit ``project``, ``release_date`` and
            ``approvers``: the release path sets them).
        project: The releasing project.
        approvers: Who approved it (``pending`` before the approvals).
        release_date: ``YYYY-MM-DD``.

    Returns:
        The validated table.

    Raises:
        InvalidSpecError: Not a valid published table.
    """
    from ansim.portal import PublishedTable  # noqa: PLC0415 - the portal imports plotly

    try:
        body = json.loads(data.decode("utf-8"))
        meta = body["metadata"]
        meta |= {"project": project, "release_date": release_date, "approvers": list(approvers)}
    except (UnicodeDecodeError, ValueError, KeyError, TypeError) as e:
        raise InvalidSpecError(
            f"{PORTAL_FILE} is not a published table ({type(e).__name__})"
        ) from e
    return PublishedTable.from_json(json.dumps(body, ensure_ascii=False))


@dataclass(frozen=True)
class Candidate:
    """What an author asks to publish.

    Args:
        kind: What it is.
        title: A short description for the checkers.
        files: File name → content, exactly as it would be published; ``portal.json``, if
            present, is a published table for the portal.
        cells: Each published count → the ids of its members (held in the hub, never
            published); withheld cells are not listed.
        threshold: Smallest group its rules allow to be isolated.
        unit: What the ids identify (``person``, or a declared contributor unit).

    Example:
        >>> Candidate(ReleaseKind.RATE_TABLE, "t", {}, {}, 10)
        Traceback (most recent call last):
        ...
        ansim.errors.InvalidSpecError: a release needs at least one file to publish
    """

    kind: ReleaseKind
    title: str
    files: Mapping[str, bytes]
    cells: Mapping[str, frozenset[str]]
    threshold: int
    unit: str = "person"

    def __post_init__(self) -> None:
        """Check the files and threshold."""
        if not self.files:
            raise InvalidSpecError("a release needs at least one file to publish")
        for name in self.files:
            if Path(name).name != name or name.startswith("."):
                raise InvalidSpecError(f"file name {name!r} must be a plain name")
        if self.threshold < 1:
            raise InvalidSpecError(f"threshold must be at least 1, got {self.threshold}")

    def with_portal(self, table: PublishedTable) -> Candidate:
        """The candidate with ``table`` to publish on the portal as its ``portal.json``."""
        files = {**self.files, PORTAL_FILE: table.to_json().encode("utf-8")}
        return replace(self, files=files)

    @classmethod
    def rate_table(cls, released: ReleasedTable, name: str = "rates") -> Candidate:
        """The rate table of ``ansim release table``: its CSV and summary, its counts' persons."""
        threshold = int(released.summary["spec"]["threshold"])
        return cls(
            ReleaseKind.RATE_TABLE, str(released.summary["table"]),
            release_files(released, name), released.members, threshold,
        )  # fmt: skip

    @classmethod
    def protected_table(
        cls,
        protected: ProtectedTable,
        *,
        threshold: int,
        unit: str,
        title: str = "",
        extra: Mapping[str, Any] | None = None,
        delimiter: str = ",",
    ) -> Candidate:
        """A protected table of ``disclose table``: ``table.csv``, ``report.json``, its cells.

        Args:
            protected: The table.
            threshold: The threshold its rules apply (the smallest group it may isolate).
            unit: What its contributor ids identify (e.g. ``firm``, or ``person``).
            title: A description for the checkers.
            extra: More facts for ``report.json``.
            delimiter: ``table.csv``'s field separator.

        Raises:
            InvalidSpecError: The table does not know its cells' members.
        """
        from ansim.disclosure import protected_table_files  # noqa: PLC0415 - SciPy on import

        cells = protected.cells
        if not cells.members:
            raise InvalidSpecError("the table has no member ids per cell: tabulate it again")
        hidden = protected.suppression.suppressed
        published = {
            " × ".join(label): members
            for label, members, h in zip(cells.labels, cells.members, hidden, strict=True)
            if not h
        }
        files = protected_table_files(protected, delimiter=delimiter, extra=extra)
        return cls(
            ReleaseKind.PROTECTED_TABLE, title or " × ".join(cells.dimensions), files, published,
            threshold, unit,
        )  # fmt: skip


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Submission:
    """A candidate's review state, as the ledger keeps it.

    Attributes:
        id: ``rel-0001`` …
        kind: What it is.
        title: Its description.
        author: Who submitted it.
        threshold: Its rules' threshold.
        unit: Its members' unit.
        files: File name → SHA-256 of what would be published.
        status: Review state.
        approvals: Checkers who approved it, in order.
        comments: Checkers' comments.
        audit: The ledger audit's summary at release (counts only).
        created: When it was submitted (UTC).
        needed: Approvals it needs (at least :data:`APPROVALS`).
        source: What it came from elsewhere in the hub (a workspace output id), if anything.
        entry: Its name in the project's ledger (default: its id).
        governed: Whether governance holds it as an output (submitted through this service);
            a workspace output's steps are authorised and audited as operations instead.
        exception: The author's reason for releasing it although its checks failed: what it
            exposes on its own is accepted, what it exposes together with others is not.
        portal: The id of the published table it carries for the portal, if any.
    """

    id: str
    kind: ReleaseKind
    title: str
    author: str
    threshold: int
    unit: str
    files: dict[str, str]
    status: ReleaseStatus = ReleaseStatus.SUBMITTED
    approvals: tuple[str, ...] = ()
    comments: tuple[str, ...] = ()
    audit: dict[str, Any] = field(default_factory=dict)
    created: str = field(default_factory=_now)
    needed: int = APPROVALS
    source: str = ""
    entry: str = ""
    governed: bool = True
    exception: str = ""
    portal: str = ""

    @property
    def ledger_name(self) -> str:
        """Its name in the project's ledger."""
        return self.entry or self.id

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON)."""
        return asdict(self) | {"kind": self.kind.value, "status": self.status.value}

    def files_readable_by(self, reader: str, *, checker: bool) -> bool:
        """Whether ``reader`` may read the files (and their checksums) now.

        Output checkers always; everyone of the project once released; before that the author
        only of a protected table, which the hub made from records the author uploaded (it
        shows them nothing they did not hold; a rate table or a DP table is made from the
        hub's linked data, which the author has not seen).
        """
        if checker or self.status is ReleaseStatus.RELEASED:
            return True
        return self.kind is ReleaseKind.PROTECTED_TABLE and reader == self.author

    def shown_to(self, reader: str, *, checker: bool) -> dict[str, Any]:
        """The submission as one reader of the project may see it (every route returns this).

        Until it is released its files are the output checkers' to review: a file's SHA-256
        would let anyone confirm a guess of its content, so analysts see the file names
        only (:meth:`files_readable_by`). The author sees the checkers' comments (what to
        change); the project's other analysts see its state only.

        Args:
            reader: The user asking.
            checker: Whether they are an output checker of the project.

        Returns:
            Plain data (JSON); ``withheld`` says what was left out and why.

        Example:
            >>> s = Submission("rel-0001", ReleaseKind.RATE_TABLE, "t", "ana", 10, "person",
            ...                {"rates.csv": "ab" * 32}, comments=("cell 3 is low",))
            >>> author, other = (s.shown_to(u, checker=False) for u in ("ana", "bo"))
            >>> author["files"], author["comments"], other["comments"]
            ({'rates.csv': ''}, ('cell 3 is low',), [])
        """
        full = self.to_dict()
        if self.files_readable_by(reader, checker=checker):
            return full
        withheld = full | {
            "files": dict.fromkeys(self.files, ""),
            "withheld": (
                "files and their checksums are the output checkers' until released / 반출 전 "
                "파일과 체크섬은 출력 검토자만 봅니다"
            ),
        }  # fmt: skip
        if reader != self.author:
            withheld |= {"comments": [], "exception": ""}
        return withheld

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Submission:
        """Read a submission back (also as a reader was shown it: ``withheld`` is dropped)."""
        return cls(
            **{
                **{k: v for k, v in data.items() if k != "withheld"},
                "kind": ReleaseKind(data["kind"]),
                "status": ReleaseStatus(data["status"]),
                "approvals": tuple(data["approvals"]),
                "comments": tuple(data["comments"]),
            }
        )


_held = threading.local()

# Per ledger folder, the released entries already read: id → (stamp, cells, cells digest).
_READ: dict[str, dict[str, tuple[tuple[Any, ...], ReleasedCells, str]]] = {}
# Per ledger folder, each distinct released member set once (most later cells repeat one).
_SAME: dict[str, dict[frozenset[str], frozenset[str]]] = {}
_READ_LOCK = threading.Lock()


class ProjectLedger:
    """A project's releases and the member ids behind their published counts, in the hub.

    Layout under ``<home>/releases``: ``ledger.json`` (released entries in order: id, unit,
    threshold and, for portal tables, the table's id and SHA-256), ``cells/<hash>.json``
    (member ids per published count), ``witnesses.json`` (the audits' kept witnesses, see
    :class:`~ansim.release._kept.KeptFile`), ``ledger.lock`` (the lock releases hold), and for the
    release service's own submissions ``submissions/<id>.json``, ``pending/<id>.json`` and
    ``files/<id>/<name>``.

    Args:
        home: The project's workspace directory in the hub.
    """

    def __init__(self, home: Path) -> None:
        self.root = home / "releases"

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the ledger's exclusive lock (re-entrant within a thread).

        Every release holds it from its audit to its record, and every submission while it
        takes an id; other processes and threads wait.
        """
        path = self.root / "ledger.lock"
        key = str(path.absolute())
        held: dict[str, int] = _held.__dict__.setdefault("paths", {})
        if held.get(key):
            held[key] += 1
            try:
                yield
            finally:
                held[key] -= 1
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            held[key] = 1
            try:
                yield
            finally:
                held.pop(key, None)
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _cells_path(self, entry: str) -> Path:
        name = hashlib.sha256(entry.encode()).hexdigest()[:24]
        return self.root / "cells" / f"{name}.json"

    def entries(self) -> list[dict[str, Any]]:
        """The released entries, oldest first."""
        path = self.root / "ledger.json"
        if not path.is_file():
            return []
        entries: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
        return entries

    def released(self) -> list[ReleasedCells]:
        """Everything the project has released, as the ledger audits it.

        Entries read before are reused while their cells file is unchanged (same inode, size
        and modification time), so an audit reads only what was released since, and hands the
        audit the very cell objects its kept numbering was built from.
        """
        return [r for r, _ in self._released()]

    def _released(self) -> list[tuple[ReleasedCells, str]]:
        """:meth:`released`, each with the SHA-256 of its cells file."""
        key = str(self.root.absolute())
        with _READ_LOCK:
            cache = _READ.setdefault(key, {})
            same = _SAME.setdefault(key, {})
        out = []
        for entry in self.entries():
            path = self._cells_path(entry["id"])
            stat = path.stat()
            stamp = (entry["id"], entry["threshold"], entry["unit"], stat.st_ino, stat.st_size,
                     stat.st_mtime_ns)  # fmt: skip
            hit = cache.get(entry["id"])
            if hit is None or hit[0] != stamp:
                raw = path.read_bytes()
                data = json.loads(raw)
                read = {name: frozenset(ids) for name, ids in data.items()}
                with _READ_LOCK:  # equal cells of different releases: one object
                    cells = {name: same.setdefault(m, m) for name, m in read.items()}
                released = ReleasedCells(entry["id"], cells, entry["threshold"], entry["unit"])
                hit = (stamp, released, cells_digest(raw))
                with _READ_LOCK:
                    cache[entry["id"]] = hit
            out.append((hit[1], hit[2]))
        return out

    def audit(self, new: Sequence[ReleasedCells], *, bounds: bool = True) -> LedgerAudit:
        """The attacker LP over everything released plus ``new``.

        The audit reads and writes the ledger's kept witnesses (``witnesses.json``, see
        :class:`~ansim.release._kept.KeptFile`), so a new process starts from what earlier
        audits found; they only save programs, never change the verdict.

        Args:
            new: The releases being considered.
            bounds: Compute the first exposure's exact bounds (see :func:`audit_ledger`).
        """
        released = self._released()
        digests = [d for _, d in released] + [cells_digest(cells_text(r.cells)) for r in new]
        kept = KeptFile(self.root / "witnesses.json", digests, len(released))
        return audit_ledger([*(r for r, _ in released), *new], bounds=bounds, kept=kept)

    def refuse_exposing(
        self, new: Sequence[ReleasedCells], *, excepted: Sequence[ReleasedCells] = ()
    ) -> LedgerAudit:
        """Audit ``new`` against the ledger and refuse it if it exposes a group.

        Only exposures ``new`` creates count: a group already exposed by what is in the ledger
        (released before the ledger existed, or under an exception) is not held against every
        later release. ``excepted`` releases go out under a checkers' exception: what they
        expose on their own is accepted, what they expose together with others is not.

        Raises:
            DisclosureCheckFailed: With ``new`` released, some group of 1 to threshold − 1
                members could be bounded more tightly than the protection levels.
        """
        audit = self.audit([*new, *excepted])
        if audit.passed:
            return audit
        before = audit_ledger([*self.released(), *excepted])
        known = [e.members for e in before.exposed]
        fresh = [e for e in audit.exposed if not any(e.members <= k for k in known)]
        if fresh:
            shown = "; ".join(e.describe() for e in fresh[:3])
            raise DisclosureCheckFailed(
                f"the project's release ledger refuses this release: {len(fresh)} group(s) of "
                f"fewer than the threshold could be bounded too tightly from everything "
                f"released ({shown}); withhold more or release a coarser table"
            )
        return audit

    def record(
        self, new: Sequence[ReleasedCells], portal: Mapping[str, Mapping[str, str]] | None = None
    ) -> None:
        """Add released cells to the ledger.

        Args:
            new: The released cells.
            portal: Per release, the portal table it published (``id`` and ``sha256``).

        Raises:
            InvalidSpecError: An entry of that id is already in the ledger.
        """
        with self.lock():
            entries = self.entries()
            taken = {e["id"] for e in entries}
            for item in new:
                if item.release in taken:
                    raise InvalidSpecError(f"{item.release!r} is already in the release ledger")
                write_text_atomic(cells_text(item.cells), self._cells_path(item.release))
                entry: dict[str, Any] = {
                    "id": item.release, "unit": item.unit, "threshold": item.threshold,
                }  # fmt: skip
                if portal and item.release in portal:
                    entry["portal"] = dict(portal[item.release])
                entries.append(entry)
            write_text_atomic(json.dumps(entries, indent=1), self.root / "ledger.json")


@dataclass(frozen=True)
class Published:
    """A release written out: where, which submissions, and the checksum of every file.

    Attributes:
        directory: Where its files are.
        submission: The (first) submission released.
        checksums: File name → SHA-256.
        audit: The ledger's audit at release.
        submissions: Every submission released together.
        portal: Paths of the portal tables published.
    """

    directory: Path
    submission: str
    checksums: dict[str, str]
    audit: LedgerAudit
    submissions: tuple[str, ...] = ()
    portal: tuple[Path, ...] = ()


class ReleaseService:
    """The one review-and-release path of a project (a library API; callers authenticate).

    Args:
        governance: The governance service (roles, separation of duties, audit).
        project: The project.
        home: The project's workspace directory in the hub (where its ledger lives).
        portal_home: The deployment home whose portal shows the released ``portal.json``
            tables (``<portal_home>/release/public``); None: candidates may not carry one.
    """

    def __init__(
        self, governance: Governance, project: str, home: Path, *, portal_home: Path | None = None
    ) -> None:
        self.governance, self.project = governance, project
        self.ledger = ProjectLedger(home)
        self.portal_home = portal_home

    # -- storage ------------------------------------------------------------------------------
    def _path(self, release: str) -> Path:
        if not (release.startswith("rel-") and release[4:].isdigit()):
            raise InvalidSpecError(f"release id {release!r} is not of the form rel-0001")
        return self.ledger.root / "submissions" / f"{release}.json"

    def _governed_id(self, release: str) -> str:
        """The id governance records (output ids are unique across projects)."""
        return f"{release}-{hashlib.sha256(self.project.encode()).hexdigest()[:16]}"

    def get(self, release: str) -> Submission:
        """A submission by id.

        Raises:
            InvalidSpecError: No such submission.
        """
        path = self._path(release)
        if not path.is_file():
            raise InvalidSpecError(f"project {self.project!r} has no release {release!r}")
        return Submission.from_dict(json.loads(path.read_text(encoding="utf-8")))

    def _save(self, submission: Submission) -> None:
        text = json.dumps(submission.to_dict(), ensure_ascii=False, indent=1)
        write_text_atomic(text, self._path(submission.id))

    def _files(self, release: str) -> dict[str, bytes]:
        folder = self.ledger.root / "files" / release
        if not folder.is_dir():
            return {}
        return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}

    def _cells(self, submission: Submission) -> ReleasedCells:
        path = self.ledger.root / "pending" / f"{submission.id}.json"
        data = json.loads(path.read_text(encoding="utf-8"))
        cells = {name: frozenset(ids) for name, ids in data.items()}
        return ReleasedCells(submission.ledger_name, cells, submission.threshold, submission.unit)

    def _write_cells(self, release: str, cells: Mapping[str, frozenset[str]]) -> None:
        data = {name: sorted(ids) for name, ids in cells.items()}
        write_text_atomic(json.dumps(data), self.ledger.root / "pending" / f"{release}.json")

    def _next_id(self) -> str:
        folder = self.ledger.root / "submissions"
        taken = [int(p.stem[4:]) for p in folder.glob("rel-*.json")]
        return f"rel-{max(taken, default=0) + 1:04d}"

    def queue(self) -> list[Submission]:
        """Submissions awaiting review, oldest first."""
        return [s for s in self.all() if s.status == ReleaseStatus.SUBMITTED]

    def all(self) -> list[Submission]:
        """Every submission, oldest first."""
        folder = self.ledger.root / "submissions"
        return [self.get(p.stem) for p in sorted(folder.glob("rel-*.json"))]

    def files(self, release: str) -> dict[str, bytes]:
        """What a submission would publish, for the checkers to read."""
        self.get(release)
        return self._files(release)

    def published_tables(self) -> dict[str, bytes]:
        """The portal tables this project released, by table id (as published)."""
        found = {}
        for entry in self.ledger.entries():
            if "portal" in entry:
                release = entry["id"]
                data = (self.ledger.root / "files" / release / PORTAL_FILE).read_bytes()
                found[entry["portal"]["id"]] = data
        return found

    # -- the path -----------------------------------------------------------------------------
    def submit(self, actor: str, candidate: Candidate) -> Submission:
        """The author submits a candidate for review.

        Raises:
            AccessDenied: The actor may not submit outputs in this project.
            InvalidSpecError: Its ``portal.json`` is not a valid published table, or this
                service has no portal to publish it on.
        """
        table_id = ""
        if PORTAL_FILE in candidate.files:
            if self.portal_home is None:
                raise InvalidSpecError(
                    f"this release path has no portal: a candidate may not carry {PORTAL_FILE}"
                )
            table = portal_table(
                candidate.files[PORTAL_FILE], project=self.project,
                approvers=[_PENDING_APPROVER], release_date=self.governance.today().isoformat(),
            )  # fmt: skip
            self._own_portal_id(table.id)
            table_id = table.id
        digests = {n: hashlib.sha256(d).hexdigest() for n, d in sorted(candidate.files.items())}
        content = json.dumps(digests, sort_keys=True).encode()
        with self.ledger.lock():
            release = self._next_id()
            self.governance.submit_output(actor, self.project, self._governed_id(release), content)
            for name, data in candidate.files.items():
                write_bytes_atomic(data, self.ledger.root / "files" / release / name)
            self._write_cells(release, candidate.cells)
            submission = Submission(
                release, candidate.kind, candidate.title, actor, candidate.threshold,
                candidate.unit, digests, portal=table_id,
            )  # fmt: skip
            self._save(submission)
        return submission

    def enter(
        self,
        source: str,
        *,
        author: str,
        title: str,
        threshold: int,
        cells: Mapping[str, frozenset[str]],
        status: ReleaseStatus,
        approvals: Sequence[str] = (),
        needed: int = APPROVALS,
        exception: str = "",
        entry: str = "",
    ) -> Submission:
        """The submission that stands for an output submitted elsewhere in the hub.

        A workspace output is submitted (or held) by its author in the workspace, which
        authorises and audits that step; its review and release then go through this
        service like every other release. The first call enters it; later calls return it,
        following the workspace's state (held → submitted on an exception) until a checker
        has decided on it.

        Args:
            source: The output's id (a plain name, e.g. ``out-0001``).
            author: Its author.
            title: What it is, for the checkers.
            threshold: Its rules' threshold.
            cells: Each published count → its persons' ids (empty for models).
            status: Its state in the workspace: held (or a draft), submitted, or — for an
                output reviewed before it was entered here — approved, rejected or released.
            approvals: Who approved it before it was entered here (its workspace record).
            needed: Approvals its policy asks for (at least :data:`APPROVALS`).
            exception: The author's reason for releasing it although its checks fail.
            entry: Its name in the ledger (default: its submission id).

        Raises:
            InvalidSpecError: The source is not a plain name.
        """
        if Path(source).name != source or source.startswith(".") or not source:
            raise InvalidSpecError(f"source {source!r} must be a plain name")
        index = self.ledger.root / "sources" / source
        undecided = {ReleaseStatus.HELD, ReleaseStatus.SUBMITTED}
        with self.ledger.lock():
            if index.is_file():
                found = self.get(index.read_text(encoding="utf-8").strip())
                follows = found.status in undecided and status in undecided
                if follows and not found.approvals and found.status != status:
                    found = replace(found, status=status, exception=exception)
                    self._save(found)
                return found
            release = self._next_id()
            self._write_cells(release, cells)
            submission = Submission(
                release, ReleaseKind.WORKSPACE, title, author, threshold, "person", {},
                status=status, approvals=tuple(approvals), needed=max(APPROVALS, needed),
                source=source, entry=entry, governed=False, exception=exception,
            )  # fmt: skip
            self._save(submission)
            write_text_atomic(release, index)
        return submission

    def _refuse(self, actor: str, operation: str, reason: str) -> AccessDenied:
        self.governance.audit.append(
            actor=actor, role=Role.PUBLIC.value, action="access_denied", project=self.project,
            objects={"operation": operation, "reason": reason},
        )  # fmt: skip
        self.governance.audit.publish_head()
        return AccessDenied(reason)

    def approve(self, actor: str, release: str, comment: str = "") -> Submission:
        """One of the independent approvals a release needs.

        Raises:
            AccessDenied: Not an output checker, the author, already approved it, or the
                submission is not awaiting review.
        """
        return self._decide(actor, release, approve=True, comment=comment)

    def reject(self, actor: str, release: str, comment: str) -> Submission:
        """Reject a submission, saying why.

        Raises:
            AccessDenied: See :meth:`approve`.
            InvalidSpecError: No comment.
        """
        if not comment.strip():
            raise InvalidSpecError("a rejection needs a comment saying what to change")
        return self._decide(actor, release, approve=False, comment=comment)

    def _decide(self, actor: str, release: str, *, approve: bool, comment: str) -> Submission:
        found = self.get(release)
        if found.author == actor:
            raise self._refuse(
                actor, "review_output", "separation of duties: nobody reviews their own output"
            )
        if actor in found.approvals:
            raise self._refuse(
                actor, "review_output",
                f"{actor!r} has already approved {release}: approvals must be independent",
            )  # fmt: skip
        if found.status != ReleaseStatus.SUBMITTED:
            raise AccessDenied(f"release {release} is {found.status}, not awaiting review")
        governed = self._governed_id(release)
        approvals = (*found.approvals, actor) if approve else found.approvals
        decisive = not approve or len(approvals) >= found.needed
        if found.governed and decisive:  # governance records it and moves the output on
            self.governance.review_output(actor, self.project, governed, approve=approve)
        else:
            self.governance.authorize(
                actor, self.project, Operation.REVIEW_OUTPUT,
                objects={
                    "output": governed if found.governed else found.source,
                    "decision": "approve" if approve else "reject",
                    "approvals": len(approvals),
                },
            )  # fmt: skip
        if not decisive:
            status = ReleaseStatus.SUBMITTED
        else:
            status = ReleaseStatus.APPROVED if approve else ReleaseStatus.REJECTED
        updated = replace(
            found, approvals=approvals, status=status,
            comments=(*found.comments, f"{actor}: {comment.strip()}") if comment.strip()
            else found.comments,
        )  # fmt: skip
        self._save(updated)
        return updated

    def audit(self, release: str) -> LedgerAudit:
        """What the ledger says of a submission if it were released now (nothing is changed)."""
        return self.ledger.audit([self._cells(self.get(release))])

    def release(self, actor: str, release: str, directory: Path) -> Published:
        """Publish an approved submission, if the ledger's attacker LP allows it.

        Args:
            actor: An output checker who is not its author.
            release: The submission.
            directory: Where its files are written (must not exist yet).

        Returns:
            The release.

        Raises:
            AccessDenied: Not an output checker, the author, or not approved.
            DisclosureCheckFailed: With it released, some group of fewer than the threshold
                could be bounded too tightly from everything the project has released.
            InvalidSpecError: The directory exists.
        """
        return self.release_together(actor, [release], directory)

    def release_together(
        self,
        actor: str,
        releases: Sequence[str],
        directory: Path,
        *,
        check: Callable[[], None] | None = None,
        write: Callable[[Path], dict[str, str]] | None = None,
    ) -> Published:
        """Publish approved submissions as one release, if the ledger's attacker LP allows it.

        Args:
            actor: An output checker who authored none of them.
            releases: The submissions.
            directory: Where their files are written (must not exist yet).
            check: A further check of the caller's, run after the access checks and before
                the ledger's (it raises to refuse).
            write: Writes the release's files into the directory and returns their checksums
                (default: each submission's files and a ``SHA256SUMS``).

        Returns:
            The release.

        Raises:
            AccessDenied: Not an output checker, an author, or one is not approved.
            DisclosureCheckFailed: With them released, some group of fewer than the threshold
                could be bounded too tightly from everything the project has released.
            InvalidSpecError: No submissions, or the directory exists.
        """
        if not releases:
            raise InvalidSpecError("name at least one submission to release")
        if directory.exists():
            raise InvalidSpecError(f"{directory} exists: release into a new directory")
        found = [self.get(r) for r in releases]
        for item in found:
            if item.author == actor:
                raise self._refuse(
                    actor, "release_output",
                    "separation of duties: nobody releases their own output",
                )  # fmt: skip
            if item.status != ReleaseStatus.APPROVED or len(set(item.approvals)) < item.needed:
                raise AccessDenied(
                    f"release {item.source or item.id} is {item.status}: only approved ones go out"
                )
        if check is not None:
            check()
        with self.ledger.lock():  # from the audit to the record: no release in between
            found = [self.get(r) for r in releases]
            if any(item.status != ReleaseStatus.APPROVED for item in found):
                raise AccessDenied("a submission was released meanwhile: only approved ones go out")
            cells = [self._cells(item) for item in found]
            excepted = [c for c, item in zip(cells, found, strict=True) if item.exception]
            try:
                audit = self.ledger.refuse_exposing(
                    [c for c, item in zip(cells, found, strict=True) if not item.exception],
                    excepted=excepted,
                )
            except DisclosureCheckFailed:
                self.governance.audit.append(
                    actor=actor, role=Role.PUBLIC.value, action="release_refused",
                    project=self.project,
                    objects={"outputs": ",".join(i.source or i.id for i in found),
                             "reason": "release ledger"},
                )  # fmt: skip
                self.governance.audit.publish_head()
                raise
            self._authorise_release(actor, found, directory)
            tables = self._portal_tables(found)
            checksums = self._write(found, directory) if write is None else write(directory)
            self.ledger.record(cells, {
                name: {"id": t.id, "sha256": hashlib.sha256(t.to_json().encode()).hexdigest()}
                for name, t in tables.items()
            })  # fmt: skip
            # In the ledger first: a table on the portal is always one the ledger released.
            home = self.portal_home
            paths = tuple(_publish_table(t, home) for t in tables.values() if home is not None)
            for item in found:
                self._save(replace(item, status=ReleaseStatus.RELEASED, audit=audit.summary()))
        return Published(directory, found[0].id, checksums, audit, tuple(releases), paths)

    def _authorise_release(self, actor: str, found: Sequence[Submission], directory: Path) -> None:
        governed = [i for i in found if i.governed]
        for item in governed:
            self.governance.release_output(actor, self.project, self._governed_id(item.id))
        others = [i.source or i.id for i in found if not i.governed]
        if others:
            self.governance.authorize(
                actor, self.project, Operation.RELEASE_OUTPUT,
                objects={"outputs": ",".join(others), "directory": directory.name},
            )  # fmt: skip

    def _write(self, found: Sequence[Submission], directory: Path) -> dict[str, str]:
        checksums = {}
        for item in found:
            for name, data in self._files(item.id).items():
                if name in checksums:
                    raise InvalidSpecError(f"two submissions publish a file named {name!r}")
                write_bytes_atomic(data, directory / name)
                checksums[name] = hashlib.sha256(data).hexdigest()
        write_text_atomic(
            "".join(f"{digest}  {name}\n" for name, digest in sorted(checksums.items())),
            directory / "SHA256SUMS",
        )
        return checksums

    def check_portal_id(self, table_id: str) -> None:
        """Refuse, before anything is spent, a portal table id another project published.

        Raises:
            InvalidSpecError: The portal shows a table of that id from another project.
        """
        self._own_portal_id(table_id)

    def _own_portal_id(self, table_id: str) -> None:
        """Refuse a portal table id another project already published.

        Raises:
            InvalidSpecError: The portal shows a table of that id from another project.
        """
        if self.portal_home is None:
            return
        from ansim.portal import PublishedTable, public_dir  # noqa: PLC0415 - imports plotly

        path = public_dir(self.portal_home) / f"{table_id}.json"
        if path.is_file():
            shown = PublishedTable.from_json(path.read_text(encoding="utf-8"))
            if shown.metadata.project != self.project:
                raise InvalidSpecError(
                    f"the portal already shows a table {table_id!r} of another project: "
                    "choose another id"
                )

    def _portal_tables(self, found: Sequence[Submission]) -> dict[str, PublishedTable]:
        """The portal tables of released submissions, filled in with their approvals (kept)."""
        tables = {}
        for item in found:
            data = self._files(item.id).get(PORTAL_FILE)
            if data is None:
                continue
            table = portal_table(
                data, project=self.project, approvers=item.approvals,
                release_date=self.governance.today().isoformat(),
            )  # fmt: skip
            self._own_portal_id(table.id)
            text = table.to_json().encode("utf-8")
            write_bytes_atomic(text, self.ledger.root / "files" / item.id / PORTAL_FILE)
            tables[item.ledger_name] = table
        return tables


def _publish_table(table: PublishedTable, home: Path) -> Path:
    """Publish a released table on the portal of ``home`` (through :func:`ansim.portal.publish`)."""
    from ansim.portal import publish  # noqa: PLC0415 - the portal imports plotly

    return publish(table, home)
