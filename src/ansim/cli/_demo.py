"""Commands of the demo: ``ansim demo`` and ``ansim demo generate``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ansim.cli._app import console, demo_app

__all__: list[str] = []

PeopleOpt = Annotated[int, typer.Option("--people", help="Synthetic population size.")]
SeedOpt = Annotated[int, typer.Option("--seed", help="Random seed (same seed, same world).")]


@demo_app.callback(invoke_without_command=True)
def demo(
    ctx: typer.Context,
    people: PeopleOpt = 100_000,
    seed: SeedOpt = 20211101,
    out: Annotated[Path, typer.Option("--out", help="Output directory.")] = Path("ansim-demo"),
    engine: Annotated[
        str, typer.Option("--engine", help="duckdb (default) | spark: the linkage unit's engine.")
    ] = "duckdb",
) -> None:
    """Run the whole demo: generate → ingest → prepare → match → combine → release."""
    if ctx.invoked_subcommand is not None:
        return
    from ansim.demo import run_demo
    from ansim.linkage import on_engine

    with on_engine(engine):
        run = run_demo(people, seed, out, on_step=lambda s: console.print(f"[bold]·[/] {s}"))
    q = run.quality
    console.print("\n[bold]Where everything is[/]")
    rows = [("custodians' raw files and true links", run.world.directory)]
    for name, result in run.ingested.items():
        counts = f"{result.rows_landed:,} landed, {result.rows_quarantined:,} quarantined"
        rows.append((f"{name} ({result.encoding}): {counts}", result.directory))
    rows += [
        ("linkage unit: link map and report", out / "linkage_unit"),
        ("hub: linked dataset (encrypted DuckDB)", run.hub_store),
        ("released table", run.release),
        ("linkage quality", out / "evaluation" / "linkage_quality.json"),
    ]
    if run.governance is not None:
        rows.append(("governance: project store, keys, audit log, records", run.governance))
    for what, where in rows:
        console.print(f"  {what}\n      → {where}", highlight=False, soft_wrap=True)
    evaluation = json.loads((out / "evaluation" / "linkage_quality.json").read_text("utf-8"))
    console.print(
        f"{evaluation['method']} linkage against the true links: "
        f"precision [bold]{q.precision:.4f}[/], "
        f"recall [bold]{q.recall:.4f}[/], F1 [bold]{q.f1:.4f}[/] "
        f"({q.true_pairs:,} true pairs)"
    )
    console.print(f"step times (s): {json.dumps(run.seconds)}")


@demo_app.command("generate")
def demo_generate(
    people: PeopleOpt = 100_000,
    seed: SeedOpt = 20211101,
    out: Annotated[Path, typer.Option("--out")] = Path("ansim-demo/world"),
) -> None:
    """Generate the synthetic world only: three custodians' files and the true links."""
    from ansim.demo import generate_world

    world = generate_world(people, seed, out)
    for name, path in world.datasets.items():
        console.print(f"{name}: {path}")
    console.print(f"true links (evaluation only): {world.truth}")
