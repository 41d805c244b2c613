"""A page for every project role: custodian, linkage unit, hub operator, analyst, output checker.

Each page first checks that its visitor holds its role in the project: others get 403,
non-members 404, as in the JSON API (the administrators' page is in ``_admin_pages``). What a
page shows and every action it offers go through the JSON API's handlers (``_projects_api``)
and, for the linkage unit and the hub, ``_parties_api`` (which calls the party services
:class:`~ansim.services.LinkageUnit` and :class:`~ansim.services.Hub` that ``ansim demo`` and
the CLI call): governance authorises and audits each step; no page holds a rule of its own.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ansim.errors import LinkageError, NotFoundError
from ansim.governance import Role
from ansim.linkage import (
    METHODS,
    RATES_FILE,
    REPORT_SCRIPT_HASH,
    read_linkage_rates,
    render_linkage_report,
)
from ansim.packages import PACKAGE_SUFFIX, read_package_header
from ansim.server import _parties_api as parties_api
from ansim.server import _projects_api as projects_api
from ansim.server._auth import DeploymentDep, PageVisitor
from ansim.server._deployment import Deployment
from ansim.server._html import guarded, render, seeing

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
_Field = Annotated[str, Form(max_length=200)]
_Sql = Annotated[str, Form(max_length=20_000)]


def _done(project: str, page: str, notice: str) -> RedirectResponse:
    return RedirectResponse(f"/projects/{project}/{page}?notice={notice}", status_code=303)


def _held(found: Deployment, user: str, project: str, role: Role) -> list[str | None]:
    """The custodians the user acts for in this role (``None`` for roles without one)."""
    return [
        m["custodian"]
        for m in found.accounts.memberships(user)
        if m["project"] == project and m["role"] == role.value
    ]


def _header(path: Path) -> dict[str, str]:
    header = read_package_header(path)
    return {"package": header.package_id, "kind": header.kind, "dataset": header.dataset,
            "sender": header.sender, "created": header.created[:19]}  # fmt: skip


# -- custodian -------------------------------------------------------------------------------
@router.get("/projects/{project}/custodian", response_class=HTMLResponse)
async def custodian(project: str, request: Request, found: DeploymentDep) -> Response:
    """A custodian officer's datasets in the project, their approvals and sent packages."""

    async def build(visitor: PageVisitor) -> Response:
        seeing(found, visitor, project, Role.CUSTODIAN_OFFICER)
        caller = visitor.caller
        record = await projects_api.get_project(project, caller, found)
        mine = set(_held(found, caller.user, project, Role.CUSTODIAN_OFFICER))
        datasets = [
            {**d, "approval": record["approvals"].get(d["dataset"], "pending")}
            for d in record["datasets"] if d["custodian"] in mine
        ]  # fmt: skip
        events = await projects_api.events(caller, found, project)
        sent = _sent(events, caller.user)
        return render(request, "custodian.html", visitor=visitor, project=record,
                      datasets=datasets, sent=sent)  # fmt: skip

    return await guarded(request, found, build)


_opened = parties_api.opened


def _sent(events: list[dict[str, Any]], user: str) -> list[dict[str, Any]]:
    """The packages the user sent (uploaded here, or delivered by ``Custodian.send``).

    Each is marked opened once the linkage unit or the hub recorded receiving it.
    """
    opened = _opened(events)
    rows = []
    for e in events:
        if e["action"] != "submit_parts" or e["actor"] != user:
            continue
        at, objects = e["at"][:19].replace("T", " "), e["objects"]
        if "package" in objects:
            names = {f"{objects['package']}{PACKAGE_SUFFIX}": (objects["kind"], objects["bytes"])}
        else:  # delivered by the custodian service: recipient → {file: hash}
            names = {n: (party, "") for party, files in objects.get("sent", {}).items()
                     for n in files}  # fmt: skip
        rows += [{"at": at, "package": name.removesuffix(PACKAGE_SUFFIX), "kind": kind,
                  "bytes": size, "processed": name in opened}
                 for name, (kind, size) in names.items()]  # fmt: skip
    return rows


@router.post("/projects/{project}/custodian/decision")
async def custodian_decision(
    project: str,
    request: Request,
    found: DeploymentDep,
    dataset: _Field = "",
    decision: _Field = "",
) -> Response:
    """Approve or revoke a dataset's use (the API's approvals handler)."""

    async def build(visitor: PageVisitor) -> Response:
        seeing(found, visitor, project, Role.CUSTODIAN_OFFICER)
        body = projects_api.Decision(dataset=dataset, decision=decision)  # type: ignore[arg-type]  # pydantic checks the literal
        await projects_api.decide(project, body, visitor.caller, found)
        return _done(project, "custodian", "decided")

    return await guarded(request, found, build)


