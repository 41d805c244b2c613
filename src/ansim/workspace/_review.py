"""Review and release: a queue, independent approvals, separation of duties, release bundles.

Output checkers approve or reject submitted outputs with comments; an output is approved once
it has the number of independent approvals its policy asks for (default 2), each from a
different checker and none from its author. Releasing re-runs the differencing check against
everything released since the output was made, then the project ledger's attacker LP over
everything the project has released on any path (rate tables and protected tables through
:class:`~ansim.release.ReleaseService` too), writes the bundle (CSV, ACRO-compatible
``results.json``, checksums) and adds its tables to both ledgers. Every step is authorised and
audited by :class:`~ansim.governance.Governance`; a refusal on separation of duties is audited too.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from ansim.errors import AccessDenied, DisclosureCheckFailed, InvalidSpecError
from ansim.governance import Governance, Operation, Role
from ansim.release import ProjectLedger, ReleasedCells
from ansim.workspace._differencing import differencing_check
from ansim.workspace._outputs import (
    WORKSPACE_PREFIX,
    Output,
    OutputStatus,
    OutputStore,
    ReviewDecision,
)
from ansim.workspace._policy import CheckPolicy
from ansim.workspace._results import write_bundle

__all__ = ["Release", "Review"]


@dataclass(frozen=True)
class Release:
    """A released bundle: where it is and the checksum of every file."""

    directory: Path
    outputs: tuple[str, ...]
    checksums: dict[str, str]


class Review:
    """The output checkers' side of a project's workspace.

    Args:
        governance: The governance service.
        project: The project.
        home: The project's workspace directory in the hub (as given to the workspace).
    """

    def __init__(self, governance: Governance, project: str, home: Path) -> None:
        self.governance, self.project = governance, project
        self.outputs = OutputStore(home)

    def _refuse(self, actor: str, operation: Operation, reason: str) -> AccessDenied:
        self.governance.audit.append(
            actor=actor, role=Role.PUBLIC.value, action="access_denied", project=self.project,
            objects={"operation": operation.value, "reason": reason},
        )  # fmt: skip
        self.governance.audit.publish_head()
        return AccessDenied(reason)

    def queue(self) -> list[Output]:
        """Outputs awaiting review, oldest first (held outputs wait for their author)."""
        return [o for o in self.outputs.all() if o.status == OutputStatus.SUBMITTED]

    def approve(self, actor: str, output: str, comment: str = "") -> Output:
        """Approve a submitted output (one of the independent approvals it needs).

        Raises:
            AccessDenied: Not an output checker, the author, already reviewed it, or the
                output is not awaiting review.
        """
        return self._decide(actor, output, approve=True, comment=comment)

    def reject(self, actor: str, output: str, comment: str) -> Output:
        """Reject a submitted output, saying why.

        Raises:
            AccessDenied: See :meth:`approve`.
            InvalidSpecError: No comment.
        """
        return self._decide(actor, output, approve=False, comment=comment)

    def _decide(self, actor: str, output: str, *, approve: bool, comment: str) -> Output:
        found = self.outputs.get(output)
        if found.author == actor:
            raise self._refuse(
                actor, Operation.REVIEW_OUTPUT,
                "separation of duties: nobody reviews their own output",
            )  # fmt: skip
        if actor in {r.reviewer for r in found.reviews}:
            raise self._refuse(
                actor, Operation.REVIEW_OUTPUT,
                f"{actor!r} has already reviewed {output}: approvals must be independent",
            )  # fmt: skip
        if found.status != OutputStatus.SUBMITTED:
            raise AccessDenied(f"output {output} is {found.status}, not awaiting review")
        decision = ReviewDecision(
            actor, approve, comment.strip(), dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        )
        self.governance.authorize(
            actor, self.project, Operation.REVIEW_OUTPUT,
            objects={"output": output, "decision": "approve" if approve else "reject"},
        )  # fmt: skip
        reviews = (*found.reviews, decision)
        needed = CheckPolicy.from_dict(found.report.policy).approvals
        if not approve:
            status = OutputStatus.REJECTED
        elif sum(r.approve for r in reviews) >= needed:
            status = OutputStatus.APPROVED
        else:
            status = OutputStatus.SUBMITTED
        updated = found.evolve(reviews=reviews, status=status)
        self.outputs.save(updated)
        return updated

    def release(self, actor: str, outputs: list[str], directory: Path) -> Release:
        """Release approved outputs as one bundle and add their tables to the ledger.

        Args:
            actor: An output checker who authored none of them.
            outputs: Output ids.
            directory: Where the bundle is written (must not exist yet).

        Returns:
            The bundle.

        Raises:
            AccessDenied: Not an output checker, an author, or an output not approved.
            DisclosureCheckFailed: A release since the output was checked now lets it be
                differenced (and no exception was granted for it).
            InvalidSpecError: No outputs, or the directory exists.
        """
        if not outputs:
            raise InvalidSpecError("name at least one output to release")
        if directory.exists():
            raise InvalidSpecError(f"{directory} exists: release each bundle into a new directory")
        found = [self.outputs.get(o) for o in outputs]
        for item in found:
            if item.author == actor:
                raise self._refuse(
                    actor, Operation.RELEASE_OUTPUT,
                    "separation of duties: nobody releases their own output",
                )  # fmt: skip
            if item.status != OutputStatus.APPROVED:
                raise AccessDenied(f"output {item.id} is {item.status}: only approved ones go out")
        self._recheck(found)
        entries = self._ledger_entries(found)
        ledger = ProjectLedger(self.outputs.root)
        # The project's one ledger, across every release path; an exception granted by the
        # checkers covers what that output shows on its own, never what it adds to others.
        excepted = {f"{WORKSPACE_PREFIX}{o.id}" for o in found if o.exception}
        ledger.refuse_exposing(
            [e for e in entries if e.release not in excepted],
            excepted=[e for e in entries if e.release in excepted],
        )
        self.governance.authorize(
            actor, self.project, Operation.RELEASE_OUTPUT,
            objects={"outputs": ",".join(outputs), "directory": directory.name},
        )  # fmt: skip
        released = [o.evolve(status=OutputStatus.RELEASED) for o in found]
        checksums = write_bundle(released, directory)
        for item in released:
            self.outputs.save(item)
        self.outputs.add_to_ledger([o.id for o in released])
        ledger.record(entries)
        return Release(directory, tuple(outputs), checksums)

    def _ledger_entries(self, outputs: list[Output]) -> list[ReleasedCells]:
        """The outputs' published cells as the project's release ledger holds them."""
        entries = []
        for item in outputs:
            cells = self.outputs.cells(item.id)
            if cells:
                threshold = CheckPolicy.from_dict(item.report.policy).threshold
                entries.append(ReleasedCells(f"{WORKSPACE_PREFIX}{item.id}", cells, threshold))
        return entries

    def _recheck(self, outputs: list[Output]) -> None:
        ledger = self.outputs.released_cells()
        for item in outputs:
            cells = self.outputs.cells(item.id)
            if not cells:
                continue
            threshold = CheckPolicy.from_dict(item.report.policy).threshold
            result = differencing_check(cells, ledger, threshold)
            if not result.passed and not item.exception:
                raise DisclosureCheckFailed(
                    f"output {item.id} can now be differenced against released tables: "
                    f"{'; '.join(result.failing[:5])}; reject it or make a new table"
                )
            ledger = {**ledger, item.id: cells}
