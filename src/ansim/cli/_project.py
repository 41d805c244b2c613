"""Project commands: ``ansim project …``: the linkage secret and project governance.

Every governance command is a client of the hub's server and acts as the user who logged in
(``ansim login``); ``init`` (a custodians' secret) and ``bootstrap`` (the first administrator of
an empty installation, on the server's machine) run locally.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ansim.cli._app import console, project_app
from ansim.cli._audit import DEFAULT_HOME, HomeOpt, UrlOpt

if TYPE_CHECKING:
    from ansim.client import Client

__all__: list[str] = []


def _client() -> Client:
    from ansim.client import Client

    return Client.stored()


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


@project_app.command("bootstrap")
def project_bootstrap(
    *,
    admin: Annotated[str, typer.Option("--admin", help="The first administrator's account.")],
    name: Annotated[str, typer.Option("--name")] = "Administrator",
    organisation: Annotated[str, typer.Option("--org")] = "",
    home: HomeOpt = DEFAULT_HOME,
    url: UrlOpt = None,
) -> None:
    """Create a governance home and its first administrator (an empty installation only).

    Prints the administrator's one-time password; give it to them, they change it at first
    login. Refused once the installation has any user.
    """
    from ansim.governance import Accounts, Governance

    gov = Governance(home, url=url)
    try:
        gov.bootstrap(admin, name, organisation)
        password = Accounts(gov).set_password(admin, admin)
    finally:
        gov.close()
    console.print(f"governance home {home}: administrator {admin!r}", highlight=False)
    console.print(
        f"one-time password (shown once; change it at first login): {password}", highlight=False
    )


@project_app.command("user")
def project_user(
    *,
    user: Annotated[str, typer.Argument(help="New user id.")],
    name: Annotated[str, typer.Option("--name")],
    organisation: Annotated[str, typer.Option("--org")],
) -> None:
    """Register a user and print their one-time password (administrators only)."""
    with _client() as client:
        answer = client.admin.create_user(user, name, organisation)
    console.print(f"registered {user!r}", highlight=False)
    if answer.get("password"):
        console.print(
            f"one-time password (shown once, hand it over in person): {answer['password']}",
            highlight=False,
        )


@project_app.command("create")
def project_create(
    *,
    project: Annotated[str, typer.Argument(help="Project id.")],
    title: Annotated[str, typer.Option("--title")],
    purpose: Annotated[
        str,
        typer.Option(
            "--purpose",
            help="statistics, scientific_research, "
            "public_interest_archiving or data_based_administration",
        ),
    ],
    description: Annotated[str, typer.Option("--description")],
    dataset: Annotated[list[str], typer.Option("--dataset", help="DATASET=CUSTODIAN (repeat).")],
    start: Annotated[str, typer.Option("--start", help="First day (YYYY-MM-DD).")],
    end: Annotated[str, typer.Option("--end", help="Last day of processing (YYYY-MM-DD).")],
) -> None:
    """Apply for a project: purpose, datasets (each custodian must approve) and period."""
    import datetime as dt

    from ansim.errors import InvalidSpecError
    from ansim.governance import DatasetRequest, ProjectApplication, Purpose

    try:
        requests = tuple(DatasetRequest(*d.split("=", 1)) for d in dataset)
        application = ProjectApplication(
            project, title, Purpose(purpose), description, requests,
            dt.date.fromisoformat(start), dt.date.fromisoformat(end),
        )  # fmt: skip
    except (TypeError, ValueError) as e:
        if isinstance(e, InvalidSpecError):
            raise
        raise InvalidSpecError(
            "check --purpose, --dataset DATASET=CUSTODIAN and the YYYY-MM-DD dates"
        ) from e
    with _client() as client:
        client.admin.create_project(application)
    console.print(
        f"project {project!r} created: it receives no data until every custodian approves"
    )


@project_app.command("list")
def project_list() -> None:
    """The projects you belong to (an administrator: all), one per line."""
    with _client() as client:
        for record in client.admin.projects():
            console.print(
                f"{record.get('id') or record.get('project')}: {record.get('title', '')} "
                f"({record.get('status', '')})",
                highlight=False,
            )


@project_app.command("member")
def project_member(
    *,
    project: Annotated[str, typer.Argument()],
    user: Annotated[str, typer.Argument()],
    role: Annotated[
        str,
        typer.Argument(
            help="custodian_officer, linkage_unit_operator, hub_operator, analyst or output_checker"
        ),
    ],
    custodian: Annotated[str | None, typer.Option("--custodian")] = None,
) -> None:
    """Give a user a role in a project (administrators only)."""
    from ansim.errors import InvalidSpecError
    from ansim.governance import Role

    try:
        Role(role)
    except ValueError as e:
        raise InvalidSpecError(f"unknown role {role!r}") from e
    with _client() as client:
        client.admin.add_member(project, user, role, custodian)
    console.print(f"{user!r} is {role} in {project!r}")


@project_app.command("approve")
def project_approve(
    *,
    project: Annotated[str, typer.Argument()],
    dataset: Annotated[str, typer.Argument()],
) -> None:
    """Approve the project's use of your dataset (custodian officers)."""
    with _client() as client:
        client.custodian.decide(project, dataset, "approve")
    console.print(f"{dataset!r} approved for {project!r}")


@project_app.command("revoke")
def project_revoke(
    *,
    project: Annotated[str, typer.Argument()],
    dataset: Annotated[str, typer.Argument()],
) -> None:
    """Withdraw approval: every further use of the project's data stops (custodian officers)."""
    with _client() as client:
        client.custodian.decide(project, dataset, "revoke")
    console.print(f"{dataset!r} revoked for {project!r}: further use is blocked")


