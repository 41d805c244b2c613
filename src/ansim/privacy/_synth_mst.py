"""MST: measure marginals with OpenDP, fit a graphical model with mbi, sample records from it.

The measurements are the only steps that see the data, and every one of them is an OpenDP
measurement calibrated in the plan (``ansim.privacy._synth_plan``): the 1-way marginals and
the chosen 2-way marginals get OpenDP's discrete Gaussian, the spanning tree is chosen by
OpenDP's noisy max. ``mbi`` (Private-PGM) never sees the data: it estimates a graphical model
from the noisy marginals and samples records from it (post-processing).

Following MST's reference implementation, values whose noisy 1-way count is below 3σ are
merged into one value before the 2-way measurements (a sparse value's 2-way cells would be
mostly noise); sampled records spread a merged value uniformly over its originals.

mbi samples through NumPy's global generator: ``sample_records`` seeds it for the call and
restores its state afterwards, so a seed reproduces the records from the same measurements.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from ansim.privacy._synth_plan import SynthesisPlan

__all__ = ["Compression", "MSTModel", "fit_mst", "load_mbi", "sample_records"]

IntArray = np.ndarray[Any, np.dtype[np.int64]]

_SUPPORT_SIGMAS = 3.0  # MST: a value is kept on its own if its noisy count is >= 3σ


def load_mbi() -> Any:
    """Import mbi (Private-PGM) with JAX in 64-bit mode, as mbi asks for large data.

    JAX's settings are process-wide: Ansim is its only user, and nothing else here depends on
    32-bit JAX.
    """
    import jax  # noqa: PLC0415 - heavy: imported only when a synthesis runs

    jax.config.update("jax_enable_x64", True)  # type: ignore[no-untyped-call]  # untyped in JAX
    # mbi compiles many small programs: a persistent cache only costs
    jax.config.update("jax_enable_compilation_cache", False)  # type: ignore[no-untyped-call]
    import mbi  # noqa: PLC0415 - after the JAX settings it reads at import

    return mbi


@dataclass(frozen=True)
class Compression:
    """How a column's values are merged before the 2-way measurements.

    Attributes:
        mapping: Compressed code of every original code.
        merged: The original codes merged into the last compressed code (empty: none).
    """

    mapping: IntArray
    merged: IntArray

    @property
    def size(self) -> int:
        """Values of the compressed column."""
        return int(self.mapping.max()) + 1 if self.mapping.size else 0

    @classmethod
    def of(cls, noisy: np.ndarray[Any, Any], sigma: float) -> Compression:
        """Keep values with a noisy count of at least 3σ; merge the others into one.

        Example:
            >>> c = Compression.of(np.array([100, 2, 50, -1]), sigma=5.0)
            >>> c.mapping.tolist(), c.merged.tolist(), c.size
            ([0, 2, 1, 2], [1, 3], 3)
        """
        keep = noisy >= _SUPPORT_SIGMAS * sigma
        if keep.all():
            return cls(np.arange(noisy.size, dtype=np.int64), np.zeros(0, dtype=np.int64))
        mapping = np.full(noisy.size, int(keep.sum()), dtype=np.int64)
        mapping[keep] = np.arange(int(keep.sum()))
        return cls(mapping, np.flatnonzero(~keep).astype(np.int64))


@dataclass(frozen=True)
class MSTModel:
    """The fitted model and what was measured to fit it.

    Attributes:
        model: mbi's ``MarkovRandomField`` over the compressed domain.
        compressions: Per column, how its values were merged.
        tree: The chosen 2-way marginals (the spanning tree's edges).
    """

    model: Any
    compressions: Mapping[str, Compression]
    tree: tuple[tuple[str, str], ...]

    @property
    def measured(self) -> list[list[str]]:
        """Every measured marginal: the 1-way ones, then the tree's 2-way ones."""
        return [[c] for c in self.compressions] + [list(e) for e in self.tree]


def fit_mst(codes: Mapping[str, IntArray], plan: SynthesisPlan) -> MSTModel:
    """Measure (OpenDP), select the tree (OpenDP), estimate the model (mbi).

    Args:
        codes: Each column's code per row (one row per person), in the spec's domain.
        plan: The paid-for plan; its measurements are used exactly as priced.

    Returns:
        The model.
    """
    mbi = load_mbi()
    sizes = plan.spec.domain
    names = list(sizes)
    counts = [np.bincount(codes[c], minlength=sizes[c]) for c in names]
    noisy = np.split(plan.one_way.release(np.concatenate(counts)), np.cumsum(_split_points(counts)))
    sigma1 = plan.one_way.scale
    compressions = {c: Compression.of(y, sigma1) for c, y in zip(names, noisy, strict=False)}
    small = {c: compressions[c].mapping[codes[c]] for c in names}
    domain = mbi.Domain(names, [compressions[c].size for c in names])
    full = mbi.Domain(names, [sizes[c] for c in names])
    log = []
    for c, y in zip(names, noisy, strict=False):
        m = mbi.LinearMeasurement(y.astype(np.float64), (c,), stddev=sigma1)
        if compressions[c].merged.size:
            m = m.compress({c: compressions[c].mapping}, full)
        log.append(m)
    tree = _select_tree(small, domain.config, noisy, compressions, plan)
    pairs = [_pair_counts(small, a, b, domain.config) for a, b in tree]
    noisy2 = np.split(plan.two_way.release(np.concatenate(pairs)), np.cumsum(_split_points(pairs)))
    log += [
        mbi.LinearMeasurement(y.astype(np.float64), edge, stddev=plan.two_way.scale)
        for edge, y in zip(tree, noisy2, strict=False)
    ]
    estimator = mbi.estimation.MirrorDescent()
    model = estimator.estimate(domain, log, iters=plan.spec.estimation_iterations)
    return MSTModel(model, compressions, tree)


def _split_points(parts: list[IntArray]) -> list[int]:
    """Lengths of the concatenated vectors but the last (``np.cumsum`` makes the split points)."""
    return [p.size for p in parts[:-1]]


def _pair_counts(
    codes: Mapping[str, IntArray], a: str, b: str, sizes: Mapping[str, int]
) -> IntArray:
    flat = codes[a] * sizes[b] + codes[b]
    return np.bincount(flat, minlength=sizes[a] * sizes[b]).astype(np.int64)


def _select_tree(
    codes: Mapping[str, IntArray],
    sizes: Mapping[str, int],
    noisy: list[IntArray],
    compressions: Mapping[str, Compression],
    plan: SynthesisPlan,
) -> tuple[tuple[str, str], ...]:
    """Kruskal's algorithm with each edge chosen by OpenDP's noisy max.

    A pair's score is how badly the independence model implied by the noisy 1-way marginals
    (post-processing) misses its true 2-way marginal, in L1: a person moves it by at most 1.
    The model's cells are rounded to integers first, so the score is an integer.
    """
    names = list(sizes)
    shares = {}
    for c, y in zip(names, noisy, strict=False):
        small = np.bincount(
            compressions[c].mapping, weights=np.clip(y, 0, None), minlength=sizes[c]
        )
        shares[c] = small / small.sum() if small.sum() > 0 else np.full(sizes[c], 1 / sizes[c])
    total = max(float(np.mean([np.clip(y, 0, None).sum() for y in noisy])), 1.0)
    scores = {}
    for a, b in itertools.combinations(names, 2):
        expected = np.rint(total * np.outer(shares[a], shares[b]).ravel())
        scores[a, b] = int(np.abs(_pair_counts(codes, a, b, sizes) - expected).sum())
    parent = {c: c for c in names}

    def root(c: str) -> str:
        while parent[c] != c:
            c = parent[c]
        return c

    tree: list[tuple[str, str]] = []
    for _ in range(plan.rounds):
        candidates = [e for e in scores if root(e[0]) != root(e[1])]
        chosen = candidates[plan.selection.select(np.array([scores[e] for e in candidates]))]
        parent[root(chosen[0])] = root(chosen[1])
        tree.append(chosen)
    return tuple(tree)


@contextmanager
def _seeded_numpy(seed: int) -> Iterator[None]:
    """Seed NumPy's global generator (mbi samples through it) and restore it afterwards."""
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


def sample_records(fitted: MSTModel, rows: int | None, seed: int) -> dict[str, IntArray]:
    """Sample synthetic records from the model, in the original (uncompressed) codes.

    The same model, row count and seed give the same records.

    Args:
        fitted: The model.
        rows: How many (``None``: the model's noisy total).
        seed: The sampling seed.

    Returns:
        Each column's codes.
    """
    with _seeded_numpy(seed):
        data = fitted.model.synthetic_data(rows).to_dict()
    rng = np.random.default_rng(seed)
    out: dict[str, IntArray] = {}
    for c, comp in fitted.compressions.items():
        small = np.asarray(data[c], dtype=np.int64)
        if not comp.merged.size:
            out[c] = small
            continue
        alone = np.setdiff1d(np.arange(comp.mapping.size), comp.merged)  # by compressed code
        values = np.empty(small.size, dtype=np.int64)
        spread = small >= alone.size
        values[~spread] = alone[small[~spread]]
        values[spread] = rng.choice(comp.merged, int(spread.sum()))
        out[c] = values
    return out
