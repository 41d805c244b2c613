"""The linkage unit and the hub over HTTP: link the waiting packages, combine, list the views.

Each handler resolves the caller, hides projects the caller is not part of (404), checks the
API token's scope and that the caller holds the party's role in the project (403), then calls
the party service (:class:`~ansim.services.LinkageUnit`, :class:`~ansim.services.Hub`) with the
caller as actor: governance authorises every step again (approvals, period, data key) and
audits it. Answers hold names and counts only, never a record's values.

The parties' working directories follow the demo's layout: the linkage unit works in
``<home>/linkage_unit`` (key store ``keys/``), the hub beside the project's store (its
``inbox/``, where custodians' uploads and the sealed link map land, and ``keys/``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from ansim.errors import AccessDenied, IntegrityError, InvalidSpecError
from ansim.governance import Operation, Role
from ansim.linkage import METHODS, REPORT_FILE, LinkageConfig
from ansim.packages import PartyKeyStore, packages_in, read_package_header
from ansim.server._auth import Caller, CallerDep, DeploymentDep
from ansim.server._deployment import Deployment
from ansim.server._errors import JsonResponse
from ansim.services import Hub, LinkageUnit

__all__ = [
    "Combination",
    "HubViews",
    "LinkageRun",
    "LinkageRunReport",
    "LinkageRuns",
    "hub_packages",
    "identity_packages",
    "linkage_unit",
    "opened",
    "party_hub",
    "report_path",
    "router",
]

router = APIRouter(prefix="/api", default_response_class=JsonResponse)

# the audit actions under which the linkage unit and the hub record the packages they open
_OPENING = frozenset({"run_linkage", "combine"})


class LinkageRun(BaseModel):
    """How the linkage unit links the waiting identity packages."""

    method: Annotated[
        str, Field(min_length=1, max_length=200, description=f"One of {', '.join(METHODS)}.")
    ] = "probabilistic"


class LinkageRunReport(BaseModel):
    """What a linkage run answers: the report's counts, never a record."""

    project: str
    method: str
    packages: list[str] = Field(description="The identity packages opened (package ids).")
    records: dict[str, int] = Field(description="Records linked, per dataset.")
    persons: int
    linked_pairs: dict[str, int]
    persons_by_sources: dict[str, int] = Field(description="Persons by number of sources.")
    link_map_package: str = Field(description="The link map's package, sealed for the hub.")


class LinkageRunEntry(BaseModel):
    """One linkage run, from the audit log."""

    at: str
    by: str
    method: str


class LastReport(BaseModel):
    """The counts of the linkage unit's last report."""

    method: str | None
    records: dict[str, int] | None
    persons: int | None


class LinkageRuns(BaseModel):
    """The project's linkage runs and the identity packages waiting."""

    project: str
    runs: list[LinkageRunEntry]
    last_report: LastReport | None
    waiting: list[str]


class Combination(BaseModel):
    """What combining answers: the linked tables' row counts."""

    project: str
    tables: dict[str, int]
    persons: int
    packages: list[str]


class View(BaseModel):
    """One linked view: its name and row count."""

    name: str
    rows: int


class HubViews(BaseModel):
    """The project's linked views."""

    project: str
    views: list[View]


# -- the parties' places ---------------------------------------------------------------------
def _keys(root: Path, party: str) -> PartyKeyStore:
    """The party's key store (the error names the party, never a path on the server)."""
    try:
        return PartyKeyStore.open(root)
    except InvalidSpecError:
        raise InvalidSpecError(f"{party} has no usable key store on this server") from None


def linkage_unit(found: Deployment, project: str) -> LinkageUnit:
    """The deployment's linkage unit for a project (working in ``<home>/linkage_unit``).

    Raises:
        InvalidSpecError: The linkage unit has no key store there.
    """
    home = found.home / "linkage_unit"
    return LinkageUnit(found.governance, project, home, _keys(home / "keys", "the linkage unit"))


