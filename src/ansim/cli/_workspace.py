"""Workspace commands: ``ansim workspace …``: queries, checked analyses, review and release.

Each command is a client of the hub's server (``ansim login`` first): the analysis runs inside
the hub, the caller's identity and roles come from the stored token, and nothing but the
checked results leaves the server.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ansim.cli._app import app, console

if TYPE_CHECKING:
    from ansim.client import Client

__all__: list[str] = []

workspace_app = typer.Typer(
    help="The hub workspace: vetted SQL, checked analyses, output review and release.",
    no_args_is_help=True,
)
app.add_typer(workspace_app, name="workspace")

Project = Annotated[str, typer.Option("--project", help="The project.")]
Sql = Annotated[str, typer.Argument(help="One SELECT over the project's views.")]
By = Annotated[list[str], typer.Option("--by", help="Dimension (repeat).")]
OutputId = Annotated[str, typer.Argument(help="Output id, such as out-0001.")]


def _client() -> Client:
    from ansim.client import Client

    return Client.stored()


def _show(output: dict[str, Any]) -> None:
    """One output as the server describes it: id, method, status and the failing checks."""
    report = output.get("report") or {}
    passed = report.get("passed", output.get("passed"))
    verdict = "[green]passes[/]" if passed else "[red]held by the checks[/]"
    console.print(
        f"{output.get('id')} ({output.get('method')}, {output.get('status')}): {verdict}",
        highlight=False,
    )
    for result in report.get("results", ()):
        if not result.get("passed"):
            console.print(f"  {result.get('rule')}: {', '.join(result.get('failing', ()))}",
                          highlight=False)  # fmt: skip
    if output.get("exception"):
        console.print(f"  exception asked: {output['exception']}", highlight=False)
    if output.get("sql"):  # what the checker sees: the full SQL, the view versions, the counts
        console.print(f"  sql: {output['sql']}", highlight=False)
        views = output.get("views") or {}
        counts = (
            "" if output.get("withheld")
            else f"rows {output.get('row_count')}, persons {output.get('person_count')}; "
        )  # fmt: skip
        console.print(
            f"  {counts}views: " + ", ".join(f"{v}@{str(h)[:12]}" for v, h in views.items()),
            highlight=False,
        )
    if output.get("withheld"):
        console.print(f"  {output['withheld']}", highlight=False)


def _analysis(project: str, kind: str, params: dict[str, Any]) -> None:
    with _client() as client:
        _show(client.workspace.analyse(project, kind, params))


@workspace_app.command("views")
def views(*, project: Project) -> None:
    """List the project's views and their columns."""
    with _client() as client:
        found = client.workspace.views(project)
    for name, columns in found.items():
        console.print(f"{name}: {', '.join(columns)}", highlight=False)


@workspace_app.command("query")
def query(
    sql: Sql, *, project: Project,
    limit: Annotated[int, typer.Option("--limit", help="Rows to show.")] = 20,
) -> None:  # fmt: skip
    """Run one read-only query inside the hub and show what the project's row access allows.

    Under ``none`` (the default) the rows come from a dummy twin of the views, labelled as
    such; under ``preview`` at most 20 real rows; real data leave only as checked outputs.
    """
    with _client() as client:
        answer = client.workspace.query(project, sql, limit)
    label = str(answer.get("label") or "")
    if label:
        console.print(f"[bold yellow]{label}[/]" if answer.get("dummy") else label,
                      highlight=False)  # fmt: skip
    columns = answer.get("columns", [])
    for row in answer.get("rows", ()):
        record = dict(zip(columns, row, strict=True))
        console.print(json.dumps(record, ensure_ascii=False, default=str), highlight=False)
    shown = len(answer.get("rows") or ())
    count = answer.get("row_count")
    more = ", more not shown" if answer.get("more") else ""
    total = f"{count} rows" if count is not None else f"{shown} rows shown{more}"
    console.print(f"({total}) row access {answer.get('row_access', 'none')}", highlight=False)


@workspace_app.command("twin")
def twin(*, project: Project) -> None:
    """Show what each view's dummy twin is and, for a DP synthetic twin, its utility.

    The utility is the average and worst total variation distance of the twin's 1-, 2- and
    3-way marginals from the real rows (computed inside the hub; not differentially private).
    """
    with _client() as client:
        answer = client.workspace.twin_report(project)
    option = answer.get("option") or {}
    console.print(f"dummy twin: {option.get('kind')}", highlight=False)
    for view, report in (answer.get("views") or {}).items():
        console.print(f"{view}: {_twin_line(report)}", highlight=False)


