"""Planning a synthesis: every measurement calibrated, and the total cost known, before any data.

MST (McKenna, Miklau and Sheldon 2021) spends a third of ρ on each of its three steps:

1. every 1-way marginal, as one integer vector (one person moves it by √d in L2), with
   OpenDP's discrete Gaussian;
2. ``d − 1`` rounds of the exponential mechanism choosing the maximum spanning tree of 2-way
   marginals, each round OpenDP's ``make_noisy_max`` (Gumbel noise, zCDP map: a score moves
   by at most 1 per person, in any direction);
3. the ``d − 1`` chosen 2-way marginals, as one integer vector (√(d − 1) in L2), discrete
   Gaussian again.

AIM (McKenna, Mullins, Sheldon and Miklau 2022) as published: with T rounds (``rounds``,
default 16·d), every 1-way marginal is measured at σ₀ = √(T / (1.8 ρ)) (one vector, L2
sensitivity √d: 0.9·d/T of ρ), and each round spends ρ/T at first, a tenth on one OpenDP noisy
max over the candidate 1-, 2- and 3-way marginals (integer scores of sensitivity the largest
workload weight) and nine tenths on measuring the chosen marginal (discrete Gaussian, L2
sensitivity 1). The per-round ρ is adaptive (AIM's annealing): when a measurement moved the
model's marginal by less than the noise it carries, the next rounds spend four times as much
(σ halved, the selection's ε doubled); when less than two rounds' worth is left, the last
round spends all of it. Every per-round measurement comes from a calibration ladder (ρ/T × 4ᵏ)
that depends on the spec alone; :class:`AIMBudget` hands them out and never lets the sum of
OpenDP's stated costs pass the plan's ρ, which is what is paid before any data is read.

Only the measurements read data; everything after them (mbi's estimation and the sampling of
records) is post-processing. The plan depends on the spec alone, so a synthesis is priced,
and refused, without touching the data.
"""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import opendp.prelude as dp

from ansim.errors import InvalidSpecError
from ansim.privacy._noise import Mechanism, NoisyMeasure, calibrate, epsilon_of_rho
from ansim.privacy._synth_spec import SynthesisMethod, SynthesisSpec

__all__ = [
    "AIMBudget",
    "AIMPlan",
    "AIMStep",
    "NoisyMax",
    "SynthesisPlan",
    "aim_workload",
    "calibrate_noisy_max",
    "plan_synthesis",
]

_AIM_SELECT, _AIM_MEASURE = 0.1, 0.9  # AIM's split of each round's ρ
_AIM_ROUNDS_PER_COLUMN = 16  # AIM's default T = 16·d
_ANNEAL = 4.0  # σ halved: a round's ρ times four

dp.enable_features("contrib")  # the measurement constructors (see ansim.privacy._noise)

_SCORE_SENSITIVITY = 1  # one person moves each selection score by at most 1


@dataclass(frozen=True)
class NoisyMax:
    """The exponential mechanism as OpenDP's report-noisy-max (Gumbel noise) under zCDP.

    Attributes:
        scale: The Gumbel scale.
        rho: The zCDP cost of one selection, as OpenDP's privacy map states it.
        measurement: The OpenDP measurement (integer scores in, an index out).
    """

    scale: float
    rho: float
    measurement: Any = field(repr=False)

    def select(self, scores: np.ndarray[Any, np.dtype[np.int64]]) -> int:
        """The index of a noisily highest score (OpenDP draws the noise).

        Example:
            >>> m = calibrate_noisy_max(10.0)
            >>> m.select(np.array([0, 1000, 3]))
            1
        """
        return int(self.measurement([int(s) for s in scores]))


def calibrate_noisy_max(rho: float, sensitivity: int = _SCORE_SENSITIVITY) -> NoisyMax:
    """The noisy-max selection with the smallest scale within ``rho``.

    Args:
        rho: The zCDP budget of one selection.
        sensitivity: How far one person moves any score (an integer).

    Example:
        >>> m = calibrate_noisy_max(0.125)
        >>> m.scale, m.rho <= 0.125
        (2.0, True)
    """
    if not rho > 0 or not math.isfinite(rho):
        raise InvalidSpecError("each selection needs rho > 0")
    if sensitivity < 1:
        raise InvalidSpecError("a score sensitivity is an integer >= 1")
    # non-monotonic scores: rho = (2Δ / scale)² / 8
    scale = 2 * sensitivity / math.sqrt(8 * rho)
    for attempt in range(60):
        measure = _noisy_max(scale, sensitivity)
        if measure.rho <= rho:
            return measure
        scale *= 1 + 1e-9 * 4 ** min(attempt, 20)  # OpenDP rounds its map up: widen a hair
    raise InvalidSpecError("cannot calibrate a selection within that rho")  # pragma: no cover


