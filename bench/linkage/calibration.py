"""Calibration of the label-free false-link estimate on demo worlds (issue 15).

    PYTHONPATH=src .venv/bin/python bench/linkage/calibration.py 10000 1

Links the three demo datasets with the default configuration and prints, as JSON, the true
number of false links (accepted pairs joining two different true persons) beside the
report's ``false_links`` interval and the model's own sum of ``1 - p``.
"""

from __future__ import annotations

import json
import sys
import tempfile
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
    linkmap = link(parts, LinkageConfig(), pairs=True)
    pairs = linkmap.pairs.to_pylist() if linkmap.pairs is not None else []
    links = [p for p in pairs if p["match_probability"] >= LinkageConfig().match_probability]
    false = sum(
        person[p["dataset_l"], p["serial_l"]] != person[p["dataset_r"], p["serial_r"]]
        for p in links
    )
    estimates = linkmap.report.estimates
    return {
        "people": people,
        "seed": seed,
        "links": len(links),
        "true_false_links": false,
        "model_expected": estimates["model_expected_false_links"],
        "false_links": estimates["false_links"],
        "switched_on": linkmap.report.blocking["extra_passes_switched_on"],
    }


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as scratch:
        result = main(int(sys.argv[1]), int(sys.argv[2]), Path(scratch))
    sys.stdout.write(json.dumps(result) + "\n")
