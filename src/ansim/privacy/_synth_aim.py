"""AIM: select the worst-fitted marginal each round, measure it with OpenDP, fit with mbi.

AIM (McKenna, Mullins, Sheldon and Miklau 2022), as published: measure the 1-way marginals,
then in each round choose, by the exponential mechanism (OpenDP's noisy max), the candidate
marginal the current model fits worst (weighted by the workload and corrected for the noise a
measurement would add), measure it, re-estimate the model, and anneal: when the measurement
moved the model's marginal (L1) by less than the noise it carries (√(2/π)·σ·cells), the next
rounds spend four times the ρ (``ansim.privacy._synth_plan.AIMBudget``, which never hands out
more than the plan's ρ). The run ends when the budget is spent. A candidate is kept only if
the model with it stays under AIM's size cap (80 MB × the share of ρ spent so far).

Time: with mbi 2.0 each estimation of a new model costs a JAX compilation (seconds), and AIM
has tens of rounds, so when the whole domain is small enough to hold (``_DENSE_CELLS``) the
rounds' model is the joint in NumPy, kept in factored form (one log-potential per measured
marginal) and fitted by iterative proportional fitting, warm-started from the last round (a
capped number of sweeps). mbi estimates once, at the end, from every measurement, warm-started
from those potentials (so its capped mirror-descent iterations start near the optimum); the
candidates' model marginals are sums of the joint, and records are drawn from mbi's joint
(computed from its potentials) by randomised rounding. Otherwise every round is an mbi
estimation warm-started from the last (a quarter of the iterations before the last round),
and mbi's own inference and sampling are used.

Every step that sees the data is an OpenDP measurement calibrated from the spec alone: the
noisy max (integer scores: a person moves a weighted L1 error by at most the largest weight)
and the discrete Gaussian on each chosen marginal (a person moves it by 1). The annealing
decision, the models, the scores' model side and the sampling are post-processing of earlier
measurements. ``AIMModel.spent`` lists the ρ of every measurement made; their sum never
exceeds the plan's ρ.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ansim.privacy._synth_mst import IntArray, _seeded_numpy, load_mbi
from ansim.privacy._synth_plan import AIMPlan, AIMStep, Clique

__all__ = ["AIMModel", "fit_aim", "round_iterations", "sample_aim"]

FloatArray = np.ndarray[Any, np.dtype[np.float64]]

_DENSE_CELLS = 1 << 23  # a joint of up to 8M cells (64 MB) is held in NumPy
_MAX_MODEL_MB = 80.0  # AIM's cap on the junction tree's size, scaled by the ρ spent
_IPF_SWEEPS = 1  # sweeps per round over every measured marginal (warm-started)
_FINAL_SWEEPS = 3  # before the final mbi estimation (its warm start)
_FLOOR = 1e-9  # a target cell's least share: no cell of the joint underflows to zero
_JIT_SETUP = True  # mbi's set-up and finish as one compiled program each (not op by op)
_WARM_START = True  # the final mbi estimation starts from the rounds' potentials
_BIAS = math.sqrt(2 / math.pi)  # E|N(0, σ²)| / σ: the error a measurement's noise alone adds


@dataclass(frozen=True)
class AIMModel:
    """The fitted model, what was measured to fit it, and the ρ of every measurement.

    Attributes:
        model: mbi's ``MarkovRandomField``.
        sizes: Values per column (the domain).
        selected: The marginal chosen in each round, in order.
        sigmas: The noise scale each selected marginal was measured at.
        annealed: How many times the per-round ρ was raised.
        spent: ρ of each measurement made, in order (the 1-way vector, then per round the
            noisy max and the marginal's measurement).
        joint: The model's joint distribution (``None`` when the domain is too large to hold).
    """

    model: Any
    sizes: Mapping[str, int]
    selected: tuple[Clique, ...]
    sigmas: tuple[float, ...]
    annealed: int
    spent: tuple[float, ...]
    joint: FloatArray | None

    @property
    def measured(self) -> list[list[str]]:
        """Every measured marginal: the 1-way ones, then the selected ones in order."""
        return [[c] for c in self.sizes] + [list(cl) for cl in self.selected]

    @property
    def rho_spent(self) -> float:
        """Total ρ of the measurements made (at most the plan's)."""
        return float(sum(self.spent))


def fit_aim(codes: Mapping[str, IntArray], plan: AIMPlan) -> AIMModel:
    """Measure the 1-way marginals, then select, measure, re-estimate and anneal each round.

    Args:
        codes: Each column's code per row (one row per person), in the spec's domain.
        plan: The paid-for plan; no measurement passes its ρ.

    Returns:
        The model.
    """
    mbi = load_mbi()
    sizes = plan.spec.domain
    names = list(sizes)
    domain = mbi.Domain(names, [sizes[c] for c in names])
    counts = [np.bincount(codes[c], minlength=sizes[c]) for c in names]
    budget = plan.budget()
    noisy = plan.one_way.release(np.concatenate(counts)).astype(np.float64)
    ones = dict(zip(names, np.split(noisy, np.cumsum([sizes[c] for c in names[:-1]])), strict=True))
    log = [mbi.LinearMeasurement(ones[c], (c,), stddev=plan.one_way.scale) for c in names]
    answers = {cl: _counts(codes, sizes, cl) for cl in plan.candidates}
    total = max(float(np.mean([np.clip(y, 0, None).sum() for y in ones.values()])), 1.0)
    dense = math.prod(sizes.values()) <= _DENSE_CELLS
    fit = _Proportional(sizes, log) if dense else None
    model = None
    estimator = _estimator(mbi) if _JIT_SETUP else mbi.estimation.MirrorDescent()
    iterations = plan.spec.estimation_iterations
    if fit is None:
        model = estimator.estimate(domain, log, iters=round_iterations(iterations, last=False))
    selected: list[Clique] = []
    sigmas: list[float] = []
    while (step := budget.next_round()) is not None:
        estimate = _current(fit, model, total)
        limit = _MAX_MODEL_MB * (plan.rho - budget.remaining) / plan.rho
        cl = _select(plan, step, answers, estimate, [m.clique for m in log], domain, limit)
        y = step.marginal.release(answers[cl]).astype(np.float64)
        log.append(mbi.LinearMeasurement(y, cl, stddev=step.marginal.scale))
        selected.append(cl)
        sigmas.append(step.marginal.scale)
        before = estimate(cl)
        if fit is not None:
            fit.add(log[-1])
            fit.sweep(_IPF_SWEEPS)
        elif not step.last:
            model = estimator.estimate(
                domain, log, iters=round_iterations(iterations, last=False), warm_start=model
            )
        if step.last:
            break
        after = _current(fit, model, total)(cl)
        if np.abs(after - before).sum() <= _BIAS * step.marginal.scale * answers[cl].size:
            budget.anneal()
    warm = model
    log = _merged(mbi, log)  # one measurement per clique: the same loss, fewer programs
    if fit is not None:
        fit.sweep(_FINAL_SWEEPS)
        warm = fit.potentials(mbi, domain, [m.clique for m in log]) if _WARM_START else None
    model = estimator.estimate(domain, log, iters=iterations, warm_start=warm)
    joint = _model_joint(model, sizes) if dense else None
    return AIMModel(
        model, sizes, tuple(selected), tuple(sigmas), budget.level, tuple(budget.spent), joint
    )


def _estimator(mbi: Any) -> Any:
    """The mirror descent of mbi, with its set-up and its finish each compiled as one program.

    mbi runs both eagerly, so each of their many small array operations is compiled on its
    own the first time its shapes are seen (a fresh model: hundreds of compilations). The
    same computation, traced once per model; the iterations are mbi's own compiled loop.
    """
    import jax  # noqa: PLC0415 - loaded with mbi

    base = mbi.estimation.MirrorDescent

    class _Compiled(base):  # type: ignore[misc, valid-type]
        def _init(self, domain: Any, loss_fn: Any, known_total: Any, *, warm_start: Any = None,
                  constraints: Any = ()) -> Any:  # fmt: skip
            def init(loss: Any, total: Any, warm: Any) -> Any:
                return base._init(
                    self, domain, loss, total, warm_start=warm, constraints=constraints
                )

            return jax.jit(init)(loss_fn, known_total, warm_start)

        def _finalize(self, state: Any, known_total: Any, constraints: Any = ()) -> Any:
            def finish(st: Any, total: Any) -> Any:
                return base._finalize(self, st, total, constraints=constraints)

            return jax.jit(finish)(state, known_total)

    return _Compiled()


def round_iterations(iterations: int, *, last: bool) -> int:
    """Mirror-descent iterations of a round: a quarter before the last (they guide selections).

    Example:
        >>> round_iterations(1000, last=False), round_iterations(1000, last=True)
        (250, 1000)
    """
    return iterations if last else min(iterations, max(iterations // 4, 50))


class _Proportional:
    """The rounds' model: the joint in NumPy as one log-potential per measured marginal.

    Iterative proportional fitting: each measured marginal (the inverse-variance average of
    its noisy measurements, clipped at zero and normalised) is a target; a sweep scales the
    joint to each in turn and adds the log of the scaling to that marginal's potential, so
    the joint is always the normalised exponential of the potentials' sum (the form mbi's
    model has). Each round warm-starts from the last: only a few sweeps are needed.
    """

    def __init__(self, sizes: Mapping[str, int], log: list[Any]) -> None:
        self.names = list(sizes)
        self.sizes = dict(sizes)
        cells = math.prod(sizes.values())
        self.joint: FloatArray = np.full([sizes[c] for c in self.names], 1 / cells)
        self.log_potentials: dict[Clique, FloatArray] = {}
        self.sums: dict[Clique, tuple[FloatArray, float]] = {}  # Σ y/σ², Σ 1/σ²
        for m in log:
            self.add(m)
        self.sweep(1)  # the 1-way marginals are independent: one sweep fits them exactly

    def add(self, measurement: Any) -> None:
        """Take a new noisy marginal as (part of) its clique's target."""
        cl = tuple(measurement.clique)
        y = np.asarray(measurement.noisy_measurement, dtype=np.float64)
        w = 1 / float(measurement.stddev) ** 2
        prior, weight = self.sums.get(cl, (np.zeros_like(y), 0.0))
        self.sums[cl] = (prior + w * y, weight + w)
        self.log_potentials.setdefault(cl, np.zeros([self.sizes[c] for c in cl]))

    def _axes(self, cl: Clique) -> tuple[int, ...]:
        return tuple(self.names.index(c) for c in cl)

    def sweep(self, sweeps: int) -> None:
        """``sweeps`` passes of proportional fitting over every target."""
        for _ in range(sweeps):
            for cl, (weighted, weight) in self.sums.items():
                axes = self._axes(cl)
                target = np.clip(weighted / weight, 0, None)
                target = np.maximum(target / max(target.sum(), 1e-9), _FLOOR)
                target = (target / target.sum()).reshape([self.sizes[c] for c in cl])
                other = tuple(i for i in range(len(self.names)) if i not in axes)
                current = np.maximum(self.joint.sum(axis=other), 1e-300)
                ratio = target / current
                shape = [self.sizes[c] if i in axes else 1 for i, c in enumerate(self.names)]
                self.joint *= ratio.reshape(shape)
                self.log_potentials[cl] += np.log(ratio)
            self.joint /= self.joint.sum()

    def potentials(self, mbi: Any, domain: Any, cliques: list[Clique]) -> Any:
        """The log-potentials on mbi's maximal cliques (a warm start for its estimation).

        Each measured marginal's potential is added, in NumPy, into one maximal clique that
        holds it, so mbi's own re-expression of them is one step per clique.
        """
        import jax.numpy as jnp  # noqa: PLC0415 - loaded with mbi
        from mbi.clique_utils import maximal_subset  # noqa: PLC0415

        tables: dict[Clique, FloatArray] = {
            tuple(top): np.zeros([self.sizes[c] for c in top]) for top in maximal_subset(cliques)
        }
        for cl, phi in self.log_potentials.items():
            top = next(t for t in tables if set(cl) <= set(t))
            order = sorted(range(len(cl)), key=lambda i: top.index(cl[i]))
            shape = [self.sizes[c] if c in cl else 1 for c in top]
            tables[top] = tables[top] + np.transpose(phi, order).reshape(shape)
        factors = {
            cl: mbi.Factor(domain.project(cl), jnp.asarray(phi)) for cl, phi in tables.items()
        }
        return mbi.CliqueVector(domain, tuple(factors), factors)


def _merged(mbi: Any, log: list[Any]) -> list[Any]:
    """One measurement per clique: the inverse-variance average of its noisy measurements.

    The L2 loss of the average (at its combined σ) differs from the sum of the separate
    losses by a constant, so mbi's estimate is the same (post-processing).
    """
    groups: dict[Clique, list[Any]] = {}
    for m in log:
        groups.setdefault(tuple(m.clique), []).append(m)
    out = []
    for cl, ms in groups.items():
        if len(ms) == 1:
            out.append(ms[0])
            continue
        weights = [1 / float(m.stddev) ** 2 for m in ms]
        y = sum(w * np.asarray(m.noisy_measurement) for w, m in zip(weights, ms, strict=True))
        out.append(mbi.LinearMeasurement(y / sum(weights), cl, stddev=sum(weights) ** -0.5))
    return out


def _current(fit: _Proportional | None, model: Any, total: float) -> Callable[[Clique], FloatArray]:
    """The current model's marginal (as counts) of any clique."""
    if fit is not None:
        return _estimates(fit.joint, total, fit.sizes)
    return _model_marginals(model)


def _counts(codes: Mapping[str, IntArray], sizes: Mapping[str, int], cl: Clique) -> IntArray:
    """The true marginal over ``cl`` (cells in row-major order of ``cl``)."""
    flat = np.zeros(len(codes[cl[0]]), dtype=np.int64)
    for c in cl:
        flat = flat * sizes[c] + codes[c]
    return np.bincount(flat, minlength=math.prod(sizes[c] for c in cl)).astype(np.int64)


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
    joint: FloatArray, total: float, sizes: Mapping[str, int]
) -> Callable[[Clique], FloatArray]:
    """The held joint's marginal (as counts) of any clique."""
    names = list(sizes)
    cache: dict[tuple[int, ...], FloatArray] = {tuple(range(len(names))): joint}

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
        return total * over(axes).ravel().astype(np.float64)

    return marginal


def _select(  # noqa: PLR0917 - one round's state, kept in fit_aim
    plan: AIMPlan,
    step: AIMStep,
    answers: Mapping[Clique, IntArray],
    estimate: Callable[[Clique], FloatArray],
    cliques: list[Clique],
    domain: Any,
    limit: float,
) -> Clique:
    """One noisy-max selection of the worst-fitted candidate that keeps the model small."""
    from mbi import junction_tree  # noqa: PLC0415 - mbi is loaded by fit_aim

    free = {sub for cl in cliques for sub in _subsets(cl)}
    sigma = step.marginal.scale
    keys = [
        cl
        for cl in plan.candidates
        if cl in free or _fits(junction_tree, domain, cliques, cl, limit)
    ]
    keys = keys or [min(plan.candidates, key=len)]
    scores = []
    for cl in keys:
        weight = plan.candidates[cl]
        error = int(np.abs(answers[cl] - np.rint(estimate(cl))).sum())  # moves by <= 1
        bias = _BIAS * sigma * answers[cl].size  # public: the noise a measurement would add
        scores.append(weight * error - round(weight * bias))
    return keys[step.selection.select(np.array(scores, dtype=np.int64))]


def _fits(junction_tree: Any, domain: Any, cliques: list[Clique], cl: Clique, limit: float) -> bool:
    """Whether the model with ``cl`` stays under ``limit`` MB (its junction tree's size)."""
    return _model_size(junction_tree, domain, _graph([*cliques, cl])) <= limit


def _graph(cliques: list[Clique]) -> frozenset[Clique]:
    """The model's graph: its attributes and edges (the junction tree depends on it alone)."""
    return frozenset(
        {(c,) for cl in cliques for c in cl}
        | {pair for cl in cliques for pair in itertools.combinations(cl, 2)}
    )


_SIZES: dict[tuple[Any, frozenset[Clique]], float] = {}


def _model_size(junction_tree: Any, domain: Any, graph: frozenset[Clique]) -> float:
    """Mbi's junction-tree size of a graph, cached (many candidates give the same graph)."""
    key = (domain, graph)
    if key not in _SIZES:
        if len(_SIZES) > 100_000:  # noqa: PLR2004 - a bound on the cache, never reached
            _SIZES.clear()
        _SIZES[key] = float(junction_tree.hypothetical_model_size(domain, sorted(graph)))
    return _SIZES[key]


def _subsets(cl: Clique) -> list[Clique]:
    return [tuple(c for i, c in enumerate(cl) if mask >> i & 1) for mask in range(1, 1 << len(cl))]


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
