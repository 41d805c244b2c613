"""Calibration of the label-free false-link estimate on small demo worlds (issue 15).

Each world is generated, ingested, prepared with one fixed test key and linked with the
default configuration; its true false links (clusters of the link map joining different
people) are counted from the generator's truth, which the estimate never sees.
"""

import dataclasses
from collections import defaultdict
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from ansim.demo import _corruption, generate_world
from ansim.demo._run import demo_spec
from ansim.identity import LinkageSecret, prepare
from ansim.ingest import ingest_file, load_ingested
from ansim.linkage import LinkageConfig, link
from ansim.packages import read_part

DATASETS = ("gyeonggi_cases", "kostat_register", "snu_cohort")
SECRET = LinkageSecret(bytes(range(32)))  # a fixed test key: the same run every time
# (people, seed, error scale): the demo generator's identifier error rates times the scale
WORLDS = [
    (4000, 19, 1.0), (4000, 31, 1.0), (4000, 32, 1.0), (4000, 33, 1.0), (4000, 34, 1.0),
    (4000, 35, 2.0), (4000, 36, 2.0), (4000, 37, 3.0), (4000, 38, 3.0), (4000, 39, 3.0),
]  # fmt: skip
INGEST_CHECKS = {"rrn_malformed", "impossible_case_date"}  # not identifier errors


def _scaled(scale: float) -> _corruption.ErrorRates:
    rates = _corruption.RATES
    return dataclasses.replace(
        rates,
        **{
            f.name: min(0.5, getattr(rates, f.name) * scale)
            for f in dataclasses.fields(rates)
            if f.name not in INGEST_CHECKS
        },
    )


def _one_world(
    people: int, seed: int, scale: float, out: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[int, dict[str, float]]:
    """True false links of one world and the report's ``false_links`` interval."""
    with monkeypatch.context() as patch:
        patch.setattr(_corruption, "RATES", _scaled(scale))
        files = generate_world(people, seed, out / "world")
    truth = pacsv.read_csv(files.truth)
    parts, person = [], {}
    for name in DATASETS:
        spec = demo_spec(name)
        ingested = ingest_file(spec, files.datasets[name], out / "ingest")
        _, records = load_ingested(ingested.directory)
        prepared = prepare(spec, records, SECRET, out / "prep", project="calibration")
        parts.append(read_part(prepared.identity, "identity"))
        rows = truth.filter(pc.equal(truth["dataset"], name))
        true_person = dict(
            zip(map(str, rows["record_id"].to_pylist()), rows["person_id"].to_pylist(), strict=True)
        )
        serials = pq.read_table(prepared.serial_map)
        for record, serial in zip(
            serials["record_id"].to_pylist(), serials["serial"].to_pylist(), strict=True
        ):
            person[name, serial] = true_person[str(record)]
    linkmap = link(parts, LinkageConfig(seed=seed))
    found: defaultdict[str, set[object]] = defaultdict(set)
    for row in linkmap.table.select(["serial", "dataset", "person_id"]).to_pylist():
        found[row["person_id"]].add(person[row["dataset"], row["serial"]])
    interval = linkmap.report.estimates["false_links"]
    assert isinstance(interval, dict)
    return sum(len(people) > 1 for people in found.values()), interval


@pytest.mark.slow
def test_false_link_interval_holds_the_truth_in_nine_of_ten_small_worlds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    covered = close = 0
    table = []
    for people, seed, scale in WORLDS:
        true, interval = _one_world(people, seed, scale, tmp_path / f"w{seed}", monkeypatch)
        covered += interval["low"] <= true <= interval["high"]
        # within 1.5x on counts + 1 (a world with no false link: a point of at most 0.5)
        ratio = (interval["point"] + 1) / (true + 1)
        close += 1 / 1.5 <= ratio <= 1.5
        table.append((seed, scale, true, interval))
    assert covered >= 9, table  # the goal; 10 of 10 when measured
    # Measured: 2 of 10. These small worlds hold 3-8 false merges each (twins within one
    # dataset, often linked directly), more per record than 10k-50k worlds, and the point
    # is 1.5-7x too low on them (docs/benchmarks.md); a regression guard, not the goal.
    assert close >= 2, table
