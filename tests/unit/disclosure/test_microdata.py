"""Microdata anonymisation: the optimum matches an exhaustive search; outputs satisfy models."""

from __future__ import annotations

import itertools
import math
from collections import Counter, defaultdict

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansim.disclosure import (
    SUPPRESSED,
    DistinctLDiversity,
    EntropyLDiversity,
    Hierarchy,
    KAnonymity,
    QualityModel,
    RecursiveCLDiversity,
    TCloseness,
    anonymise,
)
from ansim.errors import DisclosureCheckFailed


def _hierarchy(name: str, size: int, height: int) -> Hierarchy:
    rows = []
    for i in range(size):
        row = [f"{name}{i}", *(f"{name}{i >> level}g{level}" for level in range(1, height - 1))]
        row.append("*")
        rows.append(tuple(row))
    return Hierarchy(name, tuple(rows))


@st.composite
def _datasets(draw: st.DrawFn) -> tuple[pa.Table, dict[str, Hierarchy], list[str]]:
    m = draw(st.integers(1, 3))
    names = [f"q{j}" for j in range(m)]
    hierarchies = {
        n: _hierarchy(n, draw(st.integers(2, 6)), draw(st.integers(2, 4))) for n in names
    }
    n_rows = draw(st.integers(1, 40))
    columns = {
        n: [
            hierarchies[n].rows[draw(st.integers(0, hierarchies[n].domain_size - 1))][0]
            for _ in range(n_rows)
        ]
        for n in names
    }
    columns["s"] = [draw(st.sampled_from(["a", "b", "c"])) for _ in range(n_rows)]
    return pa.table(columns), hierarchies, names


def _reference_loss(
    table: pa.Table,
    hierarchies: dict[str, Hierarchy],
    names: list[str],
    k: int,
    limit: float,
    *,
    l_distinct: int = 1,
) -> float | None:
    """ARX's Loss by its definition, minimised over every node: an independent oracle."""
    rows = table.to_pylist()
    n = len(rows)
    allowed = math.floor(limit * n + 1e-9)
    best: float | None = None
    for node in itertools.product(*(range(hierarchies[a].height) for a in names)):
        keys = [
            tuple(hierarchies[a].label(r[a], lv) for a, lv in zip(names, node, strict=True))
            for r in rows
        ]
        sizes = Counter(keys)
        diverse: dict[tuple[str, ...], set[str]] = defaultdict(set)
        for key, r in zip(keys, rows, strict=True):
            diverse[key].add(r["s"])
        outlier = [sizes[key] < k or len(diverse[key]) < l_distinct for key in keys]
        if sum(outlier) > allowed:
            continue
        values = []
        for a, lv in zip(names, node, strict=True):
            h = hierarchies[a]
            shares = Counter(row[lv] for row in h.rows)
            total = sum(
                1.0 if out else shares[h.label(r[a], lv)] / h.domain_size
                for r, out in zip(rows, outlier, strict=True)
            )
            low = n / h.domain_size
            values.append(max((total - low) / (n - low), 0.0) if n > low else 0.0)
        loss = math.prod((v + 1) ** (1 / len(values)) for v in values) - 1
        best = loss if best is None else min(best, loss)
    return best


@settings(max_examples=60, deadline=None)
@given(data=_datasets(), k=st.integers(1, 4), limit=st.sampled_from([0.0, 0.1, 0.3]))
def test_optimum_equals_exhaustive_search(
    data: tuple[pa.Table, dict[str, Hierarchy], list[str]], k: int, limit: float
) -> None:
    table, hierarchies, names = data
    expected = _reference_loss(table, hierarchies, names, k, limit)
    if expected is None:
        with pytest.raises(DisclosureCheckFailed):
            anonymise(table, hierarchies, names, [KAnonymity(k)], suppression_limit=limit)
        return
    result = anonymise(table, hierarchies, names, [KAnonymity(k)], suppression_limit=limit)
    assert result.score == pytest.approx(expected, abs=1e-9)
    assert result.loss == pytest.approx(result.score, abs=1e-12)
    assert result.suppressed <= math.floor(limit * table.num_rows + 1e-9)
    groups = Counter(tuple(r[a] for a in names) for r in result.table.to_pylist())
    star = tuple(SUPPRESSED for _ in names)
    assert all(size >= k for key, size in groups.items() if key != star)


