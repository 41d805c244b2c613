"""Commands of the flow: demo, ingest, project, custodian, linkage, hub, release and link."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ansim.cli._app import (
    app,
    console,
    custodian_app,
    demo_app,
    hub_app,
    linkage_app,
    project_app,
    release_app,
)

__all__: list[str] = []

PeopleOpt = Annotated[int, typer.Option("--people", help="Synthetic population size.")]
SeedOpt = Annotated[int, typer.Option("--seed", help="Random seed (same seed, same world).")]


@demo_app.callback(invoke_without_command=True)
def demo(
    ctx: typer.Context,
    people: PeopleOpt = 100_000,
    seed: SeedOpt = 20211101,
    out: Annotated[Path, typer.Option("--out", help="Output directory.")] = Path("ansim-demo"),
) -> None:
    """Run the whole demo: generate → ingest → prepare → match → combine → release."""
    if ctx.invoked_subcommand is not None:
        return
    from ansim.demo import run_demo

    run = run_demo(people, seed, out, on_step=lambda s: console.print(f"[bold]·[/] {s}"))
    q = run.quality
    console.print("\n[bold]Where everything is[/]")
    rows = [("custodians' raw files and true links", run.world.directory)]
    for name, result in run.ingested.items():
        counts = f"{result.rows_landed:,} landed, {result.rows_quarantined:,} quarantined"
        rows.append((f"{name} ({result.encoding}): {counts}", result.directory))
    rows += [
        ("linkage unit: link map and report", out / "linkage_unit"),
        ("hub: linked dataset (DuckDB)", run.hub_store),
        ("released table", run.release),
        ("linkage quality", out / "evaluation" / "linkage_quality.json"),
    ]
    for what, where in rows:
        console.print(f"  {what}\n      → {where}", highlight=False, soft_wrap=True)
    console.print(
        f"exact linkage against the true links: precision [bold]{q.precision:.4f}[/], "
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


@project_app.command("init")
def project_init(
    out: Annotated[Path, typer.Option("--out", help="Where the custodians' secret is written.")],
    name: Annotated[str, typer.Option("--name", help="Project identifier.")] = "project",
) -> None:
    """Create a project's linkage secret for its custodians (never give it to the linkage unit)."""
    from ansim.identity import LinkageSecret

    path = LinkageSecret.generate().save(out / "linkage.key")
    (out / "project.json").write_text(json.dumps({"project": name}), encoding="utf-8")
    console.print(f"linkage secret for custodians of {name!r}: {path} (mode 0600)")


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