def party_hub(found: Deployment, project: str) -> Hub:
    """The deployment's hub for a project (working beside the project's store).

    Raises:
        InvalidSpecError: The hub has no key store there.
        NotFoundError: The project has no hub store.
    """
    store = found.hub_store(project)
    keys = _keys(store.parent / "keys", "the hub")
    return Hub(found.governance, project, store.parent, keys, store)


def opened(events: list[dict[str, Any]]) -> set[str]:
    """The package and part files the linkage unit and the hub recorded opening."""
    return {
        name for e in events if e["action"] in _OPENING
        for name in e["objects"].get("received", {})
    }  # fmt: skip


def _events(found: Deployment, project: str) -> list[dict[str, Any]]:
    return [
        {"at": e.at, "actor": e.actor, "action": e.action, "objects": dict(e.objects)}
        for e in found.governance.audit.events(project)
    ]


def _newest(paths: list[Path], project: str, done: set[str]) -> list[Path]:
    """The project's newest unopened package of each kind and dataset.

    A part sent again replaces the earlier one; a link map sealed again, the earlier map; a
    package once opened is not offered again (its recipient refuses a replay).
    """
    newest: dict[tuple[str, str], tuple[str, Path]] = {}
    for path in (p for p in paths if p.name not in done):
        header = read_package_header(path)
        key = (header.kind, header.dataset)
        if header.project == project and (key not in newest or header.created > newest[key][0]):
            newest[key] = (header.created, path)
    return sorted(path for _, path in newest.values())


def identity_packages(found: Deployment, project: str, done: set[str]) -> list[Path]:
    """Identity packages uploaded to the server for the project, and any in the unit's inbox."""
    uploaded = packages_in(found.inbox(project), "identity")
    own = packages_in(found.home / "linkage_unit" / "inbox", "identity")
    return _newest([*uploaded, *own], project, done)


def hub_packages(found: Deployment, project: str, done: set[str]) -> list[Path]:
    """The content packages and the link map waiting in the project's hub inbox."""
    inbox = found.inbox(project)
    kinds = [*packages_in(inbox, "content"), *packages_in(inbox, "linkmap")]
    return _newest(kinds, project, done)


def _holding(
    found: Deployment, caller: Caller, project: str, operation: Operation, *roles: Role
) -> set[Role]:
    """404 unless the caller may know the project; 403 unless they hold one of ``roles``.

    A refusal goes through governance, which audits it (``access_denied``) and raises.
    """
    found.visible(caller.user, project)
    caller.within(project, roles)
    held = found.project_roles(caller.user, project) & set(roles)
    if not held:
        found.governance.authorize(caller.user, project, operation, objects={"step": "refused"})
        names = " or ".join(r.value for r in roles)
        raise AccessDenied(f"{caller.user!r} may not do this in project {project!r}: it needs "
                           f"the role {names}")  # fmt: skip
    return held


def _waiting(paths: list[Path], party: str) -> list[Path]:
    if not paths:
        raise IntegrityError(f"no package waits for {party} in this project")
    return paths


# -- linkage unit ----------------------------------------------------------------------------
@router.post(
    "/projects/{project}/linkage/runs",
    status_code=201,
    summary="Link the waiting identity packages (the linkage unit)",
    response_model=LinkageRunReport,
)
async def run_linkage(
    project: str, body: LinkageRun, caller: CallerDep, found: DeploymentDep
) -> dict[str, Any]:
    """Open the waiting identity packages, link them and seal the link map for the hub.

    The sealed link map lands in the hub's inbox. The answer is the linkage report's counts
    (records per dataset, persons, linked pairs); the link map itself stays inside.
    """
    _holding(found, caller, project, Operation.RUN_LINKAGE, Role.LINKAGE_UNIT_OPERATOR)
    config = LinkageConfig(method=body.method)
    waiting = identity_packages(found, project, opened(_events(found, project)))
    packages = _waiting(waiting, "the linkage unit")
    unit = linkage_unit(found, project)
    made = unit.link(caller.user, unit.receive(caller.user, packages), config)
    sealed = unit.seal_link_map(caller.user, out_dir=found.inbox(project))
    report = made.report
    return {
        "project": project, "method": report.method,
        "packages": [read_package_header(p).package_id for p in packages],
        "records": dict(report.records), "persons": report.persons,
        "linked_pairs": dict(report.linked_pairs),
        "persons_by_sources": {str(k): v for k, v in report.persons_by_sources.items()},
        "link_map_package": read_package_header(sealed).package_id,
    }  # fmt: skip