@project_app.command("key")
def project_key(project: Annotated[str, typer.Argument()]) -> None:
    """Issue the project's data key, wrapped by the master key (administrators only)."""
    with _client() as client:
        answer = client.admin.issue_key(project)
    console.print(f"data key {answer.get('key_id', '')} issued for {project!r}", highlight=False)


@project_app.command("show")
def project_show(project: Annotated[str, typer.Argument()]) -> None:
    """Print a project's record: purpose, datasets, members, approvals, key, outputs."""
    with _client() as client:
        record = client.admin.project(project)
    typer.echo(json.dumps(record, ensure_ascii=False, indent=2, default=str))


@project_app.command("records")
def project_records(
    *,
    project: Annotated[str, typer.Argument()],
    out: Annotated[Path, typer.Option("--out", help="Directory for the exports.")],
) -> None:
    """Export the PIPA processing record (CSV, JSON) and the Five Safes summary."""
    from ansim._atomic import write_text_atomic
    from ansim.errors import ServerError

    with _client() as client:
        files = client.admin.records(project)
    for name, content in files.items():
        if Path(name).name != name or name.startswith("."):
            raise ServerError("the server named an export file outside the output directory")
        console.print(f"→ {write_text_atomic(content, out / name)}", highlight=False)


@project_app.command("destroy")
def project_destroy(
    *,
    project: Annotated[str | None, typer.Argument(help="Omit with --expired.")] = None,
    reason: Annotated[str, typer.Option("--reason")] = "on request",
    expired: Annotated[
        bool, typer.Option("--expired", help="Every project past its period.")
    ] = False,
) -> None:
    """Crypto-shred a project: destroy its key, remove its files, write a certificate."""
    from ansim.errors import InvalidSpecError

    if expired == (project is not None):
        raise InvalidSpecError("name one project, or pass --expired")
    with _client() as client:
        if expired:
            due, reason = _expired(client.admin.projects()), "end of processing period"
        else:
            due = [str(project)]
        certificates = [client.admin.destroy(p, reason) for p in due]
    for c in certificates:
        console.print(
            f"{c.get('project')}: keys {list(c.get('key_ids', ()))} destroyed, "
            f"{len(c.get('files', ()))} files removed; record kept until "
            f"{c.get('record_kept_until')}",
            highlight=False,
        )


def _expired(records: list[dict[str, Any]]) -> list[str]:
    """Active projects whose processing period ended before today (UTC)."""
    import datetime as dt

    today = dt.datetime.now(dt.UTC).date().isoformat()
    return [
        str(r.get("id") or r.get("project"))
        for r in records
        if r.get("status") == "active" and str(r.get("period_end", "9999"))[:10] < today
    ]


@project_app.command("policy")
def project_policy(
    project: Annotated[str, typer.Argument()],
    *,
    rows: Annotated[
        str | None,
        typer.Option(
            "--rows",
            help="Row access of workspace queries: none (a dummy twin, the default), preview "
            "(20 real rows a query) or safe_setting (a named workstation; administrators only).",
        ),
    ] = None,
    workstation: Annotated[
        str | None, typer.Option("--workstation", help="The workstation of a safe_setting.")
    ] = None,
    twin: Annotated[
        str | None,
        typer.Option(
            "--twin",
            help="What the dummy twin is built from: domains (declared domains only, the "
            "default) or dp_synthetic (MST fitted on each view, paid from the project's "
            "privacy budget; give --rho or --epsilon per view; administrators only).",
        ),
    ] = None,
    rho: Annotated[
        float | None, typer.Option("--rho", help="zCDP rho of each view's DP synthetic twin.")
    ] = None,
    epsilon: Annotated[
        float | None, typer.Option("--epsilon", help="Or its epsilon (at the budget's delta).")
    ] = None,
) -> None:
    """Show a project's row-access policy and twin kind, or set them (administrators; audited)."""
    from ansim.errors import InvalidSpecError
    from ansim.governance import RowAccessMode, TwinKind

    if twin is None and (rho is not None or epsilon is not None):
        raise InvalidSpecError("--rho and --epsilon go with --twin dp_synthetic")
    with _client() as client:
        if rows is None:
            if workstation is not None:
                raise InvalidSpecError("--workstation goes with --rows safe_setting")
            answer = client.admin.row_access(project)
        else:
            try:
                mode = RowAccessMode(rows)
            except ValueError as e:
                raise InvalidSpecError(
                    f"--rows is one of {', '.join(m.value for m in RowAccessMode)}"
                ) from e
            answer = client.admin.set_row_access(project, mode.value, workstation)
        if twin is None:
            kind = client.admin.twin(project)
        else:
            try:
                wanted = TwinKind(twin)
            except ValueError as e:
                raise InvalidSpecError(
                    f"--twin is one of {', '.join(k.value for k in TwinKind)}"
                ) from e
            kind = client.admin.set_twin(project, wanted.value, rho=rho, epsilon=epsilon)
    where = f" at workstation {answer['workstation']!r}" if answer.get("workstation") else ""
    by = f" (set by {answer['set_by']} at {answer['set_at']})" if answer.get("set_by") else ""
    console.print(f"{project}: row access {answer.get('mode')}{where}{by}", highlight=False)
    console.print(f"{project}: dummy twin {_twin_kind(kind)}", highlight=False)


def _twin_kind(kind: dict[str, Any]) -> str:
    """``dp_synthetic (rho 0.0175, epsilon 1 per view; set by …)`` or ``domains``."""
    text = str(kind.get("kind"))
    if kind.get("rho") is not None:
        text += f" (rho {float(kind['rho']):.3g}, epsilon {float(kind['epsilon']):.3g} per view)"
    if kind.get("set_by"):
        text += f" (set by {kind['set_by']} at {kind['set_at']})"
    return text
