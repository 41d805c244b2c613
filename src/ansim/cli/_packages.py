"""Key-store and package commands: ``ansim keys …`` and ``ansim package …``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ansim.cli._app import app, console

if TYPE_CHECKING:
    from ansim.packages import PartyPublicKeys

__all__: list[str] = []

keys_app = typer.Typer(help="Per-party key stores for sealed packages.", no_args_is_help=True)
package_app = typer.Typer(help="Seal and open packages between parties.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(package_app, name="package")

StoreOpt = Annotated[Path, typer.Option("--store", help="The party's key store directory.")]
PASSPHRASE_ENV = "ANSIM_KEY_PASSPHRASE"  # noqa: S105  (the variable's name, not a secret)


def passphrase() -> bytes | None:
    """The key-store passphrase from ``ANSIM_KEY_PASSPHRASE``, if set.

    Never a command-line argument: other users could read it in the process list.
    """
    value = os.environ.get(PASSPHRASE_ENV)
    return value.encode("utf-8") if value else None


@keys_app.command("init")
def keys_init(
    party: Annotated[str, typer.Option("--party", help="Your party's name, e.g. kostat.")],
    store: StoreOpt,
) -> None:
    """Create a key store with fresh keys (encrypted under $ANSIM_KEY_PASSPHRASE if set)."""
    from ansim.packages import PartyKeyStore

    keys = PartyKeyStore.create(store, party, passphrase=passphrase())
    console.print(f"key store for {party!r}: {store} (fingerprint {keys.public.fingerprint})")
    console.print(f"give {store / 'party.json'} to the parties you exchange packages with")


@keys_app.command("trust")
def keys_trust(
    store: StoreOpt,
    public: Annotated[
        Path | None, typer.Option("--public", help="Another party's party.json.")
    ] = None,
    from_server: Annotated[
        bool,
        typer.Option(
            "--from-server",
            help="Fetch the project's linkage unit's and hub's public keys (ansim login first).",
        ),
    ] = False,
    project: Annotated[
        str | None, typer.Option("--project", help="With --from-server: the project.")
    ] = None,
    fingerprint: Annotated[
        list[str] | None,
        typer.Option(
            "--fingerprint",
            help="With --from-server (required): trust the key of this fingerprint; repeat.",
        ),
    ] = None,
) -> None:
    """Trust another party's public keys (compare the fingerprint with them first)."""
    from ansim.errors import InvalidSpecError
    from ansim.packages import PartyKeyStore, PartyPublicKeys

    if from_server == (public is not None):
        raise InvalidSpecError("give --public FILE or --from-server --project P")
    if public is not None:
        found = [PartyPublicKeys.from_json(public.read_text("utf-8"))]
    else:
        found = _server_keys(project, fingerprint or [])
    keystore = PartyKeyStore.open(store, passphrase=passphrase())
    for keys in found:
        keystore.trust(keys)
        console.print(f"trusted {keys.party!r} (fingerprint {keys.fingerprint})")


def _server_keys(project: str | None, fingerprints: list[str]) -> list[PartyPublicKeys]:
    """The project's receiving parties' keys from the hub's server; the given ones required."""
    from ansim.cli._release import hub_client
    from ansim.errors import InvalidSpecError
    from ansim.packages import PartyPublicKeys

    if project is None:
        raise InvalidSpecError("--from-server needs --project P")
    with hub_client() as client:
        answer = client.custodian.party_keys(project)
    found = [PartyPublicKeys.from_json(str(p.get("keys"))) for p in answer]
    if not found:
        raise InvalidSpecError(f"the server holds no public keys of project {project!r}'s parties")
    if not fingerprints:  # the server is the hub: it must not choose whom custodians seal for
        shown = ", ".join(f"{k.party!r} {k.fingerprint}" for k in found)
        raise InvalidSpecError(
            f"the server offers {shown}: compare these fingerprints with the parties "
            "themselves, then repeat with --fingerprint for each key to trust; nothing trusted"
        )
    missing = set(fingerprints) - {k.fingerprint for k in found}
    if missing:
        raise InvalidSpecError(
            f"the server's keys do not have the fingerprint(s) {', '.join(sorted(missing))}: "
            "nothing trusted; ask the parties which keys they use"
        )
    return [k for k in found if k.fingerprint in fingerprints]  # only the keys named


@package_app.command("seal")
def package_seal(
    part: Annotated[Path, typer.Option("--part", help="A part file (identity or content).")],
    store: StoreOpt,
    to: Annotated[str, typer.Option("--to", help="The receiving party.")],
    out: Annotated[Path, typer.Option("--out", help="Where the package is written.")],
) -> None:
    """Encrypt a part for its recipient and sign it."""
    from ansim.packages import PartyKeyStore, seal_part

    package = seal_part(
        part, sender=PartyKeyStore.open(store, passphrase=passphrase()), recipient=to, out_dir=out
    )
    console.print(f"sealed for {to}: {package}")


@package_app.command("open")
def package_open(
    inbox: Annotated[Path, typer.Option("--inbox", help="Directory of received packages.")],
    store: StoreOpt,
    project: Annotated[str, typer.Option("--project", help="The project expected.")],
    kind: Annotated[str, typer.Option("--kind", help="identity, content or linkmap.")],
    out: Annotated[Path, typer.Option("--out", help="Where opened parts are written.")],
) -> None:
    """Verify (recipient, sender, signature, project, replay) and decrypt packages."""
    from ansim.packages import PartyKeyStore, receive_inbox

    opened = receive_inbox(
        inbox,
        PartyKeyStore.open(store, passphrase=passphrase()),
        project=project,
        kind=kind,
        out_dir=out,
    )
    for path in opened:
        console.print(f"verified and opened: {path}")