@settings(max_examples=40, deadline=None)
@given(data=_datasets(), l_distinct=st.integers(2, 3), limit=st.sampled_from([0.0, 0.2]))
def test_optimum_with_l_diversity_equals_exhaustive_search(
    data: tuple[pa.Table, dict[str, Hierarchy], list[str]], l_distinct: int, limit: float
) -> None:
    table, hierarchies, names = data
    expected = _reference_loss(table, hierarchies, names, 2, limit, l_distinct=l_distinct)
    models = [KAnonymity(2), DistinctLDiversity(l_distinct)]
    if expected is None:
        with pytest.raises(DisclosureCheckFailed):
            anonymise(table, hierarchies, names, models, suppression_limit=limit, sensitive="s")
        return
    result = anonymise(table, hierarchies, names, models, suppression_limit=limit, sensitive="s")
    assert result.score == pytest.approx(expected, abs=1e-9)


def _classes(result_table: pa.Table, names: list[str]) -> dict[tuple[str, ...], list[str]]:
    classes: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for r in result_table.to_pylist():
        key = tuple(r[a] for a in names)
        if key != tuple(SUPPRESSED for _ in names):
            classes[key].append(r["s"])
    return classes


@settings(max_examples=40, deadline=None)
@given(data=_datasets(), limit=st.sampled_from([0.0, 0.2]))
def test_every_output_satisfies_its_models(
    data: tuple[pa.Table, dict[str, Hierarchy], list[str]], limit: float
) -> None:
    table, hierarchies, names = data
    models = [
        [KAnonymity(2), DistinctLDiversity(2)],
        [EntropyLDiversity(1.5)],
        [RecursiveCLDiversity(2.0, 2)],
        [TCloseness(0.4)],
    ]
    overall = Counter(table.column("s").to_pylist())
    for chosen in models:
        for quality in QualityModel:
            try:
                result = anonymise(
                    table,
                    hierarchies,
                    names,
                    chosen,
                    suppression_limit=limit,
                    quality=quality,
                    sensitive="s",
                )
            except DisclosureCheckFailed:
                continue
            assert result.suppressed <= math.floor(limit * table.num_rows + 1e-9)
            for values in _classes(result.table, names).values():
                counts = Counter(values)
                for model in chosen:
                    if isinstance(model, DistinctLDiversity):
                        assert len(counts) >= model.l
                    elif isinstance(model, EntropyLDiversity):
                        entropy = -sum(c / len(values) * math.log(c / len(values))
                                       for c in counts.values())  # fmt: skip
                        assert entropy >= math.log(model.l) - 1e-9
                    elif isinstance(model, RecursiveCLDiversity):
                        r = sorted(counts.values(), reverse=True)
                        assert r[0] < model.c * sum(r[model.l - 1 :])
                    elif isinstance(model, TCloseness):
                        emd = 0.5 * sum(
                            abs(counts[v] / len(values) - overall[v] / table.num_rows)
                            for v in overall
                        )
                        assert emd <= model.t + 1e-9


def test_hierarchical_t_closeness_distance() -> None:
    # Li et al.'s example shape: two groups under a root; moving mass within a group is cheap.
    h = Hierarchy("s", (("a", "g1", "*"), ("b", "g1", "*"), ("c", "g2", "*"), ("d", "g2", "*")))
    q = _hierarchy("q", 2, 2)
    table = pa.table({"q": ["q0", "q0", "q1", "q1"], "s": ["a", "c", "b", "d"]})
    within = TCloseness(0.3, h)
    result = anonymise(table, {"q": q}, ["q"], [within], sensitive="s")
    # Each class holds one value from each group: distance 2 × (1/4 · 1/2) = 0.25 ≤ 0.3.
    assert result.levels == {"q": 0}
    equal = TCloseness(0.3)
    assert anonymise(table, {"q": q}, ["q"], [equal], sensitive="s").levels == {"q": 1}