@functools.lru_cache(maxsize=256)
def _noisy_max(scale: float, sensitivity: int) -> NoisyMax:
    domain = dp.vector_domain(dp.atom_domain(T=dp.i64))
    m = dp.m.make_noisy_max(
        domain, dp.linf_distance(T=dp.i64), dp.zero_concentrated_divergence(), scale=scale
    )
    return NoisyMax(scale, float(m.map(sensitivity)), m)  # type: ignore[no-untyped-call]


class _Priced:
    """What every priced synthesis states: its spec, ρ and δ, and so its ε."""

    spec: SynthesisSpec
    rho: float
    delta: float

    @property
    def epsilon(self) -> float:
        """ε of the whole synthesis at the spec's ``conversion_delta``."""
        return epsilon_of_rho(self.rho, self.spec.conversion_delta)

    def _priced(self, mechanism: str) -> dict[str, Any]:
        """The head of :meth:`describe`: the synthesis, its cost and its privacy unit."""
        return {
            "synthesis": self.spec.name, "method": self.spec.method.value,
            "rho": self.rho, "epsilon": self.epsilon,
            "delta": self.spec.conversion_delta + self.delta,
            "privacy_unit": self.spec.privacy_unit, "mechanism": mechanism,
            "domain": self.spec.domain,
        }  # fmt: skip


@dataclass(frozen=True)
class SynthesisPlan(_Priced):
    """A synthesis, priced.

    Attributes:
        spec: The synthesis spec.
        one_way: Measurement of all 1-way marginals (one vector).
        selection: One round of the spanning-tree selection.
        rounds: Selection rounds (``d − 1``).
        two_way: Measurement of the chosen 2-way marginals (one vector).
        rho: Total zCDP cost (zCDP composes additively).
        delta: δ spent beyond the conversion (none: every step is zCDP).
    """

    spec: SynthesisSpec
    one_way: NoisyMeasure
    selection: NoisyMax
    rounds: int
    two_way: NoisyMeasure
    rho: float
    delta: float = 0.0

    @property
    def mechanism(self) -> str:
        """A one-line description of the mechanisms used (recorded with the spend)."""
        return (
            f"{self.spec.method.value.upper()} synthetic data: discrete Gaussian marginals + "
            "noisy-max selection (OpenDP 0.16), estimation by mbi"
        )

    def describe(self) -> dict[str, Any]:
        """What the synthesis costs and how noisy its measurements are, without data."""
        return {
            **self._priced(self.mechanism),
            "measurements": {
                "one_way": {"rho": self.one_way.rho, "sigma": self.one_way.scale,
                            "l2_sensitivity": self.one_way.sensitivity},
                "selection": {"rho_per_round": self.selection.rho, "rounds": self.rounds,
                              "gumbel_scale": self.selection.scale},
                "two_way": {"rho": self.two_way.rho, "sigma": self.two_way.scale,
                            "l2_sensitivity": self.two_way.sensitivity},
            },
        }  # fmt: skip


def plan_synthesis(spec: SynthesisSpec) -> SynthesisPlan | AIMPlan:
    """Calibrate every measurement of a synthesis and add up its cost (no data is read).

    Example:
        >>> from ansim.privacy._synth_spec import SynthColumn
        >>> spec = SynthesisSpec("s", tuple(SynthColumn(c, ("a", "b")) for c in "xyz"), 0.3)
        >>> plan = plan_synthesis(spec)
        >>> plan.rounds, plan.rho <= 0.3, round(plan.one_way.scale, 3)
        (2, True, 3.873)
    """
    if spec.method is SynthesisMethod.AIM:
        return plan_aim(spec)
    d = len(spec.columns)
    third = spec.rho * (1 - 1e-9) / 3  # the parts' float sum must not pass ρ by a rounding error
    one_way = calibrate(Mechanism.gaussian, math.sqrt(d), third, sum(spec.domain.values()))
    selection = calibrate_noisy_max(third / (d - 1))
    two_way = calibrate(Mechanism.gaussian, math.sqrt(d - 1), third)
    total = one_way.rho + (d - 1) * selection.rho + two_way.rho
    return SynthesisPlan(spec, one_way, selection, d - 1, two_way, total)


