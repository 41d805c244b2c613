"""Custodian commands: ``ansim ingest``, ``ansim custodian prepare``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ansim.cli._app import app, console, custodian_app

__all__: list[str] = []


@app.command()
def ingest(
    spec: Annotated[Path, typer.Option("--spec", help="Dataset spec (YAML).")],
    input_file: Annotated[Path, typer.Option("--input", help="CSV (UTF-8/CP949) or Parquet.")],
    out: Annotated[Path, typer.Option("--out", help="Output directory.")],
    max_bytes: Annotated[int, typer.Option("--max-bytes", help="Refuse larger files.")] = 4
    * 1024**3,
) -> None:
    """Validate a file against its spec; land good rows, quarantine the rest with reasons."""
    from ansim.ingest import ingest_file
    from ansim.schema import DatasetSpec

    result = ingest_file(DatasetSpec.from_yaml(spec), input_file, out, max_bytes=max_bytes)
    console.print(
        f"{result.dataset}: {result.rows_read:,} rows read ({result.encoding}), "
        f"{result.rows_landed:,} landed, {result.rows_quarantined:,} quarantined"
    )
    for reason, count in result.reasons.items():
        console.print(f"  {count:>8,}  {reason}")
    console.print(f"records: {result.records}\nquarantine: {result.quarantine}")


@custodian_app.command("prepare")
def custodian_prepare(
    ingested: Annotated[Path, typer.Option("--ingested", help="An 'ansim ingest' output dir.")],
    secret: Annotated[Path, typer.Option("--secret", help="The project's linkage secret file.")],
    project: Annotated[str, typer.Option("--project", help="Project identifier.")],
    out: Annotated[Path, typer.Option("--out", help="The custodian's output directory.")],
) -> None:
    """Standardise identifiers, make tokens and split into identity and content parts."""
    from ansim.identity import LinkageSecret, prepare
    from ansim.ingest import load_ingested

    spec, records = load_ingested(ingested)
    parts = prepare(spec, records, LinkageSecret.load(secret), out, project=project)
    console.print(f"identity part (to the linkage unit): {parts.identity}")
    console.print(f"content part (to the hub): {parts.content}")
    console.print(f"serial map (stays here): {parts.serial_map}\nreport: {parts.report}")
