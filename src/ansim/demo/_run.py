"""``ansim demo``: the Gyeonggi demo world through every party, end to end."""

from __future__ import annotations

import dataclasses
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
from ansim.governance import (
    DEMO_PASSPHRASE_FILE,
    KEY_FILE,
    DatasetRequest,
    Governance,
    PassphraseKeyFile,
    ProjectApplication,
    Purpose,
    Role,
    read_head_file,
)
from ansim.identity import LinkageSecret
from ansim.ingest import IngestResult
from ansim.linkage import (
    RATES_FILE,
    PairwiseQuality,
    quality_against_truth,
    read_linkage_rates,
    write_linkage_report_html,
)
from ansim.packages import PartyKeyStore, introduce
from ansim.privacy import write_demo_dp_releases as write_dp
from ansim.privacy import write_demo_synthetic as write_synthetic
from ansim.release import Candidate, ReleaseService
from ansim.schema import DatasetSpec
from ansim.services import Administration, Custodian, Hub, LinkageUnit, Member

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
    """A fresh governance home with the demo project, its members and data key.

    The custodians' approvals are theirs to give (see :func:`run_demo`).
    """
    shutil.rmtree(home, ignore_errors=True)  # the demo starts from nothing each run
    gov = Governance(home, keys=demo_keys(home))
    gov.bootstrap(ADMIN, "Administrator", "KOSTAT")
    specs = [demo_spec(d) for d in DATASETS]
    team = {
        LINKER: Member(Role.LINKAGE_UNIT_OPERATOR),
        HUB_OPERATOR: Member(Role.HUB_OPERATOR),
        ANALYST: Member(Role.ANALYST),
        CHECKER: Member(Role.OUTPUT_CHECKER),
        CHECKER2: Member(Role.OUTPUT_CHECKER),
    }
    team |= {_officer(s.custodian): Member(Role.CUSTODIAN_OFFICER, s.custodian) for s in specs}
    team = {user: dataclasses.replace(m, name=user, organisation=user.split(".")[1].upper())
            for user, m in team.items()}  # fmt: skip
    today = gov.today()
    Administration(gov).open_project(ADMIN, ProjectApplication(
        PROJECT, "COVID-19 cases, support payments and population in Gyeonggi",
        Purpose.STATISTICS, "Confirmed cases per 100,000 by si/gun, age band and sex",
        tuple(DatasetRequest(s.dataset, s.custodian) for s in specs),
        today, today + dt.timedelta(days=364),
    ), team)  # fmt: skip
    return gov


def demo_keys(home: Path) -> PassphraseKeyFile:
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


def _party_keys(out: Path, custodians: Iterable[str]) -> dict[str, PartyKeyStore]:
    """Fresh key stores for every party (``<party dir>/keys``), each trusting the others.

    The inboxes, outboxes and opened parts of an earlier run are cleared too.
    """
    homes = {c: out / "custodians" / c for c in custodians}
    homes |= {"linkage_unit": out / "linkage_unit", "hub": out / "hub"}
    stores = {}
    for party, home in homes.items():
        for stale in ("inbox", "outbox", "received"):
            shutil.rmtree(home / stale, ignore_errors=True)
        shutil.rmtree(home / "keys", ignore_errors=True)
        stores[party] = PartyKeyStore.create(home / "keys", party)
    introduce(list(stores.values()))
    return stores


