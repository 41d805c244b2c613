"""``ansim demo``: the Gyeonggi demo world through every party, end to end."""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ansim._atomic import write_bytes_atomic, write_text_atomic
from ansim.demo._world import WorldFiles, generate_world
from ansim.engine import Engine
from ansim.governance import (
    DEMO_PASSPHRASE_FILE,
    KEY_FILE,
    DatasetRequest,
    Governance,
    Operation,
    PassphraseKeyFile,
    ProjectApplication,
    Purpose,
    Role,
    object_hash,
    read_head_file,
)
from ansim.hub import combine_files, linkage_rates
from ansim.identity import LinkageSecret, PreparedParts, prepare
from ansim.ingest import IngestResult, ingest_file, load_ingested
from ansim.linkage import PairwiseQuality, match_files, quality_against_truth
from ansim.packages import PartyKeyStore, introduce, receive_inbox, seal_part, seal_table
from ansim.privacy import write_demo_dp_releases as write_dp
from ansim.release import rate_table, write_release
from ansim.schema import DatasetSpec

__all__ = ["DemoRun", "demo_spec", "run_demo"]

PROJECT = "gyeonggi-covid-demo"
DATASETS = ("gyeonggi_cases", "kostat_register", "snu_cohort")
# the demo project's people: one per role, linkage unit and hub held by different bodies
ADMIN, LINKER, HUB_OPERATOR = "admin.kostat", "operator.kisa", "operator.hub"
ANALYST, CHECKER = "analyst.snu", "checker.kostat"
CHECKER2 = "checker.gyeonggi"  # workspace releases need two independent output checkers


def _officer(custodian: str) -> str:
    return f"officer.{custodian}"


def _open_project(home: Path) -> Governance:
    """A fresh governance home with the demo project, its members, approvals and key."""
    shutil.rmtree(home, ignore_errors=True)  # the demo starts from nothing each run
    gov = Governance(home, keys=_demo_keys(home))
    gov.bootstrap(ADMIN, "Administrator", "KOSTAT")
    specs = [demo_spec(d) for d in DATASETS]
    team: dict[str, tuple[Role, str | None]] = {
        LINKER: (Role.LINKAGE_UNIT_OPERATOR, None),
        HUB_OPERATOR: (Role.HUB_OPERATOR, None),
        ANALYST: (Role.ANALYST, None),
        CHECKER: (Role.OUTPUT_CHECKER, None),
        CHECKER2: (Role.OUTPUT_CHECKER, None),
    }
    team |= {_officer(s.custodian): (Role.CUSTODIAN_OFFICER, s.custodian) for s in specs}
    for user in team:
        gov.register_user(ADMIN, user, user, user.split(".")[1].upper())
    today = gov.today()
    gov.create_project(ADMIN, ProjectApplication(
        PROJECT, "COVID-19 cases, support payments and population in Gyeonggi",
        Purpose.STATISTICS, "Confirmed cases per 100,000 by si/gun, age band and sex",
        tuple(DatasetRequest(s.dataset, s.custodian) for s in specs),
        today, today + dt.timedelta(days=364),
    ))  # fmt: skip
    for user, (role, custodian) in team.items():
        gov.add_member(ADMIN, PROJECT, user, role, custodian=custodian)
    gov.issue_key(ADMIN, PROJECT)
    for spec in specs:
        gov.approve(_officer(spec.custodian), PROJECT, spec.dataset)
    return gov


def _demo_keys(home: Path) -> PassphraseKeyFile:
    """The demo's key file, under ``$ANSIM_KEY_PASSPHRASE`` or a throwaway passphrase.

    Without the variable the demo writes its random passphrase to a file labelled
    ``DEMO-ONLY`` beside the key file, so that the demo's home opens again; a deployment
    never does this (it supplies its keys from the environment or a KMS).
    """
    passphrase = os.environ.get("ANSIM_KEY_PASSPHRASE")
    if not passphrase:
        passphrase = secrets.token_urlsafe(24)
        write_bytes_atomic(passphrase.encode(), home / DEMO_PASSPHRASE_FILE, mode=0o600)
    return PassphraseKeyFile.create(home / KEY_FILE, passphrase)


