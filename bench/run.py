"""Foundation benchmarks: world generation and the exact three-party flow (``ansim link``).

Run: ``make bench`` (or ``.venv/bin/python bench/run.py --sizes 100000 1000000``).
Prints a Markdown table; figures go to docs/benchmarks.md by hand, with the command.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ansim.demo import demo_spec, generate_world
from ansim.flow import link_files
from ansim.linkage import LinkageConfig, quality_against_truth


def _spec_file(directory: Path, dataset: str) -> Path:
    path = directory / f"{dataset}.yaml"
    path.write_text(demo_spec(dataset).to_yaml(), encoding="utf-8")
    return path


def bench(people: int, seed: int, method: str) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="ansim-bench-") as tmp:
        root = Path(tmp)
        start = time.perf_counter()
        world = generate_world(people, seed, root / "world")
        generated = time.perf_counter() - start
        pair = ("gyeonggi_cases", "kostat_register")
        inputs = [(_spec_file(root, d), world.datasets[d]) for d in pair]
        start = time.perf_counter()
        run = link_files(inputs, root / "link", config=LinkageConfig().with_method(method))
        linked = time.perf_counter() - start
        truth = pacsv.read_csv(world.truth)
        truth = truth.filter(pc.is_in(truth["dataset"], value_set=pa.array(pair)))
        maps = {d: pq.read_table(p) for d, p in run.serials.items()}
        quality = quality_against_truth(pq.read_table(run.linkmap), maps, truth)
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    return {
        "people": people,
        "generate_s": round(generated, 1),
        "link_s": round(linked, 1),
        "precision": round(quality.precision, 4),
        "recall": round(quality.recall, 4),
        "f1": round(quality.f1, 4),
        "peak_rss_gb": round(peak_gb, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--seed", type=int, default=20211101)
    parser.add_argument("--method", default="exact", choices=["exact", "fuzzy", "probabilistic"])
    args = parser.parse_args()
    rows = [bench(n, args.seed, args.method) for n in args.sizes]
    print("| " + " | ".join(rows[0]) + " |")
    print("|" + "---|" * len(rows[0]))
    for row in rows:
        cells = [f"{v:,}" if isinstance(v, int) else str(v) for v in row.values()]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
