"""Attack success against linkage quality, the old field-level spec beside the hardened ones.

    PYTHONPATH=src .venv/bin/python bench/privacy_attacks/tradeoff.py --people 20000

Generates the demo world (seed 2026), ingests ``gyeonggi_cases`` and ``kostat_register`` as
their custodians do, then for each encoding prepares both datasets with the project's own
``prepare`` (same secret for all encodings), links them with the project's linkage (default
configuration: probabilistic, and the fuzzy CLK method) and scores the link maps pairwise
against the true links; on the KOSTAT identity part it runs the attacks (frequency alignment,
low-cardinality + hub feedback, surname pattern mining, graph matching). Prints one Markdown
table. ``--only`` picks rows of :func:`encodings` by name: ``default (balance)`` (the old
field-level spec, ``LEGACY_FIELD_LEVEL_SPEC``), ``hardened`` (today's default), one
tap count everywhere (``taps 4 everywhere``), and ``name N, clk C, digits D`` variants (taps on
names and addresses, the CLK, birth date / phone / RRN).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).parent))
from attacks import Targets, record_key, run_attacks
from graph_matching import graph_attack, name_grams, record_grams
from pattern_mining import surname_attack, surname_recovered
from public_lists import published_knowledge, surname_shares

from ansim.demo import generate_world
from ansim.identity import (
    DEFAULT_ENCODING_SPEC,
    LEGACY_FIELD_LEVEL_SPEC,
    EncodingSpec,
    LinkageSecret,
    prepare,
    standardise_columns,
)
from ansim.ingest import ingest_file
from ansim.linkage import LinkageConfig, link, pairwise_quality
from ansim.packages import read_part
from ansim.schema import DatasetSpec, IdentifierKind

SPECS = Path(__file__).resolve().parents[2] / "src" / "ansim" / "demo" / "specs"
DATASETS = ("gyeonggi_cases", "kostat_register")
ATTACKED = "kostat_register"


def _with_taps(name: int | None, clk: int, digits: int | None = 10) -> EncodingSpec:
    """The default (hardened) spec with ``name`` taps on ``bf_name``, ``clk`` on the CLK,
    ``digits`` on birth date, phone and RRN (``None``: the spec's taps)."""
    own = {"name": name, "address": name, "birth_date": digits, "phone": digits, "rrn": digits}
    fields = tuple(
        replace(f, taps=own.get(f.field)) if f.bits else f for f in DEFAULT_ENCODING_SPEC.fields
    )
    return replace(DEFAULT_ENCODING_SPEC, fields=fields, taps=clk)


def encodings() -> dict[str, EncodingSpec]:
    """The old field-level spec; the default (hardened) and variants of its taps; CLK only."""
    out = {"default (balance)": LEGACY_FIELD_LEVEL_SPEC, "hardened": DEFAULT_ENCODING_SPEC}
    for taps in (1, 2, 3, 4, 5, 6):
        out[f"taps {taps} everywhere"] = _with_taps(None, taps, None)
    for name, clk, digits in ((4, 4, 6), (4, 8, 10), (5, 8, 6), (6, 8, 6), (4, 8, 14)):
        out[f"name {name}, clk {clk}, digits {digits}"] = _with_taps(name, clk, digits)
    clk_only = tuple(replace(f, bits=0, taps=None) for f in DEFAULT_ENCODING_SPEC.fields)
    for taps in (1, 3):
        out[f"hardened CLK only, taps {taps}"] = replace(
            DEFAULT_ENCODING_SPEC, fields=clk_only, taps=taps
        )
    return out


def _spread(shares: list[float]) -> str:
    """One share, or the mean and range of several."""
    if len(shares) == 1:
        return f"{shares[0]:.4f}"
    return f"{sum(shares) / len(shares):.4f} ({min(shares):.4f}–{max(shares):.4f})"


def _quality(linkmap: pa.Table, serial_maps: dict[str, pa.Table], truth: pa.Table) -> float:
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
        pa.table({"key": key(truth), "entity": truth["person_id"]}),
    )
    return q.f1


