"""The engine interface on DuckDB: open_engine, map_partitions, components, Spark refusals."""

import subprocess
import sys

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansim.engine import Engine, QueryEngine, connected_components_on, open_engine
from ansim.errors import EngineError
from ansim.linkage import connected_components


def test_duckdb_engine_is_a_query_engine() -> None:
    with open_engine("duckdb") as engine:
        assert isinstance(engine, QueryEngine)
        engine.create_table("t", pa.table({"a": [1, 2]}))
        assert engine.list_tables() == ["t"]
        engine.drop_table("t")
        engine.drop_table("t")  # absent: no error
        assert engine.list_tables() == []


def test_spark_refuses_a_path() -> None:
    with pytest.raises(EngineError, match="give no path"):
        open_engine("spark", path=__import__("pathlib").Path("x.duckdb"))


def test_import_ansim_without_pyspark_and_spark_names_the_extra() -> None:
    # PySpark made unimportable: ansim still imports, and asking for Spark names the extra.
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'pyspark' or name.startswith('pyspark.'):\n"
        "            raise ImportError('blocked')\n"
        "sys.meta_path.insert(0, Block())\n"
        "import ansim, ansim.engine, ansim.linkage, ansim.hub, ansim.disclosure\n"
        "from ansim.errors import EngineError\n"
        "try:\n"
        "    ansim.engine.open_engine('spark')\n"
        "except EngineError as e:\n"
        "    print(e)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "pip install 'ansim[spark]'" in done.stdout


def _groups(rows: pa.Table) -> pa.Table:
    keys = pc.unique(rows["k"])
    # every row of a key is in this partition: its sum is the key's whole sum
    sums = [pc.sum(rows.filter(pc.equal(rows["k"], k))["x"]).as_py() for k in keys.to_pylist()]
    return pa.table({"k": keys, "total": pa.array(sums, pa.int64())})


@settings(max_examples=15, deadline=None)
@given(
    st.lists(st.tuples(st.integers(-5, 30), st.integers(0, 9)), min_size=1, max_size=60),
    st.integers(1, 5),
)
def test_map_partitions_keeps_each_key_in_one_partition(
    rows: list[tuple[int, int]], partitions: int
) -> None:
    table = pa.table({"k": [r[0] for r in rows], "x": [r[1] for r in rows]})
    schema = pa.schema([("k", pa.int64()), ("total", pa.int64())])
    with Engine() as engine:
        out = engine.map_partitions(
            engine.create_table("t", table), _groups, schema, by="k", partitions=partitions
        )
        got = {r["k"]: r["total"] for r in engine.to_pyarrow(out).to_pylist()}
    expected: dict[int, int] = {}
    for k, x in rows:
        expected[k] = expected.get(k, 0) + x
    assert got == expected


@settings(max_examples=15, deadline=None)
@given(st.integers(1, 40), st.lists(st.tuples(st.integers(0, 39), st.integers(0, 39)), max_size=60))
def test_star_components_equal_union_find(count: int, edges: list[tuple[int, int]]) -> None:
    u = np.array([a % count for a, _ in edges], np.int64)
    v = np.array([b % count for _, b in edges], np.int64)
    with Engine() as engine:
        got = connected_components_on(engine, count, u, v)
        assert engine.list_tables() == []  # its working tables are dropped
    assert got.tolist() == connected_components(count, u, v).tolist()


def test_star_components_on_a_long_path() -> None:
    # a path numbered against the grain needs several rounds
    count = 200
    order = np.random.default_rng(3).permutation(count)
    with Engine() as engine:
        got = connected_components_on(engine, count, order[:-1], order[1:])
    assert (got == 0).all()
