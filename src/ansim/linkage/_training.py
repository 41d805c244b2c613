"""Training the Fellegi–Sunter model: u from random pairs, m by EM in blocked sessions.

Training pairs are drawn apart from the pairs that are scored (as Splink does): for each
compared field ``g`` a session takes the pairs of a random sample of records that agree
exactly on ``g`` (the sample sized so the session has about ``training_pairs`` pairs). Inside
the session ``g`` says nothing, so it is left out; m and u of the other fields are estimated
by EM. Each field's m is the mean over the sessions that estimated it (only those of mostly
matches, where there are such sessions); each session's u
becomes the field's u conditional on agreeing on ``g`` (see :class:`FellegiSunterModel`),
if the session is mostly non-matches (its EM non-match class is then not a residue of matches
with errors).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from ansim.linkage._blocking import pairs_in_blocks
from ansim.linkage._comparison import EncodedRecords, FieldComparison, comparison_levels
from ansim.linkage._config import LinkageConfig
from ansim.linkage._model import (
    FellegiSunterModel,
    estimate_m_by_em,
    estimate_u,
    monotone_m,
    monotone_u,
)
from ansim.linkage._partitioned import counted_patterns

__all__ = ["train_model"]

IntArray = npt.NDArray[np.int64]
_MIN_CONDITIONING_PAIRS = 1000  # non-matches a session needs before its u conditions others
_MIN_SESSION_PAIRS = 100
# A session whose pairs are mostly matches (blocked on a field that nearly identifies a person,
# such as an RRN or a phone) estimates m best: in a session of mostly non-matches, people who
# share much without being the same person (twins: birth date, address, surname) pass for
# matches and teach the model that an RRN far off is a plausible typo.
_PURE_SESSION = 0.5


def _random_pairs(size: int, count: int, seed: int) -> tuple[IntArray, IntArray]:
    rng = np.random.default_rng([seed, 0x5EED])
    a = rng.integers(0, size, count, dtype=np.int64)
    b = rng.integers(0, size, count, dtype=np.int64)
    keep = a != b
    return a[keep], b[keep]


def _session_pairs(codes: IntArray, config: LinkageConfig, salt: int) -> tuple[IntArray, IntArray]:
    """Pairs agreeing on one field among a random sample of records."""
    present = codes >= 0
    sizes = np.bincount(codes[present]) if present.any() else np.zeros(0, np.int64)
    sizes = sizes[sizes <= config.max_block]
    total = float((sizes * (sizes - 1) // 2).sum())
    if total == 0:
        empty = np.empty(0, np.int64)
        return empty, empty
    share = min(1.0, float(np.sqrt(config.training_pairs / total)))
    rng = np.random.default_rng([config.seed, salt])
    sampled = np.where(rng.random(codes.size) < share, codes, -1)
    first, second, _ = pairs_in_blocks(sampled, config.max_block)
    return first, second


def train_model(
    records: EncodedRecords,
    comparisons: Sequence[FieldComparison],
    config: LinkageConfig,
    candidate_levels: npt.NDArray[np.int8] | None = None,
) -> FellegiSunterModel:
    """Estimate the model's m and u on the records themselves (no labels).

    Args:
        records: The encoded records.
        comparisons: The fields compared.
        config: Sample sizes, EM iterations, seed and ``u_from``.
        candidate_levels: With ``u_from: em``, the levels of the scored pairs: one more EM
            over them re-estimates m and the unconditional u together.

    Returns:
        The trained model.
    """
    a, b = _random_pairs(records.size, config.random_pairs, config.seed)
    u = list(estimate_u(comparison_levels(records, comparisons, a, b), comparisons))
    count = len(comparisons)
    estimates: dict[int, list[tuple[float, ...]]] = {f: [] for f in range(count)}
    pure: dict[int, list[tuple[float, ...]]] = {f: [] for f in range(count)}
    sessions: list[dict[str, object]] = []
    given: list[tuple[int, int, tuple[float, ...]]] = []
    for g, comparison in enumerate(comparisons):
        first, second = _session_pairs(records.codes[comparison.column], config, g + 1)
        if first.size < _MIN_SESSION_PAIRS:
            continue
        patterns, counts = counted_patterns(comparison_levels(records, comparisons, first, second))
        fields = [f for f in range(count) if f != g]
        # u is re-estimated inside the session: its non-matches agree on g, and fields that
        # depend on g (an RRN holds the birth date) look unlike random pairs there
        m, session_u, share = estimate_m_by_em(
            patterns, counts, comparisons, u, fields=fields,
            iterations=config.em_iterations, estimate_u_too=True,
        )  # fmt: skip
        for f in fields:
            estimates[f].append(m[f])
            if share >= _PURE_SESSION:
                pure[f].append(m[f])
        # only a session of mostly non-matches estimates u: in one of mostly matches, the
        # minority "non-match" class also takes the matches with errors in the other fields
        # (a misspelt name with equal address), and conditioning on it would unlink them
        if share < _PURE_SESSION and first.size * (1 - share) >= _MIN_CONDITIONING_PAIRS:
            given.extend((g, f, session_u[f]) for f in fields if f > g)
        sessions.append(
            {"blocked_on": comparison.column, "pairs": int(first.size),
             "match_share": round(share, 6)}
        )  # fmt: skip
    missing = [f for f, found in estimates.items() if not found]
    em_all = config.u_from == "em" and candidate_levels is not None
    if missing or em_all:
        levels = candidate_levels if candidate_levels is not None else np.empty((0, count), np.int8)
        patterns, counts = counted_patterns(levels)
        fields = list(range(count)) if em_all else missing
        if counts.sum():
            m, new_u, share = estimate_m_by_em(
                patterns, counts, comparisons, u, fields=fields,
                iterations=config.em_iterations, estimate_u_too=em_all,
            )  # fmt: skip
            for f in fields:
                estimates[f] = [m[f]]
                pure[f] = []
            u = list(new_u)
            sessions.append(
                {"blocked_on": "candidates", "pairs": int(counts.sum()),
                 "match_share": round(share, 6)}
            )  # fmt: skip
    m_final = tuple(
        monotone_m(_mean_row(pure[f] or estimates[f], comparisons[f]), u[f]) for f in range(count)
    )
    # a conditional u shares m: pool its levels so weights stay ordered there too
    given = [(g, f, monotone_u(m_final[f], row)) for g, f, row in given]
    columns = [c.column for c in comparisons]
    training: dict[str, object] = {
        "random_pairs": int(a.size),
        "u_from": config.u_from,
        "sessions": sessions,
        "conditional_u": [f"{columns[f]} | {columns[g]} exact" for g, f, _ in given],
    }
    return FellegiSunterModel(tuple(comparisons), m_final, tuple(u), training, tuple(given))


def _mean_row(rows: list[tuple[float, ...]], comparison: FieldComparison) -> tuple[float, ...]:
    if not rows:  # no session and no candidates: an uninformative start
        rest = comparison.levels - 1
        return tuple([0.9] + [0.1 / rest] * rest)
    mean = np.mean(np.asarray(rows), axis=0)
    return tuple((mean / mean.sum()).tolist())
