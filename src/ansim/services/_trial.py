"""A throwaway governed project in one folder, for ``ansim link``, tests and examples."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ansim.governance import (
    DatasetRequest,
    Governance,
    KeyProvider,
    ProjectApplication,
    Purpose,
    Role,
)
from ansim.packages import PartyKeyStore, introduce
from ansim.services._administration import Administration, Member
from ansim.services._custodian import Custodian
from ansim.services._hub import Hub
from ansim.services._linkage import LinkageUnit

__all__ = ["TrialKeys", "TrialProject"]

_SAFE = re.compile(r"^[a-z][a-z0-9_\-]{0,40}$")
ADMIN, LINKER, HUB_OPERATOR, ANALYST = "admin", "operator.linkage", "operator.hub", "analyst"


class TrialKeys:
    """Root secrets for one trial run, held in memory and forgotten after it.

    Not a key store: nothing protects data under these keys beyond the run.

    Example:
        >>> len(TrialKeys().secret("master"))
        32
    """

    description = "trial keys held in memory for one run (not for data that must stay secret)"

    def __init__(self) -> None:
        self._secrets = {p: secrets.token_bytes(32) for p in ("master", "audit_signing")}

    def secret(self, purpose: str) -> bytes:
        """The 32-byte secret for ``master`` or ``audit_signing``."""
        return self._secrets[purpose]


@dataclass(frozen=True)
class TrialProject:
    """One project in a throwaway installation: every party, user and key made for the run.

    Users: ``admin``, ``officer.<custodian>`` per custodian, ``operator.linkage``,
    ``operator.hub`` and ``analyst``; every dataset approved, the data key issued. Party
    directories are ``<root>/custodians/<custodian>``, ``<root>/linkage_unit``, ``<root>/hub``.

    Attributes:
        root: The folder holding everything.
        governance: The trial installation's governance (under ``root/governance``).
        project: The project id.
        officers: Custodian → the officer's user id.
        parties: Custodian → its party name in the key stores.
        keys: Party → its key store (each trusting the others).

    Example:
        >>> import tempfile
        >>> trial = TrialProject.create(Path(tempfile.mkdtemp()), "p", {"a": "x", "b": "y"})
        >>> sorted(trial.governance.approval_state("p").values())
        ['approved', 'approved']
        >>> trial.close()
    """

    root: Path
    governance: Governance
    project: str
    officers: Mapping[str, str]
    parties: Mapping[str, str]
    keys: Mapping[str, PartyKeyStore] = field(repr=False)

    linker: str = LINKER
    hub_operator: str = HUB_OPERATOR
    analyst: str = ANALYST

    @classmethod
    def create(
        cls,
        root: Path,
        project: str,
        datasets: Mapping[str, str],
        *,
        today: dt.date | None = None,
        keys: KeyProvider | None = None,
    ) -> TrialProject:
        """Make the installation, the project, its team, approvals, data key and party keys.

        Args:
            root: An empty or new folder.
            project: The project id.
            datasets: Dataset → custodian.
            today: The first day of the project's processing period.
            keys: The installation's root secrets (default: :class:`TrialKeys`, forgotten
                after the run; pass a key file to reopen the installation, e.g. from the CLI).
        """
        day = today or dt.datetime.now(dt.UTC).date()
        gov = Governance(root / "governance", keys=keys or TrialKeys(), today=day)
        try:
            custodians = sorted(set(datasets.values()))
            parties = {c: c if _SAFE.match(c) else f"custodian-{i}"
                       for i, c in enumerate(custodians)}  # fmt: skip
            officers = {c: f"officer.{parties[c]}" for c in custodians}
            gov.bootstrap(ADMIN, "Trial administrator", "trial")
            team = {officers[c]: Member(Role.CUSTODIAN_OFFICER, parties[c]) for c in custodians}
            team |= {
                LINKER: Member(Role.LINKAGE_UNIT_OPERATOR),
                HUB_OPERATOR: Member(Role.HUB_OPERATOR),
                ANALYST: Member(Role.ANALYST),
            }
            requests = tuple(DatasetRequest(d, parties[c]) for d, c in sorted(datasets.items()))
            application = ProjectApplication(
                project, "Trial run", Purpose.STATISTICS, "A trial run of the linkage flow",
                requests, day, day + dt.timedelta(days=1),
            )  # fmt: skip
            Administration(gov).open_project(ADMIN, application, team)
            for dataset, custodian in sorted(datasets.items()):
                gov.approve(officers[custodian], project, dataset)
            homes = {parties[c]: root / "custodians" / parties[c] for c in custodians}
            homes |= {"linkage_unit": root / "linkage_unit", "hub": root / "hub"}
            stores = {party: PartyKeyStore.create(home / "keys", party)
                      for party, home in homes.items()}  # fmt: skip
            introduce(list(stores.values()))
        except BaseException:
            gov.close()
            raise
        return cls(root, gov, project, officers, parties, stores)

    def custodian(self, custodian: str) -> Custodian:
        """The custodian's service."""
        party = self.parties[custodian]
        home = self.root / "custodians" / party
        return Custodian(self.governance, self.project, home, self.keys[party])

    def linkage_unit(self) -> LinkageUnit:
        """The linkage unit's service."""
        home = self.root / "linkage_unit"
        return LinkageUnit(self.governance, self.project, home, self.keys["linkage_unit"])

    def hub(self) -> Hub:
        """The hub's service."""
        return Hub(self.governance, self.project, self.root / "hub", self.keys["hub"])

    def close(self) -> None:
        """Release the trial installation's store."""
        self.governance.close()
