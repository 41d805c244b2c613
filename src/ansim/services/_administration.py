"""Thin administration steps the flow needs: open a project with its team, hand out the head."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ansim.governance import Governance, ProjectApplication, Role

__all__ = ["AUDIT_HEAD_FILE", "Administration", "Member"]

AUDIT_HEAD_FILE = "audit-head.json"
"""The signed audit head's file name in every place it is handed to."""


@dataclass(frozen=True)
class Member:
    """A person to register and give one role in a project.

    Attributes:
        role: Their role in the project.
        custodian: For a custodian officer, whose officer they are.
        name: Their name (default: the user id).
        organisation: Their organisation.
    """

    role: Role
    custodian: str | None = None
    name: str = ""
    organisation: str = ""


@dataclass(frozen=True)
class Administration:
    """An administrator's steps over governance (who acts is the caller's authenticated user).

    Args:
        governance: The installation's governance.

    Example:
        >>> import tempfile
        >>> from ansim.services import TrialProject
        >>> trial = TrialProject.create(Path(tempfile.mkdtemp()), "p", {"a": "x"})
        >>> (head,) = Administration(trial.governance).hand_out_head([trial.root / "public"])
        >>> head.name, trial.governance.verify_audit().ok
        ('audit-head.json', True)
        >>> trial.close()
    """

    governance: Governance

    def open_project(
        self, actor: str, application: ProjectApplication, team: Mapping[str, Member]
    ) -> str:
        """Register the team, create the project, give each member their role, issue its key.

        The custodians' approvals are theirs to give (``Custodian.approve``).

        Returns:
            The project data key's id.

        Raises:
            AccessDenied: The actor is not an administrator, or a role grant is refused.
        """
        gov = self.governance
        for user, member in team.items():
            gov.register_user(actor, user, member.name or user, member.organisation or "-")
        gov.create_project(actor, application)
        for user, member in team.items():
            gov.add_member(actor, application.project, user, member.role,
                           custodian=member.custodian)  # fmt: skip
        return gov.issue_key(actor, application.project)

    def hand_out_head(self, places: Iterable[Path]) -> list[Path]:
        """Write the current signed audit head into each place (``<place>/audit-head.json``).

        Given to every custodian of the project (into their outbox) and to the public
        transparency register, so that a later rollback of the log is caught by
        ``ansim audit verify --head``.

        Raises:
            IntegrityError: The log has no events yet.
        """
        return [self.governance.export_head(place / AUDIT_HEAD_FILE) for place in places]
