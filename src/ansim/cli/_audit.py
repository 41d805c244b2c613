"""Audit commands: ``ansim audit verify/head/events``; shared governance options.

``verify`` runs where the log is, against a pinned public key, and needs no identity; so may
``head`` (with ``--home``). ``events`` and ``head`` without ``--home`` are clients of the hub's
server (``ansim login`` first).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ansim.cli._app import app, console

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from ansim.governance import Governance

__all__ = ["HomeOpt", "UrlOpt", "audit_app", "open_governance"]

audit_app = typer.Typer(help="The audit chain: verify it, read it.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")

HomeOpt = Annotated[
    Path,
    typer.Option(
        "--home",
        envvar="ANSIM_HOME",
        help="Governance home: metadata store (by default), master key file, audit key.",
    ),
]
UrlOpt = Annotated[
    str | None,
    typer.Option(
        "--url", envvar="ANSIM_STORE_URL", help="Metadata store URL (default: SQLite in home)."
    ),
]
DEFAULT_HOME = Path("ansim-governance")
_FINGERPRINT_HEX = 64


def open_governance(home: Path, url: str | None) -> Governance:
    """The governance service for a home directory (and optional store URL)."""
    from ansim.errors import InvalidSpecError
    from ansim.governance import Governance

    if not home.is_dir():
        raise InvalidSpecError(
            f"no governance home at {home}: create one with 'ansim project bootstrap'"
        )
    return Governance(home, url=url)


PinOpt = Annotated[
    Path | None,
    typer.Option(
        "--public-key",
        envvar="ANSIM_AUDIT_PUBLIC_KEY",
        help="The pinned audit public key (PEM), kept apart from the log.",
    ),
]
FingerprintOpt = Annotated[
    str | None,
    typer.Option(
        "--fingerprint",
        "--pin",
        envvar="ANSIM_AUDIT_FINGERPRINT",
        help="The pinned audit key's SHA-256 fingerprint (64 hex digits, as published).",
    ),
]


def _pinned_key(
    home: Path, public_key: Path | None, fingerprint: str | None
) -> Ed25519PublicKey | None:
    """The pinned audit key: a PEM file, or the key beside the log checked against a fingerprint."""
    from ansim.errors import IntegrityError, InvalidSpecError
    from ansim.governance import AuditSigner, load_public_key

    if public_key is not None:
        key = load_public_key(public_key)
    elif fingerprint is not None:
        key = load_public_key(home / "audit" / "signing.pub")
    else:
        return None
    found = AuditSigner.verifier(home / "audit", key).fingerprint
    if fingerprint is not None:
        wanted = fingerprint.strip().lower()
        if len(wanted) != _FINGERPRINT_HEX or any(c not in "0123456789abcdef" for c in wanted):
            raise InvalidSpecError("--fingerprint must be 64 hex digits")
        if found != wanted:
            raise IntegrityError(
                f"the audit key {found} is not the pinned key {wanted}: the log was re-signed "
                "with a substituted key, or this is another installation"
            )
    console.print(f"pinned audit key: {found}", highlight=False)
    return key


@audit_app.command("verify")
def audit_verify(
    home: HomeOpt = DEFAULT_HOME,
    url: UrlOpt = None,
    public_key: PinOpt = None,
    fingerprint: FingerprintOpt = None,
    head: Annotated[
        Path | None,
        typer.Option("--head", help="A signed head handed out earlier: the log must extend it."),
    ] = None,
) -> None:
    """Verify every event, checkpoint signature and the signed head; name the first bad event."""
    from ansim.governance import read_head_file

    given = read_head_file(head) if head is not None else None
    pinned = _pinned_key(home, public_key, fingerprint)
    gov = open_governance(home, url)
    try:
        report = gov.verify_audit(pinned=pinned, head=given)
        fingerprint_now = gov.audit.signer.fingerprint
    finally:
        gov.close()
    if pinned is None:
        console.print(
            f"[yellow]warning:[/] not pinned: trusting the key beside the log "
            f"({fingerprint_now}); pass --public-key or --fingerprint",
            highlight=False,
        )
    report.raise_for_problem()
    extends = f"; extends the head at event {given['seq']}" if given else ""
    console.print(
        f"audit chain verified: {report.events} events, {report.checkpoints} signed "
        f"checkpoints{extends}"
    )


@audit_app.command("head")
def audit_head(
    out: Annotated[Path, typer.Option("--out", help="Where to write the signed head (JSON).")],
    home: Annotated[
        Path | None,
        typer.Option(
            "--home",
            envvar="ANSIM_HOME",
            help="Read it where the log is (the server's machine); default: from the server.",
        ),
    ] = None,
    url: UrlOpt = None,
) -> None:
    """Write the current signed head, to keep and to hand to the custodians and the register.

    Kept heads are what ``ansim audit verify --head FILE`` checks the log still extends. No
    identity is needed: with ``--home`` it is read where the log is, otherwise it is fetched
    from the server you logged in to.
    """
    from ansim._atomic import write_text_atomic
    from ansim.client import Client

    if home is not None:
        gov = open_governance(home, url)
        try:
            path = gov.export_head(out)
            fingerprint = gov.audit.signer.fingerprint
        finally:
            gov.close()
        console.print(f"signed head → {path} (audit key {fingerprint})", highlight=False)
        return
    with Client.stored() as client:
        head = client.audit.head()
    path = write_text_atomic(json.dumps(head, indent=2), out)
    console.print(f"signed head at event {head.get('seq')} → {path}", highlight=False)


@audit_app.command("events")
def audit_events(
    project: Annotated[str | None, typer.Option("--project", help="One project only.")] = None,
) -> None:
    """Print the events (JSON lines): who, in which role, did what, to which objects.

    Administrators see every event; project members those of their project.
    """
    from ansim.client import Client

    with Client.stored() as client:
        events = client.audit.events(project)
    for e in events:
        typer.echo(json.dumps(e, ensure_ascii=False))
