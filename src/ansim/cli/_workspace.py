"""Workspace commands: ``ansim workspace …``: queries, checked analyses, review and release."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ansim.cli._app import app, console
from ansim.cli._audit import DEFAULT_HOME, HomeOpt, UrlOpt, open_governance

if TYPE_CHECKING:
    from ansim.governance import Governance
    from ansim.workspace import Output, Review, Workspace

__all__: list[str] = []

workspace_app = typer.Typer(
    help="The hub workspace: vetted SQL, checked analyses, output review and release.",
    no_args_is_help=True,
)
app.add_typer(workspace_app, name="workspace")

Actor = Annotated[str, typer.Option("--as", envvar="ANSIM_USER", help="Who is acting.")]
Project = Annotated[str, typer.Option("--project", help="The project.")]
Store = Annotated[Path, typer.Option("--store", help="The project's encrypted hub store.")]
Dir = Annotated[
    Path | None,
    typer.Option("--workspace", help="Outputs and ledger (default: <store dir>/workspace)."),
]
Policies = Annotated[
    Path | None,
    typer.Option("--policies", help="JSON: custodian → check thresholds (strictest applies)."),
]
Sql = Annotated[str, typer.Argument(help="One SELECT over the project's views.")]
By = Annotated[list[str], typer.Option("--by", help="Dimension (repeat).")]
OutputId = Annotated[str, typer.Argument(help="Output id, such as out-0001.")]


def _home_dir(store: Path, workspace: Path | None) -> Path:
    return workspace or store.parent / "workspace"


@contextmanager
def _session(
    *,
    home: Path, url: str | None, actor: str, project: str, store: Path, workspace: Path | None,
    policies: Path | None,
) -> Iterator[Workspace]:  # fmt: skip
    from ansim.workspace import CheckPolicy, Workspace

    settings = json.loads(policies.read_text(encoding="utf-8")) if policies else {}
    gov = open_governance(home, url)
    try:
        with Workspace(
            gov, actor, project, store, _home_dir(store, workspace),
            policies={c: CheckPolicy.from_dict(p) for c, p in settings.items()},
        ) as ws:  # fmt: skip
            yield ws
    finally:
        gov.close()


def _show(output: Output) -> None:
    verdict = "[green]passes[/]" if output.report.passed else "[red]held by the checks[/]"
    console.print(f"{output.id} ({output.method}, {output.status}): {verdict}", highlight=False)
    for result in output.report.results:
        if not result.passed:
            console.print(f"  {result.rule}: {', '.join(result.failing)}", highlight=False)


def _analysis(
    run: Callable[[Workspace], Output],
    *,
    home: Path, url: str | None, actor: str, project: str, store: Path, workspace: Path | None,
    policies: Path | None,
) -> None:  # fmt: skip
    with _session(
        home=home,
        url=url,
        actor=actor,
        project=project,
        store=store,
        workspace=workspace,
        policies=policies,
    ) as ws:
        _show(run(ws))


@workspace_app.command("views")
def views(
    *, actor: Actor, project: Project, store: Store, workspace: Dir = None,
    home: HomeOpt = DEFAULT_HOME, url: UrlOpt = None,
) -> None:  # fmt: skip
    """List the project's views and their columns."""
    with _session(
        home=home,
        url=url,
        actor=actor,
        project=project,
        store=store,
        workspace=workspace,
        policies=None,
    ) as ws:
        for name, columns in ws.views().items():
            console.print(f"{name}: {', '.join(columns)}", highlight=False)


@workspace_app.command("query")
def query(
    sql: Sql, *, actor: Actor, project: Project, store: Store, workspace: Dir = None,
    limit: Annotated[int, typer.Option("--limit", help="Rows to show.")] = 20,
    home: HomeOpt = DEFAULT_HOME, url: UrlOpt = None,
) -> None:  # fmt: skip
    """Run one read-only query inside the hub and show its first rows (nothing is exported)."""
    with _session(
        home=home,
        url=url,
        actor=actor,
        project=project,
        store=store,
        workspace=workspace,
        policies=None,
    ) as ws:
        table = ws.query(sql)
        for row in table.slice(0, limit).to_pylist():
            console.print(json.dumps(row, ensure_ascii=False, default=str), highlight=False)
        console.print(f"({table.num_rows} rows)")


@workspace_app.command("crosstab")
def crosstab(
    sql: Sql, *, by: By, actor: Actor, project: Project, store: Store, workspace: Dir = None,
    policies: Policies = None, home: HomeOpt = DEFAULT_HOME, url: UrlOpt = None,
) -> None:  # fmt: skip
    """Count people by one or more dimensions; the result is an output held with its checks."""
    _analysis(
        lambda ws: ws.crosstab(sql, by),
        home=home, url=url, actor=actor, project=project, store=store, workspace=workspace,
        policies=policies,
    )  # fmt: skip


@workspace_app.command("pivot")
def pivot(
    sql: Sql, *, by: By, value: Annotated[str, typer.Option("--value")],
    statistic: Annotated[str, typer.Option("--stat", help="count, sum, mean, median, quantile, "
                                           "min, max or std.")] = "mean",
    q: Annotated[float, typer.Option("--q", help="Quantile for --stat quantile.")] = 0.5,
    actor: Actor, project: Project, store: Store, workspace: Dir = None,
    policies: Policies = None, home: HomeOpt = DEFAULT_HOME, url: UrlOpt = None,
) -> None:  # fmt: skip
    """A statistic of a value per cell; the result is an output held with its checks."""
    _analysis(
        lambda ws: ws.pivot_table(sql, by, value, statistic, q),
        home=home, url=url, actor=actor, project=project, store=store, workspace=workspace,
        policies=policies,
    )  # fmt: skip