def _twin_line(report: dict[str, Any]) -> str:
    """One view's twin in a line (kind, epsilon, spend, TVD average/worst per order)."""
    kind = str(report.get("twin"))
    if kind != "dp_synthetic":
        return kind + (f" ({report['reason']})" if report.get("reason") else "")
    if not report.get("built"):
        eps = float(report.get("epsilon") or 0)
        return f"dp_synthetic, epsilon {eps:.3g}: not built yet (the first query builds it)"
    utility = report.get("utility") or {}
    tvd = ", ".join(
        f"{order} {utility[f'tvd_{order}way']['average']:.3f}/"
        f"{utility[f'tvd_{order}way']['worst']:.3f}"
        for order in (1, 2, 3)
        if (utility.get(f"tvd_{order}way") or {}).get("average") is not None
    )
    return (
        f"dp_synthetic ({str(report.get('method')).upper()}, "
        f"epsilon {float(report.get('epsilon') or 0):.3g}, "
        f"spend {report.get('spend')}), {report.get('rows')} rows; modelled "
        f"{', '.join(report.get('modelled') or ())}; generated "
        f"{', '.join(report.get('generated') or ()) or 'none'}; TVD average/worst {tvd}"
    )


@workspace_app.command("crosstab")
def crosstab(sql: Sql, *, by: By, project: Project) -> None:
    """Count people by one or more dimensions; the result is an output held with its checks."""
    _analysis(project, "crosstab", {"sql": sql, "by": by})


@workspace_app.command("pivot")
def pivot(
    sql: Sql, *, by: By, value: Annotated[str, typer.Option("--value")],
    statistic: Annotated[str, typer.Option("--stat", help="count, sum, mean, median, quantile, "
                                           "min, max or std.")] = "mean",
    q: Annotated[float, typer.Option("--q", help="Quantile for --stat quantile.")] = 0.5,
    project: Project,
) -> None:  # fmt: skip
    """A statistic of a value per cell; the result is an output held with its checks."""
    _analysis(
        project, "pivot", {"sql": sql, "by": by, "value": value, "statistic": statistic, "q": q}
    )


@workspace_app.command("histogram")
def histogram(
    sql: Sql, *, column: Annotated[str, typer.Option("--column")],
    bins: Annotated[int, typer.Option("--bins")] = 10, project: Project,
) -> None:  # fmt: skip
    """Bin counts of a numeric column, checked like table cells."""
    _analysis(project, "histogram", {"sql": sql, "column": column, "bins": bins})


@workspace_app.command("model")
def model(
    sql: Sql, *, formula: Annotated[str, typer.Option("--formula", help="e.g. 'y ~ x + C(g)'.")],
    kind: Annotated[str, typer.Option("--kind", help="ols or logit.")] = "ols",
    project: Project,
) -> None:  # fmt: skip
    """Fit an OLS or logit model; checked on its residual degrees of freedom."""
    _analysis(project, "model", {"sql": sql, "formula": formula, "model": kind})


@workspace_app.command("submit")
def submit(
    output: OutputId, *, project: Project,
    justification: Annotated[str | None, typer.Option(
        "--exception", help="Ask for an exception for a held output, saying why.")] = None,
) -> None:  # fmt: skip
    """Submit an output for review (held if it fails its checks), or ask for an exception."""
    with _client() as client:
        if justification is not None:
            _show(client.workspace.request_exception(project, output, justification))
        else:
            _show(client.workspace.submit(project, output))


@workspace_app.command("outputs")
def outputs(
    *, project: Project,
    queue: Annotated[bool, typer.Option("--queue", help="Only those awaiting review.")] = False,
) -> None:  # fmt: skip
    """List the project's outputs (or the review queue) with their check results."""
    with _client() as client:
        for item in client.workspace.outputs(project, queue=queue):
            _show(item)


@workspace_app.command("review")
def review_output(
    output: OutputId, *, project: Project,
    reject: Annotated[bool, typer.Option("--reject")] = False,
    comment: Annotated[str, typer.Option("--comment")] = "",
) -> None:  # fmt: skip
    """Approve (default) or reject a submitted output, with a comment."""
    with _client() as client:
        done = client.workspace.review(project, output, "reject" if reject else "approve", comment)
    approvals = [r for r in done.get("reviews", ()) if r.get("approve")]
    console.print(f"{done.get('id')}: {done.get('status')} ({len(approvals)} approvals)",
                  highlight=False)  # fmt: skip


@workspace_app.command("release")
def release(
    output: Annotated[list[str], typer.Argument(help="Approved output ids.")],
    *, project: Project,
    out: Annotated[Path | None, typer.Option(
        "--out", help="Directory to keep the release records in (JSON).")] = None,
) -> None:  # fmt: skip
    """Release approved outputs; the server writes each bundle, this prints their records."""
    from ansim._atomic import write_text_atomic

    with _client() as client:
        records = [client.workspace.release(project, o) for o in output]
    for name, record in zip(output, records, strict=True):
        console.print(
            f"released {name} by {record.get('released_by')}: bundle {record.get('bundle')} "
            f"({len(record.get('checksums') or {})} files checksummed)",
            highlight=False,
        )
        if out is not None:
            text = json.dumps(record, ensure_ascii=False, indent=2, default=str)
            path = write_text_atomic(text, out / f"{Path(name).name}.release.json")
            console.print(f"  → {path}", highlight=False)
