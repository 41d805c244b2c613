"""Review and release: a queue, independent approvals, separation of duties, release bundles.

Output checkers approve or reject submitted outputs with comments; an output is approved once
it has the number of independent approvals its policy asks for (default 2, never fewer), each
from a different checker and none from its author. The decisions and the release are the
project's one release path, :class:`~ansim.release.ReleaseService`: each submitted output is
entered there as a submission, every decision is the service's, and the release is the
service's too — after re-running the differencing check against everything released since the
output was made, it runs the project ledger's attacker LP over everything the project has
released on any path, writes the bundle (CSV, ACRO-compatible ``results.json``, checksums) and
adds its tables to the ledger. This class keeps the workspace's view of each output (its
reviews and status) in step. Every step is authorised and audited by
:class:`~ansim.governance.Governance`; a refusal on separation of duties is audited too.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from ansim.errors import DisclosureCheckFailed
from ansim.governance import Governance
from ansim.release import ReleaseService, ReleaseStatus, Submission
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

_STATUS = {
    ReleaseStatus.SUBMITTED: OutputStatus.SUBMITTED,
    ReleaseStatus.APPROVED: OutputStatus.APPROVED,
    ReleaseStatus.REJECTED: OutputStatus.REJECTED,
    ReleaseStatus.RELEASED: OutputStatus.RELEASED,
}


_ENTERED = {v: k for k, v in _STATUS.items()}  # drafts and held outputs: held


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
        self.service = ReleaseService(governance, project, home)

    def queue(self) -> list[Output]:
        """Outputs awaiting review, oldest first (held outputs wait for their author)."""
        return [o for o in self.outputs.all() if o.status == OutputStatus.SUBMITTED]

    def _entered(self, output: Output) -> Submission:
        """The output's submission on the project's release path (entered on first use)."""
        policy = CheckPolicy.from_dict(output.report.policy)
        return self.service.enter(
            output.id, author=output.author, title=f"{output.id}: {output.command}",
            threshold=policy.threshold, cells=self.outputs.cells(output.id),
            status=_ENTERED.get(output.status, ReleaseStatus.HELD),
            approvals=output.approvals, needed=policy.approvals,
            exception=output.exception, entry=f"{WORKSPACE_PREFIX}{output.id}",
        )  # fmt: skip

    def approve(self, actor: str, output: str, comment: str = "") -> Output:
        """Approve a submitted output (one of the independent approvals it needs).

        Raises:
            AccessDenied: Not an output checker, the author, already reviewed it, or the
                output is not awaiting review.
        """
        found = self.outputs.get(output)
        decided = self.service.approve(actor, self._entered(found).id, comment)
        return self._follow(found, decided, actor, approve=True, comment=comment)

    def reject(self, actor: str, output: str, comment: str) -> Output:
        """Reject a submitted output, saying why.

        Raises:
            AccessDenied: See :meth:`approve`.
            InvalidSpecError: No comment.
        """
        found = self.outputs.get(output)
        decided = self.service.reject(actor, self._entered(found).id, comment)
        return self._follow(found, decided, actor, approve=False, comment=comment)

    def _follow(
        self, found: Output, decided: Submission, actor: str, *, approve: bool, comment: str
    ) -> Output:
        """The workspace's copy of a decision the release service made."""
        decision = ReviewDecision(
            actor, approve, comment.strip(), dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        )
        updated = found.evolve(reviews=(*found.reviews, decision), status=_STATUS[decided.status])
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
                differenced (and no exception was granted for it), or the project's ledger
                refuses it.
            InvalidSpecError: No outputs, or the directory exists.
        """
        found = [self.outputs.get(o) for o in outputs]
        entered = [self._entered(o).id for o in found]
        released = [o.evolve(status=OutputStatus.RELEASED) for o in found]
        published = self.service.release_together(
            actor, entered, directory, check=lambda: self._recheck(found),
            write=lambda folder: write_bundle(released, folder),
        )  # fmt: skip
        for item in released:
            self.outputs.save(item)
        self.outputs.add_to_ledger([o.id for o in released])
        return Release(directory, tuple(outputs), published.checksums)

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