def main() -> None:  # noqa: PLR0915 -- one measured run, read top to bottom
    """Parse arguments, run every encoding, print the table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--only", nargs="*", default=None, help="encoding names to run")
    parser.add_argument("--graph-sample", type=int, default=1000)
    parser.add_argument("--graph-seeds", type=int, default=1, help="graph samples per encoding")
    parser.add_argument("--seed", type=int, default=1, help="derives the (trial) project secret")
    args = parser.parse_args()
    secret = LinkageSecret(hashlib.sha256(f"tradeoff {args.seed}".encode()).digest())
    public = published_knowledge(200_000, 99)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        world = generate_world(args.people, 2026, Path(tmp) / "world")
        truth = pacsv.read_csv(world.truth, convert_options=pacsv.ConvertOptions(
            column_types={"record_id": pa.string()}))  # fmt: skip
        truth = truth.filter(pc.is_in(truth["dataset"], value_set=pa.array(DATASETS)))
        landed = {}
        for d in DATASETS:
            spec = DatasetSpec.from_yaml(SPECS / f"{d}.yaml")
            result = ingest_file(spec, world.datasets[d], Path(tmp) / "ingest")
            landed[d] = (spec, pq.read_table(result.directory / "records.parquet"))
        spec, records = landed[ATTACKED]
        values, _ = standardise_columns(spec, records)
        names = values[IdentifierKind.KOREAN_NAME].to_pylist()
        births = values[IdentifierKind.BIRTH_DATE].to_pylist()
        sexes = values[IdentifierKind.SEX].to_pylist()
        plain_names = [n or "" for n in names]
        keys = [record_key(*r) for r in zip(names, births, sexes, strict=True)]
        prior = Counter(n[0] for n in names if n).most_common(1)[0][1] / len(names)
        print(f"attacked {ATTACKED}: {len(names)} records; surname prior (김) {prior:.4f}")
        for label, encoding in encodings().items():
            if args.only and label not in args.only:
                continue
            out = Path(tmp) / label.replace(" ", "_").replace(",", "")
            parts, serial_maps = [], {}
            for d, (dspec, drecords) in landed.items():
                prepared = prepare(dspec, drecords, secret, out, project="tradeoff",
                                   encoding=encoding)  # fmt: skip
                parts.append(read_part(prepared.identity, "identity"))
                serial_maps[d] = pq.read_table(prepared.serial_map)
            f1 = {}
            for method in ("probabilistic", "fuzzy"):
                start = time.perf_counter()
                linkmap = link(parts, LinkageConfig(method=method))
                f1[method] = (
                    _quality(linkmap.table, serial_maps, truth),
                    time.perf_counter() - start,
                )
            identity = parts[DATASETS.index(ATTACKED)].table
            columns = {c: identity[c].combine_chunks() for c in identity.column_names
                       if c.startswith(("bf_", "clk"))}  # fmt: skip
            results = run_attacks(Targets(names, births, sexes, columns), public)
            share = {f"{r.column}→{r.target}": r.share for r in results}
            surname = {}
            for column, hashes in (("bf_name", 40), ("clk", 20)):
                if column in columns:
                    guess = surname_attack(columns[column], surname_shares(), hashes=hashes)
                    surname[column] = surname_recovered(guess, names, surname_shares())
            plain = [
                record_grams(n, b or "", x or "")
                for n, b, x in zip(plain_names, births, sexes, strict=True)
            ]
            attacked = {"clk": (keys, plain.__getitem__)}
            if "bf_name" in columns:
                attacked["bf_name"] = (plain_names, lambda i: name_grams(plain_names[i]))
            graph = {
                column: [
                    graph_attack(columns[column], truth_of, grams, sample=args.graph_sample,
                                 seed=seed).share
                    for seed in range(args.graph_seeds)
                ]
                for column, (truth_of, grams) in attacked.items()
            }  # fmt: skip
            rows.append((label, f1, share, surname, graph))
            print(label, f1, share, surname, graph, flush=True)
    print()
    print(
        "| encoding | F1 probabilistic | F1 fuzzy (CLK) | frequency: name / birth / record "
        "| sex labelled | surname by pattern mining (bf_name / clk) "
        "| graph matching, overlap 1 (bf_name / clk) |"
    )
    print("|---|---|---|---|---|---|---|")
    wanted = ("bf_name→full_name", "bf_birth_date→birth_date", "clk→record")
    for label, f1, share, surname, graph in rows:
        freq = " / ".join(f"{share.get(k, 0):.4f}" for k in wanted)
        sex = max((v for k, v in share.items() if k.endswith("→sex")), default=0.0)
        mined = " / ".join(f"{surname[c]:.4f}" if c in surname else "—" for c in ("bf_name", "clk"))
        matched = " / ".join(_spread(graph[c]) if c in graph else "—" for c in ("bf_name", "clk"))
        print(f"| {label} | {f1['probabilistic'][0]:.4f} | {f1['fuzzy'][0]:.4f} | {freq} "
              f"| {sex:.4f} | {mined} | {matched} |")  # fmt: skip


if __name__ == "__main__":
    main()
