"""Pattern-mining cryptanalysis of Bloom filters: recover surnames from bit patterns.

After Christen, Ranbaduge, Vatsalan and Schnell, *Precise and fast cryptanalysis for Bloom filter
based privacy-preserving record linkage* (IEEE TKDE 2018/2019) and *Pattern-mining based
cryptanalysis of Bloom filters for privacy-preserving record linkage* (PAKDD 2018): every record
holding a q-gram has all of that q-gram's bit positions set, so the records sharing a frequent
q-gram (or a frequent set of them, such as a surname's jamo bigrams) are found as a large set of
bit positions that are set together in many records. The attacker

1. mines, on the encoded column, the largest-support pattern of at least ``grams × hashes`` bit
   positions (greedy maximum-support itemset, then every position set in ≥ 99 % of the records
   holding it), takes the records holding it as a group, removes them and mines again
   (partitioning, as in the papers);
2. runs the very same miner on the q-gram sets of the public names (the encoding spec is public:
   it travels with the identity part, so the attacker knows q and the alphabet) and labels each
   public group with its most common surname;
3. aligns the two sequences of groups by rank and guesses each encoded group's surname.

The balancing of today's default (filter joined with its complement, bits permuted) does not
stop it: a q-gram still forces its positions to 1, and the attacker first pairs each column with
its complement and keeps one of the two (:func:`unbalance`).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa

__all__ = [
    "Group",
    "bit_matrix",
    "exclusive_cliques",
    "jamo_bigrams",
    "mine_groups",
    "surname_attack",
]

_U8 = npt.NDArray[np.uint8]
_U64 = npt.NDArray[np.uint64]
_START, _END = "\x02", "\x03"


def bit_matrix(column: pa.Array) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Records × bit positions of a fixed-size binary filter column, and which rows are present."""
    width = column.type.byte_width
    raw = np.frombuffer(column.buffers()[1], np.uint8)[
        column.offset * width : (column.offset + len(column)) * width
    ].reshape(len(column), width)
    bits = np.unpackbits(raw, axis=1, bitorder="little").astype(bool)
    return bits, ~np.asarray(column.is_null().to_numpy(zero_copy_only=False), bool)


def jamo_bigrams(name: str) -> set[str]:
    """The padded jamo bigrams of a name, as the default ``bf_name`` encoding cuts them."""
    text = _START + unicodedata.normalize("NFD", name) + _END
    return {text[i : i + 2] for i in range(len(text) - 1)}


class _Items:
    """An items × records incidence, stored as one bitset of records per item."""

    def __init__(self, rows: npt.NDArray[np.bool_]) -> None:
        n, self.items = rows.shape
        packed = np.packbits(rows.T, axis=1, bitorder="little")
        pad = (-packed.shape[1]) % 8
        self.sets: _U64 = np.ascontiguousarray(np.pad(packed, ((0, 0), (0, pad)))).view(np.uint64)
        self.n = n

    def all_rows(self, mask: npt.NDArray[np.bool_]) -> _U64:
        packed = np.packbits(mask, bitorder="little")
        return np.pad(packed, (0, (-packed.size) % 8)).view(np.uint64)

    def support(self, rows: _U64) -> npt.NDArray[np.int64]:
        counted: npt.NDArray[np.int64] = np.bitwise_count(self.sets & rows).sum(
            axis=1, dtype=np.int64
        )
        return counted

    @staticmethod
    def size(rows: _U64) -> int:
        return int(np.bitwise_count(rows).sum())

    def mask(self, rows: _U64) -> npt.NDArray[np.bool_]:
        return np.unpackbits(rows.view(np.uint8), bitorder="little")[: self.n].astype(bool)


@dataclass(frozen=True)
class Group:
    """One mined pattern: its items (bit positions or q-grams) and the records holding it."""

    items: tuple[int, ...]
    records: npt.NDArray[np.bool_]

    @property
    def support(self) -> int:
        """Records holding the pattern."""
        return int(self.records.sum())


def _grow(
    items: _Items, part: _U64, used: frozenset[int], seed: int, *, length: int, floor: int
) -> list[int] | None:
    """Greedy maximum-support itemset of ``length`` items from ``seed`` (``None``: too rare)."""
    cur = part & items.sets[seed]
    chosen = [seed]
    while len(chosen) < length:
        sup = items.support(cur)
        sup[[*used, *chosen]] = -1
        best = int(np.argmax(sup))
        if sup[best] < floor:
            return None
        chosen.append(best)
        cur &= items.sets[best]
    return chosen


