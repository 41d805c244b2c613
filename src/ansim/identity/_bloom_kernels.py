"""Compiled loops (numba) behind the Bloom-filter encodings; pure functions of arrays.

Keys and hashing stay in :mod:`ansim.identity._bloom` (HMAC from the standard library); these
loops only cut UTF-8 text into q-gram keys, number distinct keys and set bits.
"""

from __future__ import annotations

import numba
import numpy as np
import numpy.typing as npt

__all__ = ["assemble_clk", "diffuse", "factorize", "gram_keys_utf8", "set_bits"]

_I64 = npt.NDArray[np.int64]
_U64 = npt.NDArray[np.uint64]
_U8 = npt.NDArray[np.uint8]
_CODE_BITS = 21  # a Unicode code point fits in 21 bits, so three fit in one 64-bit key
_EMPTY = -1
_BLOCK = 4096  # records per parallel block when assembling the CLK


@numba.njit(cache=True, nogil=True)
def _decode(data: _U8, start: int, stop: int, out: _I64, at: int) -> int:
    """Decode UTF-8 ``data[start:stop]`` into code points at ``out[at:]``; return the new end."""
    i = start
    while i < stop:
        b = np.int64(data[i])
        if b < 0x80:  # noqa: PLR2004
            cp, i = b, i + 1
        elif b < 0xE0:  # noqa: PLR2004
            cp, i = ((b & 0x1F) << 6) | (data[i + 1] & 0x3F), i + 2
        elif b < 0xF0:  # noqa: PLR2004
            cp = ((b & 0x0F) << 12) | ((data[i + 1] & 0x3F) << 6) | (data[i + 2] & 0x3F)
            i += 3
        else:
            cp = ((b & 0x07) << 18) | ((data[i + 1] & 0x3F) << 12)
            cp |= ((data[i + 2] & 0x3F) << 6) | (data[i + 3] & 0x3F)
            i += 4
        out[at] = cp
        at += 1
    return at


@numba.njit(cache=True, nogil=True)
def gram_keys_utf8(
    offsets: _I64, data: _U8, q: int, start_mark: int, end_mark: int
) -> tuple[_I64, _I64]:
    """Q-gram keys of each UTF-8 string, padded with ``q - 1`` marks at both ends.

    Args:
        offsets: String ``d`` is ``data[offsets[d]:offsets[d + 1]]``.
        data: UTF-8 bytes.
        q: Q-gram length (1 to 3).
        start_mark: Code point padding the start.
        end_mark: Code point padding the end.

    Returns:
        Keys (one row per string, ``-1`` past its last q-gram; a key packs the q code points,
        21 bits each) and the number of q-grams per string.
    """
    count = offsets.size - 1
    lengths = np.zeros(count, dtype=np.int64)
    for d in range(count):
        n = 0
        for i in range(offsets[d], offsets[d + 1]):
            n += (data[i] & 0xC0) != 0x80  # noqa: PLR2004  (not a continuation byte)
        lengths[d] = n + 2 * (q - 1)
    width = q
    for d in range(count):
        width = max(width, lengths[d])
    keys = np.full((count, width - q + 1), _EMPTY, dtype=np.int64)
    buffer = np.empty(width, dtype=np.int64)
    for d in range(count):
        n = 0
        for _ in range(q - 1):
            buffer[n] = start_mark
            n += 1
        n = _decode(data, offsets[d], offsets[d + 1], buffer, n)
        for _ in range(q - 1):
            buffer[n] = end_mark
            n += 1
        for g in range(n - q + 1):
            key = np.int64(0)
            for j in range(q):
                key = (key << _CODE_BITS) | buffer[g + j]
            keys[d, g] = key
    return keys, np.maximum(lengths - q + 1, 0)


@numba.njit(cache=True, nogil=True)
def factorize(keys: _I64) -> tuple[_I64, _I64]:
    """Number the distinct non-negative keys in order of first appearance (``-1`` stays ``-1``).

    Open addressing with linear probing, doubled when half full.

    Returns:
        Per key its number (or ``-1``), and the distinct keys.
    """
    flat = keys.ravel()
    capacity = 1 << 12
    slots = np.full(capacity, _EMPTY, dtype=np.int64)
    numbers = np.empty(capacity, dtype=np.int64)
    uniques = np.empty(capacity, dtype=np.int64)
    used = 0
    ids = np.full(flat.size, _EMPTY, dtype=np.int64)
    multiplier = np.uint64(0x9E3779B97F4A7C15)
    for i in range(flat.size):
        key = flat[i]
        if key < 0:
            continue
        if 2 * (used + 1) > capacity:  # grow and re-insert
            capacity *= 2
            slots = np.full(capacity, _EMPTY, dtype=np.int64)
            numbers = np.empty(capacity, dtype=np.int64)
            grown = np.empty(capacity, dtype=np.int64)
            for k in range(used):  # a loop, not a slice copy: that compiles ~4 s of messages
                grown[k] = uniques[k]
            uniques = grown
            for number in range(used):
                slot = np.int64((np.uint64(uniques[number]) * multiplier) >> np.uint64(33))
                slot &= capacity - 1
                while slots[slot] != _EMPTY:
                    slot = (slot + 1) & (capacity - 1)
                slots[slot] = uniques[number]
                numbers[slot] = number
        slot = np.int64((np.uint64(key) * multiplier) >> np.uint64(33)) & (capacity - 1)
        while slots[slot] != _EMPTY and slots[slot] != key:
            slot = (slot + 1) & (capacity - 1)
        if slots[slot] == _EMPTY:
            slots[slot] = key
            numbers[slot] = used
            uniques[used] = key
            used += 1
        ids[i] = numbers[slot]
    return ids.reshape(keys.shape), uniques[:used].copy()


