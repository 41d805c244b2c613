"""Release commands: ``ansim release table/queue/review/publish``: the project's one release path.

``release table`` makes the rate table in the hub and submits it to the project's release
service (:class:`~ansim.release.ReleaseService`); nothing is written outside the hub until two
output checkers other than its author approve it and one of them publishes it with
``release publish``, after the ledger's attacker LP over everything the project has released.
The acting user is the one ``ansim login`` proved (never a name given here); the ledger lives
beside the project's hub store (``<store dir>/workspace``), as the workspace's does.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ansim.cli._acting import acting_user
from ansim.cli._app import console, release_app
from ansim.cli._audit import DEFAULT_HOME, HomeOpt, UrlOpt, open_governance

if TYPE_CHECKING:
    from ansim.governance import Governance
    from ansim.release import ReleaseService

__all__ = ["deployment_home", "release_service"]

Project = Annotated[str, typer.Option("--project", help="The project.")]
Store = Annotated[
    Path, typer.Option("--store", help="The project's hub store (its release ledger is beside it).")
]
ReleaseId = Annotated[str, typer.Argument(help="Submission id, such as rel-0001.")]


def deployment_home(governance_home: Path) -> Path:
    """The deployment home whose portal shows a governance home's releases.

    The inverse of ``ansim serve``'s layout: a governance home nested as ``DIR/governance``
    belongs to ``DIR``; otherwise it is the deployment home itself.

    Example:
        >>> deployment_home(Path("demo/governance")), deployment_home(Path("site"))
        (PosixPath('demo'), PosixPath('site'))
    """
    return governance_home.parent if governance_home.name == "governance" else governance_home


def release_service(
    governance: Governance, project: str, store: Path, *, portal_home: Path | None = None
) -> ReleaseService:
    """The project's release service; its ledger is beside the hub store, in ``workspace``.

    Args:
        governance: The governance service.
        project: The project.
        store: The project's hub store.
        portal_home: The deployment home whose portal shows released ``portal.json`` tables
            (``None``: a candidate may not carry one).
    """
    from ansim.release import ReleaseService

    return ReleaseService(governance, project, store.parent / "workspace", portal_home=portal_home)


@release_app.command("table")
def release_table(
    *,
    store: Store,
    project: Project,
    home: HomeOpt = DEFAULT_HOME,
    url: UrlOpt = None,
    events: Annotated[str, typer.Option("--events")] = "gyeonggi_cases",
    population: Annotated[str, typer.Option("--population")] = "kostat_register",
    threshold: Annotated[int, typer.Option("--threshold", help="Smallest publishable cell.")] = 10,
) -> None:
    """Make events per 100,000 by si/gun × age band × sex and submit it for review.

    Cells with fewer than the threshold, and cells the project's release ledger would refuse
    given everything it has released, are shown as ``x``.
    """
    from ansim.release import Candidate, RateTableSpec, rate_table, vet_rate_table

    user = acting_user()
    spec = RateTableSpec(events=events, population=population, threshold=threshold)
    gov = open_governance(home, url)
    try:
        service = release_service(gov, project, store)
        with gov.open_hub_store(user, project, store) as engine:
            # cells the project's ledger would refuse, given all it released, are x too
            released = vet_rate_table(rate_table(engine, spec), service.ledger)
        submitted = service.submit(user, Candidate.rate_table(released))
    finally:
        gov.close()
    s = released.summary
    console.print(
        f"{s['cells']:,} cells, {s['cells_suppressed']:,} suppressed: submitted as "
        f"{submitted.id} for review (two output checkers, then 'ansim release publish')",
        highlight=False,
    )


@release_app.command("queue")
def release_queue(
    *, store: Store, project: Project, home: HomeOpt = DEFAULT_HOME, url: UrlOpt = None
) -> None:
    """List the project's submissions and where each is in review."""
    gov = open_governance(home, url)
    try:
        found = release_service(gov, project, store).all()
    finally:
        gov.close()
    for item in found:
        console.print(
            f"{item.id} {item.kind.value} {item.status.value} "
            f"({len(item.approvals)}/{item.needed} approvals) by {item.author}: {item.title}",
            highlight=False,
        )


@release_app.command("review")
def release_review(
    release: ReleaseId,
    *,
    store: Store,
    project: Project,
    home: HomeOpt = DEFAULT_HOME,
    url: UrlOpt = None,
    reject: Annotated[bool, typer.Option("--reject")] = False,
    comment: Annotated[str, typer.Option("--comment")] = "",
) -> None:
    """Approve (default) or reject a submission, as an output checker who is not its author."""
    user = acting_user()
    gov = open_governance(home, url)
    try:
        service = release_service(gov, project, store)
        if reject:
            done = service.reject(user, release, comment)
        else:
            done = service.approve(user, release, comment)
    finally:
        gov.close()
    console.print(
        f"{done.id}: {done.status.value} ({len(done.approvals)}/{done.needed} approvals)",
        highlight=False,
    )


@release_app.command("publish")
def release_publish(
    release: ReleaseId,
    *,
    store: Store,
    project: Project,
    out: Annotated[Path, typer.Option("--out", help="A new directory for the released files.")],
    home: HomeOpt = DEFAULT_HOME,
    url: UrlOpt = None,
) -> None:
    """Publish an approved submission, if the ledger's attacker LP allows it."""
    user = acting_user()
    gov = open_governance(home, url)
    try:
        service = release_service(gov, project, store, portal_home=deployment_home(home))
        published = service.release(user, release, out)
    finally:
        gov.close()
    console.print(
        f"released {published.submission} to {out} ({len(published.checksums)} files; ledger: "
        f"{published.audit.releases} releases, {published.audit.cells} cells audited)",
        highlight=False,
    )
