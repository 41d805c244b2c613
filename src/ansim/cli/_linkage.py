"""Linkage-unit commands: ``ansim linkage …`` and the whole-flow ``ansim link``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ansim.cli._app import app, console, linkage_app

if TYPE_CHECKING:
    from ansim.linkage import LinkageConfig, LinkageReport

__all__: list[str] = []

_METHOD_HELP = "exact | fuzzy | probabilistic (default: the config's, else probabilistic)."


def _config(config: Path | None, method: str | None) -> LinkageConfig:
    from ansim.linkage import LinkageConfig

    loaded = LinkageConfig.from_yaml(config) if config is not None else LinkageConfig()
    return loaded.with_method(method) if method else loaded


def _summary(report: LinkageReport) -> None:
    console.print(
        f"{report.method}: {sum(report.records.values()):,} records → {report.persons:,} persons"
    )
    estimates = report.estimates
    if "estimated_precision" in estimates:
        console.print(
            f"estimated precision {estimates['estimated_precision']}, "
            f"estimated recall {estimates['estimated_recall']} (no labels used)"
        )


@linkage_app.command("match")
def linkage_match(
    identity: Annotated[list[Path], typer.Option("--identity", help="Identity part (repeat).")],
    out: Annotated[Path, typer.Option("--out", help="Output directory.")],
    config: Annotated[Path | None, typer.Option("--config", help="Linkage config (YAML).")] = None,
    method: Annotated[str | None, typer.Option("--method", help=_METHOD_HELP)] = None,
) -> None:
    """Link identity parts and write the link map (with match weights) and its report."""
    from ansim.linkage import match_files

    linkmap = match_files(identity, out, _config(config, method))
    _summary(linkmap.report)
    console.print(f"link map: {out / 'linkmap.parquet'}")


@app.command()
def link(  # noqa: PLR0917 -- Typer passes one option per knob
    spec: Annotated[list[Path], typer.Option("--spec", help="Spec of the file that follows.")],
    files: Annotated[list[Path], typer.Argument(help="Data files, one after each --spec.")],
    out: Annotated[Path, typer.Option("--out", help="Output directory.")],
    max_bytes: Annotated[int, typer.Option("--max-bytes")] = 4 * 1024**3,
    config: Annotated[Path | None, typer.Option("--config", help="Linkage config (YAML).")] = None,
    method: Annotated[str | None, typer.Option("--method", help=_METHOD_HELP)] = None,
) -> None:
    """The whole three-party flow with throwaway keys: --spec A.yaml A.csv --spec B.yaml B.csv."""
    from ansim.flow import link_files

    if len(spec) != len(files):
        raise typer.BadParameter("give exactly one data file after each --spec")
    run = link_files(
        list(zip(spec, files, strict=True)),
        out,
        max_bytes=max_bytes,
        config=_config(config, method),
    )
    for name, result in run.ingested.items():
        console.print(
            f"{name}: {result.rows_landed:,} landed, {result.rows_quarantined:,} quarantined"
        )
    _summary(run.report)
    console.print(f"link map: {run.linkmap}\nserial maps: {out / 'serials'}")
