"""The whole flow in one call, with a throwaway governed project (``ansim link``).

For trials on one's own files and for benchmarks: each party's step runs through its service
(:mod:`ansim.services`) as it would in a deployment — authorised, audited, and the identity
parts sealed for the linkage unit — but in one process, in a trial installation whose keys,
users and audit log are made for this run and then forgotten. ``unsealed=True``
(``ansim link --unsealed``) skips the sealing: a trial mode only, named as such in the log.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import secrets
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from ansim._atomic import atomic_directory, write_bytes_atomic, write_parquet_atomic
from ansim.errors import IngestError, InvalidSpecError
from ansim.identity import LinkageSecret
from ansim.ingest import DEFAULT_MAX_BYTES, IngestResult
from ansim.linkage import (
    LINKMAP_FILE,
    PAIRS_FILE,
    REPORT_FILE,
    REPORT_HTML_FILE,
    LinkageConfig,
    LinkageModel,
    LinkageReport,
)
from ansim.schema import DatasetSpec
from ansim.services import TrialProject

__all__ = ["LinkRun", "link_files"]


@dataclass(frozen=True)
class LinkRun:
    """What ``ansim link`` produced.

    Attributes:
        linkmap: ``linkmap.parquet`` (``serial``, ``dataset``, ``person_id``).
        serials: Per dataset, ``serials/<dataset>.parquet`` (``record_id``, ``serial``).
        ingested: Per dataset, the ingest result (landed and quarantined rows).
        report: The linkage report.
    """

    linkmap: Path
    serials: dict[str, Path]
    ingested: dict[str, IngestResult]
    report: LinkageReport


def link_files(
    inputs: Sequence[tuple[Path, Path]],
    out: Path,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    config: LinkageConfig | None = None,
    model: LinkageModel | None = None,
    pairs: bool = False,
    save_model: Path | None = None,
    seed: int | None = None,
    unsealed: bool = False,
) -> LinkRun:
    """Ingest, prepare and link files of datasets in a throwaway governed project.

    Two or more datasets are linked with each other (and their duplicates within);
    one dataset is deduplicated: its records are linked among themselves.

    Writes ``out/serials/<dataset>.parquet``, ``out/linkmap.parquet``,
    ``out/linkage_report.json`` (and ``.html``, for people) and ``out/ingest/<dataset>/``
    (landed rows and quarantine).
    A new output folder is built under a temporary name, so a failed run leaves none.

    Args:
        inputs: ``(spec file, data file)`` per dataset.
        out: Output directory.
        max_bytes: Largest input file accepted.
        config: How the linkage unit links (default: the best measured configuration,
            probabilistic on the Bloom-filter encodings).
        model: A saved linkage model to apply instead of training one.
        pairs: Also write ``out/pairs.parquet`` (scored pairs).
        save_model: Write the linkage model to this file.
        seed: Derive the trial keys and serials from this seed (reproducible runs; such
            keys are not secret, so for trials only).
        unsealed: Trial mode: hand the identity parts to the linkage unit as plain Parquet
            instead of sealed packages (faster; never how a deployment sends parts).

    Returns:
        Where everything is, and the linkage report.

    Raises:
        InvalidSpecError: No dataset, or a dataset named twice.
        IngestError: A file is refused, or no row of a dataset landed.
    """
    specs = [(DatasetSpec.from_yaml(spec), data) for spec, data in inputs]
    names = [spec.dataset for spec, _ in specs]
    if not specs:
        raise InvalidSpecError(
            "give at least one dataset: --spec A.yaml A.csv (one dataset is deduplicated: "
            "its records are linked among themselves), or more: --spec B.yaml B.csv"
        )
    if len(set(names)) != len(names):
        raise InvalidSpecError(f"each dataset name may appear once; got {names}")
    if out.exists() and not out.is_dir():
        raise InvalidSpecError(f"--out {out} is a file; give a folder")
    options = _LinkOptions(max_bytes, config, model, pairs, save_model, seed, unsealed)
    if out.exists() and any(out.iterdir()):
        return _link(specs, out, options)
    # A new folder is built under a temporary name: a failed run leaves no half-made output.
    with atomic_directory(out) as building:
        # A model saved inside the new folder is written into the folder being built.
        if save_model is not None and save_model.resolve().is_relative_to(out.resolve()):
            inside = building / save_model.resolve().relative_to(out.resolve())
            options = dataclasses.replace(options, save_model=inside)
        run = _link(specs, building, options)
    return LinkRun(
        out / LINKMAP_FILE,
        {name: out / path.relative_to(building) for name, path in run.serials.items()},
        {
            name: dataclasses.replace(
                result, directory=out / result.directory.relative_to(building)
            )
            for name, result in run.ingested.items()
        },
        run.report,
    )


@dataclass(frozen=True)
class _LinkOptions:
    max_bytes: int
    config: LinkageConfig | None
    model: LinkageModel | None
    pairs: bool
    save_model: Path | None
    seed: int | None
    unsealed: bool


def _link(specs: list[tuple[DatasetSpec, Path]], out: Path, options: _LinkOptions) -> LinkRun:
    seed = options.seed
    if seed is None:
        secret = LinkageSecret.generate()
        project = f"trial-{secrets.token_hex(6)}"
    else:
        secret = LinkageSecret(hashlib.sha256(f"ansim trial seed {seed}".encode()).digest())
        project = f"trial-seed-{seed}"
    ingested: dict[str, IngestResult] = {}
    serials: dict[str, Path] = {}
    identity: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="ansim-link-") as scratch:
        trial = TrialProject.create(
            Path(scratch), project, {spec.dataset: spec.custodian for spec, _ in specs}
        )
        try:
            unit = trial.linkage_unit()
            inboxes = {"linkage_unit": unit.home / "inbox", "hub": trial.hub().home / "inbox"}
            for spec, data in specs:
                custodian, officer = trial.custodian(spec.custodian), trial.officers[spec.custodian]
                result = custodian.ingest(
                    officer, spec, data, max_bytes=options.max_bytes, out=out / "ingest"
                )
                ingested[spec.dataset] = result
                if result.rows_landed == 0:
                    raise IngestError(
                        f"dataset {spec.dataset!r}: no row of {data.name} landed "
                        f"({result.rows_read:,} read, {result.rows_quarantined:,} quarantined); "
                        "check it with 'ansim ingest' and its quarantine.csv"
                    )
                parts = custodian.prepare(
                    officer, result.directory, secret,
                    serial_source=None if seed is None else _seeded_serials(secret, spec.dataset),
                )  # fmt: skip
                serials[spec.dataset] = write_bytes_atomic(
                    parts.serial_map.read_bytes(), out / "serials" / f"{spec.dataset}.parquet"
                )
                if options.unsealed:
                    identity.append(parts.identity)
                else:  # the linkage unit gets the packages in the order of the inputs
                    sealed = custodian.seal(officer, parts)
                    custodian.send(officer, sealed, inboxes)
                    identity.append(inboxes["linkage_unit"] / sealed.packages["linkage_unit"].name)
            received = (
                unit.accept_unsealed(trial.linker, identity)
                if options.unsealed
                else unit.receive(trial.linker, identity)
            )
            linkmap = unit.link(
                trial.linker, received, options.config, model=options.model,
                pairs=options.pairs, save_model=options.save_model,
            )  # fmt: skip
        finally:
            trial.close()
        if options.pairs:
            write_bytes_atomic((unit.home / PAIRS_FILE).read_bytes(), out / PAIRS_FILE)
        columns = ["serial", "dataset", "person_id"]  # stable output, whatever the method adds
        write_parquet_atomic(
            pq.read_table(unit.home / LINKMAP_FILE, columns=columns), out / LINKMAP_FILE
        )
        write_bytes_atomic((unit.home / REPORT_FILE).read_bytes(), out / REPORT_FILE)
        write_bytes_atomic((unit.home / REPORT_HTML_FILE).read_bytes(), out / REPORT_HTML_FILE)
    return LinkRun(out / LINKMAP_FILE, serials, ingested, linkmap.report)


def _seeded_serials(secret: LinkageSecret, dataset: str) -> Callable[[int], list[str]]:
    """Serials derived from a seeded trial secret (a keyed hash of dataset and row)."""
    key = secret.derive(f"trial-serials/{dataset}")

    def serials(count: int) -> list[str]:
        return [
            hmac.new(key, row.to_bytes(8, "big"), hashlib.sha256).hexdigest()[:32]
            for row in range(count)
        ]

    return serials
