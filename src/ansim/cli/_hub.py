"""Hub and release commands: ``ansim hub combine``, ``ansim release table``.

With ``--project`` (and ``--as``), the store is the project's encrypted hub store, opened
through governance (role and approval checks, audited key use). ``hub combine`` always runs
governed, through ``ansim.services.Hub``, on sealed packages only; ``release table`` without
``--project`` reads a plain DuckDB file, for trials on one's own data.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ansim.cli._app import console, hub_app, release_app
from ansim.cli._audit import DEFAULT_HOME, HomeOpt, UrlOpt, open_governance

if TYPE_CHECKING:
    from ansim.engine import Engine

__all__: list[str] = []

ProjectOpt = Annotated[
    str | None,
    typer.Option("--project", help="Governed project: use its encrypted hub store."),
]
ActorOpt = Annotated[
    str | None,
    typer.Option("--as", envvar="ANSIM_USER", help="Who is acting (with --project)."),
]


def _open_store(
    store: Path, project: str | None, actor: str | None, home: Path, url: str | None, *, write: bool
) -> Engine:
    from ansim.engine import Engine
    from ansim.errors import InvalidSpecError

    if project is None:
        return Engine(store, read_only=not write)
    if actor is None:
        raise InvalidSpecError("--project needs --as USER (or ANSIM_USER): who is acting")
    gov = open_governance(home, url)
    try:
        return gov.open_hub_store(actor, project, store, write=write)
    finally:
        gov.close()


@hub_app.command("combine")
def hub_combine(
    *,
    content: Annotated[
        list[Path], typer.Option("--content", help="Sealed content package, *.ansim (repeat).")
    ],
    linkmap: Annotated[
        Path, typer.Option("--linkmap", help="Sealed link-map package from the linkage unit.")
    ],
    store: Annotated[Path, typer.Option("--store", help="The hub's DuckDB file.")],
    keys: Annotated[Path | None, typer.Option("--keys", help="The hub's key store.")] = None,
    project: ProjectOpt = None,
    actor: ActorOpt = None,
    home: HomeOpt = DEFAULT_HOME,
    url: UrlOpt = None,
) -> None:
    """Open sealed content packages and the link map; join them into the project's store.

    Parts are accepted only as sealed packages (a plain Parquet part is refused); the opened
    files go to STORE's folder, received/. Runs through ansim.services.Hub (checked, audited).
    """
    from ansim.cli._packages import passphrase
    from ansim.errors import InvalidSpecError
    from ansim.packages import PartyKeyStore
    from ansim.services import Hub, require_packages

    packages = require_packages([*content, linkmap], "the hub")
    if project is None or actor is None or keys is None:
        raise InvalidSpecError("hub combine needs --project, --as USER and --keys (the hub's)")
    party = PartyKeyStore.open(keys, passphrase=passphrase())
    gov = open_governance(home, url)
    try:
        hub = Hub(gov, project, store.parent, party, store)
        linked = hub.combine(actor, hub.receive(actor, packages))
    finally:
        gov.close()
    console.print(f"{linked.persons:,} persons; tables {linked.tables} in {store}")


@release_app.command("table")
def release_table(
    *,
    store: Annotated[Path, typer.Option("--store", help="The hub's DuckDB file.")],
    out: Annotated[Path, typer.Option("--out", help="CSV to write.")],
    events: Annotated[str, typer.Option("--events")] = "gyeonggi_cases",
    population: Annotated[str, typer.Option("--population")] = "kostat_register",
    threshold: Annotated[int, typer.Option("--threshold", help="Smallest publishable cell.")] = 10,
    project: ProjectOpt = None,
    actor: ActorOpt = None,
    home: HomeOpt = DEFAULT_HOME,
    url: UrlOpt = None,
) -> None:
    """Release events per 100,000 by si/gun × age band × sex, suppressing small cells."""
    from ansim.release import RateTableSpec, rate_table, write_release

    spec = RateTableSpec(events=events, population=population, threshold=threshold)
    with _open_store(store, project, actor, home, url, write=False) as engine:
        released = rate_table(engine, spec)
    write_release(released, out)
    s = released.summary
    console.print(f"{s['cells']:,} cells, {s['cells_suppressed']:,} suppressed → {out}")
