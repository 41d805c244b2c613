"""Calibration of the label-free false-link estimate on small demo worlds (issue 15).

Each world is generated, ingested, prepared with one fixed test key and linked with the
default configuration; its true false links (clusters of the link map joining different
people) are counted from the generator's truth, which the estimate never sees.
"""

import dataclasses
from collections import Counter, defaultdict
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


def _pairs(counts: Counter[object]) -> int:
    return sum(n * (n - 1) // 2 for n in counts.values())


def _one_world(
    people: int, seed: int, scale: float, out: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[int, dict[str, float], int, dict[str, float]]:
    """True false and missed links of one world and the report's intervals for them."""
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
    per_person: Counter[object] = Counter()
    together: Counter[object] = Counter()
    for row in linkmap.table.select(["serial", "dataset", "person_id"]).to_pylist():
        who = person[row["dataset"], row["serial"]]
        found[row["person_id"]].add(who)
        per_person[who] += 1
        together[who, row["person_id"]] += 1
    false, missed = (linkmap.report.estimates[k] for k in ("false_links", "missed_links"))
    assert isinstance(false, dict)
    assert isinstance(missed, dict)
    true_false = sum(len(people) > 1 for people in found.values())
    return true_false, false, _pairs(per_person) - _pairs(together), missed


def _close(point: float, true: int) -> bool:
    """Within 1.5x on counts + 1 (a world with no false link: a point of at most 0.5)."""
    return 1 / 1.5 <= (point + 1) / (true + 1) <= 1.5


@pytest.mark.slow
def test_estimates_against_the_truth_in_ten_small_worlds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    covered = close = missed_covered = missed_close = 0
    table = []
    for people, seed, scale in WORLDS:
        true, interval, true_missed, missed = _one_world(
            people, seed, scale, tmp_path / f"w{seed}", monkeypatch
        )
        covered += interval["low"] <= true <= interval["high"]
        close += _close(interval["point"], true)
        missed_covered += missed["low"] <= true_missed <= missed["high"]
        missed_close += _close(missed["point"], true_missed)
        table.append((seed, scale, true, interval, true_missed, missed))
    assert covered >= 9, table  # the goal; 10 of 10 when measured
    assert missed_covered >= 9, table  # 10 of 10 when measured
    # The goal for the points, 9 of 10 within 1.5x, is NOT met (docs/benchmarks.md):
    # measured 3 of 10 for false links (2 with the fixed factor before) and 4 of 10 for
    # missed links. These 4k worlds hold several false links each, nearly all false merges of
    # twins, some of them with a doubt below 0.001. A regression guard, not the goal.
    assert close >= 2, (close, missed_close, table)
    assert missed_close >= 3, (close, missed_close, table)
