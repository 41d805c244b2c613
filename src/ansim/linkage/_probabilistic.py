"""Fuzzy and probabilistic linkage of identity parts on their encodings.

Both block on encoded columns, score the candidate pairs and cluster the accepted pairs into
persons (or assign them 1-to-1). Fuzzy accepts pairs whose record-level filters (``clk``) are
Dice-similar enough; probabilistic scores each pair with a Fellegi–Sunter model trained on
the data (m by EM in sessions blocked on one field each, u from random pairs), adjusted for
how common an exactly matching value is, and accepts pairs whose match probability reaches
the threshold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from ansim.errors import LinkageError
from ansim.linkage._assignment import select_links
from ansim.linkage._blocking import BlockingRule, CandidatePairs
from ansim.linkage._comparison import (
    EncodedRecords,
    FieldComparison,
    diffused_dice,
    diffusion_conflicts,
)
from ansim.linkage._config import LinkageConfig
from ansim.linkage._dice import dice_pairs
from ansim.linkage._encoded import (
    ColumnLoader,
    automatic_blocking,
    automatic_comparisons,
    check_parts,
    encode_records,
    fitted_to_field,
    shared_columns,
)
from ansim.linkage._estimates import estimated_missed_by_blocking, quality_estimates
from ansim.linkage._exact import LinkMap, link_exact, linkage_report, person_ids
from ansim.linkage._model_file import LinkageModel
from ansim.linkage._pairs import pairs_table
from ansim.linkage._partitioned import blocked_pairs, components
from ansim.linkage._partitioned_scoring import compared_levels, pair_weights, reached
from ansim.linkage._training import train_model
from ansim.packages import ENCODING_METADATA_KEY, Part, part_extra

__all__ = ["ScoredPairs", "link", "link_fuzzy", "link_probabilistic", "score_pairs"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
_PRIOR_ITERATIONS = 40


@dataclass(frozen=True)
class ScoredPairs:
    """Candidate pairs with their scores.

    Attributes:
        candidates: The blocked pairs.
        match_weight: log2 odds of a match (probabilistic) or Dice (fuzzy), per pair.
        accepted: Whether the pair reaches the threshold.
        probability: Match probability per pair (probabilistic only).
        levels: Comparison levels ``(pairs, fields)`` (probabilistic only).
    """

    candidates: CandidatePairs
    match_weight: npt.NDArray[np.float32]
    accepted: npt.NDArray[np.bool_]
    probability: npt.NDArray[np.float32] | None
    levels: npt.NDArray[np.int8] | None = None


def _exact_shares(
    records: EncodedRecords, comparisons: Sequence[FieldComparison], first: IntArray
) -> list[FloatArray | None]:
    shares: list[FloatArray | None] = []
    for comparison in comparisons:
        if not comparison.term_frequency:
            shares.append(None)
            continue
        codes = records.codes[comparison.column]
        present = codes >= 0
        counts = np.bincount(codes[present]).astype(np.float64)
        share = counts / max(int(present.sum()), 1)
        code = codes[first]
        shares.append(np.where(code >= 0, share[np.maximum(code, 0)], 1.0))
    return shares


def _pair_kinds(
    records: EncodedRecords, first: IntArray, second: IntArray
) -> tuple[IntArray, FloatArray]:
    sources = int(records.source.max()) + 1
    sizes = np.bincount(records.source, minlength=sources).astype(np.float64)
    sa, sb = records.source[first], records.source[second]
    kind = np.minimum(sa, sb) * sources + np.maximum(sa, sb)
    totals = np.outer(sizes, sizes)
    totals[np.diag_indices(sources)] = sizes * (sizes - 1) / 2
    return kind, np.maximum(totals.ravel(), 1.0)


def _priors(weight: npt.NDArray[np.float32], kind: IntArray, totals: FloatArray) -> FloatArray:
    """Prior log2-odds per pair kind: EM's fixed point, pairs outside the blocks unmatched."""
    prior = np.full(totals.size, 1e-6)
    # pairs whose Bayes factor is below 1 add under one in a million each: leave them out
    plausible = weight > 0
    w, kind = weight[plausible].astype(np.float64), kind[plausible]
    for _ in range(_PRIOR_ITERATIONS):
        logit = w + np.log2(prior / (1 - prior))[kind]
        p = 1.0 / (1.0 + np.exp2(-np.clip(logit, -60, 60)))
        expected = np.bincount(kind, p, minlength=totals.size)
        prior = np.clip(expected / totals, 1e-15, 0.5)
    return np.asarray(np.log2(prior / (1 - prior)), np.float64)


