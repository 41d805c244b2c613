"""The hub's service: receive content parts and the link map, combine them, list the views."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from ansim.errors import IntegrityError
from ansim.governance import Governance, Operation
from ansim.hub import LinkedDataset, combine_files, linkage_rates
from ansim.packages import (
    PartyKeyStore,
    packages_in,
    read_package_header,
    receive_packages,
)
from ansim.services._common import Received, file_hashes, require_packages

__all__ = ["Hub"]

_PARTY = "the hub"
_KINDS = ("content", "linkmap")


@dataclass(frozen=True)
class Hub:
    """The hub (결합전문기관): content parts and the link map in, the encrypted linked store out.

    Every method takes the *authenticated* acting user and checks, through governance, their
    role in the project (hub operator to receive and combine, analyst to list the views); the
    store opens only with the project's data key, after those checks. Parts arrive only as
    sealed packages.

    Args:
        governance: The installation's governance.
        project: The project.
        home: The hub's working directory (``inbox/``, ``received/``).
        keys: The hub's party key store.
        store: The project's hub store (default: ``home/hub.duckdb``).

    Example:
        >>> import tempfile
        >>> from ansim.services import TrialProject
        >>> trial = TrialProject.create(Path(tempfile.mkdtemp()), "p", {"a": "x", "b": "y"})
        >>> trial.hub().combine(trial.linker, Received("p", "content", ()))
        Traceback (most recent call last):
        ...
        ansim.errors.IntegrityError: the hub combines content parts with a link map, both \
opened by Hub.receive from sealed packages
        >>> trial.close()
    """

    governance: Governance
    project: str
    home: Path
    keys: PartyKeyStore
    store: Path | None = None

    @property
    def store_path(self) -> Path:
        """The project's hub store file."""
        return self.store or self.home / "hub.duckdb"

    def inbox(self) -> list[Path]:
        """The content and link-map packages waiting in ``home/inbox``."""
        return [p for kind in _KINDS for p in packages_in(self.home / "inbox", kind)]

    def receive(self, actor: str, packages: Sequence[Path]) -> Received:
        """Verify and open sealed content packages and one link map into ``home/received/``.

        Audited (``combine``, with the packages' hashes) before any is opened, and again with
        the opened files' hashes; all of them are removed at destruction.

        Raises:
            IntegrityError: A path is not a sealed package (an unsealed part is refused), a
                package holds neither content nor a link map, there is not exactly one link
                map, or a package fails verification.
            AccessDenied: Not the hub operator, approvals or period, or a package is for
                another party or from an untrusted one.
        """
        paths = require_packages(packages, _PARTY)
        by_kind: dict[str, list[Path]] = {kind: [] for kind in _KINDS}
        for path in paths:
            kind = read_package_header(path).kind
            if kind not in by_kind:
                raise IntegrityError(f"{path.name} holds a {kind} package: the hub takes "
                                     "content parts and the link map")  # fmt: skip
            by_kind[kind].append(path)
        if len(by_kind["linkmap"]) != 1 or not by_kind["content"]:
            raise IntegrityError(
                f"the hub needs content packages and exactly one link map; got "
                f"{len(by_kind['content'])} content and {len(by_kind['linkmap'])} link maps"
            )
        gov, project, out = self.governance, self.project, self.home / "received"
        gov.receive_files(actor, project, paths, operation=Operation.COMBINE)
        opened = {
            kind: receive_packages(found, self.keys, project=project, kind=kind, out_dir=out)
            for kind, found in by_kind.items()
        }
        gov.receive_files(actor, project, [*opened["content"], *opened["linkmap"]])
        return Received(project, "content", tuple(opened["content"]), tuple(paths),
                        linkmap=opened["linkmap"][0])  # fmt: skip

    def combine(self, actor: str, received: Received) -> LinkedDataset:
        """Join the received content parts through the link map into the encrypted store.

        Audited as ``combine`` (step ``combine``, parts' and link map's hashes), then the
        store opens with the project's key (``key_use``).

        Raises:
            IntegrityError: ``received`` did not come from :meth:`receive` for this project.
            AccessDenied: Not the hub operator (or approvals, period, or no data key).
            HubError: The parts and the link map do not belong together.
        """
        if received.linkmap is None or not received.sealed or received.kind != "content":
            raise IntegrityError(
                "the hub combines content parts with a link map, both opened by Hub.receive "
                "from sealed packages"
            )
        if received.project != self.project:
            raise IntegrityError(f"those parts belong to project {received.project!r}")
        objects = {"step": "combine", **file_hashes([*received.files, received.linkmap])}
        self.governance.authorize(actor, self.project, Operation.COMBINE, objects=objects)
        gov = self.governance
        with gov.open_hub_store(actor, self.project, self.store_path, write=True) as engine:
            return combine_files(received.files, received.linkmap, engine)

    def linkage_rates(self, actor: str, dataset: str, other: str) -> pa.Table:
        """The hub's aggregate feedback to the linkage unit (small groups withheld).

        See :func:`ansim.hub.linkage_rates`; the hub operator opens the store for it.

        Raises:
            AccessDenied: Not the hub operator.
        """
        gov = self.governance
        with gov.open_hub_store(actor, self.project, self.store_path, write=True) as engine:
            return linkage_rates(engine, dataset, other)

    def views(self, actor: str) -> dict[str, int]:
        """The project's linked tables and their row counts (an analyst's view of the store).

        Raises:
            AccessDenied: Not an analyst of the project (or approvals, period).
        """
        gov = self.governance
        with gov.open_hub_store(actor, self.project, self.store_path) as engine:
            names = sorted(t for t in engine.list_tables() if t.startswith("linked_"))
            return {name: engine.count(engine.table(name)) for name in names}
