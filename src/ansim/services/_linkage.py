"""The linkage unit's service: receive identity parts, link them, seal the link map for the hub."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from ansim.errors import IntegrityError
from ansim.governance import Governance, Operation
from ansim.linkage import LINKMAP_FILE, LinkageConfig, LinkageModel, LinkMap, match_files
from ansim.packages import PartyKeyStore, label_part, packages_in, receive_packages, seal_table
from ansim.services._common import Received, file_hashes, require_packages

__all__ = ["LinkageUnit"]

_PARTY = "the linkage unit"


@dataclass(frozen=True)
class LinkageUnit:
    """The linkage unit (결합키관리기관): it sees serials and encodings, never attributes.

    Every method takes the *authenticated* acting user and checks, through governance, that
    they are the project's linkage-unit operator (and that every custodian has approved); each
    step is recorded in the audit log. Identity parts arrive only as sealed packages.

    Args:
        governance: The installation's governance.
        project: The project.
        home: The linkage unit's working directory (``received/``, link map, report).
        keys: The linkage unit's party key store.

    Example:
        >>> import tempfile
        >>> from ansim.services import TrialProject
        >>> trial = TrialProject.create(Path(tempfile.mkdtemp()), "p", {"a": "x", "b": "y"})
        >>> trial.linkage_unit().receive(trial.linker, [Path("a.parquet")])
        Traceback (most recent call last):
        ...
        ansim.errors.IntegrityError: a.parquet is not a sealed package: the linkage unit \
accepts parts only as sealed packages (*.ansim, made by 'ansim custodian prepare --keys'); an \
unsealed Parquet part is refused
        >>> trial.close()
    """

    governance: Governance
    project: str
    home: Path
    keys: PartyKeyStore

    def inbox(self) -> list[Path]:
        """The identity packages waiting in ``home/inbox``."""
        return packages_in(self.home / "inbox", "identity")

    def receive(self, actor: str, packages: Sequence[Path]) -> Received:
        """Verify and open sealed identity packages into ``home/received/``.

        Audited (``run_linkage``, with the packages' hashes) before any is opened, and again
        with the opened parts' hashes; both sets of files are removed at destruction.

        Raises:
            IntegrityError: A path is not a sealed package (an unsealed part is refused), or a
                package fails verification.
            AccessDenied: Not the linkage-unit operator, approvals or period, or the package
                is for another party or from an untrusted one.
        """
        paths = require_packages(packages, _PARTY)
        gov, project = self.governance, self.project
        gov.receive_files(actor, project, paths, operation=Operation.RUN_LINKAGE)
        opened = receive_packages(
            paths, self.keys, project=project, kind="identity", out_dir=self.home / "received"
        )
        gov.receive_files(actor, project, opened, operation=Operation.RUN_LINKAGE)
        return Received(project, "identity", tuple(opened), tuple(paths))

    def accept_unsealed(self, actor: str, parts: Sequence[Path]) -> Received:
        """Trial mode only (``ansim link --unsealed``): take identity parts as plain Parquet.

        A deployment never calls this: parts reach the linkage unit only sealed. The audit
        event says ``unsealed_trial``.

        Raises:
            AccessDenied: Not the linkage-unit operator (or approvals or period).
        """
        objects = {"unsealed_trial": file_hashes(parts)}
        self.governance.authorize(actor, self.project, Operation.RUN_LINKAGE, objects=objects)
        return Received(self.project, "identity", tuple(parts), sealed=False)

    def link(
        self,
        actor: str,
        received: Received,
        config: LinkageConfig | None = None,
        *,
        model: LinkageModel | None = None,
        pairs: bool = False,
        save_model: Path | None = None,
    ) -> LinkMap:
        """Link received identity parts; write ``linkmap.parquet`` and the report in ``home``.

        Audited as ``run_linkage`` (step ``link``, method and parts' hashes).

        Args:
            actor: The authenticated acting user.
            received: What :meth:`receive` opened.
            config: How to link (default: probabilistic, automatic blocking).
            model: A saved model to apply instead of training one.
            pairs: Also write ``pairs.parquet`` (it stays at the linkage unit).
            save_model: Write the model that scored the pairs here.

        Raises:
            IntegrityError: ``received`` holds no identity parts of this project.
            AccessDenied: Not the linkage-unit operator (or approvals or period).
        """
        if received.kind != "identity" or received.project != self.project:
            raise IntegrityError(
                f"the linkage unit links identity parts of project {self.project!r}; got "
                f"{received.kind} parts of {received.project!r}"
            )
        chosen = config or LinkageConfig()
        objects = {"step": "link", "method": chosen.method, "parts": file_hashes(received.files)}
        self.governance.authorize(actor, self.project, Operation.RUN_LINKAGE, objects=objects)
        return match_files(
            received.files, self.home, chosen, model=model, pairs=pairs, save_model=save_model
        )

    def seal_link_map(
        self, actor: str, *, recipient: str = "hub", out_dir: Path | None = None
    ) -> Path:
        """Seal the link map (``serial``, ``dataset``, ``person_id``) for the hub.

        Audited as ``run_linkage`` (step ``seal link map``, with the link map's hash).

        Args:
            actor: The authenticated acting user.
            recipient: The hub's party name.
            out_dir: Where the package goes (default: ``home/outbox/<recipient>``).

        Returns:
            The package file.

        Raises:
            AccessDenied: Not the linkage-unit operator, or the key store does not trust the
                recipient.
        """
        path = self.home / LINKMAP_FILE
        objects = {"step": "seal link map", "recipient": recipient, **file_hashes([path])}
        self.governance.authorize(actor, self.project, Operation.RUN_LINKAGE, objects=objects)
        table = pq.read_table(path, columns=["serial", "dataset", "person_id"])
        return seal_table(
            label_part(table, project=self.project, kind="linkmap"), sender=self.keys,
            recipient=recipient, project=self.project, kind="linkmap", dataset="",
            out_dir=out_dir or self.home / "outbox" / recipient,
        )  # fmt: skip
