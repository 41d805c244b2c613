"""The linkage unit's and the hub's commands on the hub's server (``ansim login`` first).

``ansim linkage run`` links the identity packages waiting on the server and seals the link map
for the hub; ``ansim linkage runs`` lists the runs; ``ansim hub combine --project`` combines the
waiting content packages through it; ``ansim hub views`` lists the linked views. The stored
token says who acts: the server checks the role, governance authorises and audits each step.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from ansim.cli._app import console, hub_app, linkage_app

__all__ = ["combine_on_server"]

Project = Annotated[str, typer.Option("--project", help="The project (on the logged-in server).")]


def _counts(values: dict[str, Any]) -> str:
    return ", ".join(f"{name} {count:,}" for name, count in values.items())


@linkage_app.command("run")
def linkage_run(
    *,
    project: Project,
    method: Annotated[
        str, typer.Option("--method", help="exact | fuzzy | probabilistic.")
    ] = "probabilistic",
) -> None:
    """Link the identity packages waiting on the server; seal the link map for the hub.

    Runs as the logged-in linkage-unit operator. Only the report's counts come back: the
    link map and the opened parts stay on the server.
    """
    from ansim.client import Client

    with Client.stored() as client:
        report = client.linkage.run(project, method)
    records = report.get("records") or {}
    console.print(
        f"{report.get('method')}: {sum(records.values()):,} records ({_counts(records)}) → "
        f"{report.get('persons', 0):,} persons",
        highlight=False,
    )
    console.print(
        f"{len(report.get('packages') or [])} packages opened; link map sealed for the hub "
        f"as {report.get('link_map_package')}",
        highlight=False,
    )


@linkage_app.command("runs")
def linkage_runs(*, project: Project) -> None:
    """The project's linkage runs on the server, and the identity packages still waiting."""
    from ansim.client import Client

    with Client.stored() as client:
        found = client.linkage.runs(project)
    runs = found.get("runs") or []
    if not runs:
        console.print("no linkage run yet", highlight=False)
    for run in runs:
        at = str(run.get("at", ""))[:19].replace("T", " ")
        console.print(f"{at}  {run.get('by')}  {run.get('method')}", highlight=False)
    console.print(f"{len(found.get('waiting') or [])} identity packages waiting", highlight=False)


def combine_on_server(project: str) -> None:
    """``ansim hub combine --project``: combine what waits on the server, as the hub operator."""
    from ansim.client import Client

    with Client.stored() as client:
        linked = client.hub.combine(project)
    console.print(
        f"{linked.get('persons', 0):,} persons; tables: {_counts(linked.get('tables') or {})}",
        highlight=False,
    )


@hub_app.command("views")
def hub_views(*, project: Project) -> None:
    """The project's linked views on the server: names and row counts."""
    from ansim.client import Client

    with Client.stored() as client:
        views = client.hub.views(project)
    if not views:
        console.print("no linked views yet", highlight=False)
    for view in views:
        console.print(f"{view.get('name')}: {view.get('rows', 0):,} rows", highlight=False)