def _rules(
    records: EncodedRecords, config: LinkageConfig, columns: Sequence[str], *, lsh: bool
) -> tuple[BlockingRule, ...]:
    return config.blocking or automatic_blocking(
        records, columns, max_block=config.max_block, seed=config.seed, lsh=lsh
    )


def score_pairs(
    records: EncodedRecords,
    config: LinkageConfig,
    columns: Sequence[str],
    *,
    names: Sequence[str] | None = None,
    model: LinkageModel | None = None,
) -> tuple[ScoredPairs, dict[str, object], LinkageModel | None]:
    """Block, compare and score; returns the scored pairs, the model summary and the model.

    Args:
        records: The encoded records.
        config: The linkage configuration (method fuzzy or probabilistic).
        columns: Encoded columns available.
        names: Dataset names in part order (default ``d0``, ``d1``, …), naming λ's kinds.
        model: A saved model to apply (its blocking, levels, m, u and λ; no training).

    Returns:
        Scored pairs, a counts-only model summary and the model (``None`` for fuzzy).

    Raises:
        LinkageError: Fuzzy linkage without Bloom filters, or nothing to compare.
    """
    names = list(names or [f"d{k}" for k in range(int(records.source.max(initial=0)) + 1)])
    if model is not None:
        rules = model.blocking
    else:
        rules = _rules(records, config, columns, lsh=config.blocking_mode == "lsh")
    candidates = blocked_pairs(rules, records.codes, records.filters, records.popcounts)
    if config.method == "fuzzy":
        dice = _fuzzy_scores(records, columns, candidates.first, candidates.second)
        threshold = fuzzy_threshold(records, config.fuzzy_threshold)
        accepted = dice >= np.float32(threshold)
        return ScoredPairs(candidates, dice, accepted, None), {}, None
    scored, linkage_model = _score_probabilistic(records, config, columns, candidates, names, model)
    has_filters = any(c.startswith("bf_") for c in records.filters)
    if model is None and not config.blocking and config.blocking_mode == "auto" and has_filters:
        extended = _extra_passes_if_lossy(records, config, columns, scored)
        if extended is not None:
            scored, linkage_model = _score_probabilistic(
                records, config, columns, extended, names, model
            )
    summary = _model_summary(linkage_model)
    return scored, summary, linkage_model


def _extra_passes_if_lossy(
    records: EncodedRecords,
    config: LinkageConfig,
    columns: Sequence[str],
    scored: ScoredPairs,
) -> CandidatePairs | None:
    """Blocking ``auto``: the LSH passes' pairs when the standard ones are estimated to lose.

    The loss is estimated from how many of the standard passes found each pair the model
    links (see :func:`estimated_missed_by_blocking`). A model-free screen (pairs whose
    filters are Dice-similar on average) is not used: it holds people who share much
    without being the same person (twins), found by one pass each, and so switched the LSH
    passes on where they add nothing but pairs (the 100k demo world: 266 thousand candidates
    became many millions, 1 GB of memory 11 GB, for the same F1).

    Returns:
        The extended candidates, or ``None`` when the standard passes are estimated not to
        lose pairs.
    """
    candidates = scored.candidates
    links = np.flatnonzero(scored.accepted)
    missed = estimated_missed_by_blocking(candidates.passes[links], len(candidates.report))
    if missed.point <= max(1.0, LOSSY_BLOCKING_SHARE * links.size):
        return None
    rules = _rules(records, config, columns, lsh=True)
    extended = blocked_pairs(rules, records.codes, records.filters, records.popcounts)
    return replace(extended, switched_on=True)


LOSSY_BLOCKING_SHARE = 0.001
"""Blocking ``auto`` adds the LSH passes when it estimates more than this share of the
model's links (and more than one pair) is missed by the standard passes."""


