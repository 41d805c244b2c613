"""Property: multiplying a person-level frame's rows changes no person count and no verdict."""

from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from ansim.workspace import CheckPolicy, check_table, tabulate

_PEOPLE = st.lists(
    st.tuples(st.sampled_from(["F", "M"]), st.sampled_from(["Q1", "Q2", "Q3"]),
              st.integers(0, 5000)),
    min_size=1, max_size=40,
)  # fmt: skip


@settings(max_examples=40, deadline=None)
@given(people=_PEOPLE, copies=st.lists(st.integers(1, 6), min_size=40, max_size=40),
       statistic=st.sampled_from(["count", "sum", "mean", "max"]))  # fmt: skip
def test_row_multiplication_changes_no_person_count_or_verdict(
    people: list[tuple[str, str, int]], copies: list[int], statistic: str
) -> None:
    frame = pd.DataFrame(
        {"person_id": range(len(people)), "sex": [p[0] for p in people],
         "band": [p[1] for p in people], "income": [p[2] for p in people]}
    )  # fmt: skip
    repeated = frame.loc[frame.index.repeat(copies[: len(frame)])].sample(frac=1, random_state=1)
    value = None if statistic == "count" else "income"
    policy = CheckPolicy(threshold=3)
    if statistic != "max":
        # A sum or mean of repeated rows is not the same number, but who is behind it is.
        original = tabulate(frame, ["sex", "band"], "count")
        multiplied = tabulate(repeated, ["sex", "band"], "count")
        assert original.rows == multiplied.rows
    a = tabulate(frame, ["sex", "band"], statistic, value)
    b = tabulate(repeated, ["sex", "band"], statistic, value)
    assert a.stats.count.tolist() == b.stats.count.tolist()
    assert a.cells == b.cells
    ra, rb = check_table(a.stats, statistic, policy), check_table(b.stats, statistic, policy)
    if statistic in {"count", "max"}:  # the statistic itself is unchanged by repeats
        assert a.rows == b.rows
        assert ra.to_dict() == rb.to_dict()
    else:  # threshold and dominance verdicts rest on people, each with their own total
        verdict = {r.rule: r.failing for r in ra.results if r.rule in {"threshold", "extremes"}}
        assert verdict == {r.rule: r.failing for r in rb.results if r.rule in verdict}
