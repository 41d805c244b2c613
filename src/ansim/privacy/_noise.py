"""Noise from OpenDP's vetted samplers: calibration (cached), privacy maps and exact intervals.

Every noisy value Ansim releases is drawn by an OpenDP measurement on a vector of integers:
the discrete Gaussian (``make_gaussian``, zCDP natively) or the discrete Laplace
(``make_laplace``, pure ε-DP, expressed in zCDP by ``make_pureDP_to_zCDP``: ε-DP implies
ε²/2-zCDP). Ansim never samples noise itself.

OpenDP 0.16 gates its measurement constructors behind the ``contrib`` feature (they are
proved in its proof documents but not yet through its external vetting); Ansim enables exactly
that feature, and never ``floating-point`` or ``honest-but-curious``: all noise is added to
integers, so no floating-point attack applies.

Calibration depends only on the sensitivity, the scale and the shape of the output, never on
the data, so measurements are cached by ``(mechanism, sensitivity, scale, length)``.

Intervals are exact for the mechanism: the half-width is the smallest integer ``a`` with
``P(|X| > a) ≤ α`` for the discrete noise ``X`` actually added (closed form for the discrete
Laplace; the discrete Gaussian's normalised mass function summed, or for very large scales its
continuity-corrected normal limit, which agrees to far below a unit).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
import opendp.prelude as dp
from scipy.stats import norm  # type: ignore[import-untyped]

from ansim.errors import InvalidSpecError

__all__ = [
    "Mechanism",
    "NoisyMeasure",
    "calibrate",
    "epsilon_of_rho",
    "half_width",
    "rho_of_epsilon",
]

dp.enable_features("contrib")  # the measurement constructors; see the module docstring

_EXACT_GAUSSIAN_SCALE = 2000.0  # beyond: the normal limit (error far below one unit)


class Mechanism(StrEnum):
    """The noise distribution of a release."""

    gaussian = "gaussian"
    """Discrete Gaussian on an L2 sensitivity (zCDP)."""
    laplace = "laplace"
    """Discrete Laplace on an L1 sensitivity (pure ε-DP, shown as zCDP)."""


@dataclass(frozen=True)
class NoisyMeasure:
    """A calibrated OpenDP measurement adding noise to an integer vector.

    Attributes:
        mechanism: Its noise distribution.
        sensitivity: How far one person can move the vector (L2 for Gaussian, L1 for Laplace).
        scale: The noise scale (σ of the discrete Gaussian, b of the discrete Laplace).
        rho: The zCDP cost OpenDP's privacy map states for that sensitivity.
        measurement: The OpenDP measurement itself.
    """

    mechanism: Mechanism
    sensitivity: float
    scale: float
    rho: float
    measurement: Any

    def release(self, values: np.ndarray[Any, np.dtype[np.int64]]) -> np.ndarray[Any, Any]:
        """The noisy vector (OpenDP draws the noise).

        Example:
            >>> m = calibrate(Mechanism.gaussian, 1.0, 0.5)
            >>> m.release(np.array([10, 20])).shape
            (2,)
        """
        if values.size == 0:
            return np.zeros(0, dtype=np.int64)
        return np.asarray(self.measurement([int(v) for v in values]), dtype=np.int64)

    def half_width(self, alpha: float = 0.05) -> int:
        """Half-width of the exact ``1 - alpha`` interval of one noisy value."""
        return half_width(self.mechanism, self.scale, alpha)

    @property
    def variance(self) -> float:
        """The noise variance: σ² for the Gaussian (bounding the discrete one's), 2p/(1-p)².

        For the discrete Laplace with ``p = exp(-1/b)`` the variance is exactly 2p/(1-p)².
        """
        if self.mechanism is Mechanism.gaussian:
            return self.scale**2
        p = math.exp(-1 / self.scale)
        return 2 * p / (1 - p) ** 2


def calibrate(
    mechanism: Mechanism, sensitivity: float, rho: float, length: int | None = None
) -> NoisyMeasure:
    """The measurement with the smallest scale whose privacy map stays within ``rho``.

    Args:
        mechanism: Noise distribution.
        sensitivity: L2 (Gaussian) or L1 (Laplace) sensitivity of the integer vector.
        rho: zCDP budget of this one measurement (> 0).
        length: Length of the vector, when known before the data (public keys).

    Returns:
        The calibrated measurement; its ``rho`` is what OpenDP's map states (≤ ``rho``).

    Example:
        >>> m = calibrate(Mechanism.gaussian, sensitivity=1.0, rho=0.5)
        >>> m.scale, m.rho <= 0.5
        (1.0, True)
        >>> calibrate(Mechanism.laplace, 1.0, 0.5).scale
        1.0
    """
    if not rho > 0 or not math.isfinite(rho):
        raise InvalidSpecError("each measurement needs rho > 0")
    if not sensitivity > 0:
        raise InvalidSpecError("a sensitivity must be > 0")
    # Gaussian: rho = Δ2² / (2σ²). Laplace: ε = Δ1 / b and rho = ε² / 2. Same formula.
    scale = sensitivity / math.sqrt(2 * rho)
    for _ in range(60):
        measure = _measure(mechanism, float(sensitivity), scale, length)
        if measure.rho <= rho:
            return measure
        scale *= 1 + 1e-9 * 4 ** min(_, 20)  # OpenDP rounds its map up: widen a hair
    raise InvalidSpecError("cannot calibrate a measurement within that rho")  # pragma: no cover


@functools.lru_cache(maxsize=512)
def _measure(
    mechanism: Mechanism, sensitivity: float, scale: float, length: int | None
) -> NoisyMeasure:
    domain = dp.vector_domain(dp.atom_domain(T=dp.i64), size=length)
    if mechanism is Mechanism.gaussian:
        m = dp.m.make_gaussian(domain, dp.l2_distance(T=dp.f64), scale=scale)
        d_in: float | int = sensitivity
    else:
        m = dp.c.make_pureDP_to_zCDP(
            dp.m.make_laplace(domain, dp.l1_distance(T=dp.i64), scale=scale)
        )
        d_in = math.ceil(sensitivity)
    rho = float(m.map(d_in))  # type: ignore[no-untyped-call]
    return NoisyMeasure(mechanism, sensitivity, scale, rho, m)


def half_width(mechanism: Mechanism, scale: float, alpha: float = 0.05) -> int:
    """Smallest integer ``a`` with ``P(|X| > a) ≤ alpha`` for the mechanism's discrete noise.

    Example:
        >>> half_width(Mechanism.laplace, 3.0), half_width(Mechanism.gaussian, 3.0)
        (9, 6)
    """
    if not 0 < alpha < 1:
        raise InvalidSpecError("alpha must be in (0, 1)")
    if mechanism is Mechanism.laplace:
        # P(X = k) = (1 - p)/(1 + p) p^|k|, so P(|X| > a) = 2 p^(a+1) / (1 + p)
        p = math.exp(-1 / scale)
        a = math.log(alpha * (1 + p) / 2) / math.log(p) - 1
        a_int = max(math.ceil(a - 1e-9), 0)
        return a_int if 2 * p ** (a_int + 1) / (1 + p) <= alpha else a_int + 1
    return _gaussian_half_width(scale, alpha)


@functools.lru_cache(maxsize=512)
def _gaussian_half_width(scale: float, alpha: float) -> int:
    if scale > _EXACT_GAUSSIAN_SCALE:
        return max(math.ceil(scale * float(norm.isf(alpha / 2)) - 0.5), 0)
    k = np.arange(0, math.ceil(40 * scale) + 2, dtype=np.float64)
    mass = np.exp(-(k**2) / (2 * scale**2))
    total = mass[0] + 2 * mass[1:].sum()
    # P(|X| > a) = 2 Σ_{k > a} mass_k / total
    tail = 2 * (mass[::-1].cumsum()[::-1] - mass) / total
    return int(np.argmax(tail <= alpha))


def epsilon_of_rho(rho: float, delta: float) -> float:
    """The ε of (ε, δ)-DP that ρ-zCDP implies (Bun and Steinke 2016, Prop. 1.3).

    Example:
        >>> round(epsilon_of_rho(0.5, 1e-6), 3)
        5.757
    """
    if not 0 < delta < 1:
        raise InvalidSpecError("delta must be in (0, 1)")
    return rho + 2 * math.sqrt(rho * math.log(1 / delta))


def rho_of_epsilon(epsilon: float, delta: float) -> float:
    """The largest ρ whose (ε, δ) conversion is at most ``epsilon`` (inverse of the above).

    Example:
        >>> round(epsilon_of_rho(rho_of_epsilon(1.0, 1e-6), 1e-6), 9)
        1.0
    """
    if not epsilon > 0 or not 0 < delta < 1:
        raise InvalidSpecError("epsilon must be > 0 and delta in (0, 1)")
    log = math.log(1 / delta)
    return (math.sqrt(log + epsilon) - math.sqrt(log)) ** 2