def _best_pattern(
    items: _Items,
    part: _U64,
    used: frozenset[int],
    *,
    length: int,
    floor: int,
    closure: float,
    seeds: int = 8,
) -> tuple[npt.NDArray[np.int64], _U64] | None:
    """The largest-support closed pattern grown from each of the ``seeds`` most frequent items."""
    sup = items.support(part)
    sup[list(used)] = -1
    best: tuple[npt.NDArray[np.int64], _U64] | None = None
    for seed in np.argsort(-sup, kind="stable")[:seeds]:
        if sup[seed] < floor:
            break
        chosen = _grow(items, part, used, int(seed), length=length, floor=floor)
        if chosen is None:
            continue
        cur = part.copy()
        for item in chosen:
            cur &= items.sets[item]
        inside = items.support(cur)
        inside[list(used)] = -1
        pattern = np.flatnonzero(inside >= closure * items.size(cur))
        holders = part.copy()
        for item in pattern:
            holders &= items.sets[item]
        if best is None or items.size(holders) > items.size(best[1]):
            best = (pattern, holders)
    return best


def mine_groups(
    rows: npt.NDArray[np.bool_],
    present: npt.NDArray[np.bool_],
    *,
    length: int,
    min_share: float,
    max_groups: int,
    closure: float = 0.99,
) -> list[Group]:
    """Mine frequent patterns of at least ``length`` items by recursive partitioning.

    The largest partition first: its maximum-support pattern is found (greedy), then the
    partition is split into the records holding it (mined further without its items) and the
    others (as in Christen et al. 2018).

    Args:
        rows: Records × items (bits of a filter, or public q-grams).
        present: Records to mine.
        length: Items the greedy step picks before closing the pattern.
        min_share: Partitions and patterns smaller than this share of the records are dropped.
        max_groups: Stop after this many patterns.
        closure: An item joins the pattern when set in this share of its records.

    Returns:
        The patterns in the order found, each with the records of its partition holding it.
    """
    items = _Items(rows)
    floor = max(2, int(min_share * int(present.sum())))
    queue: list[tuple[_U64, frozenset[int]]] = [(items.all_rows(present), frozenset())]
    groups: list[Group] = []
    while queue and len(groups) < max_groups:
        queue.sort(key=lambda part: items.size(part[0]))
        part, used = queue.pop()
        found = _best_pattern(items, part, used, length=length, floor=floor, closure=closure)
        if found is None:
            continue
        pattern, holders = found
        if items.size(holders) < floor:
            continue
        groups.append(Group(tuple(int(i) for i in pattern), items.mask(holders)))
        rest = part & ~holders
        queue.append((holders, used | {int(i) for i in pattern}))
        if items.size(rest) >= floor:
            queue.append((rest, used))
    return groups