@numba.njit(parallel=True, cache=True, nogil=True)
def set_bits(grams: _I64, set_pos: _I64, clear_pos: _I64, template: _U64, out: _U64) -> None:
    """Filters of distinct values: ``template``, then per q-gram id set and clear its positions.

    Args:
        grams: Per value, the ids of its q-grams (``-1``: none).
        set_pos: Per q-gram id, the bit positions it sets.
        clear_pos: Per q-gram id, the bit positions it clears (balancing; may have no column).
        template: The starting filter (words).
        out: One filter per value (rows of words), overwritten.
    """
    one = np.uint64(1)
    for d in numba.prange(grams.shape[0]):  # rows are independent: spread over the cores
        for w in range(template.size):  # a loop, not a slice copy (faster to compile)
            out[d, w] = template[w]
        for g in range(grams.shape[1]):
            u = grams[d, g]
            if u < 0:
                continue
            for i in range(set_pos.shape[1]):
                p = set_pos[u, i]
                out[d, p >> 6] |= one << np.uint64(p & 63)
            for i in range(clear_pos.shape[1]):
                p = clear_pos[u, i]
                out[d, p >> 6] &= ~(one << np.uint64(p & 63))


@numba.njit(parallel=True, cache=True, nogil=True)
def assemble_clk(  # noqa: PLR0917  (a compiled kernel takes its arrays positionally)
    rows: _I64, on: _U64, off: _U64, template: _U64, balanced: bool, out: _U64
) -> _I64:
    """Record-level filters: OR of the fields' contributions, over the template.

    Args:
        rows: Per field (row) and record (column), the row of ``on``/``off`` to OR in
            (``-1``: the field is blank).
        on: Bits each distinct field value sets.
        off: Bits each distinct field value clears (read only when ``balanced``).
        template: Starting filter.
        balanced: Whether ``off`` holds the balancing bits (then they count the set bits).
        out: One filter per record, overwritten.

    Returns:
        Per record, the number of bits its fields set before hardening (``-1`` if all blank).
    """
    records = rows.shape[1]
    counts = np.full(records, -1, dtype=np.int64)
    blocks = (records + _BLOCK - 1) // _BLOCK
    for block in numba.prange(blocks):  # blocks of records are independent
        _assemble_block(rows, on, off, template, balanced, out, counts, block * _BLOCK)
    return counts


@numba.njit(cache=True, nogil=True)
def _assemble_block(  # noqa: PLR0917
    rows: _I64,
    on: _U64,
    off: _U64,
    template: _U64,
    balanced: bool,
    out: _U64,
    counts: _I64,
    start: int,
) -> None:
    words = template.size
    set_acc = np.empty(words, dtype=np.uint64)
    clear_acc = np.empty(words, dtype=np.uint64)
    for i in range(start, min(start + _BLOCK, rows.shape[1])):
        set_acc[:] = 0
        clear_acc[:] = 0
        seen = False
        for f in range(rows.shape[0]):
            r = rows[f, i]
            if r < 0:
                continue
            seen = True
            for w in range(words):
                set_acc[w] |= on[r, w]
            if balanced:
                for w in range(words):
                    clear_acc[w] |= off[r, w]
        total = 0
        for w in range(words):
            out[i, w] = (template[w] & ~clear_acc[w]) | set_acc[w]
            total += _popcount(clear_acc[w] if balanced else set_acc[w])
        if seen:
            counts[i] = total


@numba.njit(cache=True, nogil=True)
def _popcount(word: np.uint64) -> int:
    """Bits set in a 64-bit word (SWAR, no loop)."""
    word = word - ((word >> np.uint64(1)) & np.uint64(0x5555555555555555))
    word = (word & np.uint64(0x3333333333333333)) + (
        (word >> np.uint64(2)) & np.uint64(0x3333333333333333)
    )
    word = (word + (word >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return int((word * np.uint64(0x0101010101010101)) >> np.uint64(56))


@numba.njit(parallel=True, cache=True, nogil=True)
def diffuse(words: _U64, taps: _I64, out: _U64) -> None:
    """Stored bit ``j`` of each row: the XOR of its filter bits ``taps[j]`` (in place in ``out``).

    ``words`` and ``out`` are rows of 64-bit words of equal width (bit ``p`` is bit ``p % 64``
    of word ``p // 64``); ``taps`` holds, per stored bit, the filter bits it mixes.
    """
    one = np.uint64(1)
    for row in numba.prange(words.shape[0]):
        for w in range(out.shape[1]):
            acc = np.uint64(0)
            for b in range(64):
                x = np.uint64(0)
                for t in range(taps.shape[1]):
                    p = taps[w * 64 + b, t]
                    x ^= (words[row, p >> 6] >> np.uint64(p & 63)) & one
                acc |= x << np.uint64(b)
            out[row, w] = acc
