"""Projects over HTTP: administration, custodians' approvals and packages, the workspace, review.

Every handler resolves the caller first, hides projects the caller is not part of (404, as if
they did not exist), checks the API token's scope, then calls governance or the workspace with
the caller as actor: those check the roles, the approvals and the period, and audit.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import secrets
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from pydantic import BaseModel, Field

from ansim.errors import AccessDenied, InvalidSpecError, NotFoundError, OversizedInputError
from ansim.governance import (
    DatasetRequest,
    Operation,
    ProjectApplication,
    Purpose,
    Role,
    RowAccessMode,
    RowAccessRegister,
    TwinKind,
    TwinOptionRegister,
)
from ansim.governance import allowed_roles as allowed
from ansim.packages import PACKAGE_SUFFIX, read_package_header
from ansim.server._auth import Caller, CallerDep, DeploymentDep
from ansim.server._deployment import Deployment
from ansim.server._errors import JsonResponse
from ansim.workspace import Output

__all__ = ["router"]

router = APIRouter(prefix="/api", default_response_class=JsonResponse)

Name = Annotated[str, Field(min_length=1, max_length=63)]
Sql = Annotated[str, Field(min_length=1, max_length=20_000)]
Column = Annotated[str, Field(min_length=1, max_length=63)]
_OUTPUT_ID = re.compile(r"^out-[0-9]{4,}$")
_READERS = (Role.ANALYST, Role.OUTPUT_CHECKER)
_CHUNK = 1 << 20


class DatasetItem(BaseModel):
    """A dataset the project requests and its custodian."""

    dataset: Name
    custodian: Name


class NewProject(BaseModel):
    """A project application (the fields of ``ansim project create``)."""

    project: Name
    title: Annotated[str, Field(min_length=1, max_length=200)]
    purpose: Purpose
    description: Annotated[str, Field(min_length=1, max_length=5000)]
    datasets: Annotated[list[DatasetItem], Field(min_length=1, max_length=50)]
    start: dt.date
    end: dt.date


class Member(BaseModel):
    """A role to grant in the project (officers name their custodian, or one of its datasets)."""

    user: Name
    role: Annotated[str, Field(max_length=40)]
    custodian: Name | None = None
    dataset: Name | None = None


class Destruction(BaseModel):
    """Why the project is destroyed."""

    reason: Annotated[str, Field(min_length=1, max_length=500)]


class Decision(BaseModel):
    """A custodian officer's decision on a dataset."""

    dataset: Name
    decision: Literal["approve", "revoke"]


class QueryRequest(BaseModel):
    """One read-only query over the project's views (what it shows is the row-access policy)."""

    sql: Sql
    limit: Annotated[int, Field(ge=1, le=1_000_000)] = 20


class RowAccessRequest(BaseModel):
    """A project's row-access policy (``safe_setting`` names its workstation)."""

    mode: RowAccessMode
    workstation: Name | None = None


class TwinRequest(BaseModel):
    """A project's dummy-twin kind (``dp_synthetic`` states its ρ or ε per view)."""

    kind: TwinKind
    rho: Annotated[float | None, Field(gt=0, le=100)] = None
    epsilon: Annotated[float | None, Field(gt=0, le=100)] = None


class AnalysisRequest(BaseModel):
    """A checked analysis (the parameters of the CLI's workspace commands)."""

    kind: Literal["crosstab", "pivot", "histogram", "model", "ols", "logit", "survival"]
    sql: Sql
    by: Annotated[list[Column], Field(max_length=10)] = []
    value: Column | None = None
    statistic: Literal["count", "sum", "mean", "median", "quantile", "min", "max", "std"] = "mean"
    q: Annotated[float, Field(ge=0.0, le=1.0)] = 0.5
    column: Column | None = None
    bins: Annotated[int, Field(ge=1, le=1000)] = 10
    formula: Annotated[str | None, Field(max_length=1000)] = None
    model: Literal["ols", "logit"] = "ols"
    duration: Column | None = None
    event: Column | None = None
    edges: Annotated[list[float], Field(max_length=200)] = []


class Exception_(BaseModel):
    """The author's reason for asking to release a held output anyway."""

    justification: Annotated[str, Field(min_length=1, max_length=5000)]


class ReviewRequest(BaseModel):
    """An output checker's decision."""

    decision: Literal["approve", "reject"]
    comment: Annotated[str, Field(max_length=5000)] = ""


def _project(found: Deployment, caller: Caller, project: str, *roles: Role) -> None:
    """404 unless the caller may know the project; 403 if the token is not scoped for it."""
    found.visible(caller.user, project)
    caller.within(project, roles)