Clique = tuple[str, ...]


def aim_workload(spec: SynthesisSpec) -> dict[Clique, int]:
    """AIM's candidates and their integer weights, from the declared domains alone.

    The workload is every 2- and 3-way marginal of at most ``max_cells`` cells; the
    candidates are its downward closure (with the 1-way marginals), each weighted by how many
    attributes it shares with the workload's marginals (AIM's ``compile_workload``).

    Example:
        >>> from ansim.privacy._synth_spec import SynthColumn
        >>> spec = SynthesisSpec("s", tuple(SynthColumn(c, ("a", "b")) for c in "xyz"), 1.0)
        >>> w = aim_workload(spec)
        >>> w[("x",)], w[("x", "y")], w[("x", "y", "z")]
        (3, 6, 9)
    """
    sizes = spec.domain
    names = list(sizes)
    workload = [
        cl
        for order in (2, 3)
        for cl in itertools.combinations(names, order)
        if math.prod(sizes[c] for c in cl) <= spec.max_cells
    ]
    closure = {sub for cl in workload for k in (1, 2, 3) for sub in itertools.combinations(cl, k)}
    closure |= {(c,) for c in names}
    return {
        cl: sum(len(set(cl) & set(w)) for w in workload) or 1
        for cl in sorted(closure, key=lambda cl: (len(cl), [names.index(c) for c in cl]))
    }


@dataclass(frozen=True)
class AIMStep:
    """One AIM round's two measurements.

    Attributes:
        selection: The noisy max choosing the marginal.
        marginal: The measurement of the chosen marginal.
        last: Whether this round spends what was left (the run ends after it).
    """

    selection: NoisyMax
    marginal: NoisyMeasure
    last: bool = False

    @property
    def rho(self) -> float:
        """What the round costs (OpenDP's stated maps)."""
        return self.selection.rho + self.marginal.rho


@dataclass(frozen=True)
class AIMPlan(_Priced):
    """An AIM synthesis, priced: the 1-way measurement and the first round's calibration.

    Attributes:
        spec: The synthesis spec.
        one_way: Measurement of all 1-way marginals (one vector).
        selection: The first rounds' selection (OpenDP noisy max over the weighted errors).
        marginal: The first rounds' measurement of a selected marginal (L2 sensitivity 1).
        rounds: AIM's T (the first rounds spend ρ/T each).
        max_selections: The most rounds (``None``: until the budget is spent).
        candidates: The candidate marginals with their workload weights.
        rho: Total zCDP cost (zCDP composes additively): the budget paid.
        delta: δ spent beyond the conversion (none: every step is zCDP).
    """

    spec: SynthesisSpec
    one_way: NoisyMeasure
    selection: NoisyMax
    marginal: NoisyMeasure
    rounds: int
    max_selections: int | None
    candidates: dict[Clique, int] = field(repr=False)
    rho: float = 0.0
    delta: float = 0.0

    @property
    def mechanism(self) -> str:
        """A one-line description of the mechanisms used (recorded with the spend)."""
        return (
            f"AIM synthetic data (T = {self.rounds}, annealed per-round budget): discrete "
            "Gaussian marginals + noisy-max selection (OpenDP 0.16), estimation by mbi"
        )

    @property
    def sensitivity(self) -> int:
        """How far one person moves a selection score (the largest workload weight)."""
        return max(self.candidates.values())

    def step(self, level: int) -> AIMStep:
        """The round calibrated at ρ/T × 4^level (annealed ``level`` times; data-free).

        Example:
            >>> from ansim.privacy._synth_spec import SynthColumn
            >>> spec = SynthesisSpec("s", tuple(SynthColumn(c, ("a", "b")) for c in "xyz"),
            ...                      1.0, method=SynthesisMethod.AIM)
            >>> plan = plan_aim(spec)
            >>> round(plan.step(1).marginal.scale / plan.step(0).marginal.scale, 6)
            0.5
        """
        return _aim_step(self.rho * _ANNEAL**level / self.rounds, self.sensitivity)

    def budget(self) -> AIMBudget:
        """A fresh account of this plan's rounds (the 1-way measurement already counted)."""
        return AIMBudget(self)

    def describe(self) -> dict[str, Any]:
        """What the synthesis costs and how noisy its measurements are, without data."""
        first = self.step(0)
        return {
            **self._priced(self.mechanism),
            "measurements": {
                "one_way": {"rho": self.one_way.rho, "sigma": self.one_way.scale,
                            "l2_sensitivity": self.one_way.sensitivity},
                "selection": {"rho_first_rounds": first.selection.rho,
                              "gumbel_scale": first.selection.scale,
                              "score_sensitivity": self.sensitivity},
                "marginal": {"rho_first_rounds": first.marginal.rho,
                             "sigma": first.marginal.scale,
                             "l2_sensitivity": first.marginal.sensitivity},
                "rounds_T": self.rounds, "max_selections": self.max_selections,
                "annealing": "a round whose measurement moved the model's marginal by less "
                             "than its noise makes the next rounds cost 4x (sigma halved); "
                             "the last round spends what is left",
                "candidates": len(self.candidates), "max_cells": self.spec.max_cells,
            },
        }  # fmt: skip


