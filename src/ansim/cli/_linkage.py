"""Linkage-unit commands: ``ansim linkage …`` and the whole-flow ``ansim link``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ansim.cli._app import app, console, linkage_app

__all__: list[str] = []


@linkage_app.command("match")
def linkage_match(
    identity: Annotated[list[Path], typer.Option("--identity", help="Identity part (repeat).")],
    out: Annotated[Path, typer.Option("--out", help="Output directory.")],
) -> None:
    """Link identity parts exactly on their tokens and write the link map."""
    from ansim.linkage import match_files

    linkmap = match_files(identity, out)
    r = linkmap.report
    console.print(f"{sum(r.records.values()):,} records → {r.persons:,} persons; {r.records}")
    console.print(f"link map: {out / 'linkmap.parquet'}")


@app.command()
def link(
    spec: Annotated[list[Path], typer.Option("--spec", help="Spec of the file that follows.")],
    files: Annotated[list[Path], typer.Argument(help="Data files, one after each --spec.")],
    out: Annotated[Path, typer.Option("--out", help="Output directory.")],
    max_bytes: Annotated[int, typer.Option("--max-bytes")] = 4 * 1024**3,
) -> None:
    """The whole three-party flow with throwaway keys: --spec A.yaml A.csv --spec B.yaml B.csv."""
    from ansim.flow import link_files

    if len(spec) != len(files):
        raise typer.BadParameter("give exactly one data file after each --spec")
    run = link_files(list(zip(spec, files, strict=True)), out, max_bytes=max_bytes)
    for name, result in run.ingested.items():
        console.print(
            f"{name}: {result.rows_landed:,} landed, {result.rows_quarantined:,} quarantined"
        )
    r = run.report
    console.print(f"{sum(r.records.values()):,} records → {r.persons:,} persons")
    console.print(f"link map: {run.linkmap}\nserial maps: {out / 'serials'}")
