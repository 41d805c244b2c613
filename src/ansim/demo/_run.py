"""``ansim demo``: the Gyeonggi demo world through every party, end to end."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ansim._atomic import write_bytes_atomic, write_text_atomic
from ansim.demo._world import WorldFiles, generate_world
from ansim.engine import Engine
from ansim.hub import combine_files
from ansim.identity import LinkageSecret, prepare
from ansim.ingest import IngestResult, ingest_file, load_ingested
from ansim.linkage import LINKMAP_FILE, PairwiseQuality, match_files, quality_against_truth
from ansim.release import rate_table, write_release
from ansim.schema import DatasetSpec

__all__ = ["DemoRun", "demo_spec", "run_demo"]

PROJECT = "gyeonggi-covid-demo"
DATASETS = ("gyeonggi_cases", "kostat_register", "snu_cohort")


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
        hub_store: The hub's DuckDB store.
        seconds: Wall time per step.
    """

    out: Path
    world: WorldFiles
    ingested: dict[str, IngestResult]
    quality: PairwiseQuality
    release: Path
    hub_store: Path
    seconds: dict[str, float] = field(default_factory=dict)


def run_demo(
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
    (content parts and link map received, ``hub.duckdb``), ``release/`` (the published table)
    and ``evaluation/`` (linkage quality against the true links).

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
    secret = LinkageSecret.generate()  # shared by the custodians only
    ingested: dict[str, IngestResult] = {}
    unit_inbox, hub_inbox = out / "linkage_unit" / "inbox", out / "hub" / "inbox"
    serial_maps = {}
    for dataset in DATASETS:
        spec = demo_spec(dataset)
        home = out / "custodians" / spec.custodian
        secret.save(home / "secrets" / "linkage.key")
        say(f"{spec.custodian}: ingest and prepare {dataset}")
        ingested[dataset] = ingest_file(spec, world.datasets[dataset], home / "ingest")
        _, records = load_ingested(ingested[dataset].directory)
        parts = prepare(spec, records, secret, home / "prepared", project=PROJECT)
        write_bytes_atomic(parts.identity.read_bytes(), unit_inbox / parts.identity.name)
        write_bytes_atomic(parts.content.read_bytes(), hub_inbox / parts.content.name)
        serial_maps[dataset] = pq.read_table(parts.serial_map)
    lap("ingest_prepare")
    say("linkage unit: exact matching on tokens")
    linkmap = match_files(sorted(unit_inbox.glob("*.parquet")), out / "linkage_unit")
    write_bytes_atomic((out / "linkage_unit" / LINKMAP_FILE).read_bytes(), hub_inbox / LINKMAP_FILE)
    lap("match")
    say("hub: combining content parts through the link map")
    store = out / "hub" / "hub.duckdb"
    store.unlink(missing_ok=True)
    contents = sorted(p for p in hub_inbox.glob("*.parquet") if p.name != LINKMAP_FILE)
    combine_files(contents, hub_inbox / LINKMAP_FILE, store)
    lap("combine")
    say("release: confirmed cases per 100,000 by si/gun × age band × sex")
    with Engine(store, read_only=True) as engine:
        release = write_release(
            rate_table(engine), out / "release" / "cases_per_100k_by_sigungu_age_sex.csv"
        )
    lap("release")
    quality = quality_against_truth(linkmap.table, serial_maps, pacsv.read_csv(world.truth))
    evaluation = {
        "method": "exact tokens: HMAC(RRN) ∪ HMAC(name+birth date+sex) ∪ HMAC(name+phone)",
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
    return DemoRun(out, world, ingested, quality, release, store, seconds)
