"""Hostile SQL: refused by the parser's allow-list or stopped by the sandbox's limits."""

from __future__ import annotations

import pyarrow as pa
import pytest

from ansim.engine import SandboxEngine
from ansim.errors import AccessDenied, EngineError, InvalidSpecError
from ansim.workspace import tables_read, vet_sql

from .conftest import Env

VIEWS = ["register", "cases"]

HOSTILE = {
    "file read by function": ("SELECT * FROM read_csv('/etc/passwd')", "table functions"),
    "file read by path": ("SELECT * FROM '/etc/passwd'", "not one of this project's views"),
    "parquet scan": ("SELECT * FROM parquet_scan('x.parquet')", "table functions"),
    "glob": ("SELECT * FROM glob('/*')", "table functions"),
    "getenv": ("SELECT getenv('HOME') FROM register", "getenv"),
    "catalog function": ("SELECT * FROM register WHERE duckdb_tables() IS NULL", "duckdb_tables"),
    "attach": ("ATTACH '/tmp/other.duckdb' AS other", "not ATTACH"),
    "copy": ("COPY register TO '/tmp/out.csv'", "not COPY"),
    "install": ("INSTALL httpfs", "SELECT queries only"),
    "load": ("LOAD httpfs", "SELECT queries only"),
    "pragma": ("PRAGMA database_list", "SELECT queries only"),
    "set": ("SET enable_external_access = true", "not SET"),
    "create": ("CREATE TABLE x AS SELECT * FROM register", "not CREATE"),
    "delete": ("DELETE FROM register", "not DELETE"),
    "two statements": ("SELECT 1 FROM register; SELECT 2 FROM cases", "exactly one statement"),
    "cross-project table": ("SELECT * FROM secret", "not one of this project's views"),
    "catalog-qualified": ("SELECT * FROM hub.main.linked_register", "without a schema"),
    "subquery file read": (
        "SELECT * FROM register WHERE person_id IN (SELECT 1 FROM read_parquet('x'))",
        "table functions",
    ),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_sql_is_refused_with_a_clear_error(name: str) -> None:
    sql, message = HOSTILE[name]
    with pytest.raises(AccessDenied, match=message):
        vet_sql(sql, VIEWS)


def test_ordinary_queries_pass_and_report_the_views_they_read() -> None:
    sql = (
        "WITH c AS (SELECT person_id FROM cases) "
        "SELECT r.income_band, count(*) FROM register r JOIN c USING (person_id) GROUP BY 1"
    )
    assert "register" in vet_sql(sql, VIEWS)
    assert tables_read(sql, VIEWS) == {"register", "cases"}


def test_invalid_sql_is_an_invalid_spec() -> None:
    with pytest.raises(InvalidSpecError, match="not valid SQL"):
        vet_sql("SELECT FROM WHERE (", VIEWS)


def test_sandbox_is_the_second_wall() -> None:
    with SandboxEngine({"t": pa.table({"x": [1, 2]})}) as sandbox:
        with pytest.raises(AccessDenied, match="no file, network or extension access"):
            sandbox.query("SELECT * FROM read_csv('/etc/passwd')")
        with pytest.raises(AccessDenied):
            sandbox.query("COPY t TO '/tmp/ansim-sandbox-test.csv'")
        with pytest.raises(EngineError, match="query failed"):
            sandbox.query("SET enable_external_access = true")
        with pytest.raises(EngineError):
            sandbox.query("SET memory_limit = '100GB'")
        assert sandbox.query("SELECT sum(x) AS s FROM t").to_pylist() == [{"s": 3}]


def test_memory_limit_stops_a_query() -> None:
    big = {"t": pa.table({"x": list(range(100_000))})}
    with (
        SandboxEngine(big, memory_limit="20MB") as sandbox,
        pytest.raises(EngineError, match="memory limit"),
    ):
        sandbox.query("SELECT a.x, list(b.x) FROM t a, t b WHERE b.x < 2000 GROUP BY a.x")


def test_workspace_stops_a_huge_cross_join_and_sees_only_its_project(env: Env) -> None:
    with env.workspace(timeout_s=0.5) as ws:
        assert sorted(ws.views()) == ["cases", "register"]
        with pytest.raises(EngineError, match=r"stopped after the 0\.5 s limit"):
            ws.query("SELECT count(*) FROM register a, register b, register c, register d")
        with pytest.raises(AccessDenied, match="not one of this project's views"):
            ws.query("SELECT * FROM secret")
        with pytest.raises(AccessDenied):
            ws.query("SELECT * FROM linked_secret")
        with pytest.raises(AccessDenied, match="not one of this project's views"):
            ws.query("SELECT * FROM hub_internal")


def test_only_analysts_open_a_workspace(env: Env) -> None:
    for actor in ("checker", "outsider", "hubop"):
        with pytest.raises(AccessDenied):
            env.workspace(actor)
