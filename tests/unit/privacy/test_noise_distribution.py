"""Statistical tests through the whole release path: the errors follow the stated noise.

OpenDP's samplers are not seedable, so each test uses thousands of noisy cells from one
release and a lenient level (KS p > 0.001); the randomised probability-integral transform
that makes a discrete distribution's KS test exact uses a fixed NumPy seed (tests only).
"""

from __future__ import annotations

import math

import ibis
import numpy as np
import pyarrow as pa
import pytest
from scipy import stats

from ansim.engine import Engine
from ansim.privacy import Mechanism, OneOffBudget, parse_release_spec, run_release

CELLS = 4000


def _release(mechanism: str, rho: float, query: dict[str, object], seed: int = 0) -> tuple[
    pa.Table, dict[str, object], np.ndarray, np.ndarray
]:  # fmt: skip
    rng = np.random.default_rng(seed)
    keys = [f"k{i:04d}" for i in range(CELLS)]
    per_key = rng.integers(0, 6, CELLS)
    owner = np.repeat(np.arange(CELLS), per_key)
    values = rng.integers(0, 101, owner.size)
    rows = pa.table({
        "person_id": np.arange(owner.size), "key": [keys[i] for i in owner], "x": values,
    })  # fmt: skip
    spec = parse_release_spec({
        "name": "ks", "rho": rho, "mechanism": mechanism, "keys": {"key": keys},
        "queries": [{"name": "q", "by": ["key"], **query}],
    })  # fmt: skip
    with Engine() as engine:
        release = run_release(spec, OneOffBudget(rho), engine, lambda: ibis.memtable(rows))
    sums = np.bincount(owner, weights=values, minlength=CELLS)
    return release.tables[0].table, release.tables[0].metadata, per_key, sums


def _noise_cdf(mechanism: Mechanism, scale: float) -> tuple[np.ndarray, np.ndarray]:
    k = np.arange(-math.ceil(60 * scale), math.ceil(60 * scale) + 1)
    if mechanism is Mechanism.gaussian:
        mass = np.exp(-(k.astype(float) ** 2) / (2 * scale**2))
    else:
        mass = np.exp(-np.abs(k) / scale)
    return k, np.cumsum(mass / mass.sum())


def _ks_pvalue(errors: np.ndarray, mechanism: Mechanism, scale: float) -> float:
    k, cdf = _noise_cdf(mechanism, scale)
    index = np.searchsorted(k, errors)
    upper = cdf[index]
    lower = np.where(index > 0, cdf[np.maximum(index - 1, 0)], 0.0)
    jitter = np.random.default_rng(12345).random(errors.size)
    uniform = lower + jitter * (upper - lower)  # exactly U(0, 1) under the stated noise
    return float(stats.kstest(uniform, "uniform").pvalue)


@pytest.mark.parametrize("mechanism", ["gaussian", "laplace"])
def test_count_errors_follow_the_stated_noise_and_intervals_cover(mechanism: str) -> None:
    table, meta, truth, _ = _release(mechanism, 0.00125, {"statistic": "count"})
    scale = meta["noise"]["count"]["scale"]  # type: ignore[index]
    assert scale == pytest.approx(20.0, rel=1e-6)
    errors = np.asarray(table["estimate"]) - truth
    assert _ks_pvalue(errors, Mechanism(mechanism), scale) > 0.001
    # a wrong scale is detected: the test can fail
    assert _ks_pvalue(errors, Mechanism(mechanism), scale * 1.3) < 0.001
    low, high = np.asarray(table["ci_low"]), np.asarray(table["ci_high"])
    coverage = float(np.mean((low <= truth) & (truth <= high)))
    assert abs(coverage - 0.95) <= 0.02


def test_sum_errors_follow_the_stated_noise() -> None:
    query = {"statistic": "sum", "column": "x", "lower": 0, "upper": 100}
    table, meta, _, sums = _release("gaussian", 0.5, query)
    scale = meta["noise"]["values"]["scale"]  # type: ignore[index]
    errors = np.asarray(table["estimate"]) - sums
    assert _ks_pvalue(errors.astype(np.int64), Mechanism.gaussian, scale) > 0.001
    low, high = np.asarray(table["ci_low"]), np.asarray(table["ci_high"])
    assert abs(float(np.mean((low <= sums) & (sums <= high))) - 0.95) <= 0.02


def test_mean_intervals_are_conservative() -> None:
    query = {"statistic": "mean", "column": "x", "lower": 0, "upper": 100}
    table, _, counts, sums = _release("gaussian", 2.0, query)
    present = counts > 0
    truth = sums[present] / counts[present]
    low = np.asarray(table["ci_low"])[present]
    high = np.asarray(table["ci_high"])[present]
    coverage = float(np.mean((low <= truth + 1e-9) & (truth - 1e-9 <= high)))
    assert coverage >= 0.95