def _need(operation: Operation) -> tuple[Role, ...]:
    return tuple(sorted(allowed(operation)))


def _required(value: str | None, what: str) -> str:
    if value is None or not value.strip():
        raise InvalidSpecError(f"this analysis needs {what}")
    return value


def _output_id(output: str) -> str:
    if not _OUTPUT_ID.match(output):
        raise NotFoundError(f"no output {output!r}")
    return output


def _reader(found: Deployment, caller: Caller, project: str) -> None:
    """Outputs are read by the project's analysts and output checkers only."""
    _project(found, caller, project, *_READERS)
    if not found.project_roles(caller.user, project) & set(_READERS):
        raise AccessDenied(
            f"{caller.user!r} may not read outputs of project {project!r}: it needs the role "
            "analyst or output_checker"
        )


def _existing(found: Deployment, project: str, output: str) -> Output:
    _output_id(output)
    path = found.workspace_dir(project) / "outputs" / f"{output}.json"
    if not path.is_file():
        raise NotFoundError(f"no output {output!r} in project {project!r}")
    return found.review(project).outputs.get(output)


def _shown(found: Deployment, caller: Caller, project: str, output: Output) -> dict[str, Any]:
    """The output as the caller may see it (:meth:`ansim.workspace.Output.shown_to`)."""
    checker = Role.OUTPUT_CHECKER in found.project_roles(caller.user, project)
    real = RowAccessRegister(found.governance).policy(project).shows_real_rows(found.workstation)
    return output.shown_to(caller.user, checker=checker, real_rows=real)


# -- projects --------------------------------------------------------------------------------
@router.post("/projects", status_code=201, summary="Apply for a project (administrators)")
async def create_project(
    body: NewProject, caller: CallerDep, found: DeploymentDep
) -> dict[str, Any]:
    """Record the application; the project receives no data until every custodian approves."""
    caller.within(None, _need(Operation.CREATE_PROJECT))
    application = ProjectApplication(
        body.project, body.title, body.purpose, body.description,
        tuple(DatasetRequest(d.dataset, d.custodian) for d in body.datasets),
        body.start, body.end,
    )  # fmt: skip
    found.governance.create_project(caller.user, application)
    return found.governance.project(body.project)


@router.get("/projects", summary="The projects the caller belongs to (administrators: all)")
async def list_projects(caller: CallerDep, found: DeploymentDep) -> list[dict[str, Any]]:
    """Id, title, purpose, status and period of each project the caller may know of."""
    shown = found.accounts.visible_projects(caller.user)
    if caller.token is not None and caller.token.project is not None:
        shown = [p for p in shown if p == caller.token.project]
    keys = ("id", "title", "purpose", "status", "period_start", "period_end")
    return [{k: found.governance.project(p)[k] for k in keys} for p in shown]


@router.get("/projects/{project}", summary="A project's record")
async def get_project(project: str, caller: CallerDep, found: DeploymentDep) -> dict[str, Any]:
    """Application, status, datasets, members, approvals, key fingerprint and outputs."""
    _project(found, caller, project)
    return found.governance.project(project)


@router.post("/projects/{project}/members", status_code=201, summary="Grant a project role")
async def add_member(
    project: str, body: Member, caller: CallerDep, found: DeploymentDep
) -> dict[str, Any]:
    """Incompatible combinations are refused unless a second administrator approved them."""
    _project(found, caller, project, *_need(Operation.ADD_MEMBER))
    try:
        role = Role(body.role)
    except ValueError:
        raise InvalidSpecError("unknown role") from None
    custodian = body.custodian
    if custodian is None and body.dataset is not None:
        datasets = {
            d["dataset"]: d["custodian"] for d in found.governance.project(project)["datasets"]
        }
        if body.dataset not in datasets:
            raise InvalidSpecError(f"project {project!r} did not request dataset {body.dataset!r}")
        custodian = datasets[body.dataset]
    found.governance.add_member(caller.user, project, body.user, role, custodian=custodian)
    return {"user": body.user, "role": role.value, "project": project, "custodian": custodian}


@router.post("/projects/{project}/key", status_code=201, summary="Issue the project's data key")
async def issue_key(project: str, caller: CallerDep, found: DeploymentDep) -> dict[str, str]:
    """The data key is created wrapped under the master key; only its fingerprint is shown."""
    _project(found, caller, project, *_need(Operation.ISSUE_KEY))
    return {"project": project, "key_id": found.governance.issue_key(caller.user, project)}


