"""Calibration of the label-free false-link estimate on demo worlds (issue 15).

    PYTHONPATH=src .venv/bin/python bench/linkage/calibration.py 10000 1 [error_scale]

Links the three demo datasets with the default configuration and prints, as JSON, the true
number of false links beside the report's ``false_links`` interval: clusters of the link map
that join different true persons (what ``false_links`` estimates), the accepted pairs that
join different persons, and the model's own sum of ``1 - p`` over the links.
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ansim.demo import generate_world
from ansim.demo._run import demo_spec
from ansim.identity import LinkageSecret, prepare
from ansim.ingest import ingest_file, load_ingested
from ansim.linkage import LinkageConfig, link
from ansim.packages import read_part

sys.path.insert(0, str(Path(__file__).parent))
DATASETS = ("gyeonggi_cases", "kostat_register", "snu_cohort")


def main(people: int, seed: int, out: Path) -> dict[str, object]:
    """Link one demo world and compare the estimate with the truth."""
    files = generate_world(people, seed, out / "world")
    secret = LinkageSecret.generate()
    parts, person = [], {}
    truth = pacsv.read_csv(files.truth)
    for name in DATASETS:
        spec = demo_spec(name)
        result = ingest_file(spec, files.datasets[name], out / "ingest")
        _, records = load_ingested(result.directory)
        prepared = prepare(spec, records, secret, out / "prep", project="calibration")
        parts.append(read_part(prepared.identity, "identity"))
        rows = truth.filter(pc.equal(truth["dataset"], name))
        true_person = dict(
            zip(map(str, rows["record_id"].to_pylist()), rows["person_id"].to_pylist(), strict=True)
        )
        serial_map = pq.read_table(prepared.serial_map)
        for record, serial in zip(
            serial_map["record_id"].to_pylist(), serial_map["serial"].to_pylist(), strict=True
        ):
            person[name, serial] = true_person.get(str(record))
    linkmap = link(parts, LinkageConfig(pairs_floor=0.0), pairs=True)  # every candidate
    pairs = linkmap.pairs.to_pylist() if linkmap.pairs is not None else []
    links = [p for p in pairs if p["match_probability"] >= LinkageConfig().match_probability]
    false_pairs = sum(
        person[p["dataset_l"], p["serial_l"]] != person[p["dataset_r"], p["serial_r"]]
        for p in links
    )
    persons_in: defaultdict[str, set[object]] = defaultdict(set)
    for row in linkmap.table.select(["serial", "dataset", "person_id"]).to_pylist():
        persons_in[row["person_id"]].add(person[row["dataset"], row["serial"]])
    false_clusters = sum(len(found) > 1 for found in persons_in.values())
    missed = _missed(
        linkmap.table.select(["serial", "dataset", "person_id"]).to_pylist(), pairs, person
    )
    estimates = linkmap.report.estimates
    interval = estimates["false_links"]
    if not isinstance(interval, dict):
        raise TypeError("the report holds no false_links interval")
    return {
        "people": people,
        "seed": seed,
        "links": len(links),
        "true_false_links": false_clusters,
        "true_false_pairs": false_pairs,
        "model_expected": estimates["model_expected_false_links"],
        "false_links": interval,
        "covered": interval["low"] <= false_clusters <= interval["high"],
        "doubtful_clusters": estimates["doubtful_clusters"],
        **missed,
        "missed_links": estimates["missed_links"],
        "blocking_missed": linkmap.report.blocking["estimated_true_pairs_missed_interval"],
        "switched_on": linkmap.report.blocking["extra_passes_switched_on"],
    }


def _missed(
    rows: list[dict[str, object]],
    pairs: list[dict[str, object]],
    person: dict[tuple[str, str], object],
) -> dict[str, int]:
    """True pairs (two records of one person) not linked, and not even a candidate."""
    records: defaultdict[object, int] = defaultdict(int)
    together: defaultdict[tuple[object, object], int] = defaultdict(int)
    for row in rows:
        who = person[str(row["dataset"]), str(row["serial"])]
        records[who] += 1
        together[who, row["person_id"]] += 1
    true_pairs = sum(n * (n - 1) // 2 for n in records.values())
    linked = sum(n * (n - 1) // 2 for n in together.values())
    candidates = sum(
        person[str(p["dataset_l"]), str(p["serial_l"])]
        == person[str(p["dataset_r"]), str(p["serial_r"])]
        for p in pairs
    )
    return {
        "true_pairs": true_pairs,
        "true_missed_links": true_pairs - linked,
        "true_missed_by_blocking": true_pairs - candidates,
    }


if __name__ == "__main__":
    if len(sys.argv) > 3:  # noqa: PLR2004 -- the optional error scale
        from run import _scale_errors

        _scale_errors(float(sys.argv[3]))
    with tempfile.TemporaryDirectory() as scratch:
        result = main(int(sys.argv[1]), int(sys.argv[2]), Path(scratch))
    sys.stdout.write(json.dumps(result) + "\n")
