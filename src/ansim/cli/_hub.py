"""Hub and release commands: ``ansim hub combine``, ``ansim release table``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ansim.cli._app import console, hub_app, release_app

__all__: list[str] = []


@hub_app.command("combine")
def hub_combine(
    content: Annotated[list[Path], typer.Option("--content", help="Content part (repeat).")],
    linkmap: Annotated[Path, typer.Option("--linkmap", help="Link map from the linkage unit.")],
    store: Annotated[Path, typer.Option("--store", help="The hub's DuckDB file.")],
) -> None:
    """Join content parts through the link map into the hub's linked dataset."""
    from ansim.hub import combine_files

    linked = combine_files(content, linkmap, store)
    console.print(f"{linked.persons:,} persons; tables {linked.tables} in {store}")


@release_app.command("table")
def release_table(
    store: Annotated[Path, typer.Option("--store", help="The hub's DuckDB file.")],
    out: Annotated[Path, typer.Option("--out", help="CSV to write.")],
    events: Annotated[str, typer.Option("--events")] = "gyeonggi_cases",
    population: Annotated[str, typer.Option("--population")] = "kostat_register",
    threshold: Annotated[int, typer.Option("--threshold", help="Smallest publishable cell.")] = 10,
) -> None:
    """Release events per 100,000 by si/gun × age band × sex, suppressing small cells."""
    from ansim.engine import Engine
    from ansim.release import RateTableSpec, rate_table, write_release

    spec = RateTableSpec(events=events, population=population, threshold=threshold)
    with Engine(store, read_only=True) as engine:
        released = rate_table(engine, spec)
    write_release(released, out)
    s = released.summary
    console.print(f"{s['cells']:,} cells, {s['cells_suppressed']:,} suppressed → {out}")
