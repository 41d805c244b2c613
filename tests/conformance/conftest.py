"""The conformance suite: the same tests on every engine (DuckDB, and Spark when it can run).

The Spark engine is one ``local[2]`` session for the whole test session. Its tests carry the
``spark`` marker and skip, naming what is missing, when PySpark (the ``spark`` extra) or Java
is not installed; ``make test`` installs both.
"""

import importlib.util
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from ansim.demo import generate_world
from ansim.demo._run import demo_spec
from ansim.engine import Engine, QueryEngine, SparkEngine
from ansim.identity import LinkageSecret, prepare
from ansim.ingest import ingest_file, load_ingested

DATASETS = ("gyeonggi_cases", "kostat_register", "snu_cohort")


def spark_missing() -> str | None:
    """Why Spark cannot run here, or None."""
    if importlib.util.find_spec("pyspark") is None:
        return "PySpark is not installed: pip install 'ansim[spark]' (make test does)"
    java_home = os.environ.get("JAVA_HOME")
    if shutil.which("java") is None and not (java_home and Path(java_home, "bin", "java").exists()):
        return "no Java: install Debian's default-jre-headless (make test does)"
    return None


@pytest.fixture(scope="session")
def spark_engine() -> Iterator[QueryEngine]:
    reason = spark_missing()
    if reason is not None:
        pytest.skip(reason)
    engine = SparkEngine(shuffle_partitions=2)
    yield engine
    engine.close()


@pytest.fixture(params=["duckdb", pytest.param("spark", marks=pytest.mark.spark)])
def engine(request: pytest.FixtureRequest) -> Iterator[QueryEngine]:
    if request.param == "spark":
        yield request.getfixturevalue("spark_engine")
        return
    with Engine() as duckdb_engine:
        yield duckdb_engine


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A small demo world prepared by its three custodians under one fixed secret."""
    out = tmp_path_factory.mktemp("conformance")
    files = generate_world(1500, 16, out / "world")
    secret = LinkageSecret.generate()
    identity, content, serials = [], [], {}
    for name in DATASETS:
        spec = demo_spec(name)
        result = ingest_file(spec, files.datasets[name], out / "ingest")
        _, records = load_ingested(result.directory)
        parts = prepare(spec, records, secret, out / "prep" / name, project="conformance")
        identity.append(parts.identity)
        content.append(parts.content)
        serials[name] = pq.read_table(parts.serial_map)
    return {
        "identity": identity,
        "content": content,
        "serials": serials,
        "truth": pacsv.read_csv(files.truth),
        "files": files.datasets,
    }
