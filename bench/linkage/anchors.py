"""The anchor linkers of the linkage benchmark: Splink on plaintext, clkhash + anonlink.

Both read the same plaintext files Ansim's custodians read (the demo world's CSVs, or FEBRL4)
and return a clustering ``key -> cluster`` for :func:`ansim.linkage.pairwise_quality`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import pandas as pd
import pyarrow as pa

from ansim.identity import standardise_name


@dataclass
class Records:
    """Plaintext records of two sources in one frame: ``key``, ``source`` and fields."""

    frame: pd.DataFrame
    fields: list[str]


def standardised(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """Demo-world plaintext, standardised the way any plaintext linker would."""
    out = pd.DataFrame()
    out["key"] = source + "\x1f" + frame["record_id"].astype(str)
    out["source"] = source
    out["name"] = [standardise_name(v) if isinstance(v, str) else None for v in frame["name"]]
    out["rrn"] = frame["rrn"].astype("string").str.replace(r"\D", "", regex=True)
    dob = frame["birth_date"].astype("string").str.replace(r"\D", "", regex=True)
    out["dob"] = dob.str.slice(0, 4) + "-" + dob.str.slice(4, 6) + "-" + dob.str.slice(6, 8)
    out["sex"] = frame["sex"].astype("string")
    out["phone"] = frame["phone"].astype("string").str.replace(r"\D", "", regex=True)
    for column in ("rrn", "dob", "phone"):
        out.loc[out[column].str.len() < 4, column] = None  # noqa: PLR2004
    return out


def splink_clusters(
    records: pd.DataFrame,
    comparisons: list[object],
    blocking: list[object],
    training: list[object],
    threshold: float = 0.5,
    *,
    link_type: str = "link_and_dedupe",
) -> tuple[pa.Table, float]:
    """Splink's standard probabilistic model (DuckDB), clustered at ``threshold``.

    ``link_type``: ``link_and_dedupe`` (two or more sources) or ``dedupe_only`` (one).
    """
    from splink import DuckDBAPI, Linker, SettingsCreator  # noqa: PLC0415 -- imported in the process that runs this linker

    start = time.perf_counter()
    frames = [
        g.drop(columns="source").rename(columns={"key": "unique_id"})
        for _, g in records.groupby("source", sort=True)
    ]
    db = DuckDBAPI()
    tables = [db.register(f, dataset_display_name=f"s{i}") for i, f in enumerate(frames)]
    settings = SettingsCreator(
        link_type=link_type,
        comparisons=comparisons,
        blocking_rules_to_generate_predictions=blocking,
        retain_intermediate_calculation_columns=False,
    )
    linker = Linker(tables, settings, log_level=40)
    linker.training.estimate_probability_two_random_records_match(training[:1], recall=0.95)
    linker.training.estimate_u_using_random_sampling(max_pairs=5e6)
    for rule in training:
        linker.training.estimate_parameters_using_expectation_maximisation(rule)
    predictions = linker.inference.predict(threshold_match_probability=threshold)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold
    ).as_pandas_dataframe()
    seconds = time.perf_counter() - start
    table = pa.table(
        {
            "key": pa.array(clusters["unique_id"].astype(str).tolist(), pa.string()),
            "cluster": pa.array(clusters["cluster_id"].astype(str).tolist(), pa.string()),
        }
    )
    return table, seconds


def anonlink_clusters(
    records: pd.DataFrame,
    features: list[tuple[str, str, dict[str, object]]],
    block_year: bool,
    threshold: float = 0.8,
) -> tuple[pa.Table, float]:
    """clkhash CLKs (1024 bits) and anonlink candidate generation + greedy 1-to-1 solving."""
    import anonlink  # noqa: PLC0415 -- imported in the process that runs this linker
    from clkhash import clk  # noqa: PLC0415 -- imported in the process that runs this linker
    from clkhash.schema import from_json_dict  # noqa: PLC0415 -- imported in the process that runs this linker

    start = time.perf_counter()
    schema = from_json_dict(
        {
            "version": 3,
            "clkConfig": {
                "l": 1024,
                "kdf": {
                    "type": "HKDF",
                    "hash": "SHA256",
                    "keySize": 64,
                    "salt": "YW5zaW0tYmVuY2g=",
                    "info": "YmVuY2g=",
                },
            },
            "features": [
                {
                    "identifier": name,
                    "format": fmt,
                    "hashing": {
                        "comparison": {"type": "ngram", "n": 2},
                        "hash": {"type": "blakeHash"},
                        "strategy": strategy,
                        "missingValue": {"sentinel": ""},
                    },
                }
                for name, fmt_type, strategy in features
                for fmt in [{"type": "string", "encoding": "utf-8"}]
            ],
        }
    )
    groups = [g for _, g in records.groupby("source", sort=True)]
    names = [name for name, _, _ in features]
    clks = []
    for g in groups:
        rows = g[names].fillna("").astype(str).to_numpy().tolist()
        clks.append(clk.generate_clks(rows, schema, "bench-secret", validate=False))
    encode_seconds = time.perf_counter() - start
    years = [g["dob"].fillna("0000").str.slice(0, 4).tolist() for g in groups]

    def blocks(dataset: int, index: int, _record: object) -> list[str]:
        year = years[dataset][index]
        if not year.isdigit():
            return ["none"]
        y = int(year)
        return [str(y)] if dataset == 0 else [str(y - 1), str(y), str(y + 1)]

    candidates = anonlink.candidate_generation.find_candidate_pairs(
        clks,
        anonlink.similarities.dice_coefficient_accelerated,
        threshold,
        blocking_f=blocks if block_year else None,
    )
    solution = anonlink.solving.greedy_solve(candidates)
    seconds = time.perf_counter() - start
    cluster = {}
    for number, group in enumerate(solution):
        for dataset, index in group:
            cluster[groups[dataset]["key"].iloc[index]] = f"c{number}"
    keys = records["key"].tolist()
    table = pa.table(
        {
            "key": pa.array(keys, pa.string()),
            "cluster": pa.array([cluster.get(k, k) for k in keys], pa.string()),
        }
    )
    del encode_seconds
    return table, seconds