class AIMBudget:
    """The rounds' account: hands out calibrated rounds, never past the plan's ρ.

    Starts with the 1-way measurement spent. :meth:`next_round` gives the current level's
    round, or, when less than two of them are left (or the selection cap is reached), one
    round spending everything that is left; after it, ``None``. :meth:`anneal` moves to the
    next level (σ halved). ``spent`` lists OpenDP's stated cost of every measurement handed
    out; their sum is at most the plan's ρ (property-tested).
    """

    def __init__(self, plan: AIMPlan) -> None:
        self.plan = plan
        self.level = 0
        self.spent: list[float] = [plan.one_way.rho]
        self.selections = 0
        self.done = False

    @property
    def remaining(self) -> float:
        """ρ not yet handed out."""
        return self.plan.rho - sum(self.spent)

    def next_round(self) -> AIMStep | None:
        """The next round's calibrated measurements (``None``: the budget is spent)."""
        if self.done:
            return None
        step = self.plan.step(self.level)
        cap = self.plan.max_selections
        final = cap is not None and self.selections + 1 >= cap
        if final or self.remaining < 2 * step.rho:
            step = _aim_final_step(self.remaining * (1 - 1e-9), self.plan.sensitivity)
            self.done = True
        self.spent += [step.selection.rho, step.marginal.rho]
        self.selections += 1
        return step

    def anneal(self) -> None:
        """The last measurement told the model less than its noise: spend more per round."""
        self.level += 1


@functools.lru_cache(maxsize=256)
def _aim_step(rho: float, sensitivity: int) -> AIMStep:
    return AIMStep(
        calibrate_noisy_max(_AIM_SELECT * rho, sensitivity),
        calibrate(Mechanism.gaussian, 1.0, _AIM_MEASURE * rho),
    )


def _aim_final_step(rho: float, sensitivity: int) -> AIMStep:
    step = _aim_step(rho, sensitivity)
    return AIMStep(step.selection, step.marginal, last=True)


def plan_aim(spec: SynthesisSpec) -> AIMPlan:
    """Calibrate AIM's 1-way measurement and its first rounds (no data is read).

    Example:
        >>> from ansim.privacy._synth_spec import SynthColumn
        >>> spec = SynthesisSpec("s", tuple(SynthColumn(c, ("a", "b")) for c in "xyz"), 0.3,
        ...                      method=SynthesisMethod.AIM)
        >>> plan = plan_aim(spec)
        >>> plan.rounds, plan.rho <= 0.3, len(plan.candidates)
        (48, True, 7)
        >>> round(plan.one_way.rho / plan.rho, 4)  # 0.9 d / T
        0.0563
    """
    d = len(spec.columns)
    t = spec.rounds or _AIM_ROUNDS_PER_COLUMN * d
    candidates = aim_workload(spec)
    rho = spec.rho * (1 - 1e-9)  # the parts' float sum must not pass ρ by a rounding error
    one_way = calibrate(
        Mechanism.gaussian, math.sqrt(d), _AIM_MEASURE * d * rho / t, sum(spec.domain.values())
    )
    first = _aim_step(rho / t, max(candidates.values()))
    return AIMPlan(
        spec, one_way, first.selection, first.marginal, t, spec.marginals, candidates, rho
    )