def _custodians_send(
    gov: Governance,
    out: Path,
    keys: dict[str, PartyKeyStore],
    say: Callable[[str], None],
    world: WorldFiles,
) -> tuple[dict[str, IngestResult], dict[str, pa.Table]]:
    """Each custodian approves, ingests, prepares, seals and sends its dataset (services)."""
    secret = LinkageSecret.generate()  # shared by the custodians only
    inboxes = {"linkage_unit": out / "linkage_unit" / "inbox", "hub": out / "hub" / "inbox"}
    ingested: dict[str, IngestResult] = {}
    serial_maps = {}
    custodians = {}
    for dataset in DATASETS:  # every custodian approves before any data moves
        spec = demo_spec(dataset)
        home = out / "custodians" / spec.custodian
        custodians[dataset] = Custodian(gov, PROJECT, home, keys[spec.custodian])
        custodians[dataset].approve(_officer(spec.custodian), dataset)
    for dataset, custodian in custodians.items():
        spec = demo_spec(dataset)
        officer = _officer(spec.custodian)
        secret.save(custodian.home / "secrets" / "linkage.key")
        say(f"{spec.custodian}: ingest, prepare, seal and send {dataset}")
        ingested[dataset] = custodian.ingest(officer, spec, world.datasets[dataset])
        parts = custodian.prepare(officer, ingested[dataset].directory, secret)
        custodian.send(officer, custodian.seal(officer, parts), inboxes)
        serial_maps[dataset] = pq.read_table(parts.serial_map)
    return ingested, serial_maps


def _report_linkage_rates(hub: Hub, out: Path) -> Path:
    """The hub's aggregate feedback to the linkage unit: cases linked to the register by group.

    Written to ``<demo>/linkage_unit/feedback/``: counts by group only, small groups withheld.
    """
    rates = hub.linkage_rates(HUB_OPERATOR, "gyeonggi_cases", "kostat_register")
    path = out / "linkage_unit" / RATES_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    sink = pa.BufferOutputStream()
    pacsv.write_csv(rates, sink)
    return write_bytes_atomic(sink.getvalue().to_pybytes(), path)


def _release_public(gov: Governance, store: Path, out: Path) -> tuple[Path, list[str]]:
    """The demo's public statistics, each through the project's one release path.

    The analyst computes each table in the hub (the DP table spends the project's privacy
    budget into a staging folder inside the hub); two output checkers approve it and one
    releases it into ``out/release/<name>/``: the ledger's attacker LP over everything the
    project has released runs first, then its portal table is published in
    ``out/release/public/`` (:func:`ansim.portal.publish`, through the release service).

    Returns:
        The rate table's CSV and a line per release for the demo's log.
    """
    from ansim.demo import _public  # noqa: PLC0415 - the portal imports plotly

    service = ReleaseService(gov, PROJECT, out / "hub" / "workspace", portal_home=out)
    staging = out / "hub" / "staging"
    shutil.rmtree(staging, ignore_errors=True)
    notes = [write_dp(store, staging, governance=gov, admin=ADMIN, actor=ANALYST, project=PROJECT)]
    dp = staging / "release" / "dp"
    with gov.open_hub_store(ANALYST, PROJECT, store) as engine:
        period = _public.period(engine)
        rates, released = _public.rate_candidate(engine, service.ledger, period)
        built: list[tuple[str, Callable[[], Candidate]]] = [
            ("cases-per-100k", lambda: rates),
            ("support-uptake", lambda: _public.support_uptake(engine, service.ledger, period)),
            ("health-by-vaccination",
             lambda: _public.health_by_vaccination(engine, service.ledger, period)),
            ("dp", lambda: _public.dp_cases_table(
                {p.name: p.read_bytes() for p in sorted(dp.iterdir())}, period)),
            ("dp-support-month", lambda: _public.dp_support_table(
                {p.name: p.read_bytes() for p in sorted(dp.iterdir())}, period)),
        ]  # fmt: skip
        for name, build in built:  # one at a time: each is built against the ledger so far
            candidate = build()
            submitted = service.submit(ANALYST, candidate)
            service.approve(CHECKER, submitted.id, "cells and protection checked")
            service.approve(CHECKER2, submitted.id, "second independent approval")
            service.release(CHECKER, submitted.id, out / "release" / name)
            notes.append(f"released {submitted.id} ({name}): {candidate.title}, 2 approvals")
    shutil.rmtree(staging, ignore_errors=True)
    s = released.summary
    notes.insert(1, f"rate table: {s['cells']:,} cells, {s['cells_suppressed']:,} shown as x")
    return out / "release" / "cases-per-100k" / "cases_per_100k_by_sigungu_age_sex.csv", notes