@router.post("/projects/{project}/custodian/package")
async def custodian_upload(
    project: str,
    request: Request,
    found: DeploymentDep,
    package: Annotated[UploadFile, File()],
) -> Response:
    """Send a sealed package (the API's upload handler: size limit, header and role checks)."""

    async def build(visitor: PageVisitor) -> Response:
        seeing(found, visitor, project, Role.CUSTODIAN_OFFICER)
        await projects_api.upload_package(project, request, visitor.caller, found, package)
        return _done(project, "custodian", "uploaded")

    return await guarded(request, found, build)


# -- linkage unit ----------------------------------------------------------------------------
async def _unopened(found: Deployment, visitor: PageVisitor, project: str) -> set[str]:
    """Opened packages' file names, from the project's audit events (the API's handler)."""
    return _opened(await projects_api.events(visitor.caller, found, project))


def _identity_packages(found: Deployment, project: str, opened: set[str]) -> list[Path]:
    return parties_api.identity_packages(found, project, opened)


@router.get("/projects/{project}/linkage", response_class=HTMLResponse)
async def linkage(project: str, request: Request, found: DeploymentDep) -> Response:
    """The linkage unit's waiting identity packages and its last linkage report."""

    async def build(visitor: PageVisitor) -> Response:
        seeing(found, visitor, project, Role.LINKAGE_UNIT_OPERATOR)
        record = await projects_api.get_project(project, visitor.caller, found)
        path = parties_api.report_path(found, project)  # only this project's last report
        report = json.loads(path.read_text(encoding="utf-8")) if path is not None else None
        opened = await _unopened(found, visitor, project)
        waiting = [_header(p) for p in _identity_packages(found, project, opened)]
        runs = [
            {"at": e["at"][:19].replace("T", " "), "by": e["actor"],
             "method": e["objects"].get("method", "")}
            for e in await projects_api.events(visitor.caller, found, project)
            if e["action"] == "run_linkage" and e["objects"].get("step") == "link"
        ]  # fmt: skip
        return render(request, "linkage.html", visitor=visitor, project=record, waiting=waiting,
                      runs=runs,
                      report=report, summary=_report_rows(report), methods=METHODS)  # fmt: skip

    return await guarded(request, found, build)


