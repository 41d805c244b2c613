"""Partitioned work on an engine: one block-to-partition rule, the same rows in every partition.

A dice pass, the comparison of candidate pairs and their scoring run a Python function per
partition; each engine must give it the same rows (every block in exactly one partition, the
partition ``pmod(xxhash64(key), P)``), so a seeded run gives the same pairs and levels.
"""

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from ansim.engine import QueryEngine, partition_of, xxhash64
from ansim.errors import EngineError
from ansim.linkage import (
    BlockingRule,
    EncodedRecords,
    FellegiSunterModel,
    FieldComparison,
    block_pairs,
    block_pairs_on,
    comparison_levels,
    comparison_levels_on,
    encode_records,
    popcounts,
    score_pairs_on,
    shared_columns,
)
from ansim.packages import read_part

_SEEN = pa.schema([("key", pa.int64()), ("first_key", pa.int64()), ("rows", pa.int64())])


def _seen(rows: pa.Table) -> pa.Table:
    """Per key of a partition: the partition's smallest key and its number of rows."""
    keys = pc.unique(rows["key"])
    first = pa.array(np.full(len(keys), pc.min(rows["key"]).as_py(), np.int64))
    count = pa.array(np.full(len(keys), rows.num_rows, np.int64))
    return pa.table([keys, first, count], schema=_SEEN)


def test_every_key_lands_in_its_hashed_partition(engine: QueryEngine) -> None:
    rng = np.random.default_rng(11)
    # many blocks: keys from small to near the int64 limits, compound-key sized
    keys = np.concatenate([rng.integers(0, 3000, 20_000), rng.integers(0, 1 << 62, 500)])
    rows = pa.table({"key": keys, "x": np.arange(keys.size)})
    table = engine.create_table("partition_keys", rows)
    out = engine.to_pyarrow(engine.map_partitions(table, _seen, _SEEN, by="key", partitions=16))
    got = {row["key"]: (row["first_key"], row["rows"]) for row in out.to_pylist()}
    # each key seen by exactly one call, in the partition pmod(xxhash64(key), 16)
    assert out.num_rows == len(got) == np.unique(keys).size
    part = partition_of(keys, 16)
    for p in np.unique(part):
        members = keys[part == p]
        expected = (int(members.min()), int(members.size))
        assert {got[int(k)] for k in np.unique(members)} == {expected}


@pytest.mark.spark
def test_xxhash64_is_sparks(spark_engine: QueryEngine) -> None:
    from pyspark.sql import functions as F  # noqa: PLC0415 - the spark extra

    keys = np.r_[0, 1, -1, np.iinfo(np.int64).max, np.iinfo(np.int64).min,
                 np.random.default_rng(3).integers(-(1 << 63), (1 << 63) - 1, 300)]  # fmt: skip
    frame = spark_engine.session.createDataFrame(pa.table({"k": keys}))  # type: ignore[attr-defined]
    rows = frame.select(F.xxhash64("k").alias("h")).toArrow()
    assert rows["h"].to_pylist() == xxhash64(keys).tolist()


def _many_blocks(people: int, seed: int) -> tuple[dict, dict, dict]:
    """People in some 2 000 birth-date blocks, half with a second record, some with a typo."""
    rng = np.random.default_rng(seed)
    person = np.concatenate([np.arange(people), rng.choice(people, people // 2, replace=False)])
    n = person.size
    names = rng.integers(0, 2**63, size=(people, 8), dtype=np.int64).view(np.uint64)
    bits = names[person].copy()
    typo = rng.random(n) < 0.3
    bits[typo, 0] ^= rng.integers(0, 2**63, int(typo.sum()), dtype=np.int64).view(np.uint64)
    birth = rng.integers(0, 2000, people)[person]
    codes = {
        "token_rrn": np.where(rng.random(n) < 0.9, person, -1).astype(np.int64),
        "bf_birth_date": np.where(rng.random(n) < 0.95, birth, -1).astype(np.int64),
    }
    filters = {"bf_name": (bits, np.ones(n, bool))}
    return codes, filters, {"bf_name": popcounts(bits)}


def test_many_blocks_give_the_same_pairs(engine: QueryEngine) -> None:
    codes, filters, counts = _many_blocks(8_000, 5)
    rules = [
        BlockingRule("bf_name", "dice", also=("bf_birth_date",), threshold=0.8, max_block=40),
        BlockingRule("token_rrn", max_block=2),  # no person has three records: none skipped
        BlockingRule("bf_birth_date", max_block=8),
    ]
    expected = block_pairs(rules, codes, filters, counts)
    assert expected.report[0].pairs > 2000 and expected.report[2].skipped_blocks > 10
    got = block_pairs_on(engine, rules, codes, filters, counts, partitions=16)
    assert got.first.tolist() == expected.first.tolist()
    assert got.second.tolist() == expected.second.tolist()
    assert got.passes.tolist() == expected.passes.tolist()
    assert got.report == expected.report


def test_comparison_levels_and_scores_are_identical(engine: QueryEngine, world: dict) -> None:
    parts = [read_part(p, "identity") for p in world["identity"]]
    records = encode_records(parts, shared_columns(parts))
    comparisons = (
        FieldComparison("bf_name"),
        FieldComparison("bf_birth_date", (1.0, 0.8)),
        FieldComparison("bf_address", (1.0,)),
        FieldComparison("token_rrn"),
    )
    rng = np.random.default_rng(9)
    first = rng.integers(0, records.size, 3000)
    second = np.where(rng.random(3000) < 0.5, first, rng.integers(0, records.size, 3000))
    expected = comparison_levels(records, comparisons, first, second)
    got = comparison_levels_on(engine, records, comparisons, first, second, partitions=5)
    assert got.dtype == np.int8
    assert got.tolist() == expected.tolist()
    assert {int(v) for v in np.unique(expected[:, 0])} >= {-1, 0, 8}
    model = FellegiSunterModel(
        comparisons,
        m=((0.9, *[0.1 / 8] * 8), (0.8, 0.1, 0.1), (0.95, 0.05), (0.97, 0.03)),
        u=((0.01, *[0.99 / 8] * 8), (0.02, 0.08, 0.9), (0.5, 0.5), (0.001, 0.999)),
        u_given=((0, 3, (0.1, 0.9)),),
    )
    share = rng.random(3000)
    shares = [share, None, None, share / 2]
    weights = score_pairs_on(engine, model, expected, shares, partitions=3)
    assert weights.dtype == np.float32
    assert weights.tolist() == model.field_weights(expected, shares).sum(axis=1).tolist()


def test_empty_pairs_compare_to_nothing(engine: QueryEngine) -> None:
    records = EncodedRecords(np.zeros(2, np.int64), {"token_rrn": np.array([1, 1])}, {}, {})
    empty = np.empty(0, np.int64)
    got = comparison_levels_on(engine, records, [FieldComparison("token_rrn")], empty, empty)
    assert got.shape == (0, 1)


@pytest.mark.spark
def test_a_column_named_like_the_partition_number_is_refused(spark_engine: QueryEngine) -> None:
    table = spark_engine.create_table("clashing", pa.table({"key": [1], "ansim_partition": [0]}))
    with pytest.raises(EngineError, match="rename it"):
        spark_engine.map_partitions(table, _seen, _SEEN, by="key", partitions=2)