def _release_synthetic(gov: Governance, store: Path, out: Path) -> str:
    """The DP synthetic extract of the linked cohort, through the project's release path.

    Made in a staging folder inside the hub (it spends the project's privacy budget), then
    approved by two output checkers and released into ``out/release/synthetic/``.
    """
    from ansim.privacy import synthetic_candidate  # noqa: PLC0415 - mbi imports JAX

    staging = out / "hub" / "staging"
    shutil.rmtree(staging, ignore_errors=True)
    made = write_synthetic(store, staging, governance=gov, admin=ADMIN, actor=ANALYST,
                           project=PROJECT)  # fmt: skip
    service = ReleaseService(gov, PROJECT, out / "hub" / "workspace", portal_home=out)
    candidate = synthetic_candidate(
        staging / "release" / "synthetic", "DP synthetic extract of the linked cohort (MST)"
    )
    submitted = service.submit(ANALYST, candidate)
    service.approve(CHECKER, submitted.id, "synthesis report and utility figures checked")
    service.approve(CHECKER2, submitted.id, "second independent approval")
    service.release(CHECKER, submitted.id, out / "release" / "synthetic")
    shutil.rmtree(staging, ignore_errors=True)
    return f"{made.replace(str(staging), str(out))}; released as {submitted.id}, 2 approvals"


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
    places = [out / "custodians" / demo_spec(d).custodian / "audit" for d in DATASETS]
    heads = Administration(gov).hand_out_head([*places, out / "public"])
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


def run_demo(
    people: int = 100_000,
    seed: int = 20211101,
    out: Path = Path("ansim-demo"),
    *,
    on_step: Callable[[str], None] | None = None,
) -> DemoRun:
    """Generate the demo world and run it through custodians, linkage unit, hub and release.

    Every party's step runs through its service (:mod:`ansim.services`), as the demo's user
    for that role. Layout under ``out``: ``world/`` (custodians' raw files and the true links),
    ``custodians/<custodian>/`` (ingest, quarantine, parts, serial maps, the project's
    linkage secret, ``outbox/`` with the sealed packages sent and ``audit/`` with the signed
    audit head handed to it), ``linkage_unit/`` (identity parts received, link map, report),
    ``hub/`` (content parts and link map received, ``hub.duckdb``, ``workspace/`` with the analyst's
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
    keys = _party_keys(out, [demo_spec(d).custodian for d in DATASETS])
    ingested, serial_maps = _custodians_send(gov, out, keys, say, world)
    lap("ingest_prepare")
    say("linkage unit: probabilistic matching on Bloom-filter encodings and tokens")
    unit = LinkageUnit(gov, PROJECT, out / "linkage_unit", keys["linkage_unit"])
    linkmap = unit.link(LINKER, unit.receive(LINKER, unit.inbox()))
    unit.seal_link_map(LINKER, out_dir=out / "hub" / "inbox")
    lap("match")
    say("hub: combining content parts through the link map")
    store = out / "hub" / "hub.duckdb"
    store.unlink(missing_ok=True)
    hub = Hub(gov, PROJECT, out / "hub", keys["hub"], store)
    hub.combine(HUB_OPERATOR, hub.receive(HUB_OPERATOR, hub.inbox()))
    rates = read_linkage_rates(_report_linkage_rates(hub, out))  # the report gains them
    write_linkage_report_html(dataclasses.asdict(linkmap.report), unit.home, rates=rates)
    lap("combine")
    say("release: the public statistics, each approved twice and audited by the ledger")
    for stale in (out / "release", out / "hub" / "workspace"):  # from nothing, as governance
        shutil.rmtree(stale, ignore_errors=True)
    # The analyst's checked bundle first: the public tables after it withhold whatever the
    # project's ledger would refuse given it (the other order refuses the bundle instead).
    say(_workspace_outputs(gov, store, out))  # checked analyses, two-person review, bundle
    release, notes = _release_public(gov, store, out)
    for note in notes:
        say(note)
    say(_release_synthetic(gov, store, out))
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
