"""Blocking on encoded data: candidate record pairs from token blocks and Bloom-filter LSH.

Each pass groups records by a key made from encoded columns only: equal token or filter
values (``equal``), bits sampled from a Bloom filter (``lsh``, Hamming locality-sensitive
hashing: records agreeing on every sampled bit of a band share a block), or equal values of
other columns with Dice-similar filters of this one (``dice``: within each block of the
``also`` columns, pairs whose filters reach ``threshold``). Pairs from all passes
are united; each pair remembers which passes produced it, so the blocking report can estimate
how many true pairs every pass missed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numba
import numpy as np
import numpy.typing as npt

from ansim.errors import InvalidSpecError
from ansim.linkage._dice import _ctpop as _popcount
from ansim.linkage._dice import popcounts as _popcounts

__all__ = [
    "BlockingPass",
    "BlockingRule",
    "CandidatePairs",
    "block_pairs",
    "pairs_in_blocks",
    "similar_in_blocks",
]

IntArray = npt.NDArray[np.int64]
_KINDS = ("equal", "lsh", "dice")
_MAX_BAND_BITS = 63
_MAX_PASSES = 64


@dataclass(frozen=True)
class BlockingRule:
    """One blocking pass.

    Attributes:
        column: Encoded column: ``token_*``, ``bf_*`` or ``clk``.
        kind: ``equal`` (equal values share a block) or ``lsh`` (Hamming LSH on a filter).
        bands: LSH only: number of bands (independent bit samples).
        bits: LSH only: bits sampled per band.
        max_block: Blocks with more records than this are skipped (and counted).
        seed: LSH only: seed of the bit sample (a public parameter, not a secret).
        also: Columns that must be equal as well (a compound block: for example records
            with the same birth date whose name filters agree on an LSH band).
        threshold: ``dice`` only: smallest Dice of ``column`` within an ``also`` block.
        max_pairs_per_record: ``dice`` only: a pass that would make more pairs than this per
            record is dropped (0: no limit).

    Example:
        >>> BlockingRule("bf_name", "lsh", bands=8, bits=24, also=("bf_birth_date",)).name
        'lsh(bf_name,8x24)&equal(bf_birth_date)'
    """

    column: str
    kind: str = "equal"
    bands: int = 0
    bits: int = 0
    max_block: int = 500
    seed: int = 0
    also: tuple[str, ...] = ()
    threshold: float = 0.7
    max_pairs_per_record: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "also", tuple(self.also))
        for column in self.also:
            if not column.startswith(("token_", "bf_")) or column == self.column:
                raise InvalidSpecError(
                    f"compound blocking column {column!r} must be another token_* or bf_* column"
                )
        if self.kind not in _KINDS:
            raise InvalidSpecError(f"blocking kind must be one of {_KINDS}, not {self.kind!r}")
        if not self.column.startswith(("token_", "bf_", "clk")):
            raise InvalidSpecError(
                f"blocking column {self.column!r} is not an encoded column (token_*, bf_*, clk)"
            )
        if self.kind == "lsh" and not (self.bands >= 1 and 1 <= self.bits <= _MAX_BAND_BITS):
            raise InvalidSpecError(
                f"LSH on {self.column} needs bands >= 1 and 1..{_MAX_BAND_BITS} bits per band"
            )
        if self.kind in {"lsh", "dice"} and not self.column.startswith(("bf_", "clk")):
            raise InvalidSpecError(f"{self.kind} needs a Bloom-filter column, not {self.column!r}")
        if self.kind == "dice" and not (self.also and 0.0 < self.threshold <= 1.0):
            raise InvalidSpecError(
                f"dice blocking on {self.column} needs 'also' columns and a threshold in (0, 1]"
            )
        if self.max_block < 2:  # noqa: PLR2004
            raise InvalidSpecError("max_block must be at least 2")

    @property
    def name(self) -> str:
        """Short name used in reports."""
        name = {
            "lsh": f"lsh({self.column},{self.bands}x{self.bits})",
            "dice": f"dice({self.column})>={self.threshold}",
        }.get(self.kind, f"equal({self.column})")
        return "&".join([name, *(f"equal({c})" for c in self.also)])


@dataclass(frozen=True)
class BlockingPass:
    """What one pass produced (counts only).

    Attributes:
        rule: The rule's name.
        pairs: Pairs generated (before uniting with other passes).
        skipped_blocks: Blocks larger than ``max_block``, skipped.
        over_budget: The pass would have made too many pairs and was dropped.
    """

    rule: str
    pairs: int
    skipped_blocks: int
    over_budget: bool = False


@dataclass(frozen=True)
class CandidatePairs:
    """United candidate pairs ``first < second`` (indices into all records, in part order).

    Attributes:
        first: First record of each pair.
        second: Second record of each pair.
        passes: Bit ``k`` set when pass ``k`` produced the pair.
        report: Per pass, the pairs generated and blocks skipped.
        rules: The passes' rules, in bit order.
        switched_on: Blocking ``auto`` added the extra (LSH) passes, since the standard
            ones were estimated to lose pairs.
    """

    first: IntArray
    second: IntArray
    passes: npt.NDArray[np.uint64]
    report: tuple[BlockingPass, ...]
    rules: tuple[BlockingRule, ...] = ()
    switched_on: bool = False

    @property
    def size(self) -> int:
        """Number of distinct candidate pairs."""
        return int(self.first.size)


@numba.njit(cache=True, nogil=True)
def _emit_pairs(  # pragma: no cover - compiled
    order: IntArray, starts: IntArray, sizes: IntArray, total: int
) -> tuple[IntArray, IntArray]:
    first = np.empty(total, np.int64)
    second = np.empty(total, np.int64)
    p = 0
    for g in range(starts.size):
        s, n = starts[g], sizes[g]
        for x in range(n):
            a = order[s + x]
            for y in range(x + 1, n):
                b = order[s + y]
                if a < b:
                    first[p], second[p] = a, b
                else:
                    first[p], second[p] = b, a
                p += 1
    return first, second


@numba.njit(cache=True, nogil=True)
def _similar_count(  # noqa: PLR0917 # pragma: no cover - a compiled kernel
    order: IntArray,
    s: int,
    n: int,
    bits: npt.NDArray[np.uint64],
    counts: npt.NDArray[np.int32],
    threshold: float,
    first: IntArray,
    second: IntArray,
    at: int,
) -> int:
    """Similar pairs in one block; written from ``at`` unless ``first`` is empty (count only)."""
    found = 0
    words = bits.shape[1]
    for x in range(n):
        a = order[s + x]
        if counts[a] < 0:
            continue
        for y in range(x + 1, n):
            b = order[s + y]
            if counts[b] < 0:
                continue
            common = 0
            for t in range(words):
                common += _popcount(bits[a, t] & bits[b, t])
            if 2.0 * common >= threshold * (counts[a] + counts[b]):
                if first.size:
                    first[at + found], second[at + found] = min(a, b), max(a, b)
                found += 1
    return found


@numba.njit(parallel=True, cache=True, nogil=True)
def _similar_pairs(  # noqa: PLR0917 # pragma: no cover - a compiled kernel
    order: IntArray,
    starts: IntArray,
    sizes: IntArray,
    bits: npt.NDArray[np.uint64],
    counts: npt.NDArray[np.int32],
    threshold: float,
    limit: int,
) -> tuple[IntArray, IntArray, int]:
    empty = np.empty(0, np.int64)
    found = np.zeros(starts.size, np.int64)
    for g in numba.prange(starts.size):
        found[g] = _similar_count(
            order, starts[g], sizes[g], bits, counts, threshold, empty, empty, 0
        )
    offsets = np.zeros(starts.size + 1, np.int64)
    for g in range(starts.size):  # a loop, not a slice copy (faster to compile)
        offsets[g + 1] = offsets[g] + found[g]
    if offsets[-1] > limit:
        return empty, empty, offsets[-1]
    first = np.empty(offsets[-1], np.int64)
    second = np.empty(offsets[-1], np.int64)
    for g in numba.prange(starts.size):
        _similar_count(
            order, starts[g], sizes[g], bits, counts, threshold, first, second, offsets[g]
        )
    return first, second, offsets[-1]


def _blocks(codes: IntArray, max_block: int) -> tuple[IntArray, IntArray, IntArray, int]:
    """Records sorted by block, block starts and sizes (blocks of 2..max_block), skipped."""
    present = np.flatnonzero(codes >= 0)
    order = present[np.argsort(codes[present])]
    if order.size == 0:
        empty = np.empty(0, np.int64)
        return empty, empty, empty, 0
    sorted_codes = codes[order]
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    sizes = np.diff(np.r_[starts, order.size])
    keep = (sizes >= 2) & (sizes <= max_block)  # noqa: PLR2004
    skipped = int((sizes > max_block).sum())
    return order.astype(np.int64), starts[keep], sizes[keep], skipped


def similar_in_blocks(
    codes: IntArray,
    bits: npt.NDArray[np.uint64],
    counts: npt.NDArray[np.int32],
    valid: npt.NDArray[np.bool_],
    *,
    threshold: float,
    max_block: int,
    max_pairs: int | None = None,
) -> tuple[IntArray, IntArray, int]:
    """Pairs sharing a block code whose filters have Dice at least ``threshold``.

    Args:
        codes: Block code per record (``-1``: none).
        bits: The filters compared.
        counts: Set bits per filter.
        valid: Whether the record has the filter.
        threshold: Smallest Dice kept.
        max_block: Larger blocks are skipped.
        max_pairs: If the pass would make more pairs than this, it makes none (the caller
            reports it as over budget: the two fields are not independent enough to block on).

    Returns:
        Pairs ``(first, second)``, ``first < second``, and the number of blocks skipped
        (``-1``: over budget).

    Example:
        >>> bits = np.array([[0b1111], [0b0111], [0b1111], [0b0001]], np.uint64)
        >>> counts = np.array([4, 3, 4, 1], np.int32)
        >>> u, v, _ = similar_in_blocks(np.array([0, 0, 1, 0]), bits, counts,
        ...     np.ones(4, bool), threshold=0.8, max_block=10)
        >>> list(zip(u.tolist(), v.tolist()))
        [(0, 1)]
    """
    order, starts, sizes, skipped = _blocks(codes, max_block)
    marked = np.where(valid, counts, -1).astype(np.int32)
    limit = (1 << 62) if max_pairs is None else int(max_pairs)
    first, second, total = _similar_pairs(
        order, starts, sizes, bits, marked, float(threshold), limit
    )
    return first, second, (-1 if total > limit else skipped)


def pairs_in_blocks(codes: IntArray, max_block: int) -> tuple[IntArray, IntArray, int]:
    """Every pair of records sharing a block code (``-1``: no block).

    Args:
        codes: Block code per record.
        max_block: Larger blocks are skipped.

    Returns:
        Pairs ``(first, second)`` with ``first < second``, and the number of blocks skipped.

    Example:
        >>> u, v, skipped = pairs_in_blocks(np.array([0, 1, 0, -1, 0]), max_block=10)
        >>> sorted(zip(u.tolist(), v.tolist())), skipped
        ([(0, 2), (0, 4), (2, 4)], 0)
    """
    order, starts, sizes, skipped = _blocks(codes, max_block)
    total = int((sizes * (sizes - 1) // 2).sum())
    first, second = _emit_pairs(order, starts, sizes, total)
    return first, second, skipped


@numba.njit(parallel=True, cache=True, nogil=True)
def _band_keys(  # pragma: no cover - compiled
    bits: npt.NDArray[np.uint64], words: IntArray, shifts: IntArray
) -> IntArray:
    out = np.empty(bits.shape[0], np.int64)
    for i in numba.prange(bits.shape[0]):
        key = 0
        for k in range(words.size):
            key |= ((bits[i, words[k]] >> np.uint64(shifts[k])) & np.uint64(1)) << np.uint64(k)
        out[i] = np.int64(key)
    return out


def _lsh_keys(
    bits: npt.NDArray[np.uint64], valid: npt.NDArray[np.bool_], rule: BlockingRule, band: int
) -> IntArray:
    """Band ``band``'s key per record: the filter's bits at the band's sampled positions."""
    width = bits.shape[1] * 64
    rng = np.random.default_rng([rule.seed, band])
    positions = np.sort(rng.choice(width, size=rule.bits, replace=False))
    keys = _band_keys(bits, (positions // 64).astype(np.int64), (positions % 64).astype(np.int64))
    return np.where(valid, keys, -1)


def _compound(keys: IntArray, also: list[IntArray]) -> IntArray:
    """One key per record for equal ``keys`` and equal ``also`` codes (``-1`` if any is null)."""
    out = keys
    for codes in also:
        radix = int(codes.max()) + 1 if codes.size else 1
        if int(out.max(initial=0)) >= (1 << 62) // max(radix, 1):
            _, dense = np.unique(out, return_inverse=True)  # make room: renumber densely
            out = np.where(out < 0, -1, dense.reshape(-1).astype(np.int64))
        out = np.where((out < 0) | (codes < 0), -1, out * radix + codes)
    return out


def block_pairs(
    rules: Sequence[BlockingRule],
    codes: Mapping[str, IntArray],
    filters: Mapping[str, tuple[npt.NDArray[np.uint64], npt.NDArray[np.bool_]]],
    popcounts: Mapping[str, npt.NDArray[np.int32]] | None = None,
) -> CandidatePairs:
    """Run the blocking passes and unite their pairs.

    Args:
        rules: The passes (at most 64).
        codes: For ``equal`` rules, each column's value code per record (``-1`` for null).
        filters: For ``lsh`` and ``dice`` rules, each filter column's bit matrix and validity.
        popcounts: For ``dice`` rules, each filter column's set bits per record.

    Returns:
        The united candidate pairs with the passes that produced each.

    Raises:
        InvalidSpecError: Too many passes, or a rule's column is missing.
    """
    if not 1 <= len(rules) <= _MAX_PASSES:
        raise InvalidSpecError(f"give 1 to {_MAX_PASSES} blocking passes, not {len(rules)}")
    keys: list[IntArray] = []
    report: list[BlockingPass] = []
    n = next(iter(codes.values())).size if codes else next(iter(filters.values()))[0].shape[0]
    for k, rule in enumerate(rules):
        missing = [c for c in (rule.column, *rule.also) if c not in codes and c not in filters]
        if missing or (rule.kind != "equal" and rule.column not in filters):
            raise InvalidSpecError(f"blocking column {rule.column} is not in every part")
        also = [codes[c] for c in rule.also]
        if rule.kind == "dice":
            bits, valid = filters[rule.column]
            count = (popcounts or {}).get(rule.column)
            count = _popcounts(bits) if count is None else count
            u, v, skipped = similar_in_blocks(
                _compound(also[0], also[1:]),
                bits,
                count,
                valid,
                threshold=rule.threshold,
                max_block=rule.max_block,
                max_pairs=int(rule.max_pairs_per_record * n) if rule.max_pairs_per_record else None,
            )
            keys.append(((u * n + v) << np.int64(6)) | np.int64(k))
            report.append(BlockingPass(rule.name, int(u.size), max(skipped, 0), skipped < 0))
            continue
        if rule.kind == "equal":
            bands = [codes[rule.column]]
        else:
            bits, valid = filters[rule.column]
            bands = [_lsh_keys(bits, valid, rule, b) for b in range(rule.bands)]
        generated = skipped = 0
        for band in bands:
            u, v, dropped = pairs_in_blocks(_compound(band, also) if also else band, rule.max_block)
            generated += int(u.size)
            skipped += dropped
            # pair and pass packed in one integer: (first * n + second) * 64 + pass
            keys.append(((u * n + v) << np.int64(6)) | np.int64(k))
        report.append(BlockingPass(rule.name, generated, skipped))
    return replace(_unite(keys, n, tuple(report)), rules=tuple(rules))


def _unite(keys: list[IntArray], n: int, report: tuple[BlockingPass, ...]) -> CandidatePairs:
    key = np.concatenate(keys) if keys else np.empty(0, np.int64)
    key.sort()
    if key.size == 0:
        empty = np.empty(0, np.int64)
        return CandidatePairs(empty, empty, np.empty(0, np.uint64), report)
    pair = key >> np.int64(6)
    flag = np.left_shift(np.uint64(1), (key & np.int64(63)).astype(np.uint64))
    del key
    starts = np.flatnonzero(np.r_[True, pair[1:] != pair[:-1]])
    passes = np.bitwise_or.reduceat(flag, starts)
    unique = pair[starts]
    return CandidatePairs(unique // n, unique % n, passes, report)
