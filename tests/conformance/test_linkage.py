"""Linkage on an engine: the same candidate pairs, training counts, components and link map."""

import numpy as np
import pyarrow as pa
import pytest

from ansim.engine import QueryEngine, connected_components_on
from ansim.linkage import (
    BlockingRule,
    LinkageConfig,
    automatic_blocking,
    block_pairs,
    block_pairs_on,
    connected_components,
    current_engine,
    encode_records,
    link,
    pattern_counts,
    pattern_counts_on,
    quality_against_truth,
    shared_columns,
    using_engine,
)
from ansim.packages import read_part


def _parts(world: dict) -> list:
    return [read_part(p, "identity") for p in world["identity"]]


def test_components_equal_union_find(engine: QueryEngine) -> None:
    rng = np.random.default_rng(7)
    count = 120
    u, v = rng.integers(0, count, 100), rng.integers(0, count, 100)
    got = connected_components_on(engine, count, u, v)
    assert got.tolist() == connected_components(count, u, v).tolist()


def test_pattern_counts_equal(engine: QueryEngine) -> None:
    levels = np.random.default_rng(2).integers(-1, 4, size=(500, 3)).astype(np.int8)
    patterns, counts = pattern_counts_on(engine, levels)
    expected_patterns, expected_counts = pattern_counts(levels)
    assert patterns.tolist() == expected_patterns.tolist()
    assert counts.tolist() == expected_counts.tolist()


def _same_pairs(got, expected) -> None:  # type: ignore[no-untyped-def]
    assert got.first.tolist() == expected.first.tolist()
    assert got.second.tolist() == expected.second.tolist()
    assert got.passes.tolist() == expected.passes.tolist()
    assert got.report == expected.report


def test_blocking_gives_the_same_pairs_and_report(engine: QueryEngine, world: dict) -> None:
    parts = _parts(world)
    columns = shared_columns(parts)
    records = encode_records(parts, columns)
    # the automatic passes (tokens, identifying filters, dice within blocks) plus LSH bands
    rules = automatic_blocking(records, columns, max_block=500, seed=3)
    # 10 sampled bits: enough pairs from diffused filters (the default encoding) to compare
    rules = (*rules, BlockingRule("bf_name", "lsh", bands=4, bits=10, seed=3))
    assert {r.kind for r in rules} >= {"equal", "dice", "lsh"}
    expected = block_pairs(rules, records.codes, records.filters, records.popcounts)
    got = block_pairs_on(engine, rules, records.codes, records.filters, records.popcounts)
    assert expected.size > 1000
    _same_pairs(got, expected)


def test_skipped_blocks_and_over_budget_passes_agree(engine: QueryEngine, world: dict) -> None:
    parts = _parts(world)
    columns = shared_columns(parts)
    records = encode_records(parts, columns)
    rules = [
        BlockingRule("bf_birth_date", max_block=2),  # blocks of three or more skipped
        BlockingRule("bf_name", "dice", also=("bf_birth_date",), threshold=0.5, max_block=5000,
                     max_pairs_per_record=1e-6),  # over budget: dropped
        BlockingRule("bf_birth_date", max_block=3),
    ]  # fmt: skip
    expected = block_pairs(rules, records.codes, records.filters, records.popcounts)
    assert expected.report[0].skipped_blocks > 0 and expected.report[1].over_budget
    _same_pairs(block_pairs_on(engine, rules, records.codes, records.filters), expected)


def test_link_map_is_identical(engine: QueryEngine, world: dict) -> None:
    parts = _parts(world)
    config = LinkageConfig(seed=5)
    expected = link(parts, config)
    with using_engine(engine):
        got = link(parts, config)
    assert got.table.equals(expected.table)
    assert got.report.blocking == expected.report.blocking
    assert got.report.model == expected.report.model
    truth, serials = world["truth"], world["serials"]
    f1 = quality_against_truth(got.table, serials, truth).f1
    assert f1 == quality_against_truth(expected.table, serials, truth).f1
    assert f1 > 0.95


def test_using_engine_is_scoped(engine: QueryEngine) -> None:
    assert current_engine() is None
    with using_engine(engine):
        assert current_engine() is engine
    assert current_engine() is None


def test_pairs_and_levels_stay_on_the_engine(
    engine: QueryEngine, world: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From blocking to the weights no stage uploads pairs, levels or shares per pair.

    Only the records' columns (keys, filters, compared values) and small lookups go up;
    training's sessions (a fixed number of pairs) are counted from uploaded levels.
    """
    parts = _parts(world)
    config = LinkageConfig(seed=5, u_from="em")
    expected = link(parts, config, pairs=True)
    uploads: list[tuple[str, list[str], int]] = []
    store = engine.create_table

    def spy(name: str, data: object, *, overwrite: bool = True) -> object:
        if isinstance(data, pa.Table):
            uploads.append((name, data.column_names, data.num_rows))
        return store(name, data, overwrite=overwrite)  # type: ignore[arg-type]

    monkeypatch.setattr(engine, "create_table", spy)
    with using_engine(engine):
        got = link(parts, config, pairs=True)
    assert got.table.equals(expected.table)
    assert got.pairs is not None and expected.pairs is not None
    assert got.pairs.equals(expected.pairs)
    assert got.report.model == expected.report.model
    per_pair = {"first", "second", "pair", "weight"} | {f"share_{f}" for f in range(20)}
    assert not [u for u in uploads if per_pair & set(u[1])]
    candidates = int(got.report.blocking["candidate_pairs"])  # type: ignore[index]
    sessions = got.report.model["training"]["sessions"]  # type: ignore[index]
    assert sessions[-1]["blocked_on"] == "candidates"
    level_uploads = [u for u in uploads if "level_0" in u[1]]
    assert len(level_uploads) == len(sessions) - 1  # the sessions', not the candidates'
    assert all(rows != candidates for *_, rows in level_uploads)
    assert [u for u in uploads if u[1] == ["code", "share"]]  # term frequencies joined there
    assert current_engine() is None and not [
        t for t in engine.list_tables() if t.startswith(("ansim_candidates", "ansim_shares"))
    ]