def unbalance(rows: npt.NDArray[np.bool_], present: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """Undo balancing: of each pair of columns that are exact complements, keep the sparser one.

    A balanced filter is the filter joined with its complement, bits permuted; the permutation
    hides which column is which, but over many records each column's complement is the one
    column that differs from it in every record. The filter's own column is the sparser of the
    two (its bits are set only by q-grams), which is a guess when fill is near one half.
    """
    cols = np.ascontiguousarray(rows[present].T)
    keys = {np.packbits(c).tobytes(): i for i, c in enumerate(cols)}
    keep: list[int] = []
    paired: set[int] = set()
    for i, c in enumerate(cols):
        j = keys.get(np.packbits(~c).tobytes())
        if j is None:
            keep.append(i)
        elif i not in paired:
            paired |= {i, j}
            keep.append(i if c.sum() <= cols[j].sum() else j)
    return rows[:, keep]


def _holders(rows: npt.NDArray[np.bool_], present: npt.NDArray[np.bool_], group: Group) -> Group:
    """The same pattern, with every present record that holds it (not only the peeled ones)."""
    return Group(group.items, present & rows[:, list(group.items)].all(axis=1))


def exclusive_cliques(groups: Sequence[Group], *, overlap: float = 0.02) -> list[list[int]]:
    """Sets of patterns no two of which occur in the same record (as surnames are).

    Each pattern in turn seeds a set, which then takes, largest first, every pattern that shares
    at most ``overlap`` of the smaller one's records with each member.
    """
    size = [g.support for g in groups]
    order = sorted(range(len(groups)), key=lambda k: -size[k])
    apart = np.zeros((len(groups), len(groups)), bool)
    for a in range(len(groups)):
        for b in range(len(groups)):
            shared = int((groups[a].records & groups[b].records).sum())
            apart[a, b] = shared <= overlap * min(size[a], size[b])
    cliques = []
    for seed in order:
        members = [seed]
        for k in order:
            if k != seed and all(apart[k, m] for m in members):
                members.append(k)
        cliques.append(sorted(members, key=lambda k: -size[k]))
    return cliques


def _fit(shares: Sequence[float], prior: Sequence[float]) -> float:
    """L1 distance between a clique's sorted shares and the public surname shares."""
    width = max(len(shares), len(prior))
    a = np.zeros(width)
    b = np.zeros(width)
    a[: len(shares)] = sorted(shares, reverse=True)
    b[: len(prior)] = prior
    return float(np.abs(a - b).sum())


def surname_attack(
    column: pa.Array,
    surname_shares: Mapping[str, float],
    *,
    hashes: int,
    grams: int = 2,
    min_share: float = 0.003,
    max_groups: int = 60,
) -> list[str | None]:
    """Guess each record's surname from the bit patterns of its name (or record-level) filter.

    Surnames are the patterns that exclude one another (one surname per person) and whose
    shares follow the census: among the mutually exclusive sets of mined patterns the attacker
    takes the one whose shares best fit the public surname shares, and names its patterns by
    rank (largest: 김, then 이, 박, ...). Mined on the columns as received and, if they come in
    complementary pairs (balancing), on one column of each pair; the better fit wins.

    Args:
        column: The encoded column (``bf_name``, or the ``clk``).
        surname_shares: The public surname shares (census).
        hashes: Bit positions per q-gram in that column (public: from the encoding spec).
        grams: Q-grams a surname pattern must hold at least (2: a surname's first two bigrams).
        min_share: Smallest group mined, as a share of the records.
        max_groups: Patterns mined.

    Returns:
        The guessed surname per record (``None``: in no surname pattern).
    """
    rows, present = bit_matrix(column)
    prior = sorted(surname_shares.values(), reverse=True)
    ranked = sorted(surname_shares, key=lambda s: -surname_shares[s])
    total = max(int(present.sum()), 1)
    best: tuple[float, list[Group]] | None = None
    variants = [rows, unbalance(rows, present)]  # with fill near 1/2 the sparser-column guess fails
    for variant in variants[: 1 + (variants[1].shape[1] < rows.shape[1])]:
        mined = mine_groups(
            variant,
            present,
            length=max(1, int(0.8 * grams * hashes)),
            min_share=min_share,
            max_groups=max_groups,
        )
        if not mined:
            continue
        groups = [_holders(variant, present, g) for g in mined]
        for clique in exclusive_cliques(groups):
            fit = _fit([groups[k].support / total for k in clique], prior)
            if best is None or fit < best[0]:
                best = (fit, [groups[k] for k in clique])
    guess: list[str | None] = [None] * len(column)
    for group, surname in zip(best[1] if best else [], ranked, strict=False):
        for i in np.flatnonzero(group.records):
            if guess[int(i)] is None:
                guess[int(i)] = surname
    return guess


def surname_recovered(
    guess: Sequence[str | None], names: Sequence[str | None], shares: Mapping[str, float]
) -> float:
    """Share of records whose surname is guessed right; unguessed records get the commonest one.

    With no information at all the attacker guesses the commonest public surname for everyone,
    so the prior is that surname's share in the attacked file.

    Example:
        >>> surname_recovered([None, "이"], ["김철수", "이영희"], {"김": 0.2, "이": 0.1})
        1.0
    """
    top = max(shares, key=lambda s: shares[s])
    hits = sum(
        1 for g, n in zip(guess, names, strict=True) if n and (g if g is not None else top) == n[0]
    )
    return hits / max(len(names), 1)