def _score_probabilistic(  # noqa: PLR0917 -- one scoring step
    records: EncodedRecords,
    config: LinkageConfig,
    columns: Sequence[str],
    candidates: CandidatePairs,
    names: Sequence[str],
    model: LinkageModel | None,
) -> tuple[ScoredPairs, LinkageModel]:
    first, second = candidates.first, candidates.second
    if model is not None:
        comparisons = model.weights.comparisons
        missing = [c.column for c in comparisons if c.column not in records.codes]
        if missing:
            raise LinkageError(
                f"the model compares {missing}, which the identity parts lack: apply it to "
                "parts encoded with the same encoding spec"
            )
        levels = compared_levels(records, comparisons, first, second)
        fs = model.weights
    else:
        configured = tuple(fitted_to_field(c, records) for c in config.comparisons)
        comparisons = configured or automatic_comparisons(columns, records)
        if not comparisons:
            raise LinkageError("no field to compare: the parts hold no bf_* or token_* columns")
        levels = compared_levels(records, comparisons, first, second)
        comparisons, levels = reached(comparisons, levels)
        fs = train_model(records, comparisons, config, levels)
    weights = pair_weights(fs, levels, _exact_shares(records, comparisons, first))
    kind, totals = _pair_kinds(records, first, second)
    sizes = {n: int(c) for n, c in zip(names, np.bincount(records.source), strict=True)}
    prior = _priors(weights, kind, totals)
    sources = len(names)
    kinds = {
        a * sources + b: f"{names[a]}~{names[b]}" for a in range(sources) for b in range(a, sources)
    }
    if model is not None:
        for k, label in kinds.items():
            a, b = label.split("~")
            saved = model.prior_for(a, b, sizes)
            if saved is not None:
                prior[k] = saved
    match_weight = (weights + prior[kind]).astype(np.float32)
    probability = (1.0 / (1.0 + np.exp2(-np.clip(match_weight, -60, 60)))).astype(np.float32)
    threshold = config.match_probability
    accepted = probability >= np.float32(threshold)
    saved_model = LinkageModel(
        fs,
        candidates.rules,
        {label: round(float(prior[k]), 6) for k, label in kinds.items()},
        sizes,
        threshold,
    )
    scored = ScoredPairs(candidates, match_weight, accepted, probability, levels)
    return scored, saved_model


def fuzzy_threshold(records: EncodedRecords, threshold: float) -> float:
    """The fuzzy method's ``clk`` Dice threshold on the scale of the parts' stored filters.

    A ``clk`` stored through a diffusion layer of ``t`` taps (every part's encoding spec says
    so) is compared with the Dice :func:`~ansim.linkage._comparison.diffused_dice` gives for
    the threshold set on balanced filters (0.85 with 8 taps: 0.5288); without diffusion the
    threshold is kept. The mapped value is not raised to
    :data:`~ansim.linkage._comparison.DIFFUSED_NOISE` as the probabilistic bands are: that
    would override the configured threshold (0.55 is 0.875 before 8 taps), and measured it
    cost more recall at 100k people than it gained precision (docs/privacy.md). Parts linked
    on ``bf_*`` filters (no ``clk``) have their Dice mapped back per field instead
    (:func:`_fuzzy_scores`), so the threshold is kept.

    Args:
        records: The encoded records (their ``taps`` come from the parts' specs).
        threshold: The configured ``fuzzy_threshold``.

    Returns:
        The threshold to compare the stored filters' Dice with.
    """
    if "clk" not in records.filters:
        return threshold
    return diffused_dice(threshold, records.taps.get("clk", 1))


def _undiffused(dice: npt.NDArray[np.float32], taps: int) -> npt.NDArray[np.float32]:
    """Dice of diffused filters mapped back to balanced filters (the inverse of the layer)."""
    if taps <= 1:
        return dice
    centred = 2 * dice.astype(np.float64) - 1
    back = np.sign(centred) * np.abs(centred) ** (1.0 / taps)
    return ((1 + back) / 2).astype(np.float32)