_REPORT_HEADERS = {
    # the page's one inline script is its drawing code (allowed by hash); Plotly comes from
    # the portal's local route, sets inline styles and draws some images as data: URLs
    "Content-Security-Policy": f"default-src 'self'; script-src 'self' '{REPORT_SCRIPT_HASH}'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; object-src 'none'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def _hub_rates(report: Path) -> list[dict[str, object]] | None:
    """The hub's linkage rates by subgroup, if they came back after this report was made."""
    path = report.parent / RATES_FILE
    if not path.is_file() or path.stat().st_mtime < report.stat().st_mtime:
        return None  # rates about an earlier link map
    return read_linkage_rates(path)


@router.get("/projects/{project}/linkage/report", response_class=HTMLResponse)
async def linkage_report(project: str, request: Request, found: DeploymentDep) -> Response:
    """The linkage report for people (charts and tables), for the linkage unit's operators."""

    async def build(visitor: PageVisitor) -> Response:
        seeing(found, visitor, project, Role.LINKAGE_UNIT_OPERATOR)
        path = parties_api.report_path(found, project)
        if path is None:  # none yet, or the unit's last linkage was another project's
            return render(request, "linkage_report_none.html", visitor=visitor, project=project)
        try:
            report = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as e:  # written atomically; a hand-edited file is refused, not shown
            raise LinkageError("the linkage report cannot be read: run the linkage again") from e
        page = render_linkage_report(
            report, rates=_hub_rates(path), plotly_src="/public/static/plotly.min.js"
        )
        return HTMLResponse(page, headers=_REPORT_HEADERS)

    return await guarded(request, found, build)


def _figure(value: object) -> bool:
    return isinstance(value, int | float | str) and not isinstance(value, bool)


def _report_rows(report: dict[str, Any] | None) -> list[tuple[str, str, int | None]]:
    """The report's plain figures, one row each: name, value, and a bar's width.

    Counts within a group (cluster sizes, persons by sources …) get a bar whose width is their
    percent of the group's largest; other figures none.
    """
    if report is None:
        return []
    rows: list[tuple[str, str, int | None]] = []
    for key, value in report.items():
        if _figure(value):
            rows.append((key, str(value), None))
        elif isinstance(value, dict):
            group = {k: v for k, v in value.items() if _figure(v)}
            counts = [v for v in group.values() if isinstance(v, int)]
            top = max(counts, default=0)
            rows.extend(
                (f"{key}.{k}", str(v), round(100 * v / top) if isinstance(v, int) and top > 0
                 and len(counts) > 1 else None)
                for k, v in group.items()
            )  # fmt: skip
    return rows


@router.post("/projects/{project}/linkage/run")
async def linkage_run(
    project: str, request: Request, found: DeploymentDep, method: _Field = "probabilistic"
) -> Response:
    """Receive the identity packages, link them, and seal the link map for the hub."""

    async def build(visitor: PageVisitor) -> Response:
        seeing(found, visitor, project, Role.LINKAGE_UNIT_OPERATOR)
        body = parties_api.LinkageRun(method=method)
        await parties_api.run_linkage(project, body, visitor.caller, found)
        return _done(project, "linkage", "linked")

    return await guarded(request, found, build)


# -- hub operator ----------------------------------------------------------------------------
def _hub_packages(found: Deployment, project: str, opened: set[str]) -> list[Path]:
    return parties_api.hub_packages(found, project, opened)


@router.get("/projects/{project}/hub", response_class=HTMLResponse)
async def hub(project: str, request: Request, found: DeploymentDep) -> Response:
    """The hub operator's waiting packages, the combinations made, and the store."""

    async def build(visitor: PageVisitor) -> Response:
        seeing(found, visitor, project, Role.HUB_OPERATOR)
        record = await projects_api.get_project(project, visitor.caller, found)
        return render(request, "hub.html", visitor=visitor, project=record,
                      **await _hub_state(found, visitor, project))  # fmt: skip

    return await guarded(request, found, build)


async def _hub_state(found: Deployment, visitor: PageVisitor, project: str) -> dict[str, Any]:
    events = await projects_api.events(visitor.caller, found, project)
    combined = [
        {"at": e["at"][:19].replace("T", " "), "by": e["actor"],
         "files": sorted(k for k in e["objects"] if k != "step")}
        for e in events if e["action"] == "combine" and e["objects"].get("step") == "combine"
    ]  # fmt: skip
    store = found.hub_store(project)
    waiting = _hub_packages(found, project, _opened(events))
    return {"waiting": [_header(p) for p in waiting], "combined": combined,
            "store": store.name if store.is_file() else None}  # fmt: skip


@router.post("/projects/{project}/hub/combine", response_class=HTMLResponse)
async def hub_combine(project: str, request: Request, found: DeploymentDep) -> Response:
    """Receive the content packages and the link map and combine them; show the linked views."""

    async def build(visitor: PageVisitor) -> Response:
        seeing(found, visitor, project, Role.HUB_OPERATOR)
        linked = await parties_api.combine(project, visitor.caller, found)
        record = await projects_api.get_project(project, visitor.caller, found)
        return render(request, "hub.html", visitor=visitor, project=record, linked=linked,
                      done="combined", **await _hub_state(found, visitor, project))  # fmt: skip

    return await guarded(request, found, build)


# -- analyst ---------------------------------------------------------------------------------
async def _analyst_page(
    request: Request, found: Deployment, visitor: PageVisitor, project: str, **extra: Any
) -> Response:
    caller = visitor.caller
    record = await projects_api.get_project(project, caller, found)
    try:
        views = await projects_api.views(project, caller, found)
    except NotFoundError:  # no linked data in the hub yet: the outputs are still shown
        views = {}
    outputs = await projects_api.list_outputs(project, caller, found)
    return render(request, "analyst.html", visitor=visitor, project=record, views=views,
                  outputs=outputs, **extra)  # fmt: skip


@router.get("/projects/{project}/analyst", response_class=HTMLResponse)
async def analyst(project: str, request: Request, found: DeploymentDep) -> Response:
    """The analyst's workspace: views, a query editor, analyses and outputs with their checks."""

    async def build(visitor: PageVisitor) -> Response:
        seeing(found, visitor, project, Role.ANALYST)
        return await _analyst_page(request, found, visitor, project)

    return await guarded(request, found, build)


@router.post("/projects/{project}/analyst/query", response_class=HTMLResponse)
async def analyst_query(
    project: str, request: Request, found: DeploymentDep, sql: _Sql = ""
) -> Response:
    """Run one query (the API's query handler: vetted, sandboxed, audited) and show its rows."""

    async def build(visitor: PageVisitor) -> Response:
        seeing(found, visitor, project, Role.ANALYST)
        body = projects_api.QueryRequest(sql=sql)
        result = await projects_api.query(project, body, visitor.caller, found)
        return await _analyst_page(request, found, visitor, project, sql=sql, result=result)

    return await guarded(request, found, build)


@router.post("/projects/{project}/analyst/analysis")
async def analyst_analysis(
    project: str,
    request: Request,
    found: DeploymentDep,
    sql: _Sql = "",
    by: _Field = "",
) -> Response:
    """A checked crosstab over the query's rows (the API's analyses handler)."""

    async def build(visitor: PageVisitor) -> Response:
        seeing(found, visitor, project, Role.ANALYST)
        columns = [c.strip() for c in by.split(",") if c.strip()]
        body = projects_api.AnalysisRequest(kind="crosstab", sql=sql, by=columns)
        await projects_api.analyse(project, body, visitor.caller, found)
        return _done(project, "analyst", "analysed")

    return await guarded(request, found, build)


@router.post("/projects/{project}/analyst/outputs/{output}/submit")
async def analyst_submit(
    project: str, output: str, request: Request, found: DeploymentDep
) -> Response:
    """Submit an output for review (the API's submit handler)."""

    async def build(visitor: PageVisitor) -> Response:
        seeing(found, visitor, project, Role.ANALYST)
        await projects_api.submit(project, output, visitor.caller, found)
        return _done(project, "analyst", "submitted")

    return await guarded(request, found, build)


@router.post("/projects/{project}/analyst/outputs/{output}/exception")
async def analyst_exception(
    project: str,
    output: str,
    request: Request,
    found: DeploymentDep,
    justification: Annotated[str, Form(max_length=5000)] = "",
) -> Response:
    """Ask the checkers to release a held output anyway, saying why (the API's handler)."""

    async def build(visitor: PageVisitor) -> Response:
        seeing(found, visitor, project, Role.ANALYST)
        body = projects_api.Exception_(justification=justification)
        await projects_api.exception(project, output, body, visitor.caller, found)
        return _done(project, "analyst", "exception_requested")

    return await guarded(request, found, build)


# -- output checker --------------------------------------------------------------------------
@router.get("/projects/{project}/checker", response_class=HTMLResponse)
async def checker(project: str, request: Request, found: DeploymentDep) -> Response:
    """The review queue and every output's state."""

    async def build(visitor: PageVisitor) -> Response:
        seeing(found, visitor, project, Role.OUTPUT_CHECKER)
        caller = visitor.caller
        record = await projects_api.get_project(project, caller, found)
        queue = await projects_api.list_outputs(project, caller, found, queue=True)
        outputs = await projects_api.list_outputs(project, caller, found)
        return render(request, "checker.html", visitor=visitor, project=record, queue=queue,
                      outputs=outputs)  # fmt: skip

    return await guarded(request, found, build)


def _marked_rows(output: dict[str, Any]) -> list[dict[str, Any]]:
    """The output's rows, each marked with whether its cell fails a check (to highlight)."""
    failing = {c for r in output["report"]["results"] for c in r["failing"]}
    dimensions = [part.partition("=")[0] for part in next(iter(failing), "").split("; ") if part]
    columns = output["columns"]
    rows = []
    for values in output["rows"]:
        cell = dict(zip(columns, values, strict=True))
        name = "; ".join(f"{d}={cell.get(d)}" for d in dimensions)
        rows.append({"values": values, "failing": bool(dimensions) and name in failing})
    return rows


@router.get("/projects/{project}/checker/outputs/{output}", response_class=HTMLResponse)
async def checker_output(
    project: str, output: str, request: Request, found: DeploymentDep
) -> Response:
    """One output for review: its SQL, counts, check results and failing cells highlighted."""

    async def build(visitor: PageVisitor) -> Response:
        seeing(found, visitor, project, Role.OUTPUT_CHECKER)
        shown = await projects_api.get_output(project, output, visitor.caller, found)
        return render(request, "output.html", visitor=visitor, project_id=project,
                      output=shown, rows=_marked_rows(shown))  # fmt: skip

    return await guarded(request, found, build)


@router.post("/projects/{project}/checker/outputs/{output}/review")
async def checker_review(  # noqa: PLR0917  # FastAPI passes the form fields by name
    project: str,
    output: str,
    request: Request,
    found: DeploymentDep,
    decision: _Field = "",
    comment: Annotated[str, Form(max_length=5000)] = "",
) -> Response:
    """Approve or reject (the API's review handler: never one's own, never twice)."""

    async def build(visitor: PageVisitor) -> Response:
        seeing(found, visitor, project, Role.OUTPUT_CHECKER)
        body = projects_api.ReviewRequest(decision=decision, comment=comment)  # type: ignore[arg-type]  # pydantic checks the literal
        await projects_api.review(project, output, body, visitor.caller, found)
        return _done(project, "checker", "reviewed")

    return await guarded(request, found, build)


@router.post("/projects/{project}/checker/outputs/{output}/release")
async def checker_release(
    project: str, output: str, request: Request, found: DeploymentDep
) -> Response:
    """Release an approved output (the API's release handler)."""

    async def build(visitor: PageVisitor) -> Response:
        seeing(found, visitor, project, Role.OUTPUT_CHECKER)
        await projects_api.release(project, output, visitor.caller, found)
        return _done(project, "checker", "released")

    return await guarded(request, found, build)
