import numpy as np

from ansim.linkage import (
    EncodedRecords,
    FieldComparison,
    LinkageConfig,
    automatic_blocking,
    train_model,
)

COMPARISONS = (
    FieldComparison("token_region", (1.0,)),  # few values: blocks of mostly non-matches
    FieldComparison("token_id", (1.0,)),  # nearly identifying: blocks of mostly matches
    FieldComparison("token_name", (1.0,)),
)


def _records(persons: int = 6000, seed: int = 5) -> EncodedRecords:
    """Two sources with one record per person; ``token_id`` is shared by two persons in a
    third of the cases, so its session has about 4,000 non-matches and 6,000 matches."""
    rng = np.random.default_rng(seed)
    person = np.concatenate([np.arange(persons), np.arange(persons)])
    source = np.repeat(np.arange(2, dtype=np.int64), persons)
    shared_id = np.where(np.arange(persons) < persons // 3, np.arange(persons) // 2, persons)
    ident = np.where(shared_id < persons, shared_id, np.arange(persons) + persons)[person]
    name = person.copy()
    typo = rng.random(name.size) < 0.05
    name[typo] = rng.integers(10 * persons, 20 * persons, int(typo.sum()))
    region = rng.integers(0, 200, persons)[person]
    codes = {
        "token_region": region.astype(np.int64),
        "token_id": ident.astype(np.int64),
        "token_name": name.astype(np.int64),
    }
    return EncodedRecords(source, codes, {}, {})


def test_only_sessions_of_mostly_non_matches_condition_u() -> None:
    model = train_model(_records(), COMPARISONS, LinkageConfig(random_pairs=100_000))
    sessions = {s["blocked_on"]: s["match_share"] for s in model.training["sessions"]}  # type: ignore[attr-defined,union-attr]
    assert sessions["token_region"] < 0.5 < sessions["token_id"]
    conditional = model.training["conditional_u"]
    # the region session's EM non-matches are real non-matches: their u conditions the others
    assert "token_name | token_region exact" in conditional  # type: ignore[operator]
    # the id session's minority "non-match" class would take matches with a typo in the name
    assert "token_name | token_id exact" not in conditional  # type: ignore[operator]


def test_lsh_blocking_adds_one_lsh_pass_per_many_valued_field() -> None:
    rng = np.random.default_rng(1)
    n = 400
    words = rng.integers(0, 2**63, (n, 4)).astype(np.uint64)
    valid = np.ones(n, np.bool_)
    codes = {"bf_name": np.arange(n, dtype=np.int64), "bf_sex": np.arange(n, dtype=np.int64) % 2}
    filters = {"bf_name": (words, valid), "bf_sex": (words, valid)}
    records = EncodedRecords(np.zeros(n, np.int64), codes, filters, {})
    columns = ["bf_name", "bf_sex"]
    plain = automatic_blocking(records, columns, max_block=500, seed=3)
    assert all(r.kind != "lsh" for r in plain)
    extra = automatic_blocking(records, columns, max_block=500, seed=3, lsh=True)
    assert [r.name for r in extra if r.kind == "lsh"] == ["lsh(bf_name,16x20)"]
    assert LinkageConfig.from_yaml_text("{lsh_blocking: true}").blocking_mode == "lsh"
    assert LinkageConfig.from_yaml_text("{lsh_blocking: false}").blocking_mode == "standard"
    assert LinkageConfig().blocking_mode == "auto"
