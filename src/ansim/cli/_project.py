"""Project commands: ``ansim project …``: the linkage secret and project governance."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from ansim.cli._app import console, project_app
from ansim.cli._audit import DEFAULT_HOME, HomeOpt, UrlOpt, open_governance

if TYPE_CHECKING:
    from ansim.governance import Governance

T = TypeVar("T")

__all__: list[str] = []


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


Actor = Annotated[str, typer.Option("--as", envvar="ANSIM_USER", help="Who is acting (user id).")]


@project_app.command("bootstrap")
def project_bootstrap(
    *,
    admin: Annotated[str, typer.Option("--admin", help="The first administrator's user id.")],
    name: Annotated[str, typer.Option("--name")] = "Administrator",
    organisation: Annotated[str, typer.Option("--org")] = "",
    home: HomeOpt = DEFAULT_HOME,
    url: UrlOpt = None,
) -> None:
    """Create a governance home (metadata store, master key, audit key) and its administrator."""
    from ansim.governance import Governance

    gov = Governance(home, url=url)
    try:
        gov.bootstrap(admin, name, organisation)
    finally:
        gov.close()
    console.print(f"governance home {home}: administrator {admin!r}")


@project_app.command("user")
def project_user(
    *,
    actor: Actor,
    user: Annotated[str, typer.Argument(help="New user id.")],
    name: Annotated[str, typer.Option("--name")],
    organisation: Annotated[str, typer.Option("--org")],
    home: HomeOpt = DEFAULT_HOME,
    url: UrlOpt = None,
) -> None:
    """Register a user (administrators only)."""
    _run(home, url, lambda g: g.register_user(actor, user, name, organisation))
    console.print(f"registered {user!r}")


@project_app.command("create")
def project_create(
    *,
    actor: Actor,
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
    home: HomeOpt = DEFAULT_HOME,
    url: UrlOpt = None,
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
    _run(home, url, lambda g: g.create_project(actor, application))
    console.print(
        f"project {project!r} created: it receives no data until every custodian approves"
    )


@project_app.command("member")
def project_member(
    *,
    actor: Actor,
    project: Annotated[str, typer.Argument()],
    user: Annotated[str, typer.Argument()],
    role: Annotated[
        str,
        typer.Argument(
            help="custodian_officer, linkage_unit_operator, hub_operator, analyst or output_checker"
        ),
    ],
    custodian: Annotated[str | None, typer.Option("--custodian")] = None,
    home: HomeOpt = DEFAULT_HOME,
    url: UrlOpt = None,
) -> None:
    """Give a user a role in a project (administrators only)."""
    from ansim.errors import InvalidSpecError
    from ansim.governance import Role

    try:
        parsed = Role(role)
    except ValueError as e:
        raise InvalidSpecError(f"unknown role {role!r}") from e
    _run(home, url, lambda g: g.add_member(actor, project, user, parsed, custodian=custodian))
    console.print(f"{user!r} is {role} in {project!r}")


@project_app.command("approve")
def project_approve(
    *,
    actor: Actor,
    project: Annotated[str, typer.Argument()],
    dataset: Annotated[str, typer.Argument()],
    home: HomeOpt = DEFAULT_HOME,
    url: UrlOpt = None,
) -> None:
    """Approve the project's use of your dataset (custodian officers)."""
    _run(home, url, lambda g: g.approve(actor, project, dataset))
    console.print(f"{dataset!r} approved for {project!r}")


@project_app.command("revoke")
def project_revoke(
    *,
    actor: Actor,
    project: Annotated[str, typer.Argument()],
    dataset: Annotated[str, typer.Argument()],
    home: HomeOpt = DEFAULT_HOME,
    url: UrlOpt = None,
) -> None:
    """Withdraw approval: every further use of the project's data stops (custodian officers)."""
    _run(home, url, lambda g: g.revoke(actor, project, dataset))
    console.print(f"{dataset!r} revoked for {project!r}: further use is blocked")


@project_app.command("key")
def project_key(
    *,
    actor: Actor,
    project: Annotated[str, typer.Argument()],
    home: HomeOpt = DEFAULT_HOME,
    url: UrlOpt = None,
) -> None:
    """Issue the project's data key, wrapped by the master key (administrators only)."""
    key_id = _run(home, url, lambda g: g.issue_key(actor, project))
    console.print(f"data key {key_id} issued for {project!r}")


@project_app.command("show")
def project_show(
    project: Annotated[str, typer.Argument()],
    home: HomeOpt = DEFAULT_HOME,
    url: UrlOpt = None,
) -> None:
    """Print a project's record: purpose, datasets, members, approvals, key, outputs."""
    record = _run(home, url, lambda g: g.project(project))
    typer.echo(json.dumps(record, ensure_ascii=False, indent=2, default=str))


@project_app.command("records")
def project_records(
    *,
    actor: Actor,
    project: Annotated[str, typer.Argument()],
    out: Annotated[Path, typer.Option("--out", help="Directory for the exports.")],
    home: HomeOpt = DEFAULT_HOME,
    url: UrlOpt = None,
) -> None:
    """Export the PIPA processing record (CSV, JSON) and the Five Safes summary."""
    paths = _run(home, url, lambda g: g.export_records(actor, project, out))
    for path in paths:
        console.print(f"→ {path}")


@project_app.command("destroy")
def project_destroy(
    *,
    actor: Actor,
    project: Annotated[str | None, typer.Argument(help="Omit with --expired.")] = None,
    reason: Annotated[str, typer.Option("--reason")] = "on request",
    expired: Annotated[
        bool, typer.Option("--expired", help="Every project past its period.")
    ] = False,
    home: HomeOpt = DEFAULT_HOME,
    url: UrlOpt = None,
) -> None:
    """Crypto-shred a project: destroy its key, remove its files, write a certificate."""
    from ansim.errors import InvalidSpecError

    if expired == (project is not None):
        raise InvalidSpecError("name one project, or pass --expired")
    certificates = _run(
        home, url,
        lambda g: g.destroy_expired(actor) if expired else [g.destroy(actor, str(project), reason)],
    )  # fmt: skip
    for c in certificates:
        console.print(f"{c.project}: keys {list(c.key_ids)} destroyed, {len(c.files)} files "
                      f"removed; record kept until {c.record_kept_until}")  # fmt: skip


def _run(home: Path, url: str | None, call: Callable[[Governance], T]) -> T:
    gov = open_governance(home, url)
    try:
        return call(gov)
    finally:
        gov.close()
