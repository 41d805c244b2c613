"""Release commands: ``ansim release table/queue/review/publish``: clients of the hub's server.

``release table`` asks the server to make the rate table inside the hub and submit it to the
project's release path (:class:`~ansim.services.Release`); nothing leaves the hub until two
output checkers other than its author approve it and one of them publishes it with ``release
publish``, after the ledger's attacker LP; the released files are then fetched into ``--out``.
Every command acts as the user whose token ``ansim login`` stored (the server says who that
is); none opens the governance store, the hub store or a key from the user's own process.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ansim.cli._app import console, release_app

if TYPE_CHECKING:
    from ansim.client import Client

__all__ = ["ServerOpt", "hub_client", "write_release_files"]

Project = Annotated[str, typer.Option("--project", help="The project.")]
ReleaseId = Annotated[str, typer.Argument(help="Submission id, such as rel-0001.")]
ServerOpt = Annotated[
    str | None,
    typer.Option(
        "--server",
        help="The hub's server (default: the one 'ansim login' stored; another needs a login).",
    ),
]


def hub_client(server: str | None = None) -> Client:
    """A client of the hub's server with the token ``ansim login`` stored.

    Args:
        server: The server the user means; the stored token is sent to no other.

    Raises:
        AccessDenied: Not logged in, or logged in to another server.
    """
    from ansim.client import Client, Credentials, normalise_server
    from ansim.errors import AccessDenied

    stored = Credentials.load()
    if server is not None and normalise_server(server) != stored.server:
        raise AccessDenied(
            f"logged in to {stored.server}, not to {normalise_server(server)}: run 'ansim "
            "login --server URL' for that server first"
        )
    return Client(stored.server, stored.token)


def write_release_files(files: dict[str, bytes], out: Path) -> None:
    """Write fetched files and their ``SHA256SUMS`` into the new folder ``out``, all or none.

    Raises:
        InvalidSpecError: ``out`` exists.
    """
    import hashlib
    import shutil
    import tempfile

    from ansim.errors import InvalidSpecError

    if out.exists():
        raise InvalidSpecError(f"{out} exists: publish into a new directory")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        for name, data in files.items():
            if Path(name).name != name or name.startswith("."):
                raise InvalidSpecError(f"the server sent a file named {name!r}: not written")
            (staging / name).write_bytes(data)
        sums = "".join(f"{hashlib.sha256(d).hexdigest()}  {n}\n" for n, d in sorted(files.items()))
        (staging / "SHA256SUMS").write_text(sums, encoding="utf-8")
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


@release_app.command("table")
def release_table(
    *,
    project: Project,
    server: ServerOpt = None,
    events: Annotated[str, typer.Option("--events")] = "gyeonggi_cases",
    population: Annotated[str, typer.Option("--population")] = "kostat_register",
    threshold: Annotated[int, typer.Option("--threshold", help="Smallest publishable cell.")] = 10,
) -> None:
    """Make events per 100,000 by si/gun × age band × sex in the hub and submit it for review.

    Cells with fewer than the threshold, and cells the project's release ledger would refuse
    given everything it has released, are shown as ``x``.
    """
    with hub_client(server) as client:
        done = client.releases.submit_rate_table(
            project, events=events, population=population, threshold=threshold
        )
    submitted = done.get("submission") or {}
    console.print(
        f"{done.get('cells', 0):,} cells, {done.get('cells_suppressed', 0):,} suppressed: "
        f"submitted as {submitted.get('id')} for review (two output checkers, then 'ansim "
        "release publish')",
        highlight=False,
    )


@release_app.command("queue")
def release_queue(
    *,
    project: Project,
    server: ServerOpt = None,
    waiting: Annotated[
        bool, typer.Option("--waiting", help="Only the submissions awaiting review.")
    ] = False,
) -> None:
    """List the project's submissions and where each is in review."""
    with hub_client(server) as client:
        found = client.releases.submissions(project, queue=waiting)
    for item in found:
        console.print(
            f"{item.get('id')} {item.get('kind')} {item.get('status')} "
            f"({len(item.get('approvals') or ())}/{item.get('needed')} approvals) by "
            f"{item.get('author')}: {item.get('title')}",
            highlight=False,
        )


@release_app.command("review")
def release_review(
    release: ReleaseId,
    *,
    project: Project,
    server: ServerOpt = None,
    reject: Annotated[bool, typer.Option("--reject")] = False,
    comment: Annotated[str, typer.Option("--comment")] = "",
) -> None:
    """Approve (default) or reject a submission, as an output checker who is not its author."""
    with hub_client(server) as client:
        done = client.releases.review(project, release, "reject" if reject else "approve", comment)
    console.print(
        f"{done.get('id')}: {done.get('status')} "
        f"({len(done.get('approvals') or ())}/{done.get('needed')} approvals)",
        highlight=False,
    )


@release_app.command("publish")
def release_publish(
    release: ReleaseId,
    *,
    project: Project,
    out: Annotated[Path, typer.Option("--out", help="A new directory for the released files.")],
    server: ServerOpt = None,
) -> None:
    """Publish an approved submission, if the ledger's attacker LP allows it; fetch its files."""
    from ansim.errors import InvalidSpecError

    if out.exists():  # refused before the server releases anything
        raise InvalidSpecError(f"{out} exists: publish into a new directory")
    with hub_client(server) as client:
        published = client.releases.release(project, release)
        files = client.releases.fetch(project, release)
    write_release_files(files, out)
    audit = published.get("audit") or {}
    console.print(
        f"released {release} to {out} ({len(files)} files; ledger: "
        f"{audit.get('releases')} releases, {audit.get('cells')} cells audited)",
        highlight=False,
    )


@release_app.command("fetch")
def release_fetch(
    release: ReleaseId,
    *,
    project: Project,
    out: Annotated[Path, typer.Option("--out", help="A new directory for the files.")],
    server: ServerOpt = None,
) -> None:
    """Fetch a released submission's files (checksummed) into a new directory.

    Its author and the output checkers may fetch a submission under review, to read it.
    """
    from ansim.errors import InvalidSpecError

    if out.exists():
        raise InvalidSpecError(f"{out} exists: fetch into a new directory")
    with hub_client(server) as client:
        state = client.releases.submission(project, release)
        files = client.releases.fetch(project, release)
    write_release_files(files, out)
    console.print(f"{release} ({state.get('status')}): {len(files)} files → {out}", highlight=False)
