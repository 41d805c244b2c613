"""Where ``ansim link`` spends its memory and time, stage by stage.

Runs :func:`ansim.flow.link_files` on a demo world's two datasets in this process, samples the
process's resident memory every 20 ms and prints, per stage (the custodians' ``ingest``,
``prepare``, ``seal``, ``send``; the linkage unit's ``receive`` and ``link`` and the steps of
``link``), its seconds and the peak RSS while it ran::

    .venv/bin/python bench/linkage/stages.py WORLD_DIR [--method probabilistic]

``WORLD_DIR`` holds ``gyeonggi_cases.csv`` and ``kostat_register.csv``
(:func:`ansim.demo.generate_world`).
"""

from __future__ import annotations

import argparse
import functools
import os
import resource
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

_PAGE = os.sysconf("SC_PAGE_SIZE")
_SAMPLES: list[tuple[float, int]] = []
_STAGES: list[tuple[str, int, float, float]] = []
_DEPTH = [0]


def _rss() -> int:
    with Path("/proc/self/statm").open() as f:
        return int(f.read().split()[1]) * _PAGE


def _sample() -> None:
    while True:
        _SAMPLES.append((time.perf_counter(), _rss()))
        time.sleep(0.02)


def _wrap(owner: Any, name: str, label: str | None = None) -> None:
    function: Callable[..., Any] = getattr(owner, name)

    @functools.wraps(function)
    def timed(*args: Any, **kwargs: Any) -> Any:
        start, depth = time.perf_counter(), _DEPTH[0]
        _DEPTH[0] += 1
        try:
            return function(*args, **kwargs)
        finally:
            _DEPTH[0] -= 1
            _STAGES.append((label or name, depth, start, time.perf_counter()))

    setattr(owner, name, timed)


def _peak(a: float, b: float) -> float:
    values = [r for t, r in _SAMPLES if a <= t <= b]
    return max(values) / 1e9 if values else float("nan")


def main() -> None:
    """Link the world once and print the stages."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("world", type=Path)
    parser.add_argument("--method", default="probabilistic")
    args = parser.parse_args()
    threading.Thread(target=_sample, daemon=True).start()
    t0 = time.perf_counter()
    import ansim.linkage._probabilistic as probabilistic  # noqa: PLC0415
    from ansim import flow  # noqa: PLC0415 -- imported after the sampler starts
    from ansim.linkage import LinkageConfig  # noqa: PLC0415
    from ansim.services import _custodian, _linkage  # noqa: PLC0415

    for name in ("ingest", "prepare", "seal", "send"):
        _wrap(_custodian.Custodian, name)
    for name in ("receive", "link", "accept_unsealed"):
        _wrap(_linkage.LinkageUnit, name, f"unit.{name}")
    for name in ("encode_records", "blocked_pairs", "compared_levels", "train_model",
                 "pair_weights", "select_links", "components", "quality_estimates"):  # fmt: skip
        _wrap(probabilistic, name)
    specs = Path(flow.__file__).parent / "demo" / "specs"
    datasets = ("gyeonggi_cases", "kostat_register")
    with tempfile.TemporaryDirectory() as tmp:
        flow.link_files(
            [(specs / f"{d}.yaml", args.world / f"{d}.csv") for d in datasets],
            Path(tmp) / "out",
            config=LinkageConfig(method=args.method),
        )
    end = time.perf_counter()
    for label, depth, a, b in sorted(_STAGES, key=lambda s: s[2]):
        print(f"{'  ' * depth}{label:24s} {b - a:7.1f} s  peak {_peak(a, b):.2f} GB")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    print(f"total {end - t0:.1f} s, ru_maxrss {peak:.2f} GB")


if __name__ == "__main__":
    main()