@router.get(
    "/projects/{project}/linkage/runs",
    summary="The linkage unit's runs and what waits",
    response_model=LinkageRuns,
)
async def linkage_runs(project: str, caller: CallerDep, found: DeploymentDep) -> dict[str, Any]:
    """The runs (time, operator, method), the last report's counts and what waits.

    The runs come from the audit log; the waiting identity packages are named by package id.
    """
    _holding(found, caller, project, Operation.RUN_LINKAGE, Role.LINKAGE_UNIT_OPERATOR)
    events = _events(found, project)
    runs = [
        {"at": e["at"], "by": e["actor"], "method": e["objects"].get("method", "")}
        for e in events
        if e["action"] == Operation.RUN_LINKAGE.value and e["objects"].get("step") == "link"
    ]
    waiting = identity_packages(found, project, opened(events))
    return {"project": project, "runs": runs, "last_report": _last_report(found, project),
            "waiting": [read_package_header(p).package_id for p in waiting]}  # fmt: skip


def report_path(found: Deployment, project: str) -> Path | None:
    """The linkage unit's report file if it is this project's, else None.

    The unit's working directory serves every project: its report is shown only if the unit's
    last linkage, across the deployment, was this project's.
    """
    linkage = Operation.RUN_LINKAGE.value
    links = [
        e for e in found.governance.audit.events(None)
        if e.action == linkage and e.objects.get("step") == "link"
    ]  # fmt: skip
    path = found.home / "linkage_unit" / REPORT_FILE
    if not links or links[-1].project != project or not path.is_file():
        return None
    return path


def _last_report(found: Deployment, project: str) -> dict[str, Any] | None:
    """The counts of the linkage unit's last report (its method, records per dataset, persons)."""
    path = report_path(found, project)
    if path is None:
        return None
    report = json.loads(path.read_text(encoding="utf-8"))
    return {key: report.get(key) for key in ("method", "records", "persons")}


# -- hub operator ----------------------------------------------------------------------------
@router.post(
    "/projects/{project}/hub/combine",
    status_code=201,
    summary="Combine the waiting content packages through the link map (the hub)",
    response_model=Combination,
)
async def combine(project: str, caller: CallerDep, found: DeploymentDep) -> dict[str, Any]:
    """Open the waiting content packages and link map, and join them into the encrypted store.

    The answer is the linked tables' row counts and the number of persons.
    """
    _holding(found, caller, project, Operation.COMBINE, Role.HUB_OPERATOR)
    waiting = hub_packages(found, project, opened(_events(found, project)))
    packages = _waiting(waiting, "the hub")
    party = party_hub(found, project)
    linked = party.combine(caller.user, party.receive(caller.user, packages))
    return {"project": project, "tables": dict(linked.tables), "persons": linked.persons,
            "packages": [read_package_header(p).package_id for p in packages]}  # fmt: skip


@router.get(
    "/projects/{project}/hub/views",
    summary="The linked views: names and row counts",
    response_model=HubViews,
)
async def hub_views(project: str, caller: CallerDep, found: DeploymentDep) -> dict[str, Any]:
    """The hub store's linked tables and their row counts, for its analysts and hub operators.

    An analyst opens the store to read (audited as a query's key use); a hub operator as the
    party that writes it. No store yet: no views.
    """
    held = _holding(found, caller, project, Operation.QUERY, Role.ANALYST, Role.HUB_OPERATOR)
    store = found.hub_store(project)
    if not store.is_file():
        return {"project": project, "views": []}
    # governance checks the role again and audits the key's use (read, or the writer's)
    write = Role.ANALYST not in held
    with found.governance.open_hub_store(caller.user, project, store, write=write) as engine:
        names = sorted(t for t in engine.list_tables() if t.startswith("linked_"))
        views = [{"name": name, "rows": engine.count(engine.table(name))} for name in names]
    return {"project": project, "views": views}
