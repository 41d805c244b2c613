"""One release path per project: review, two approvals, the ledger's attacker LP, then out.

Every number a project publishes goes through :class:`ReleaseService` — the rate table, a
protected table from ``disclose table``, and (through :class:`~ansim.workspace.Review`, which
calls the same ledger) workspace bundles: the author submits a :class:`Candidate` (the files to
publish and, inside the hub, the member ids behind every published count); two output
checkers, neither the author nor each other, approve it; a checker who is not the author
releases it, and only if :func:`~ansim.release.audit_ledger` over everything the project has
released plus this candidate finds no exposed group. Roles, separation of duties and the audit
trail are :class:`~ansim.governance.Governance`'s (``submit_output``, ``review_output``,
``release_output``); the acting user is always the caller's authenticated actor.

The project's ledger lives in the hub beside the workspace (``<home>/releases``); member ids
never leave it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ansim._atomic import write_bytes_atomic, write_text_atomic
from ansim.errors import AccessDenied, DisclosureCheckFailed, InvalidSpecError
from ansim.governance import Governance, Operation, Role
from ansim.release._ledger import LedgerAudit, ReleasedCells, audit_ledger
from ansim.release._rates import ReleasedTable, release_files

if TYPE_CHECKING:
    from ansim.disclosure import ProtectedTable

__all__ = [
    "Candidate",
    "ProjectLedger",
    "Published",
    "ReleaseKind",
    "ReleaseService",
    "ReleaseStatus",
    "Submission",
]

APPROVALS = 2
"""Independent approvals every release needs (two distinct checkers, neither the author)."""


class ReleaseKind(StrEnum):
    """What is released."""

    WORKSPACE = "workspace"
    RATE_TABLE = "rate_table"
    PROTECTED_TABLE = "protected_table"


class ReleaseStatus(StrEnum):
    """Where a submission is: submitted → approved → released, or rejected."""

    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    RELEASED = "released"


@dataclass(frozen=True)
class Candidate:
    """What an author asks to publish.

    Args:
        kind: What it is.
        title: A short description for the checkers.
        files: File name → content, exactly as it would be published.
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
        cls, protected: ProtectedTable, *, threshold: int, unit: str, title: str = ""
    ) -> Candidate:
        """A protected table of ``disclose table``: ``table.csv``, ``report.json``, its cells.

        Args:
            protected: The table.
            threshold: The threshold its rules apply (the smallest group it may isolate).
            unit: What its contributor ids identify (e.g. ``firm``, or ``person``).
            title: A description for the checkers.

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
        return cls(
            ReleaseKind.PROTECTED_TABLE, title or " × ".join(cells.dimensions),
            protected_table_files(protected), published, threshold, unit,
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

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON)."""
        return asdict(self) | {"kind": self.kind.value, "status": self.status.value}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Submission:
        """Read a submission back."""
        return cls(
            **{
                **data,
                "kind": ReleaseKind(data["kind"]),
                "status": ReleaseStatus(data["status"]),
                "approvals": tuple(data["approvals"]),
                "comments": tuple(data["comments"]),
            }
        )


class ProjectLedger:
    """A project's releases and the member ids behind their published counts, in the hub.

    Layout under ``<home>/releases``: ``ledger.json`` (released entries in order: id, unit,
    threshold), ``cells/<id>.json`` (member ids per published count), and for the release
    service's own submissions ``submissions/<id>.json`` and ``files/<id>/<name>``.

    Args:
        home: The project's workspace directory in the hub.
    """

    def __init__(self, home: Path) -> None:
        self.root = home / "releases"

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
        """Everything the project has released, as the ledger audits it."""
        out = []
        for entry in self.entries():
            data = json.loads(self._cells_path(entry["id"]).read_text(encoding="utf-8"))
            cells = {name: frozenset(ids) for name, ids in data.items()}
            out.append(ReleasedCells(entry["id"], cells, entry["threshold"], entry["unit"]))
        return out

    def audit(self, new: Sequence[ReleasedCells]) -> LedgerAudit:
        """The attacker LP over everything released plus ``new``."""
        return audit_ledger([*self.released(), *new])

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

    def record(self, new: Sequence[ReleasedCells]) -> None:
        """Add released cells to the ledger.

        Raises:
            InvalidSpecError: An entry of that id is already in the ledger.
        """
        entries = self.entries()
        taken = {e["id"] for e in entries}
        for item in new:
            if item.release in taken:
                raise InvalidSpecError(f"{item.release!r} is already in the release ledger")
            cells = {name: sorted(ids) for name, ids in item.cells.items()}
            write_text_atomic(json.dumps(cells), self._cells_path(item.release))
            entries.append({"id": item.release, "unit": item.unit, "threshold": item.threshold})
        write_text_atomic(json.dumps(entries, indent=1), self.root / "ledger.json")