def _hand_out_heads(gov: Governance, out: Path, custodians: Iterable[str]) -> list[Path]:
    """Give the signed audit head to every custodian and the public register (rollback check)."""
    places = [out / "custodians" / c / "audit" for c in custodians] + [out / "public"]
    return [gov.export_head(place / "audit-head.json") for place in places]


def _party_keys(out: Path, custodians: Iterable[str]) -> dict[str, PartyKeyStore]:
    """Fresh key stores for every party (``<party dir>/keys``), each trusting the others.

    The receiving parties' inboxes and opened parts of an earlier run are cleared too.
    """
    homes = {c: out / "custodians" / c for c in custodians}
    homes |= {"linkage_unit": out / "linkage_unit", "hub": out / "hub"}
    stores = {}
    for party, home in homes.items():
        for stale in ("inbox", "received"):
            shutil.rmtree(home / stale, ignore_errors=True)
        shutil.rmtree(home / "keys", ignore_errors=True)
        stores[party] = PartyKeyStore.create(home / "keys", party)
    introduce(list(stores.values()))
    return stores


def _send_parts(parts: PreparedParts, sender: PartyKeyStore, out: Path) -> None:
    """A custodian seals its parts for their recipients (encrypted for them, signed by it)."""
    seal_part(
        parts.identity,
        sender=sender,
        recipient="linkage_unit",
        out_dir=out / "linkage_unit" / "inbox",
    )
    seal_part(parts.content, sender=sender, recipient="hub", out_dir=out / "hub" / "inbox")


def _open_inbox(out: Path, keys: dict[str, PartyKeyStore], party: str, kind: str) -> list[Path]:
    """A party verifies and decrypts the packages of one kind in its inbox into ``received/``."""
    home = out / party
    return receive_inbox(
        home / "inbox", keys[party], project=PROJECT, kind=kind, out_dir=home / "received"
    )


def _hashes(paths: Iterable[Path]) -> dict[str, str]:
    """File name → SHA-256, for the audit events of sent and received files."""
    return {p.name: object_hash(p.read_bytes()) for p in sorted(paths)}


def _combine_governed(
    gov: Governance, packages: list[Path], contents: list[Path], links: Path, store: Path
) -> None:
    """The hub records what it received (removed at destruction) and combines into its store."""
    gov.receive_files(HUB_OPERATOR, PROJECT, [*packages, *contents, links])
    with gov.open_hub_store(HUB_OPERATOR, PROJECT, store, write=True) as engine:
        combine_files(contents, links, engine)
        _report_linkage_rates(engine, store.parent.parent)


def _report_linkage_rates(engine: Engine, out: Path) -> Path:
    """The hub's aggregate feedback to the linkage unit: cases linked to the register by group.

    Written to ``<demo>/linkage_unit/feedback/``: counts by group only, small groups withheld.
    """
    rates = linkage_rates(engine, "gyeonggi_cases", "kostat_register")
    path = out / "linkage_unit" / "feedback" / "linkage_rates_by_subgroup.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    sink = pa.BufferOutputStream()
    pacsv.write_csv(rates, sink)
    return write_bytes_atomic(sink.getvalue().to_pybytes(), path)


def _release_reviewed(gov: Governance, store: Path, out: Path) -> Path:
    """The analyst makes the table; a checker (not the author) approves and releases it."""
    with gov.open_hub_store(ANALYST, PROJECT, store) as engine:
        release = write_release(rate_table(engine), out / "cases_per_100k_by_sigungu_age_sex.csv")
    gov.submit_output(ANALYST, PROJECT, "cases-per-100k", release.read_bytes())
    gov.review_output(CHECKER, PROJECT, "cases-per-100k", approve=True)
    gov.release_output(CHECKER, PROJECT, "cases-per-100k")
    return release


_CASE_RATES = (
    "SELECT s.person_id, r.income_band, s.vaccinated, "
    "CASE WHEN s.person_id IN (SELECT person_id FROM gyeonggi_cases) THEN 1 ELSE 0 END AS is_case "
    "FROM snu_cohort s JOIN kostat_register r USING (person_id)"
)
_DETAILED = (
    "SELECT s.person_id, r.sigungu_code, r.income_band, s.vaccinated FROM snu_cohort s "
    "JOIN kostat_register r USING (person_id) JOIN gyeonggi_cases c USING (person_id)"
)


