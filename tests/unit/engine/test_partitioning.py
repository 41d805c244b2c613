"""The one block-to-partition rule: pmod(xxhash64(key), P), Spark's values in NumPy."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from ansim.engine import partition_of, xxhash64

# Spark SQL: SELECT xxhash64(0L), xxhash64(1L), xxhash64(-1L) (PySpark 4.0.5)
SPARK = {0: -5252525462095825812, 1: -7001672635703045582, -1: 3858142552250413010}

keys = st.lists(st.integers(-(1 << 63), (1 << 63) - 1), min_size=1, max_size=200)


def test_known_values_are_sparks() -> None:
    assert xxhash64(list(SPARK)).tolist() == list(SPARK.values())


def test_a_seed_changes_the_hash() -> None:
    assert xxhash64([0], seed=0).tolist() != xxhash64([0]).tolist()


@given(keys, st.integers(1, 64))
def test_partitions_are_in_range_and_a_function_of_the_key(values: list[int], p: int) -> None:
    array = np.array(values, np.int64)
    part = partition_of(array, p)
    assert part.dtype == np.int64
    assert ((part >= 0) & (part < p)).all()
    # one key, one partition: the same key anywhere in the input gets the same number
    again = partition_of(array[::-1], p)[::-1]
    assert part.tolist() == again.tolist()
    assert part.tolist() == [int(partition_of([v], p)[0]) for v in values]


def test_structured_keys_spread_over_the_partitions() -> None:
    # compound keys (out * radix + code) are structured; their hash is not
    counts = np.bincount(partition_of(np.arange(0, 80_000, 8), 8), minlength=8)
    assert counts.min() > 0.8 * counts.mean()
