"""AIM: select the worst-fitted marginals in rounds, measure them with OpenDP, fit with mbi.

AIM (McKenna, Mullins, Sheldon and Miklau 2022) measures the 1-way marginals, then in each
round chooses, by the exponential mechanism, the candidate marginal the current model fits
worst (weighted by the workload and corrected for the noise a measurement would add), measures
it and re-estimates the model. Ansim's version keeps AIM's selection rule and changes how the
rounds are spent, for time: the JAX compilation of each new model, not the mirror-descent
iterations, is what costs, so

- the number of selections is fixed in the plan (``ansim.privacy._synth_plan``: every round's
  ρ is known before any data is read) and they are made in a few *estimation rounds*: each
  round selects a batch of marginals from the same model (after a choice, the candidates it
  makes redundant — its subsets, supersets and the 3-way marginals sharing two of its columns —
  leave that batch), measures them, then the model is re-fitted;
- the workload is the 2- and 3-way marginals of at most ``max_cells`` cells, and a candidate
  is kept only if the model the round starts from, with it, stays under a size cap (AIM's
  ``max_model_size``, growing with the rounds);
- when the whole domain is small enough to hold (``_DENSE_CELLS`` cells), the model of the
  rounds before the last is that joint, fitted in NumPy to the noisy marginals by iterative
  proportional fitting (it only guides the next selections), and mbi estimates once, in the
  last round, from every measurement; the candidates' model marginals are sums of the joint,
  and records are drawn from mbi's joint (computed from its potentials) by randomised rounding.
  So a synthesis costs one mbi compilation, as MST's does. Otherwise every round is an mbi
  estimation, warm-started from the last, with a quarter of the spec's mirror-descent
  iterations before the last round, and mbi's own inference and sampling are used.

Every step that sees the data is an OpenDP measurement priced in the plan: the noisy max
(integer scores: a person moves a weighted L1 error by at most the largest weight) and the
discrete Gaussian on each chosen marginal (a person moves it by 1). The models, the scores'
model side, the batching and the sampling are post-processing. ``AIMModel.spent`` lists the ρ
of every measurement actually made; their sum never exceeds the plan's ρ.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ansim.privacy._synth_mst import IntArray, _seeded_numpy, load_mbi
from ansim.privacy._synth_plan import AIMPlan, Clique

__all__ = ["AIMModel", "fit_aim", "round_iterations", "sample_aim"]

FloatArray = np.ndarray[Any, np.dtype[np.float64]]

_DENSE_CELLS = 1 << 23  # a joint of up to 8M cells (64 MB) is held in NumPy
_MAX_MODEL_MB = 80.0  # AIM's default cap on the junction tree's size, reached at the last round
_WARM_START = True  # each round's mbi estimation starts from the last round's model
_IPF_ROUNDS = True  # with the joint held, rounds before the last are fitted in NumPy
_IPF_SWEEPS = 5
_BIAS = math.sqrt(2 / math.pi)  # E|N(0, σ²)| / σ: the error a measurement's noise alone adds


@dataclass(frozen=True)
class AIMModel:
    """The fitted model, what was measured to fit it, and the ρ of every measurement.

    Attributes:
        model: mbi's ``MarkovRandomField``.
        sizes: Values per column (the domain).
        rounds: The marginals selected in each estimation round.
        spent: ρ of each measurement made, in order (the 1-way vector, then per selection the
            noisy max and the marginal's measurement).
        joint: The model's joint distribution (``None`` when the domain is too large to hold).
    """

    model: Any
    sizes: Mapping[str, int]
    rounds: tuple[tuple[Clique, ...], ...]
    spent: tuple[float, ...]
    joint: FloatArray | None

    @property
    def measured(self) -> list[list[str]]:
        """Every measured marginal: the 1-way ones, then the selected ones in order."""
        return [[c] for c in self.sizes] + [list(cl) for batch in self.rounds for cl in batch]

    @property
    def rho_spent(self) -> float:
        """Total ρ of the measurements made (at most the plan's)."""
        return float(sum(self.spent))


def fit_aim(codes: Mapping[str, IntArray], plan: AIMPlan) -> AIMModel:
    """Measure the 1-way marginals, then select, measure and re-estimate in rounds.

    Args:
        codes: Each column's code per row (one row per person), in the spec's domain.
        plan: The paid-for plan; its measurements are used exactly as priced.

    Returns:
        The model.
    """
    mbi = load_mbi()
    sizes = plan.spec.domain
    names = list(sizes)
    domain = mbi.Domain(names, [sizes[c] for c in names])
    counts = [np.bincount(codes[c], minlength=sizes[c]) for c in names]
    noisy = plan.one_way.release(np.concatenate(counts)).astype(np.float64)
    ones = dict(zip(names, np.split(noisy, np.cumsum([sizes[c] for c in names[:-1]])), strict=True))
    log = [mbi.LinearMeasurement(ones[c], (c,), stddev=plan.one_way.scale) for c in names]
    spent = [plan.one_way.rho]
    answers = {cl: _counts(codes, sizes, cl) for cl in plan.candidates}
    total = max(float(np.mean([np.clip(y, 0, None).sum() for y in ones.values()])), 1.0)
    dense = math.prod(sizes.values()) <= _DENSE_CELLS
    joint = _independent_joint(ones, sizes) if dense else None
    estimate = _estimates(joint, total, sizes, _independent_marginals(ones, sizes, total))
    model, rounds = None, []
    estimator = mbi.estimation.MirrorDescent()
    for r, batch_size in enumerate(plan.round_sizes()):
        limit = _MAX_MODEL_MB * (r + 1) / plan.rounds
        batch = _select_batch(plan, answers, estimate, [m.clique for m in log], domain, limit,
                              batch_size, spent)  # fmt: skip
        for cl in batch:
            y = plan.marginal.release(answers[cl]).astype(np.float64)
            log.append(mbi.LinearMeasurement(y, cl, stddev=plan.marginal.scale))
            spent.append(plan.marginal.rho)
        rounds.append(tuple(batch))
        last = r == plan.rounds - 1
        if dense and _IPF_ROUNDS and not last and joint is not None:
            # a guide for the next selections only: fitted in NumPy, no JAX compilation
            joint = _fit_proportional(joint, log, sizes)
            estimate = _estimates(joint, total, sizes, _independent_marginals(ones, sizes, total))
            continue
        iters = round_iterations(plan.spec.estimation_iterations, last=last)
        model = estimator.estimate(
            domain, log, iters=iters, warm_start=model if _WARM_START else None
        )
        total = max(float(model.total), 1.0)
        joint = _model_joint(model, sizes) if dense else None
        estimate = _estimates(joint, total, sizes, _model_marginals(model))
    return AIMModel(model, sizes, tuple(rounds), tuple(spent), joint)


def round_iterations(iterations: int, *, last: bool) -> int:
    """Mirror-descent iterations of a round: a quarter before the last (they guide selections).

    Example:
        >>> round_iterations(1000, last=False), round_iterations(1000, last=True)
        (250, 1000)
    """
    return iterations if last else min(iterations, max(iterations // 4, 50))


def _fit_proportional(joint: FloatArray, log: list[Any], sizes: Mapping[str, int]) -> FloatArray:
    """Iterative proportional fitting of the held joint to the noisy marginals (NumPy).

    Each noisy marginal, clipped at zero and normalised, is a target; a few sweeps scale the
    joint to each in turn (the maximum-entropy fit mbi's model also approaches).
    """
    names = list(sizes)
    p = joint.copy()
    targets = []
    for m in log:
        axes = tuple(names.index(c) for c in m.clique)
        t = np.clip(np.asarray(m.noisy_measurement, dtype=np.float64), 0, None) + 1e-9
        shape = [sizes[c] if i in axes else 1 for i, c in enumerate(names)]
        targets.append((axes, (t / t.sum()).reshape([sizes[names[a]] for a in axes]), shape))
    for _ in range(_IPF_SWEEPS):
        for axes, target, shape in targets:
            other = tuple(i for i in range(len(names)) if i not in axes)
            current = p.sum(axis=other)
            p *= (target / np.maximum(current, 1e-300)).reshape(shape)
    return p / p.sum()  # type: ignore[no-any-return]


def _counts(codes: Mapping[str, IntArray], sizes: Mapping[str, int], cl: Clique) -> IntArray:
    """The true marginal over ``cl`` (cells in row-major order of ``cl``)."""
    flat = np.zeros(len(codes[cl[0]]), dtype=np.int64)
    for c in cl:
        flat = flat * sizes[c] + codes[c]
    return np.bincount(flat, minlength=math.prod(sizes[c] for c in cl)).astype(np.int64)


def _shares(noisy: FloatArray) -> FloatArray:
    clipped = np.clip(noisy, 0, None) + 1e-9
    return np.asarray(clipped / clipped.sum(), dtype=np.float64)


def _independent_joint(ones: Mapping[str, FloatArray], sizes: Mapping[str, int]) -> FloatArray:
    """The product of the noisy 1-way shares (the model before any selection)."""
    joint = np.ones((), dtype=np.float64)
    for c in sizes:
        joint = np.multiply.outer(joint, _shares(ones[c]))
    return joint


def _independent_marginals(
    ones: Mapping[str, FloatArray], sizes: Mapping[str, int], total: float
) -> Callable[[Clique], FloatArray]:
    def marginal(cl: Clique) -> FloatArray:
        out = np.ones((), dtype=np.float64)
        for c in cl:
            out = np.multiply.outer(out, _shares(ones[c]))
        return total * out.ravel()

    return marginal


def _model_marginals(model: Any) -> Callable[[Clique], FloatArray]:
    def marginal(cl: Clique) -> FloatArray:
        return np.asarray(model.project(cl).datavector(), dtype=np.float64)

    return marginal


def _model_joint(model: Any, sizes: Mapping[str, int]) -> FloatArray:
    """The model's joint distribution from its log-potentials (normalised, in NumPy)."""
    names = list(sizes)
    log_p = np.zeros(tuple(sizes[c] for c in names), dtype=np.float64)
    for factor in model.potentials.tables.values():
        attrs = list(factor.domain.attributes)
        axes = sorted(range(len(attrs)), key=lambda i: names.index(attrs[i]))
        values = np.transpose(np.asarray(factor.values, dtype=np.float64), axes)
        log_p = log_p + values.reshape([sizes[c] if c in attrs else 1 for c in names])
    log_p -= log_p.max()
    joint = np.exp(log_p)
    return joint / joint.sum()  # type: ignore[no-any-return]


def _estimates(
    joint: FloatArray | None,
    total: float,
    sizes: Mapping[str, int],
    fallback: Callable[[Clique], FloatArray],
) -> Callable[[Clique], FloatArray]:
    """The model's marginal (as counts) of any clique: from the joint when it is held."""
    if joint is None:
        return fallback
    names = list(sizes)
    held = joint
    cache: dict[tuple[int, ...], FloatArray] = {tuple(range(len(names))): held}

    def over(axes: tuple[int, ...]) -> FloatArray:
        # sum out one axis at a time from the smallest superset in the cache's chain: the
        # many 2- and 3-way marginals share their larger parents
        if axes not in cache:
            missing = min(set(range(len(names))) - set(axes))
            parent = tuple(sorted((*axes, missing)))
            cache[axes] = over(parent).sum(axis=parent.index(missing))
        return cache[axes]

    def marginal(cl: Clique) -> FloatArray:
        axes = tuple(names.index(c) for c in cl)  # cliques are in column order
        return total * over(axes).ravel()

    return marginal


def _select_batch(  # noqa: PLR0917 - one round's state, kept in fit_aim
    plan: AIMPlan,
    answers: Mapping[Clique, IntArray],
    estimate: Callable[[Clique], FloatArray],
    cliques: list[Clique],
    domain: Any,
    limit: float,
    size: int,
    spent: list[float],
) -> list[Clique]:
    """``size`` noisy-max selections from one model, each one leaving out what it covers."""
    from mbi import junction_tree  # noqa: PLC0415 - mbi is loaded by fit_aim

    free = {sub for cl in cliques for sub in _subsets(cl)}
    sigma = plan.marginal.scale
    scores: dict[Clique, int] = {}
    for cl, weight in plan.candidates.items():
        error = int(np.abs(answers[cl] - np.rint(estimate(cl))).sum())  # moves by <= 1
        bias = _BIAS * sigma * answers[cl].size  # public: the noise a measurement would add
        scores[cl] = weight * error - round(weight * bias)
    # the size cap is checked against the model the batch starts from (a junction tree per
    # candidate costs milliseconds); the batch's own choices may take it a little beyond
    fitting = {
        cl for cl in scores if cl in free or _fits(junction_tree, domain, cliques, cl, limit)
    }
    chosen: list[Clique] = []
    open_ = dict(scores)
    for _ in range(size):
        if not open_:
            open_ = {cl: s for cl, s in scores.items() if cl not in chosen} or dict(scores)
        keys = [cl for cl in open_ if cl in fitting] or [min(open_, key=len)]
        cl = keys[plan.selection.select(np.array([open_[k] for k in keys], dtype=np.int64))]
        spent.append(plan.selection.rho)
        chosen.append(cl)
        open_ = {k: s for k, s in open_.items() if not _covered(k, cl)}
    return chosen


def _fits(junction_tree: Any, domain: Any, cliques: list[Clique], cl: Clique, limit: float) -> bool:
    return float(junction_tree.hypothetical_model_size(domain, [*cliques, cl])) <= limit


def _subsets(cl: Clique) -> list[Clique]:
    return [tuple(c for i, c in enumerate(cl) if mask >> i & 1) for mask in range(1, 1 << len(cl))]


def _covered(candidate: Clique, chosen: Clique) -> bool:
    """Whether measuring ``chosen`` makes ``candidate`` redundant within the same batch."""
    shared = len(set(candidate) & set(chosen))
    return shared == len(candidate) or shared == len(chosen) or shared >= 2  # noqa: PLR2004


def sample_aim(fitted: AIMModel, rows: int | None, seed: int) -> dict[str, IntArray]:
    """Sample synthetic records from the model; the same model, rows and seed give the same.

    With the joint held, the cell counts are the joint times the rows, randomly rounded (so
    every cell is within one record of the model), in a seeded random order; otherwise mbi's
    sampler runs under a seeded NumPy global state (see ``ansim.privacy._synth_mst``).

    Args:
        fitted: The model.
        rows: How many (``None``: the model's noisy total).
        seed: The sampling seed.

    Returns:
        Each column's codes.
    """
    names = list(fitted.sizes)
    n = max(1, int(rows if rows is not None else round(float(fitted.model.total))))
    if fitted.joint is None:
        with _seeded_numpy(seed):
            data = fitted.model.synthetic_data(n).to_dict()
        return {c: np.asarray(data[c], dtype=np.int64) for c in names}
    rng = np.random.default_rng(seed)
    expected = fitted.joint.ravel() * n
    counts = np.floor(expected).astype(np.int64)
    extra = n - int(counts.sum())
    if extra > 0:
        frac = expected - counts
        counts[rng.choice(frac.size, extra, replace=False, p=frac / frac.sum())] += 1
    cells = rng.permutation(np.repeat(np.arange(counts.size), counts))
    coords = np.unravel_index(cells, fitted.joint.shape)
    return {c: np.asarray(coords[i], dtype=np.int64) for i, c in enumerate(names)}