def _workspace_outputs(gov: Governance, store: Path, out: Path) -> str:
    """Workspace: case rates by income band × vaccination, and a too-detailed table.

    The analyst's rates pass the checks and two checkers approve them (one releases the
    bundle); the si/gun × income × vaccination table is held by the checks.
    """
    from ansim.workspace import OutputStatus, Review, Workspace  # noqa: PLC0415 - statsmodels

    home = out / "hub" / "workspace"
    with Workspace(gov, ANALYST, PROJECT, store, home) as ws:
        rates = ws.submit(ws.pivot_table(_CASE_RATES, ["income_band", "vaccinated"], "is_case",
                                         "mean").id)  # fmt: skip
        held = ws.submit(ws.crosstab(_DETAILED, ["sigungu_code", "income_band", "vaccinated"]).id)
    failing = len(held.report.failing_cells)
    note = f"{held.id} {held.status} by the checks ({failing} cells fail)"
    if rates.status != OutputStatus.SUBMITTED:
        return f"workspace: {rates.id} {rates.status} too (a small world); {note}"
    review = Review(gov, PROJECT, home)
    review.approve(CHECKER, rates.id, "rates by income band and vaccination: cells large enough")
    review.approve(CHECKER2, rates.id)
    bundle = review.release(CHECKER, [rates.id], out / "release" / "workspace")
    return f"workspace: {rates.id} released after 2 approvals to {bundle.directory}; {note}"


def _close_verified(gov: Governance, records: Path) -> str:
    """Export the processing record and Five Safes summary, then verify the whole audit chain."""
    gov.export_records(ADMIN, PROJECT, records)
    out = records.parent.parent
    heads = _hand_out_heads(gov, out, [demo_spec(d).custodian for d in DATASETS])
    audit = gov.verify_audit(head=read_head_file(heads[-1]))
    fingerprint = gov.audit.signer.fingerprint
    gov.close()
    audit.raise_for_problem()
    return (
        f"audit: {audit.events} events, {audit.checkpoints} signed checkpoints verified; "
        f"signed head handed to the custodians and {heads[-1]} (again: ansim audit verify "
        f"--home {gov.home} --fingerprint {fingerprint} --head {heads[-1]})"
    )


def demo_spec(dataset: str) -> DatasetSpec:
    """The dataset spec the demo's custodian declares for ``dataset``.

    Example:
        >>> demo_spec("kostat_register").custodian
        'kostat'
    """
    text = resources.files("ansim.demo").joinpath("specs", f"{dataset}.yaml").read_text("utf-8")
    return DatasetSpec.from_yaml_text(text)


@dataclass(frozen=True)
class DemoRun:
    """Where the demo's results are and how good its linkage was.

    Attributes:
        out: The demo directory.
        world: The generated custodian files and true links.
        ingested: Ingest results per dataset.
        quality: Pairwise linkage quality against the true links.
        release: The released table (CSV).
        hub_store: The hub's DuckDB store (encrypted under the project's data key).
        seconds: Wall time per step.
        governance: The governance home (metadata store, keys, audit log, records).
    """

    out: Path
    world: WorldFiles
    ingested: dict[str, IngestResult]
    quality: PairwiseQuality
    release: Path
    hub_store: Path
    seconds: dict[str, float] = field(default_factory=dict)
    governance: Path | None = None


