"""Commands of the demo: ``ansim demo`` and ``ansim demo generate``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ansim.cli._app import console, demo_app

if TYPE_CHECKING:
    from ansim.demo._accounts import DemoAccount

__all__: list[str] = []

PeopleOpt = Annotated[int, typer.Option("--people", help="Synthetic population size.")]
SeedOpt = Annotated[int, typer.Option("--seed", help="Random seed (same seed, same world).")]


@demo_app.callback(invoke_without_command=True)
def demo(  # noqa: PLR0917 -- Typer passes options by keyword
    ctx: typer.Context,
    people: PeopleOpt = 100_000,
    seed: SeedOpt = 20211101,
    out: Annotated[Path, typer.Option("--out", help="Output directory.")] = Path("ansim-demo"),
    port: Annotated[
        int, typer.Option("--port", help="Where the pages are served after the flow (a terminal).")
    ] = 8000,
    engine: Annotated[
        str, typer.Option("--engine", help="duckdb (default) | spark: the linkage unit's engine.")
    ] = "duckdb",
    encrypted: Annotated[
        bool,
        typer.Option(
            "--encrypted",
            help="The small-business scenario instead: PSI linkage, encrypted aggregation "
            "(issue 17); --out defaults to ansim-demo-encrypted.",
        ),
    ] = False,
    firms: Annotated[
        int, typer.Option("--firms", help="With --encrypted: firms in KOSTAT's extract.")
    ] = 20_000,
) -> None:
    """Run the whole demo: generate → ingest → prepare → match → combine → release.

    Then every demo person gets a one-time password (``<out>/demo-accounts.json``, mode 0600);
    in a terminal the hub's pages are then served on 127.0.0.1 (``ansim serve``) until Ctrl-C,
    otherwise (CI) it exits.
    """
    if ctx.invoked_subcommand is not None:
        return
    if encrypted:
        from ansim.cli._demo_encrypted import run_encrypted

        source = ctx.get_parameter_source("out")
        given = source is not None and source.name != "DEFAULT"
        run_encrypted(firms, seed, out if given else Path("ansim-demo-encrypted"))
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
    if run.governance is None:
        return
    accounts = _accounts(run.governance, out)
    if sys.stdout.isatty():
        _serve(ctx, out, port, accounts[-1].user)


def _serve(ctx: typer.Context, out: Path, port: int, user: str) -> None:
    """Serve the demo's deployment with ``ansim serve`` on the loopback address."""
    from ansim.errors import InvalidSpecError

    root = ctx.find_root().command
    serve = root.get_command(ctx, "serve") if isinstance(root, typer.core.TyperGroup) else None
    if serve is None:
        raise InvalidSpecError("this installation has no 'ansim serve': the pages cannot be shown")
    console.print(
        f"\nfrom another terminal: ansim login --server http://127.0.0.1:{port} --user {user}",
        highlight=False,
    )
    args = ["--home", str(out), "--host", "127.0.0.1", "--port", str(port)]
    serve.main(args, prog_name="ansim serve", standalone_mode=False)


def _accounts(governance: Path, out: Path) -> list[DemoAccount]:
    """Issue the demo's accounts and print them."""
    from ansim.demo._accounts import ACCOUNTS_FILE, issue_demo_accounts
    from ansim.demo._run import PROJECT

    accounts = issue_demo_accounts(governance, out)
    console.print(f"\n[bold]Project[/] {PROJECT}; accounts (one-time passwords, also in "
                  f"{out / ACCOUNTS_FILE}, mode 0600):", highlight=False)  # fmt: skip
    width = max(len(a.user) for a in accounts)
    for a in accounts:
        console.print(f"  {a.user:<{width}}  {a.password}  {a.role}", highlight=False)
    return accounts


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
