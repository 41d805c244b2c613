"""Hub combine on an engine: the same linked tables as on DuckDB."""

import pyarrow as pa
import pyarrow.compute as pc

from ansim.engine import Engine, QueryEngine
from ansim.hub import combine
from ansim.linkage import link_exact
from ansim.packages import read_part


def _sorted(table: pa.Table) -> pa.Table:
    return table.sort_by([(c, "ascending") for c in table.column_names])


def test_combine_stores_the_same_linked_tables(engine: QueryEngine, world: dict) -> None:
    identity = [read_part(p, "identity") for p in world["identity"]]
    content = [read_part(p, "content") for p in world["content"]]
    linkmap = link_exact(identity).table
    with Engine() as reference:
        expected = combine(content, linkmap, reference)
        expected_rows = {
            t: _sorted(reference.to_pyarrow(reference.table(t))) for t in expected.tables
        }
    got = combine(content, linkmap, engine)
    assert got == expected
    for name, rows in expected_rows.items():
        stored = _sorted(engine.to_pyarrow(engine.table(name)))
        assert stored.column_names == rows.column_names
        for column in rows.column_names:
            assert pc.all(pc.equal(stored[column], rows[column])).as_py() in (True, None), column
            assert stored[column].null_count == rows[column].null_count
