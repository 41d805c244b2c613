"""The Gyeonggi demo: a synthetic population, three custodians' files, and the whole flow.

Everything here is synthetic: no real person's data is used or shipped.
"""

from __future__ import annotations

from ansim.demo._run import DemoRun, demo_spec, run_demo
from ansim.demo._world import WorldFiles, generate_world

__all__ = ["DemoRun", "WorldFiles", "demo_spec", "generate_world", "run_demo"]
