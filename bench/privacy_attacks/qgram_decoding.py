"""Q-gram decoding of Bloom filters: recover birth dates from the bit patterns of their q-grams.

After Christen, Ranbaduge, Vatsalan and Schnell, *Precise and fast cryptanalysis for Bloom filter
based privacy-preserving record linkage* (IEEE TKDE 2019) and Vidanage, Ranbaduge, Christen and
Schnell, *Efficient pattern mining based cryptanalysis for privacy-preserving record linkage*
(ICDE 2019): the records holding a q-gram all have that q-gram's bit positions set, so

1. frequent sets of bit positions set together are mined (the miner of ``pattern_mining.py``:
   recursive partitioning, greedy maximum-support itemsets of about ``hashes`` positions);
   each pattern's holders are the records with all its positions set;
2. the patterns are named with q-grams by matching their co-occurrence graph to the q-gram
   co-occurrence graph of the attacker's public dates (Hungarian assignment on share and
   co-occurrence with the patterns already named, iterated);
3. each record is decoded: the named q-grams it holds (all positions set) and those it lacks
   are compared with every calendar date of the public birth-year range; the nearest date
   (fewest disagreements, then the public year shares) is its decoding; the patterns are then
   renamed from the decoded dates (the q-gram each pattern agrees with most, Hungarian) and the
   records decoded again, a few rounds; a date is guessed only where it matches exactly.

Only the public encoding spec (q, hash count) and public lists are used; success is counted
against the true dates.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import date, timedelta

import numpy as np
import numpy.typing as npt
import pyarrow as pa
from pattern_mining import bit_matrix, mine_groups, unbalance
from scipy.optimize import linear_sum_assignment

__all__ = ["date_grams", "decode_birth_dates", "year_prior"]

_F = npt.NDArray[np.float64]
_B = npt.NDArray[np.bool_]


def date_grams(iso: str) -> set[str]:
    """Padded digit bigrams of a birth date as the default ``bf_birth_date`` cuts them."""
    text = "\x02" + iso.replace("-", "") + "\x03"
    return {text[i : i + 2] for i in range(len(text) - 1)}


def _indicators(values: Sequence[str], grams: Sequence[str]) -> _B:
    index = {g: k for k, g in enumerate(grams)}
    out = np.zeros((len(values), len(grams)), bool)
    for r, v in enumerate(values):
        for g in date_grams(v):
            if g in index:
                out[r, index[g]] = True
    return out


def _distinct_patterns(held: _B, same: float = 0.95) -> list[int]:
    """Patterns whose holders are not (nearly) those of an earlier one (partitions re-find them)."""
    kept: list[int] = []
    for i in range(held.shape[1]):
        col = held[:, i]
        if not col.any():
            continue
        if all((col & held[:, k]).sum() < same * (col | held[:, k]).sum() for k in kept):
            kept.append(i)
    return kept


def _profile(co: _F, share: _F) -> _F:
    """Naming-free node features: share, and the sorted conditional co-occurrences."""
    cond = co / np.maximum(share[:, None], 1e-9)
    np.fill_diagonal(cond, 0.0)
    top = -np.sort(-cond, axis=1)[:, :12]
    return np.hstack([share[:, None] * 4, top])


def _label(held: _B, public: _B, rounds: int = 10) -> npt.NDArray[np.int64]:
    """Name each mined pattern with a public q-gram: graph matching of co-occurrences.

    First on naming-free features (share and the shape of each node's co-occurrences), then
    refined: pattern ``i`` gets the q-gram whose co-occurrences with the q-grams named so far
    best match ``i``'s with their patterns (Hungarian assignment each round).

    Returns:
        Per pattern, the index of its q-gram.
    """
    share_e = held.mean(axis=0)
    share_p = public.mean(axis=0)
    co_e = (held.T.astype(np.float64) @ held.astype(np.float64)) / held.shape[0]
    co_p = (public.T.astype(np.float64) @ public.astype(np.float64)) / public.shape[0]
    fe, fp = _profile(co_e, share_e), _profile(co_p, share_p)
    cost = np.abs(fe[:, None, :] - fp[None, :, :]).sum(axis=2)
    name = np.full(held.shape[1], -1, np.int64)
    for _ in range(rounds):
        rows, cols = linear_sum_assignment(cost)
        if np.array_equal(name[rows], cols):
            break
        name[rows] = cols
        cond_e = co_e / np.maximum(share_e[:, None], 1e-9)
        cond_p = co_p / np.maximum(share_p[:, None], 1e-9)
        diff = np.abs(cond_e[:, None, :] - cond_p[:, name][None, :, :])
        cost = diff.sum(axis=2) + 4 * np.abs(share_e[:, None] - share_p[None, :])
    return name


def _calendar(years: Mapping[int, float]) -> tuple[list[str], _F]:
    days: list[str] = []
    weight: list[float] = []
    for year, share in sorted(years.items()):
        start = date(year, 1, 1)
        length = (date(year + 1, 1, 1) - start).days
        for d in range(length):
            days.append((start + timedelta(days=d)).isoformat())
            weight.append(share / length)
    return days, np.asarray(weight)


def decode_birth_dates(
    column: pa.Array,
    public_dates: Sequence[str],
    years: Mapping[int, float],
    *,
    hashes: int,
    min_share: float = 0.002,
    max_groups: int = 80,
    rounds: int = 6,
) -> list[str | None]:
    """Guess each record's birth date from its birth-date filter.

    Args:
        column: The encoded ``bf_birth_date`` column.
        public_dates: The attacker's public sample of birth dates (for q-gram co-occurrences).
        years: Public share of each birth year (the dates decoded are those years' days).
        hashes: Bit positions per q-gram in that column (public: the encoding spec).
        min_share: Smallest pattern mined, as a share of the records.
        max_groups: Patterns mined.
        rounds: Self-training rounds (decode every record to its nearest day, rename).

    Returns:
        The guessed ISO date per record (``None``: nothing decoded).
    """
    rows, present = bit_matrix(column)
    variant = unbalance(rows, present)
    mined = mine_groups(
        variant,
        present,
        length=max(1, int(0.8 * hashes)),
        min_share=min_share,
        max_groups=max_groups,
    )
    guess: list[str | None] = [None] * len(column)
    if not mined:
        return guess
    items = [list(g.items) for g in mined]
    held = np.stack([present & variant[:, i].all(axis=1) for i in items], axis=1)
    held = held[:, _distinct_patterns(held[present])]
    grams = sorted(set().union(*(date_grams(d) for d in set(public_dates))))
    public = _indicators(public_dates, grams)
    name = _label(held[present], public)
    days, weight = _calendar(years)
    day_grams = _indicators(days, grams)
    sig = held[present].astype(np.float32)
    for _ in range(rounds):  # self-training: decode, then rename patterns from the decoded days
        nearest, _ = _nearest(sig, day_grams[:, name].astype(np.float32), weight)
        agree = sig.T @ day_grams[nearest].astype(np.float32)
        agree += (1 - sig).T @ (1 - day_grams[nearest].astype(np.float32))
        rows, cols = linear_sum_assignment(-agree)
        renamed = name.copy()
        renamed[rows] = cols
        if np.array_equal(renamed, name):
            break
        name = renamed
    nearest, distance = _nearest(sig, day_grams[:, name].astype(np.float32), weight)
    for r, day, d in zip(np.flatnonzero(present), nearest, distance, strict=True):
        if d == 0:
            guess[int(r)] = days[int(day)]
    return guess


def _nearest(
    sig: npt.NDArray[np.float32], days: npt.NDArray[np.float32], weight: _F
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Per record, the most probable calendar day at least Hamming distance from its patterns."""
    prior = (np.log(weight) / 1000).astype(np.float32)  # breaks ties only
    best = np.empty(sig.shape[0], np.int64)
    dist = np.empty(sig.shape[0], np.int64)
    for start in range(0, sig.shape[0], 256):
        block = sig[start : start + 256]
        hamming = block @ (1 - days).T + (1 - block) @ days.T
        score = -hamming + prior[None, :]
        pick = np.argmax(score, axis=1)
        best[start : start + 256] = pick
        dist[start : start + 256] = np.rint(hamming[np.arange(pick.size), pick]).astype(np.int64)
    return best, dist


def year_prior(truth: Sequence[str | None]) -> float:
    """Share of records born in the file's commonest year (guessing it for everyone)."""
    counted = Counter(t[:4] for t in truth if t)
    return counted.most_common(1)[0][1] / max(len(truth), 1) if counted else 0.0