@workspace_app.command("histogram")
def histogram(
    sql: Sql, *, column: Annotated[str, typer.Option("--column")],
    bins: Annotated[int, typer.Option("--bins")] = 10,
    actor: Actor, project: Project, store: Store, workspace: Dir = None,
    policies: Policies = None, home: HomeOpt = DEFAULT_HOME, url: UrlOpt = None,
) -> None:  # fmt: skip
    """Bin counts of a numeric column, checked like table cells."""
    _analysis(
        lambda ws: ws.histogram(sql, column, bins),
        home=home, url=url, actor=actor, project=project, store=store, workspace=workspace,
        policies=policies,
    )  # fmt: skip


@workspace_app.command("model")
def model(
    sql: Sql, *, formula: Annotated[str, typer.Option("--formula", help="e.g. 'y ~ x + C(g)'.")],
    kind: Annotated[str, typer.Option("--kind", help="ols or logit.")] = "ols",
    actor: Actor, project: Project, store: Store, workspace: Dir = None,
    policies: Policies = None, home: HomeOpt = DEFAULT_HOME, url: UrlOpt = None,
) -> None:  # fmt: skip
    """Fit an OLS or logit model; checked on its residual degrees of freedom."""
    _analysis(
        lambda ws: ws.ols(sql, formula) if kind == "ols" else ws.logit(sql, formula),
        home=home, url=url, actor=actor, project=project, store=store, workspace=workspace,
        policies=policies,
    )  # fmt: skip


@workspace_app.command("submit")
def submit(
    output: OutputId, *, actor: Actor, project: Project, store: Store, workspace: Dir = None,
    justification: Annotated[str | None, typer.Option(
        "--exception", help="Ask for an exception for a held output, saying why.")] = None,
    home: HomeOpt = DEFAULT_HOME, url: UrlOpt = None,
) -> None:  # fmt: skip
    """Submit an output for review (held if it fails its checks), or ask for an exception."""
    with _session(
        home=home,
        url=url,
        actor=actor,
        project=project,
        store=store,
        workspace=workspace,
        policies=None,
    ) as ws:
        found = ws.output(output)
        if justification is not None:
            _show(ws.request_exception(output, justification))
        elif found.status == "draft":
            _show(ws.submit(output))
        else:
            _show(found)


@contextmanager
def _review(
    home: Path, url: str | None, project: str, store: Path, workspace: Path | None
) -> Iterator[tuple[Governance, Review]]:
    from ansim.workspace import Review

    gov = open_governance(home, url)
    try:
        yield gov, Review(gov, project, _home_dir(store, workspace))
    finally:
        gov.close()


@workspace_app.command("outputs")
def outputs(
    *, project: Project, store: Store, workspace: Dir = None,
    queue: Annotated[bool, typer.Option("--queue", help="Only those awaiting review.")] = False,
    home: HomeOpt = DEFAULT_HOME, url: UrlOpt = None,
) -> None:  # fmt: skip
    """List the project's outputs (or the review queue) with their check results."""
    with _review(home, url, project, store, workspace) as (_, review):
        for item in review.queue() if queue else review.outputs.all():
            _show(item)
            if item.exception:
                console.print(f"  exception asked: {item.exception}", highlight=False)
            if item.sql:
                console.print(f"  sql: {item.sql}", highlight=False)
                console.print(
                    f"  rows {item.row_count}, persons {item.person_count}; views: "
                    + ", ".join(f"{v}@{h[:12]}" for v, h in item.views.items()),
                    highlight=False,
                )


@workspace_app.command("review")
def review_output(
    output: OutputId, *, actor: Actor, project: Project, store: Store, workspace: Dir = None,
    reject: Annotated[bool, typer.Option("--reject")] = False,
    comment: Annotated[str, typer.Option("--comment")] = "",
    home: HomeOpt = DEFAULT_HOME, url: UrlOpt = None,
) -> None:  # fmt: skip
    """Approve (default) or reject a submitted output, with a comment."""
    with _review(home, url, project, store, workspace) as (_, review):
        done = (
            review.reject(actor, output, comment) if reject
            else review.approve(actor, output, comment)
        )  # fmt: skip
        console.print(f"{done.id}: {done.status} ({len(done.approvals)} approvals)")


@workspace_app.command("release")
def release(
    output: Annotated[list[str], typer.Argument(help="Approved output ids.")],
    *, actor: Actor, project: Project, store: Store, workspace: Dir = None,
    out: Annotated[Path, typer.Option("--out", help="New directory for the bundle.")],
    home: HomeOpt = DEFAULT_HOME, url: UrlOpt = None,
) -> None:  # fmt: skip
    """Release approved outputs as a bundle (CSV, results.json, checksums)."""
    with _review(home, url, project, store, workspace) as (_, review):
        bundle = review.release(actor, output, out)
        console.print(f"released {', '.join(bundle.outputs)} to {bundle.directory}")
