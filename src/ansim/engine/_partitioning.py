"""Which partition a key lands in: one rule for every engine, ``pmod(xxhash64(key), P)``.

:meth:`QueryEngine.map_partitions` promises that the rows of each partition are the same on
every engine. Spark computes the partition with its built-in ``xxhash64`` (the 64-bit xxHash of
the key's eight bytes, seed 42) and ``pmod``; this module computes the same numbers in NumPy
for the engines that partition in process (DuckDB). xxHash is a public non-cryptographic hash
(used here to spread keys over partitions evenly, not to protect anything); the conformance
suite checks these values against Spark's own.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["SPARK_HASH_SEED", "partition_of", "xxhash64"]

SPARK_HASH_SEED = 42
"""The seed of Spark SQL's ``xxhash64`` function."""

_P1 = np.uint64(0x9E3779B185EBCA87)
_P2 = np.uint64(0xC2B2AE3D27D4EB4F)
_P3 = np.uint64(0x165667B19E3779F9)
_P4 = np.uint64(0x85EBCA77C2B2AE63)
_P5 = np.uint64(0x27D4EB2F165667C5)


def _rotl(x: npt.NDArray[np.uint64], r: int) -> npt.NDArray[np.uint64]:
    return (x << np.uint64(r)) | (x >> np.uint64(64 - r))


def xxhash64(keys: npt.ArrayLike, seed: int = SPARK_HASH_SEED) -> npt.NDArray[np.int64]:
    """xxHash64 of each 64-bit integer (its eight little-endian bytes), as Spark's ``xxhash64``.

    Args:
        keys: Integers (int64).
        seed: The hash seed (Spark SQL's is 42).

    Returns:
        The hashes as signed 64-bit integers (Spark's ``LongType``).

    Example:
        >>> xxhash64([0, 1, -1]).tolist()
        [-5252525462095825812, -7001672635703045582, 3858142552250413010]
    """
    with np.errstate(over="ignore"):
        x = np.asarray(keys, np.int64).view(np.uint64)
        h = np.full(x.shape, np.uint64(seed & 0xFFFFFFFFFFFFFFFF) + _P5 + np.uint64(8), np.uint64)
        k = _rotl(x * _P2, 31) * _P1
        h = _rotl(h ^ k, 27) * _P1 + _P4
        h = (h ^ (h >> np.uint64(33))) * _P2
        h = (h ^ (h >> np.uint64(29))) * _P3
        h ^= h >> np.uint64(32)
    return h.view(np.int64)


def partition_of(keys: npt.ArrayLike, partitions: int) -> npt.NDArray[np.int64]:
    """The partition of each key: ``pmod(xxhash64(key), partitions)``, as on Spark.

    Example:
        >>> partition_of([0, 1, 2, 3], 4).tolist() == partition_of([0, 1, 2, 3], 4).tolist()
        True
        >>> bool((partition_of(range(1000), 7) < 7).all())
        True
    """
    return np.mod(xxhash64(keys), np.int64(partitions))
