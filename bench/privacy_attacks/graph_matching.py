"""Similarity-graph matching attack on Bloom-filter encodings (after Vidanage et al. 2020).

Vidanage, Ranbaduge, Christen and Schnell, *A graph matching attack on privacy-preserving record
linkage* (CIKM 2020): the attacker holds a plaintext database that overlaps the encoded one,
builds a similarity graph on each side (encoded: Dice of the filters, as the linkage unit
computes them; plaintext: Dice of the q-gram sets, which the public encoding spec defines),
maps one similarity scale onto the other, describes every node by the shape of its
neighbourhood, and matches the nodes one to one. A matched encoded node is re-identified when
its plaintext partner is its true value.

Simplified here: node features are the histogram of a node's similarities to all other nodes and
its five highest similarities; scales are aligned by quantile mapping; the one-to-one matching is
the assignment of least feature distance (Hungarian).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
from pattern_mining import bit_matrix
from scipy.optimize import linear_sum_assignment

__all__ = ["GraphResult", "graph_attack", "name_grams", "record_grams"]

_F = npt.NDArray[np.float64]
_BINS = np.linspace(0.3, 1.0, 15)


def name_grams(name: str) -> set[str]:
    """Padded jamo bigrams of a name (the default name encoding)."""
    text = "\x02" + unicodedata.normalize("NFD", name) + "\x03"
    return {"n" + text[i : i + 2] for i in range(len(text) - 1)}


def record_grams(name: str, birth: str, sex: str) -> set[str]:
    """Q-grams a record puts in the CLK of name, birth date and sex (default spec; "" = blank)."""
    digits = "\x02" + birth.replace("-", "") + "\x03"
    dates = {"b" + digits[i : i + 2] for i in range(len(digits) - 1)} if birth else set()
    return (name_grams(name) if name else set()) | dates | ({"s" + sex} if sex else set())


def _dice_bits(bits: npt.NDArray[np.bool_]) -> _F:
    b = bits.astype(np.float32)
    both = b @ b.T
    ones = b.sum(axis=1)
    return np.asarray(2 * both / np.maximum(ones[:, None] + ones[None, :], 1), np.float64)


def _dice_sets(sets: Sequence[set[str]]) -> _F:
    vocabulary = {g: i for i, g in enumerate(sorted(set().union(*sets)))}
    rows = np.zeros((len(sets), len(vocabulary)), bool)
    for r, s in enumerate(sets):
        rows[r, [vocabulary[g] for g in s]] = True
    return _dice_bits(rows)


def _quantile_map(source: _F, target: _F) -> _F:
    """Map ``source``'s off-diagonal similarities onto ``target``'s distribution (by rank)."""
    upper = np.triu_indices(source.shape[0], 1)
    ref = np.sort(target[np.triu_indices(target.shape[0], 1)])
    flat = source[upper]
    ranks = np.argsort(np.argsort(flat)) / max(flat.size - 1, 1)
    mapped = np.zeros_like(source)
    mapped[upper] = ref[np.minimum((ranks * (ref.size - 1)).astype(np.int64), ref.size - 1)]
    return mapped + mapped.T + np.eye(source.shape[0])


def _features(sim: _F) -> _F:
    off = sim - np.eye(sim.shape[0]) * 2  # the diagonal drops out of every bin
    hist = np.stack([(off >= b).sum(axis=1) for b in _BINS], axis=1) / sim.shape[0]
    top = -np.sort(-off, axis=1)[:, :5]
    feats = np.hstack([np.log1p(hist * sim.shape[0]), top])
    return np.asarray((feats - feats.mean(axis=0)) / (feats.std(axis=0) + 1e-9), np.float64)


@dataclass(frozen=True)
class GraphResult:
    """Records of the encoded sample whose value the matching recovered."""

    recovered: int
    records: int
    nodes: int

    @property
    def share(self) -> float:
        """Share of the encoded sample's records re-identified."""
        return self.recovered / max(self.records, 1)


def graph_attack(
    column: pa.Array,
    truth: Sequence[str],
    grams_of: Callable[[int], set[str]],
    *,
    sample: int = 1500,
    overlap: float = 1.0,
    seed: int = 0,
) -> GraphResult:
    """Match the similarity graph of an encoded sample to that of an attacker's plaintext list.

    Args:
        column: The encoded column (``bf_name`` or ``clk``).
        truth: Each record's true value (name, or name/birth/sex key): for scoring only.
        grams_of: The q-grams of record ``i``'s plaintext (what the attacker's list holds).
        sample: Records in the encoded sample (and in the attacker's list).
        overlap: Share of the attacker's list who are in the encoded sample (the rest are other
            records of the same file).
        seed: Sampling seed.

    Returns:
        How many records of the encoded sample were re-identified.
    """
    rng = np.random.default_rng(seed)
    rows, present = bit_matrix(column)
    ids = rng.permutation(np.flatnonzero(present))
    encoded = ids[:sample]
    shared = int(overlap * sample)
    plain = np.concatenate([encoded[:shared], ids[sample : 2 * sample - shared]])
    # distinct values on each side (the linkage unit sees equal filters as one node)
    enc_keys: dict[bytes, int] = {}
    enc_rep: list[int] = []
    for i in encoded:
        key = np.packbits(rows[i]).tobytes()
        if key not in enc_keys:
            enc_keys[key] = len(enc_rep)
            enc_rep.append(int(i))
    plain_values: dict[str, int] = {}
    plain_rep: list[int] = []
    for i in plain:
        if truth[i] not in plain_values:
            plain_values[truth[i]] = len(plain_rep)
            plain_rep.append(int(i))
    sim_plain = _dice_sets([grams_of(i) for i in plain_rep])
    sim_enc = _quantile_map(_dice_bits(rows[enc_rep]), sim_plain)
    cost = np.linalg.norm(_features(sim_enc)[:, None, :] - _features(sim_plain)[None, :, :], axis=2)
    left, right = linear_sum_assignment(cost)
    guessed = {int(a): truth[plain_rep[int(b)]] for a, b in zip(left, right, strict=True)}
    hits = 0
    for i in encoded:
        node = enc_keys[np.packbits(rows[i]).tobytes()]
        hits += guessed.get(node) == truth[i]
    return GraphResult(hits, len(encoded), len(enc_rep))