def _fuzzy_scores(
    records: EncodedRecords, columns: Sequence[str], first: IntArray, second: IntArray
) -> npt.NDArray[np.float32]:
    """Dice of each pair's ``clk`` as stored, else the mean Dice of its ``bf_*`` filters.

    The mean is taken on the balanced scale: each field's Dice is mapped back through its
    diffusion layer first (fields differ in taps, so their stored Dice cannot be averaged).
    """
    if "clk" in records.filters:
        bits, _ = records.filters["clk"]
        count = records.popcounts["clk"]
        return dice_pairs(bits, bits, first, second, counts=(count, count))
    filters = [c for c in columns if c.startswith("bf_")]
    if not filters:
        raise LinkageError("fuzzy linkage needs Bloom-filter encodings (clk or bf_*) in the parts")
    total = np.zeros(first.size, np.float32)
    present = np.zeros(first.size, np.float32)
    for column in filters:
        bits, valid = records.filters[column]
        count = records.popcounts[column]
        both = valid[first] & valid[second]
        dice = _undiffused(
            dice_pairs(bits, bits, first, second, counts=(count, count)),
            records.taps.get(column, 1),
        )
        total += np.where(both, dice, 0)
        present += both
    return (total / np.maximum(present, 1)).astype(np.float32)


def _model_summary(model: LinkageModel) -> dict[str, object]:
    fs = model.weights
    fields = {
        comparison.column: [
            {"level": name, "m": round(m, 6), "u": round(u, 9), "weight": round(w, 3)}
            for name, m, u, w in zip(
                comparison.level_names, fs.m[f], fs.u[f], fs.level_weights(f), strict=True
            )
        ]
        for f, comparison in enumerate(fs.comparisons)
    }
    return {
        "fields": fields,
        "prior_log2_odds": {k: round(v, 3) for k, v in model.prior_log2_odds.items()},
        "training": fs.training,
    }


def link_probabilistic(parts: Sequence[Part], config: LinkageConfig | None = None) -> LinkMap:
    """Link identity parts by a Fellegi–Sunter model on their encodings.

    Args:
        parts: Identity parts from two or more datasets.
        config: Blocking, comparisons, threshold and assignment (default: automatic).

    Returns:
        The link map (with ``match_weight``) and its report.
    """
    return link(parts, (config or LinkageConfig()).with_method("probabilistic"))


def link_fuzzy(parts: Sequence[Part], config: LinkageConfig | None = None) -> LinkMap:
    """Link identity parts by Dice similarity of their record-level Bloom filters.

    Args:
        parts: Identity parts from two or more datasets.
        config: Blocking, Dice threshold and assignment.

    Returns:
        The link map (with ``match_weight``: the best accepted Dice) and its report.
    """
    return link(parts, (config or LinkageConfig(method="fuzzy")).with_method("fuzzy"))


def _needed(columns: Sequence[str], config: LinkageConfig, model: LinkageModel | None) -> list[str]:
    """The encoded columns this configuration reads (each costs time and memory)."""
    rules = model.blocking if model is not None else config.blocking
    if rules:
        wanted = {c for r in rules for c in (r.column, *r.also)}
    else:
        wanted = {c for c in columns if c.startswith(("token_", "bf_"))}
    if config.method == "fuzzy":
        wanted |= {"clk"} if "clk" in columns else {c for c in columns if c.startswith("bf_")}
    elif model is not None:
        wanted |= {c.column for c in model.weights.comparisons}
    else:
        wanted |= {c.column for c in config.comparisons or automatic_comparisons(columns)}
    return [c for c in columns if c in wanted]