@dataclass(frozen=True)
class Published:
    """A release written out: where, which submission, and the checksum of every file."""

    directory: Path
    submission: str
    checksums: dict[str, str]
    audit: LedgerAudit


class ReleaseService:
    """The one review-and-release path of a project (a library API; callers authenticate).

    Args:
        governance: The governance service (roles, separation of duties, audit).
        project: The project.
        home: The project's workspace directory in the hub (where its ledger lives).
    """

    def __init__(self, governance: Governance, project: str, home: Path) -> None:
        self.governance, self.project = governance, project
        self.ledger = ProjectLedger(home)

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
        return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}

    def _cells(self, submission: Submission) -> ReleasedCells:
        path = self.ledger.root / "pending" / f"{submission.id}.json"
        data = json.loads(path.read_text(encoding="utf-8"))
        cells = {name: frozenset(ids) for name, ids in data.items()}
        return ReleasedCells(submission.id, cells, submission.threshold, submission.unit)

    def queue(self) -> list[Submission]:
        """Submissions awaiting review, oldest first."""
        folder = self.ledger.root / "submissions"
        found = [self.get(p.stem) for p in sorted(folder.glob("rel-*.json"))]
        return [s for s in found if s.status == ReleaseStatus.SUBMITTED]

    def files(self, release: str) -> dict[str, bytes]:
        """What a submission would publish, for the checkers to read."""
        self.get(release)
        return self._files(release)

    # -- the path -----------------------------------------------------------------------------
    def submit(self, actor: str, candidate: Candidate) -> Submission:
        """The author submits a candidate for review.

        Raises:
            AccessDenied: The actor may not submit outputs in this project.
        """
        folder = self.ledger.root / "submissions"
        taken = [int(p.stem[4:]) for p in folder.glob("rel-*.json")]
        release = f"rel-{max(taken, default=0) + 1:04d}"
        digests = {n: hashlib.sha256(d).hexdigest() for n, d in sorted(candidate.files.items())}
        content = json.dumps(digests, sort_keys=True).encode()
        self.governance.submit_output(actor, self.project, self._governed_id(release), content)
        for name, data in candidate.files.items():
            write_bytes_atomic(data, self.ledger.root / "files" / release / name)
        cells = {name: sorted(ids) for name, ids in candidate.cells.items()}
        write_text_atomic(json.dumps(cells), self.ledger.root / "pending" / f"{release}.json")
        submission = Submission(
            release, candidate.kind, candidate.title, actor, candidate.threshold,
            candidate.unit, digests,
        )  # fmt: skip
        self._save(submission)
        return submission

    def _refuse(self, actor: str, operation: str, reason: str) -> AccessDenied:
        self.governance.audit.append(
            actor=actor, role=Role.PUBLIC.value, action="access_denied", project=self.project,
            objects={"operation": operation, "reason": reason},
        )  # fmt: skip
        self.governance.audit.publish_head()
        return AccessDenied(reason)

    def approve(self, actor: str, release: str, comment: str = "") -> Submission:
        """One of the two independent approvals a release needs.

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
                actor, "review_output", "separation of duties: nobody reviews their own release"
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
        if approve and len(approvals) < APPROVALS:
            self.governance.authorize(
                actor, self.project, Operation.REVIEW_OUTPUT,
                objects={"output": governed, "decision": "approve", "approvals": len(approvals)},
            )  # fmt: skip
            status = ReleaseStatus.SUBMITTED
        else:  # the decisive review: governance records it and moves the output on
            self.governance.review_output(actor, self.project, governed, approve=approve)
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
        found = self.get(release)
        if directory.exists():
            raise InvalidSpecError(f"{directory} exists: release into a new directory")
        if found.author == actor:
            raise self._refuse(
                actor, "release_output", "separation of duties: nobody releases their own output"
            )
        if found.status != ReleaseStatus.APPROVED or len(set(found.approvals)) < APPROVALS:
            raise AccessDenied(f"release {release} is {found.status}: only approved ones go out")
        cells = self._cells(found)
        try:
            audit = self.ledger.refuse_exposing([cells])
        except DisclosureCheckFailed as e:
            self.governance.audit.append(
                actor=actor, role=Role.PUBLIC.value, action="release_refused",
                project=self.project,
                objects={"output": self._governed_id(release), "reason": "release ledger"},
            )  # fmt: skip
            self.governance.audit.publish_head()
            raise e
        self.governance.release_output(actor, self.project, self._governed_id(release))
        files = self._files(release)
        checksums = {}
        for name, data in files.items():
            write_bytes_atomic(data, directory / name)
            checksums[name] = hashlib.sha256(data).hexdigest()
        write_text_atomic(
            "".join(f"{digest}  {name}\n" for name, digest in sorted(checksums.items())),
            directory / "SHA256SUMS",
        )
        self.ledger.record([cells])
        self._save(replace(found, status=ReleaseStatus.RELEASED, audit=audit.summary()))
        return Published(directory, release, checksums, audit)