def run_demo(  # noqa: PLR0915 - one statement per step of the demo, in order
    people: int = 100_000,
    seed: int = 20211101,
    out: Path = Path("ansim-demo"),
    *,
    on_step: Callable[[str], None] | None = None,
) -> DemoRun:
    """Generate the demo world and run it through custodians, linkage unit, hub and release.

    Layout under ``out``: ``world/`` (custodians' raw files and the true links),
    ``custodians/<custodian>/`` (ingest, quarantine, parts, serial maps and the project's
    linkage secret), ``linkage_unit/`` (identity parts received, link map, report), ``hub/``
    (content parts and link map received, ``hub.duckdb``, ``workspace/`` with the analyst's
    outputs and release ledger), ``release/`` (the published table; ``workspace/``, the bundle
    of a checked and twice-approved analysis) and ``evaluation/`` (linkage quality against the
    true links).

    Args:
        people: Size of the synthetic population.
        seed: Random seed of the world.
        out: Output directory.
        on_step: Called with a short description before each step (for progress output).

    Returns:
        Paths and figures of the run.
    """
    say = on_step or (lambda _: None)
    seconds: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[name] = round(now - clock, 2)
        clock = now

    say(f"generating {people:,} people and three custodians' files")
    world = generate_world(people, seed, out / "world")
    lap("generate")
    say("governance: project, custodians' approvals, data key")
    gov = _open_project(out / "governance")
    secret = LinkageSecret.generate()  # shared by the custodians only
    ingested: dict[str, IngestResult] = {}
    unit_inbox, hub_inbox = out / "linkage_unit" / "inbox", out / "hub" / "inbox"
    keys = _party_keys(out, [demo_spec(d).custodian for d in DATASETS])
    serial_maps = {}
    for dataset in DATASETS:
        spec = demo_spec(dataset)
        home = out / "custodians" / spec.custodian
        secret.save(home / "secrets" / "linkage.key")
        say(f"{spec.custodian}: ingest and prepare {dataset}")
        ingested[dataset] = ingest_file(spec, world.datasets[dataset], home / "ingest")
        _, records = load_ingested(ingested[dataset].directory)
        parts = prepare(spec, records, secret, home / "prepared", project=PROJECT)
        gov.authorize(
            _officer(spec.custodian),
            PROJECT,
            Operation.SUBMIT_PARTS,
            dataset=dataset,
            objects=_hashes([parts.identity, parts.content]),
        )
        _send_parts(parts, keys[spec.custodian], out)
        serial_maps[dataset] = pq.read_table(parts.serial_map)
    lap("ingest_prepare")
    say("linkage unit: probabilistic matching on Bloom-filter encodings and tokens")
    gov.receive_files(
        LINKER, PROJECT, sorted(unit_inbox.glob("*.ansim")), operation=Operation.RUN_LINKAGE
    )
    linkmap = match_files(_open_inbox(out, keys, "linkage_unit", "identity"), out / "linkage_unit")
    seal_table(
        linkmap.table.replace_schema_metadata({"ansim.project": PROJECT}),
        sender=keys["linkage_unit"], recipient="hub", project=PROJECT, kind="linkmap",
        dataset="", out_dir=hub_inbox,
    )  # fmt: skip
    lap("match")
    say("hub: combining content parts through the link map")
    store = out / "hub" / "hub.duckdb"
    store.unlink(missing_ok=True)
    contents, (links,) = (_open_inbox(out, keys, "hub", k) for k in ("content", "linkmap"))
    _combine_governed(gov, sorted(hub_inbox.glob("*.ansim")), contents, links, store)
    lap("combine")
    say("release: confirmed cases per 100,000 by si/gun × age band × sex")
    release = _release_reviewed(gov, store, out / "release")
    say(write_dp(store, out, governance=gov, admin=ADMIN, actor=ANALYST, project=PROJECT))
    say(_workspace_outputs(gov, store, out))  # checked analyses, two-person review, bundle
    lap("release")
    quality = quality_against_truth(linkmap.table, serial_maps, pacsv.read_csv(world.truth))
    evaluation = {
        "method": linkmap.report.method,
        "estimated_without_labels": {
            k: v for k, v in linkmap.report.estimates.items() if k.startswith("estimated")
        },
        "pairwise": {
            "precision": round(quality.precision, 5),
            "recall": round(quality.recall, 5),
            "f1": round(quality.f1, 5),
            "true_pairs": quality.true_pairs,
            "predicted_pairs": quality.predicted_pairs,
            "true_positives": quality.true_positives,
        },
        "note": "pairs within and across sources; quarantined records count as unlinked",
    }
    write_text_atomic(json.dumps(evaluation, indent=2), out / "evaluation" / "linkage_quality.json")
    lap("evaluate")
    say(_close_verified(gov, out / "governance" / "records"))
    return DemoRun(out, world, ingested, quality, release, store, seconds, out / "governance")
