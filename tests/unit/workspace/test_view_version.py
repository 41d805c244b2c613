"""A view's version (what the output checker reads) is its content, not the engine's row order."""

import pyarrow as pa
from hypothesis import given
from hypothesis import strategies as st

from ansim.workspace._workspace import _version

ROWS = st.lists(
    st.tuples(st.text(max_size=3), st.one_of(st.none(), st.integers(-5, 5))),
    min_size=1,
    max_size=30,
)


@given(ROWS, st.randoms(use_true_random=False), st.integers(1, 5))
def test_the_same_rows_in_any_order_and_chunking_are_one_version(
    rows: list[tuple[str, int | None]], shuffle: object, chunks: int
) -> None:
    table = pa.table(
        {"person_id": [r[0] for r in rows], "v": pa.array([r[1] for r in rows], pa.int64())}
    )
    order = list(range(len(rows)))
    shuffle.shuffle(order)  # type: ignore[attr-defined]
    moved = table.take(pa.array(order))
    step = max(1, len(rows) // chunks)
    pieces = [moved.slice(i, step) for i in range(0, len(rows), step)]
    assert _version(pa.concat_tables(pieces)) == _version(table)
    if len(rows) > 1:
        assert _version(table.slice(1)) != _version(table)  # one row fewer
