"""Planning a synthesis: every measurement calibrated, and the total cost known, before any data.

MST (McKenna, Miklau and Sheldon 2021) spends a third of ρ on each of its three steps:

1. every 1-way marginal, as one integer vector (one person moves it by √d in L2), with
   OpenDP's discrete Gaussian;
2. ``d − 1`` rounds of the exponential mechanism choosing the maximum spanning tree of 2-way
   marginals, each round OpenDP's ``make_noisy_max`` (Gumbel noise, zCDP map: a score moves
   by at most 1 per person, in any direction);
3. the ``d − 1`` chosen 2-way marginals, as one integer vector (√(d − 1) in L2), discrete
   Gaussian again.

Only the measurements read data; everything after them (mbi's estimation and the sampling of
records) is post-processing. The plan depends on the spec alone, so a synthesis is priced,
and refused, without touching the data.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import opendp.prelude as dp

from ansim.errors import InvalidSpecError
from ansim.privacy._noise import Mechanism, NoisyMeasure, calibrate, epsilon_of_rho
from ansim.privacy._synth_spec import SynthesisSpec

__all__ = ["NoisyMax", "SynthesisPlan", "calibrate_noisy_max", "plan_synthesis"]

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


def calibrate_noisy_max(rho: float) -> NoisyMax:
    """The noisy-max selection with the smallest scale within ``rho`` (scores of sensitivity 1).

    Example:
        >>> m = calibrate_noisy_max(0.125)
        >>> m.scale, m.rho <= 0.125
        (2.0, True)
    """
    if not rho > 0 or not math.isfinite(rho):
        raise InvalidSpecError("each selection needs rho > 0")
    # non-monotonic scores: rho = (2Δ / scale)² / 8
    scale = 2 * _SCORE_SENSITIVITY / math.sqrt(8 * rho)
    for attempt in range(60):
        measure = _noisy_max(scale)
        if measure.rho <= rho:
            return measure
        scale *= 1 + 1e-9 * 4 ** min(attempt, 20)  # OpenDP rounds its map up: widen a hair
    raise InvalidSpecError("cannot calibrate a selection within that rho")  # pragma: no cover


@functools.lru_cache(maxsize=256)
def _noisy_max(scale: float) -> NoisyMax:
    domain = dp.vector_domain(dp.atom_domain(T=dp.i64))
    m = dp.m.make_noisy_max(
        domain, dp.linf_distance(T=dp.i64), dp.zero_concentrated_divergence(), scale=scale
    )
    return NoisyMax(scale, float(m.map(_SCORE_SENSITIVITY)), m)  # type: ignore[no-untyped-call]


@dataclass(frozen=True)
class SynthesisPlan:
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
    def epsilon(self) -> float:
        """ε of the whole synthesis at the spec's ``conversion_delta``."""
        return epsilon_of_rho(self.rho, self.spec.conversion_delta)

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
            "synthesis": self.spec.name, "method": self.spec.method.value,
            "rho": self.rho, "epsilon": self.epsilon,
            "delta": self.spec.conversion_delta + self.delta,
            "privacy_unit": self.spec.privacy_unit, "mechanism": self.mechanism,
            "domain": self.spec.domain,
            "measurements": {
                "one_way": {"rho": self.one_way.rho, "sigma": self.one_way.scale,
                            "l2_sensitivity": self.one_way.sensitivity},
                "selection": {"rho_per_round": self.selection.rho, "rounds": self.rounds,
                              "gumbel_scale": self.selection.scale},
                "two_way": {"rho": self.two_way.rho, "sigma": self.two_way.scale,
                            "l2_sensitivity": self.two_way.sensitivity},
            },
        }  # fmt: skip


def plan_synthesis(spec: SynthesisSpec) -> SynthesisPlan:
    """Calibrate every measurement of a synthesis and add up its cost (no data is read).

    Example:
        >>> from ansim.privacy._synth_spec import SynthColumn
        >>> spec = SynthesisSpec("s", tuple(SynthColumn(c, ("a", "b")) for c in "xyz"), 0.3)
        >>> plan = plan_synthesis(spec)
        >>> plan.rounds, plan.rho <= 0.3, round(plan.one_way.scale, 3)
        (2, True, 3.873)
    """
    d = len(spec.columns)
    third = spec.rho / 3
    one_way = calibrate(Mechanism.gaussian, math.sqrt(d), third, sum(spec.domain.values()))
    selection = calibrate_noisy_max(third / (d - 1))
    two_way = calibrate(Mechanism.gaussian, math.sqrt(d - 1), third)
    total = one_way.rho + (d - 1) * selection.rho + two_way.rho
    return SynthesisPlan(spec, one_way, selection, d - 1, two_way, total)