@router.post("/projects/{project}/destroy", summary="Crypto-shred the project")
async def destroy(
    project: str, body: Destruction, caller: CallerDep, found: DeploymentDep
) -> dict[str, Any]:
    """Destroy the data key and files; returns the signed destruction certificate."""
    _project(found, caller, project, *_need(Operation.DESTROY_PROJECT))
    return dataclasses.asdict(found.governance.destroy(caller.user, project, body.reason))


@router.put("/projects/{project}/row-access", summary="Set the row-access policy (administrators)")
async def set_row_access(
    project: str, body: RowAccessRequest, caller: CallerDep, found: DeploymentDep
) -> dict[str, Any]:
    """``none`` (dummy twin), ``preview`` (20 real rows a query) or ``safe_setting``.

    A safe setting names its workstation; governance refuses anyone but an administrator and
    audits the change.
    """
    _project(found, caller, project, *_need(Operation.CREATE_PROJECT))
    register = RowAccessRegister(found.governance)
    return register.set(caller.user, project, body.mode, body.workstation).to_dict()


@router.get("/projects/{project}/row-access", summary="The project's row-access policy")
async def row_access(project: str, caller: CallerDep, found: DeploymentDep) -> dict[str, Any]:
    """Every member may read the policy their queries obey."""
    _project(found, caller, project)
    return RowAccessRegister(found.governance).policy(project).to_dict()


@router.put("/projects/{project}/twin", summary="Set the dummy twin's kind (administrators)")
async def set_twin(
    project: str, body: TwinRequest, caller: CallerDep, found: DeploymentDep
) -> dict[str, Any]:
    """``domains`` (declared domains only) or ``dp_synthetic`` with its ρ or ε per view.

    Governance refuses anyone but an administrator and audits the change; each view's DP
    synthetic twin is paid from the project's privacy budget when a session first needs it.
    """
    _project(found, caller, project, *_need(Operation.CREATE_PROJECT))
    register = TwinOptionRegister(found.governance)
    return register.set(caller.user, project, body.kind, rho=body.rho,
                        epsilon=body.epsilon).to_dict()  # fmt: skip


@router.get("/projects/{project}/twin", summary="The project's dummy-twin kind")
async def twin(project: str, caller: CallerDep, found: DeploymentDep) -> dict[str, Any]:
    """Every member may read what the twin their queries run on is made of."""
    _project(found, caller, project)
    return TwinOptionRegister(found.governance).option(project).to_dict()


@router.get("/projects/{project}/twin/report", summary="The dummy twin's utility report")
async def twin_report(project: str, caller: CallerDep, found: DeploymentDep) -> dict[str, Any]:
    """Per view: the twin's kind, ρ and ε, its spend and TVD of 1-, 2-, 3-way marginals.

    For the project's analysts (read from the workspace's cache: nothing fitted or spent).
    """
    _project(found, caller, project, *_need(Operation.QUERY))
    with found.open_workspace(caller.user, project) as ws:
        return ws.twin_report()


@router.get("/projects/{project}/records", summary="The processing record (administrators)")
async def records(project: str, caller: CallerDep, found: DeploymentDep) -> dict[str, Any]:
    """The processing record (CSV and JSON) and the Five Safes summary."""
    _project(found, caller, project, *_need(Operation.EXPORT_RECORDS))
    with tempfile.TemporaryDirectory(prefix="ansim-records-") as tmp:
        paths = found.governance.export_records(caller.user, project, Path(tmp))
        files = {p.name: p.read_text(encoding="utf-8") for p in paths}
    return {"project": project, "files": files}


# -- custodians ------------------------------------------------------------------------------
@router.post("/projects/{project}/approvals", summary="Approve or revoke a dataset's use")
async def decide(
    project: str, body: Decision, caller: CallerDep, found: DeploymentDep
) -> dict[str, Any]:
    """A custodian officer decides for their own custodian's dataset only."""
    _project(found, caller, project, Role.CUSTODIAN_OFFICER)
    if body.decision == "approve":
        found.governance.approve(caller.user, project, body.dataset)
    else:
        found.governance.revoke(caller.user, project, body.dataset)
    return {"project": project, "approvals": found.governance.approval_state(project)}


