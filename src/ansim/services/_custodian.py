"""The custodian's service: ingest, prepare, seal and send its own dataset."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ansim._atomic import write_bytes_atomic
from ansim.engine import QueryEngine
from ansim.errors import InvalidSpecError
from ansim.governance import Governance, Operation
from ansim.identity import (
    DEFAULT_ENCODING_SPEC,
    DEFAULT_RECIPES,
    EncodingSpec,
    LinkageSecret,
    PreparedParts,
    TokenRecipe,
    prepare,
    prepare_on_engine,
)
from ansim.ingest import (
    DEFAULT_MAX_BYTES,
    IngestResult,
    ingest_file,
    load_ingested,
    locate_ingested,
)
from ansim.packages import PACKAGE_SUFFIX, PartyKeyStore, read_package_header, seal_part
from ansim.schema import DatasetSpec
from ansim.services._administration import AUDIT_HEAD_FILE
from ansim.services._common import file_hashes

__all__ = ["Custodian", "SealedParts"]


@dataclass(frozen=True)
class SealedParts:
    """A dataset's parts sealed for their recipients, ready to send.

    Attributes:
        dataset: The dataset.
        packages: Recipient party → package file (in the custodian's outbox).
    """

    dataset: str
    packages: Mapping[str, Path]


@dataclass(frozen=True)
class Custodian:
    """One custodian's side of a project: its files stay here, only sealed parts leave.

    Every method takes the *authenticated* acting user (the caller's job: the server's login,
    the CLI's stored credential) and checks, through governance, that they are an officer of
    this dataset's custodian in the project; each step is recorded in the audit log.

    Args:
        governance: The installation's governance.
        project: The project.
        home: The custodian's working directory (``ingest/``, ``prepared/``, ``outbox/``).
        keys: The custodian's party key store (seals and signs its packages; needed by
            :meth:`seal` only).

    Example:
        >>> import tempfile
        >>> from ansim.services import TrialProject
        >>> root = Path(tempfile.mkdtemp())
        >>> trial = TrialProject.create(root, "p", {"register": "kostat"})
        >>> kostat = trial.custodian("kostat")
        >>> kostat.approve(trial.hub_operator, "register")
        Traceback (most recent call last):
        ...
        ansim.errors.AccessDenied: 'operator.hub' may not approve dataset in project 'p': it \
needs the role custodian_officer
        >>> trial.close()
    """

    governance: Governance
    project: str
    home: Path
    keys: PartyKeyStore | None = None

    def approve(self, actor: str, dataset: str) -> None:
        """Approve the project's use of the dataset (a custodian officer's decision).

        Raises:
            AccessDenied: Not an officer of the dataset's custodian in the project.
        """
        self.governance.approve(actor, self.project, dataset)

    def ingest(
        self,
        actor: str,
        spec: DatasetSpec,
        data: Path,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        out: Path | None = None,
    ) -> IngestResult:
        """Validate the custodian's file against its spec; land good rows, quarantine the rest.

        Audited as ``view_dataset`` (step ``ingest``, with the input file's hash) before the
        file is read.

        Args:
            actor: The authenticated acting user.
            spec: The dataset spec.
            data: The custodian's file.
            max_bytes: Largest input accepted.
            out: Parent of the ingest output (default: ``home/ingest``).

        Raises:
            AccessDenied: See the class.
            IngestError: The file is refused (see :func:`ansim.ingest.ingest_file`).
        """
        objects = {"step": "ingest", **(file_hashes([data]) if data.is_file() else {})}
        self.governance.authorize(
            actor, self.project, Operation.VIEW_DATASET, dataset=spec.dataset, objects=objects
        )
        return ingest_file(spec, data, out or self.home / "ingest", max_bytes=max_bytes)

    def prepare(
        self,
        actor: str,
        ingested: Path,
        secret: LinkageSecret,
        *,
        recipes: Sequence[TokenRecipe] = DEFAULT_RECIPES,
        encoding: EncodingSpec | None = DEFAULT_ENCODING_SPEC,
        progress: Callable[[int, int], None] | None = None,
        serial_source: Callable[[int], list[str]] | None = None,
        out: Path | None = None,
        engine: QueryEngine | None = None,
    ) -> PreparedParts:
        """Standardise, tokenise and encode the ingested rows; split identity from content.

        Audited as ``view_dataset`` (step ``prepare``, with the landed rows' hash).

        Args:
            actor: The authenticated acting user.
            ingested: An ingest output directory (see :meth:`ingest`).
            secret: The project's linkage secret (held by the custodians only).
            recipes: Linkage tokens to make.
            encoding: Bloom-filter encoding spec (``None``: tokens only).
            progress: Called with (records done, total).
            serial_source: Serials for trial runs (default: fresh random serials).
            out: Where the parts are written (default: ``home/prepared``).
            engine: Run the work in this engine's partitions (Spark's executors); the same
                files (default: in memory, chunk by chunk).

        Raises:
            AccessDenied: See the class.
        """
        spec, landed = locate_ingested(ingested)
        objects = {"step": "prepare", **file_hashes([landed])}
        self.governance.authorize(
            actor, self.project, Operation.VIEW_DATASET, dataset=spec.dataset, objects=objects
        )
        if engine is not None:  # the engine reads the rows: not loaded here
            return prepare_on_engine(
                engine, spec, landed, secret, out or self.home / "prepared",
                project=self.project, recipes=recipes, encoding=encoding, progress=progress,
                serial_source=serial_source,
            )  # fmt: skip
        _, records = load_ingested(ingested)
        return prepare(
            spec, records, secret, out or self.home / "prepared", project=self.project,
            recipes=recipes, encoding=encoding, progress=progress, serial_source=serial_source,
        )  # fmt: skip

    def seal(
        self,
        actor: str,
        parts: PreparedParts,
        *,
        linkage_unit: str = "linkage_unit",
        hub: str = "hub",
    ) -> SealedParts:
        """Seal the identity part for the linkage unit and the content part for the hub.

        Each package is encrypted for its recipient and signed with this custodian's key, in
        ``home/outbox/<recipient>/``. Audited as ``view_dataset`` (step ``seal``, with the
        parts' hashes).

        Raises:
            AccessDenied: See the class, or the key store does not trust a recipient.
            InvalidSpecError: The service was made without a key store.
        """
        if self.keys is None:
            raise InvalidSpecError("sealing needs the custodian's key store (--keys)")
        keys = self.keys
        objects = {"step": "seal", **file_hashes([parts.identity, parts.content])}
        self.governance.authorize(
            actor, self.project, Operation.VIEW_DATASET, dataset=parts.dataset, objects=objects
        )
        packages = {
            party: seal_part(part, sender=keys, recipient=party,
                             out_dir=self.home / "outbox" / party)
            for part, party in ((parts.identity, linkage_unit), (parts.content, hub))
        }  # fmt: skip
        return SealedParts(parts.dataset, packages)

    def outbox(self, dataset: str) -> SealedParts:
        """The dataset's sealed packages waiting in ``home/outbox/<recipient>/``.

        Raises:
            InvalidSpecError: No package of the dataset for this project, or more than one
                for a recipient (remove the older one).
        """
        found: dict[str, list[Path]] = {}
        for path in sorted((self.home / "outbox").glob(f"*/*{PACKAGE_SUFFIX}")):
            header = read_package_header(path)
            if header.dataset == dataset and header.project == self.project:
                found.setdefault(header.recipient, []).append(path)
        if not found:
            raise InvalidSpecError(
                f"no sealed package of {dataset!r} for project {self.project!r} in "
                f"{self.home / 'outbox'}: prepare it with --keys first"
            )
        repeated = sorted(party for party, paths in found.items() if len(paths) > 1)
        if repeated:
            raise InvalidSpecError(
                f"several packages of {dataset!r} for {', '.join(repeated)}: remove the older ones"
            )
        return SealedParts(dataset, {party: paths[0] for party, paths in found.items()})

    def send(self, actor: str, sealed: SealedParts, inboxes: Mapping[str, Path]) -> list[Path]:
        """Deliver sealed packages to their recipients' inboxes (``submit_parts``).

        This is the step that hands data to another party, so it needs the project to be
        approved by every custodian and within its period; the audit event names each package
        and its recipient. The custodian keeps the signed audit head that follows its
        submission (``home/audit/audit-head.json``): ``ansim audit verify --head`` with it
        later proves the log was not rolled back past the submission.

        Args:
            actor: The authenticated acting user.
            sealed: What :meth:`seal` made.
            inboxes: Recipient party → its inbox directory.

        Returns:
            The delivered package files.

        Raises:
            AccessDenied: See the class, or the project's approvals or period forbid it.
        """
        missing = sorted(set(sealed.packages) - set(inboxes))
        if missing:
            raise InvalidSpecError(f"no inbox given for {', '.join(missing)}")
        sent = {party: file_hashes([path]) for party, path in sealed.packages.items()}
        self.governance.authorize(
            actor, self.project, Operation.SUBMIT_PARTS, dataset=sealed.dataset,
            objects={"sent": sent},
        )  # fmt: skip
        delivered = [
            write_bytes_atomic(path.read_bytes(), inboxes[party] / path.name)
            for party, path in sealed.packages.items()
        ]
        self.governance.export_head(self.home / "audit" / AUDIT_HEAD_FILE)
        return delivered
