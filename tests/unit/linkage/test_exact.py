import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansim.errors import LinkageError
from ansim.linkage import connected_components, link_exact, pairwise_quality
from ansim.packages import Part


def _part(dataset: str, serials: list[str], **tokens: list[bytes | None]) -> Part:
    columns = {"serial": pa.array(serials)}
    columns |= {f"token_{k}": pa.array(v, pa.binary(32)) for k, v in tokens.items()}
    return Part(dataset, "identity", "p", pa.table(columns))


def t(n: int) -> bytes:
    return bytes([n]) * 32


def _persons(linkmap) -> dict[str, str]:
    table = linkmap.table
    return dict(zip(table["serial"].to_pylist(), table["person_id"].to_pylist(), strict=True))


def test_links_across_three_sources_and_duplicates_within_one() -> None:
    a = _part("a", ["a1", "a2", "a3"], rrn=[t(1), t(2), None], nbs=[t(10), t(11), t(12)])
    b = _part("b", ["b1", "b2"], rrn=[t(1), t(9)], nbs=[None, t(12)])
    c = _part("c", ["c1", "c2"], rrn=[t(2), t(2)])  # a duplicate within c
    persons = _persons(link_exact([a, b, c]))
    assert persons["a1"] == persons["b1"]
    assert persons["a2"] == persons["c1"] == persons["c2"]
    assert persons["a3"] == persons["b2"]  # linked through the second token
    assert len(set(persons.values())) == 3
    assert sorted(persons) == ["a1", "a2", "a3", "b1", "b2", "c1", "c2"]


def test_degenerate_token_values_are_ignored() -> None:
    a = _part("a", [f"a{i}" for i in range(10)], rrn=[t(0)] * 10)
    b = _part("b", ["b0"], rrn=[t(0)])
    linkmap = link_exact([a, b], max_group=5)
    assert len(set(_persons(linkmap).values())) == 11
    assert linkmap.report.skipped_groups == {"token_rrn": 1}


def test_report_holds_counts_only() -> None:
    a = _part("a", ["a1", "a2"], rrn=[t(1), t(2)])
    b = _part("b", ["b1"], rrn=[t(1)])
    report = link_exact([a, b]).report
    assert report.records == {"a": 2, "b": 1}
    assert report.persons == 2
    assert report.linked_pairs == {"a~b": 1, "b~a": 1}
    assert "a1" not in repr(report)


def test_one_part_is_deduplicated() -> None:
    a = _part("a", ["a1", "a2", "a3"], rrn=[t(1), t(1), t(2)])
    persons = _persons(link_exact([a]))
    assert persons["a1"] == persons["a2"] != persons["a3"]


def test_refuses_inconsistent_inputs() -> None:
    a = _part("a", ["a1"], rrn=[t(1)])
    with pytest.raises(LinkageError, match="at least one"):
        link_exact([])
    with pytest.raises(LinkageError, match="once"):
        link_exact([a, a])
    other = Part("b", "identity", "another-project", a.table)
    with pytest.raises(LinkageError, match="different projects"):
        link_exact([a, other])
    with pytest.raises(LinkageError, match="no token is shared"):
        link_exact([a, _part("b", ["b1"], phone=[t(1)])])


@given(st.lists(st.tuples(st.integers(0, 30), st.integers(0, 30)), max_size=60))
def test_components_match_a_reference_union_find(edges: list[tuple[int, int]]) -> None:
    n = 31
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            x = parent[x]
        return x

    for x, y in edges:
        rx, ry = find(x), find(y)
        parent[max(rx, ry)] = min(rx, ry)
    expected = [find(x) for x in range(n)]
    u = np.array([e[0] for e in edges], np.int64)
    v = np.array([e[1] for e in edges], np.int64)
    labels = connected_components(n, u, v).tolist()
    # same partition, labelled by the smallest member
    assert labels == [min(i for i in range(n) if expected[i] == expected[x]) for x in range(n)]


def test_pairwise_quality() -> None:
    pred = pa.table({"key": ["a", "b", "c", "d"], "cluster": ["1", "1", "1", "2"]})
    true = pa.table({"key": ["a", "b", "c", "d", "e"], "entity": [1, 1, 2, 2, 2]})
    q = pairwise_quality(pred, true)
    # predicted pairs ab ac bc; true pairs ab cd ce de; only ab is right; e was never predicted
    assert (q.predicted_pairs, q.true_pairs, q.true_positives) == (3, 4, 1)
    assert q.precision == pytest.approx(1 / 3)
    assert q.recall == pytest.approx(1 / 4)