@router.post("/projects/{project}/packages", status_code=201, summary="Upload a sealed package")
async def upload_package(  # noqa: PLR0917  # FastAPI passes parameters by name
    project: str,
    request: Request,
    caller: CallerDep,
    found: DeploymentDep,
    package: Annotated[UploadFile, File(description="A sealed .ansim package")],
    dataset: Annotated[str | None, Form(max_length=63)] = None,
) -> dict[str, Any]:
    """A custodian officer sends a sealed part of their dataset (size-limited; 413 if larger).

    The package stays sealed: the hub opens it with its own key when it combines.
    """
    _project(found, caller, project, *_need(Operation.SUBMIT_PARTS))
    limit: int = request.app.state.max_upload_bytes
    inbox = found.inbox(project)
    inbox.mkdir(parents=True, exist_ok=True)
    staged = inbox / f".upload-{secrets.token_hex(8)}"
    try:
        size = 0
        with staged.open("wb") as sink:
            while chunk := await package.read(_CHUNK):
                size += len(chunk)
                if size > limit:
                    raise OversizedInputError(
                        f"the package is larger than the upload limit of {limit} bytes"
                    )
                sink.write(chunk)
        header = read_package_header(staged)
        if header.project != project:
            raise InvalidSpecError(f"the package is for another project, not {project!r}")
        named = dataset or header.dataset
        if named != header.dataset:
            raise InvalidSpecError("the package holds another dataset than the one named")
        found.governance.authorize(
            caller.user, project, Operation.SUBMIT_PARTS, dataset=named,
            objects={"package": header.package_id, "kind": header.kind, "bytes": size},
        )  # fmt: skip
        final = inbox / f"{header.package_id}{PACKAGE_SUFFIX}"
        if final.exists():
            raise InvalidSpecError("this package was already received")
        staged.replace(final)
    finally:
        staged.unlink(missing_ok=True)
    return {"project": project, "package": header.package_id, "dataset": named,
            "kind": header.kind, "bytes": size}  # fmt: skip


# -- workspace -------------------------------------------------------------------------------
@router.get("/projects/{project}/views", summary="The project's views and their columns")
async def views(project: str, caller: CallerDep, found: DeploymentDep) -> dict[str, list[str]]:
    """Views (one per linked dataset) and columns, for the project's analysts."""
    _project(found, caller, project, *_need(Operation.QUERY))
    with found.open_workspace(caller.user, project) as ws:
        return ws.views()


@router.post("/projects/{project}/query", summary="Run one read-only query inside the hub")
async def query(
    project: str, body: QueryRequest, caller: CallerDep, found: DeploymentDep
) -> dict[str, Any]:
    """Rows as the project's row-access policy allows (vetted, sandboxed and audited).

    A labelled dummy twin (``none``), at most 20 real rows (``preview``), or real rows at a
    safe setting.
    """
    _project(found, caller, project, *_need(Operation.QUERY))
    with found.open_workspace(caller.user, project) as ws:
        return ws.show(body.sql, body.limit).to_dict()


@router.post("/projects/{project}/analyses", status_code=201, summary="Run a checked analysis")
async def analyse(
    project: str, body: AnalysisRequest, caller: CallerDep, found: DeploymentDep
) -> dict[str, Any]:
    """The result is an output held in the hub with its disclosure-check report."""
    _project(found, caller, project, *_need(Operation.QUERY))
    with found.open_workspace(caller.user, project) as ws:
        if body.kind == "crosstab":
            if not body.by:
                raise InvalidSpecError("a crosstab needs at least one dimension in 'by'")
            made = ws.crosstab(body.sql, body.by)
        elif body.kind == "pivot":
            made = ws.pivot_table(
                body.sql, body.by, _required(body.value, "a 'value' column"), body.statistic,
                body.q,
            )  # fmt: skip
        elif body.kind == "histogram":
            made = ws.histogram(body.sql, _required(body.column, "a 'column'"), body.bins)
        elif body.kind == "survival":
            made = ws.survival(
                body.sql, _required(body.duration, "a 'duration' column"),
                _required(body.event, "an 'event' column"), body.edges,
            )  # fmt: skip
        else:
            formula = _required(body.formula, "a 'formula'")
            logit = body.kind == "logit" or (body.kind == "model" and body.model == "logit")
            made = ws.logit(body.sql, formula) if logit else ws.ols(body.sql, formula)
    return _shown(found, caller, project, made)


@router.get("/projects/{project}/outputs", summary="The project's outputs (or the review queue)")
async def list_outputs(
    project: str, caller: CallerDep, found: DeploymentDep, queue: bool = False
) -> list[dict[str, Any]]:
    """Outputs with their check results, for the project's analysts and output checkers."""
    _reader(found, caller, project)
    review = found.review(project)
    outputs = review.queue() if queue else review.outputs.all()
    return [_shown(found, caller, project, o) for o in outputs]


