from pathlib import Path

import pytest

from ansim.demo import DemoRun, run_demo


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    """The whole demo on a small world, shared by the integration tests (read-only)."""
    out: Path = tmp_path_factory.mktemp("demo")
    return run_demo(people=3000, seed=7, out=out)