def link(
    parts: Sequence[Part],
    config: LinkageConfig,
    *,
    columns: Sequence[Sequence[str]] | None = None,
    load: ColumnLoader | None = None,
    model: LinkageModel | None = None,
    pairs: bool = False,
) -> LinkMap:
    """Link identity parts with the configured method.

    Args:
        parts: Identity parts from one or more datasets (one: its records are deduplicated).
        config: The linkage configuration.
        columns: Per part, its column names, when its table holds only some of them.
        load: Loads the other columns (see :func:`encode_records`).
        model: A saved model to apply instead of training one (probabilistic only).
        pairs: Also return the scored pairs at or above ``config.pairs_floor``.

    Returns:
        The link map, its report, the model (probabilistic) and the pairs (if asked).

    Raises:
        LinkageError: Inputs that cannot be linked.
    """
    check_parts(parts)
    if len(parts) == 1 and config.assignment != "cluster":
        raise LinkageError(
            f"assignment {config.assignment!r} links each record to at most one of another "
            "dataset, so it cannot deduplicate one dataset: use assignment 'cluster'"
        )
    if config.method == "exact":
        if model is not None or pairs:
            raise LinkageError("exact linkage has no model and no scored pairs: use probabilistic")
        return link_exact(parts, max_group=None)
    if model is not None and config.method != "probabilistic":
        raise LinkageError("a saved model applies to probabilistic linkage only")
    shared = shared_columns(parts, columns)
    if not shared:
        raise LinkageError("no encoded column is shared by two datasets")
    names = [p.dataset for p in parts]
    needed = _needed(shared, config, model)
    _check_encodings(parts, needed, config.method)
    records = encode_records(parts, needed, load)
    scored, summary, trained = score_pairs(
        records, config, list(records.codes), names=names, model=model
    )
    candidates = scored.candidates
    accepted = np.flatnonzero(scored.accepted)
    first, second = candidates.first[accepted], candidates.second[accepted]
    weight = scored.match_weight[accepted]
    keep = select_links(config.assignment, first, second, weight, records.source)
    first, second, weight = first[keep], second[keep], weight[keep]
    labels = components(records.size, first, second)
    best = np.full(records.size, -np.inf)
    np.maximum.at(best, first, weight)
    np.maximum.at(best, second, weight)
    serials = pa.chunked_array([p.table["serial"] for p in parts]).combine_chunks()
    sizes = [p.table.num_rows for p in parts]
    datasets = pa.array(np.repeat(np.array(names, dtype=object), sizes).tolist(), pa.string())
    table = pa.table(
        {
            "serial": serials,
            "dataset": datasets,
            "person_id": person_ids(labels, serials),
            "match_weight": pa.array(np.round(best, 3), pa.float64(), mask=~np.isfinite(best)),
        }
    )
    estimates = quality_estimates(scored, keep, accepted, labels, source=records.source)
    report = linkage_report(
        config.method,
        names,
        sizes,
        labels,
        tokens=tuple(c for c in shared if c.startswith("token_")),
        edges={"links": int(first.size)},
        blocking=estimates.pop("blocking"),  # type: ignore[arg-type]
        model=summary | ({"applied": "saved model"} if model is not None else {}),
        estimates=estimates,
    )
    scored_pairs = None
    if pairs:
        scored_pairs = _pairs_above_floor(scored, trained, serials, datasets, config.pairs_floor)
    return LinkMap(table, report, model=trained, pairs=scored_pairs)


def _check_encodings(parts: Sequence[Part], columns: Sequence[str], method: str) -> None:
    """Refuse parts whose compared filters are diffused differently.

    The fuzzy method compares the CLK (else the ``bf_*``), the probabilistic method every
    filter it reads; a filter diffused in one part and not (or with other taps) in another
    has no meaningful Dice between them (e.g. a part prepared with the old field-level
    default beside one prepared with today's).

    Raises:
        LinkageError: Some parts store a compared filter through a diffusion layer with other
            taps (or none) than the rest.
    """
    compared = [c for c in columns if c == "clk" or c.startswith("bf_")]
    if method == "fuzzy" and "clk" in columns:
        compared = ["clk"]
    specs = [part_extra(p.table.schema, ENCODING_METADATA_KEY) for p in parts]
    conflicts = diffusion_conflicts(specs, compared)
    if conflicts:
        raise LinkageError(
            f"{method} linkage: the parts' encoding specs disagree on the diffusion of "
            f"{', '.join(conflicts)} (taps differ or some parts are not hardened): prepare every "
            "dataset with the same encoding spec"
        )


def _pairs_above_floor(
    scored: ScoredPairs,
    model: LinkageModel | None,
    serials: pa.Array,
    datasets: pa.Array,
    floor: float,
) -> pa.Table:
    if model is None or scored.probability is None or scored.levels is None:
        raise LinkageError("scored pairs need probabilistic linkage (match probabilities)")
    keep = np.flatnonzero(scored.probability >= np.float32(floor))
    candidates = scored.candidates
    return pairs_table(
        serials,
        datasets,
        candidates.first[keep],
        candidates.second[keep],
        scored.match_weight[keep],
        scored.probability[keep],
        scored.levels[keep],
        model.weights.comparisons,
    )