@router.get("/projects/{project}/outputs/{output}", summary="One output and its check report")
async def get_output(
    project: str, output: str, caller: CallerDep, found: DeploymentDep
) -> dict[str, Any]:
    """Rows, failing cells per rule, reviews and status (rows to checkers until released)."""
    _reader(found, caller, project)
    return _shown(found, caller, project, _existing(found, project, output))


@router.post("/projects/{project}/outputs/{output}/submit", summary="Submit an output for review")
async def submit(
    project: str, output: str, caller: CallerDep, found: DeploymentDep
) -> dict[str, Any]:
    """Its author sends it to the queue (or it is held, if its checks fail)."""
    _project(found, caller, project, *_need(Operation.SUBMIT_OUTPUT))
    _reader(found, caller, project)
    _existing(found, project, output)
    with found.open_workspace(caller.user, project) as ws:
        return _shown(found, caller, project, ws.submit(output))


@router.post("/projects/{project}/outputs/{output}/exception", summary="Ask for an exception")
async def exception(
    project: str, output: str, body: Exception_, caller: CallerDep, found: DeploymentDep
) -> dict[str, Any]:
    """The author of a held output asks the checkers to release it anyway, saying why."""
    _project(found, caller, project, *_need(Operation.SUBMIT_OUTPUT))
    _reader(found, caller, project)
    _existing(found, project, output)
    with found.open_workspace(caller.user, project) as ws:
        return _shown(found, caller, project, ws.request_exception(output, body.justification))


@router.post("/projects/{project}/outputs/{output}/reviews", summary="Review an output")
async def review(
    project: str, output: str, body: ReviewRequest, caller: CallerDep, found: DeploymentDep
) -> dict[str, Any]:
    """An output checker approves or rejects: never their own, never twice."""
    _project(found, caller, project, *_need(Operation.REVIEW_OUTPUT))
    _reader(found, caller, project)
    _existing(found, project, output)
    checkers = found.review(project)
    if body.decision == "approve":
        done = checkers.approve(caller.user, output, body.comment)
    else:
        done = checkers.reject(caller.user, output, body.comment)
    return _shown(found, caller, project, done)


@router.post("/projects/{project}/outputs/{output}/release", summary="Release an approved output")
async def release(
    project: str, output: str, caller: CallerDep, found: DeploymentDep
) -> dict[str, Any]:
    """Writes the release bundle (CSV, results.json, checksums) and adds it to the ledger."""
    _project(found, caller, project, *_need(Operation.RELEASE_OUTPUT))
    _reader(found, caller, project)
    _existing(found, project, output)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
    directory = found.release_dir(project) / f"{output}-{stamp}-{secrets.token_hex(3)}"
    bundle = found.review(project).release(caller.user, [output], directory)
    return {"project": project, "outputs": list(bundle.outputs), "released_by": caller.user,
            "bundle": directory.name, "checksums": bundle.checksums}  # fmt: skip


# -- audit -----------------------------------------------------------------------------------
@router.get("/audit/verify", summary="Verify the audit chain (administrators)")
async def verify(caller: CallerDep, found: DeploymentDep) -> dict[str, Any]:
    """Every event's hash, the chain and the signed checkpoints."""
    caller.within(None, (Role.ADMINISTRATOR,))
    if not found.is_admin(caller.user):
        raise AccessDenied(f"{caller.user!r} may not verify the audit log here: administrators")
    report = found.governance.verify_audit()
    return {**dataclasses.asdict(report),
            "key_fingerprint": found.governance.audit.signer.key_id}  # fmt: skip


@router.get("/audit/head", summary="The current signed head of the audit log")
async def head(caller: CallerDep, found: DeploymentDep) -> dict[str, Any]:
    """Keep it: ``ansim audit verify --head FILE`` later proves the log still extends it."""
    found.governance.audit.publish_head()
    signed = found.governance.audit.signer.read_head()
    if signed is None:
        raise NotFoundError("the audit log has no events yet")
    return signed


@router.get("/audit/events", summary="Audit events (administrators; members: their project)")
async def events(
    caller: CallerDep,
    found: DeploymentDep,
    project: Annotated[str | None, Query(max_length=63)] = None,
) -> list[dict[str, Any]]:
    """Events in order: who did what, when, in which role, on which objects (no values)."""
    if project is not None:
        _project(found, caller, project)
    else:
        caller.within(None, (Role.ADMINISTRATOR,))
    if not found.is_admin(caller.user) and project is None:
        raise AccessDenied("name your project: only administrators read the whole log")
    return [dataclasses.asdict(e) | {"objects": dict(e.objects)}
            for e in found.governance.audit.events(project)]  # fmt: skip
