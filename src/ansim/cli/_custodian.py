"""Custodian commands: ``ansim ingest``, ``ansim custodian prepare/send/encoding``."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ansim.cli._acting import acting_user
from ansim.cli._app import app, console, custodian_app
from ansim.cli._audit import DEFAULT_HOME, HomeOpt, UrlOpt, open_governance

if TYPE_CHECKING:
    from ansim.services import Custodian

__all__: list[str] = []


@app.command()
def ingest(
    spec: Annotated[Path, typer.Option("--spec", help="Dataset spec (YAML).")],
    input_file: Annotated[Path, typer.Option("--input", help="CSV (UTF-8/CP949) or Parquet.")],
    out: Annotated[Path, typer.Option("--out", help="Output directory.")],
    max_bytes: Annotated[int, typer.Option("--max-bytes", help="Refuse larger files.")] = 4
    * 1024**3,
) -> None:
    """Validate a file against its spec; land good rows, quarantine the rest with reasons."""
    from ansim.ingest import ingest_file
    from ansim.schema import DatasetSpec

    result = ingest_file(DatasetSpec.from_yaml(spec), input_file, out, max_bytes=max_bytes)
    console.print(
        f"{result.dataset}: {result.rows_read:,} rows read ({result.encoding}), "
        f"{result.rows_landed:,} landed, {result.rows_quarantined:,} quarantined"
    )
    for reason, count in result.reasons.items():
        console.print(f"  {count:>8,}  {reason}")
    console.print(f"records: {result.records}\nquarantine: {result.quarantine}")


def _custodian(
    home: Path, url: str | None, project: str, out: Path, keys: Path | None
) -> Custodian:
    from ansim.cli._packages import passphrase
    from ansim.packages import PartyKeyStore
    from ansim.services import Custodian

    store = None if keys is None else PartyKeyStore.open(keys, passphrase=passphrase())
    return Custodian(open_governance(home, url), project, out, store)


@custodian_app.command("prepare")
def custodian_prepare(
    *,
    ingested: Annotated[Path, typer.Option("--ingested", help="An 'ansim ingest' output dir.")],
    secret: Annotated[Path, typer.Option("--secret", help="The project's linkage secret file.")],
    project: Annotated[str, typer.Option("--project", help="Project identifier.")],
    out: Annotated[Path, typer.Option("--out", help="The custodian's output directory.")],
    home: HomeOpt = DEFAULT_HOME,
    url: UrlOpt = None,
    encoding: Annotated[
        Path | None,
        typer.Option(
            "--encoding",
            help="The project's Bloom-filter encoding spec (YAML); default: the hardened "
            "default ('ansim custodian encoding' writes it).",
        ),
    ] = None,
    token: Annotated[
        list[str] | None,
        typer.Option(
            "--token",
            help="A linkage token, NAME=KIND+KIND (repeat); default: rrn, name_birth_sex, "
            "name_phone. Every custodian of a project must use the same tokens.",
        ),
    ] = None,
    tokens_only: Annotated[
        bool, typer.Option("--tokens-only", help="HMAC tokens only, no Bloom filters.")
    ] = False,
    keys: Annotated[
        Path | None,
        typer.Option("--keys", help="Your key store: seal the parts for their recipients."),
    ] = None,
    linkage_unit: Annotated[
        str, typer.Option("--linkage-unit", help="Party receiving the identity part.")
    ] = "linkage_unit",
    hub: Annotated[str, typer.Option("--hub", help="Party receiving the content part.")] = "hub",
    engine: Annotated[
        str,
        typer.Option(
            "--engine",
            help="duckdb (one machine, in memory, default) | spark (ansim[spark]): the work runs "
            "in Spark's partitions; the same files.",
        ),
    ] = "duckdb",
) -> None:
    """Standardise identifiers, make tokens and Bloom filters, split into identity and content.

    Runs as a custodian officer of the dataset in the governed project (checked and audited).
    With --keys, each part is also sealed (encrypted for its recipient, signed by you) into
    OUT/outbox/<recipient>/; parts reach the linkage unit and the hub only sealed, with
    'ansim custodian send'.
    """
    import pyarrow.parquet as pq
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from ansim.engine import ENGINE_KINDS, open_engine
    from ansim.errors import EngineError
    from ansim.identity import (
        DEFAULT_ENCODING_SPEC,
        DEFAULT_RECIPES,
        EncodingSpec,
        LinkageSecret,
        TokenRecipe,
    )
    from ansim.ingest import locate_ingested

    if engine not in ENGINE_KINDS:
        raise EngineError(f"unknown engine {engine!r}: use one of {', '.join(ENGINE_KINDS)}")
    user = acting_user()
    spec, landed = locate_ingested(ingested)
    total = pq.ParquetFile(landed).metadata.num_rows
    custodian = _custodian(home, url, project, out, keys)
    chosen = None if tokens_only else (
        DEFAULT_ENCODING_SPEC if encoding is None else EncodingSpec.from_yaml(encoding)
    )  # fmt: skip
    columns = ("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn())
    try:
        with (
            Progress(*columns, TimeElapsedColumn(), console=console, transient=True) as bar,
            ExitStack() as stack,
        ):
            on = None if engine == "duckdb" else stack.enter_context(open_engine("spark"))
            task = bar.add_task(f"preparing {spec.dataset}", total=total)
            parts = custodian.prepare(
                user, ingested, LinkageSecret.load(secret), encoding=chosen,
                recipes=[TokenRecipe.parse(t) for t in token] if token else DEFAULT_RECIPES,
                progress=lambda done, _total: bar.update(task, completed=done), out=out,
                engine=on,
            )  # fmt: skip
        console.print(f"identity part (to the linkage unit): {parts.identity}")
        console.print(f"content part (to the hub): {parts.content}")
        console.print(f"serial map (stays here): {parts.serial_map}\nreport: {parts.report}")
        if keys is not None:
            sealed = custodian.seal(user, parts, linkage_unit=linkage_unit, hub=hub)
            for party, package in sealed.packages.items():
                console.print(f"sealed for {party}: {package}")
    finally:
        custodian.governance.close()


@custodian_app.command("send")
def custodian_send(
    *,
    prepared: Annotated[
        Path, typer.Option("--prepared", help="The custodian's output directory (with outbox/).")
    ],
    dataset: Annotated[str, typer.Option("--dataset", help="The dataset whose parts to send.")],
    project: Annotated[str, typer.Option("--project", help="Project identifier.")],
    to: Annotated[
        list[str], typer.Option("--to", help="PARTY=INBOX_DIR: where a recipient's package goes.")
    ],
    home: HomeOpt = DEFAULT_HOME,
    url: UrlOpt = None,
) -> None:
    """Deliver a dataset's sealed packages to the recipients' inboxes (submit_parts).

    Needs every custodian's approval of the project and its processing period (checked and
    audited with each package's hash).
    """
    from ansim.errors import InvalidSpecError

    user = acting_user()
    inboxes = {}
    for item in to:
        party, sep, inbox = item.partition("=")
        if not sep or not party or not inbox:
            raise InvalidSpecError(f"--to must be PARTY=INBOX_DIR, got {item!r}")
        inboxes[party] = Path(inbox)
    custodian = _custodian(home, url, project, prepared, None)
    try:
        for path in custodian.send(user, custodian.outbox(dataset), inboxes):
            console.print(f"sent {path.name} → {path.parent}")
    finally:
        custodian.governance.close()


@custodian_app.command("encoding")
def custodian_encoding(
    out: Annotated[Path, typer.Option("--out", help="Where to write the encoding spec (YAML).")],
    name: Annotated[str, typer.Option("--name", help="Name of the project's encoding.")] = "",
    version: Annotated[int, typer.Option("--version", help="Revision of the spec.")] = 1,
    hardened: Annotated[
        bool,
        typer.Option(
            "--hardened",
            help="The default (diffused filters, sex only in the CLK); kept for old scripts.",
        ),
    ] = False,
    field_level: Annotated[
        bool,
        typer.Option(
            "--field-level",
            help="Write the old field-level spec instead: VULNERABLE (the linkage unit can "
            "label sex and mine surnames, docs/privacy.md); only to match parts prepared "
            "with it.",
        ),
    ] = False,
) -> None:
    """Write the default (hardened) Bloom-filter encoding spec, to share with every custodian."""
    import dataclasses

    from ansim._atomic import write_text_atomic
    from ansim.errors import InvalidSpecError
    from ansim.identity import DEFAULT_ENCODING_SPEC, LEGACY_FIELD_LEVEL_SPEC

    if hardened and field_level:
        raise InvalidSpecError("--hardened and --field-level exclude each other: give one")
    base = LEGACY_FIELD_LEVEL_SPEC if field_level else DEFAULT_ENCODING_SPEC
    spec = dataclasses.replace(base, name=name or base.name, version=version)
    write_text_atomic(spec.to_yaml(), out)
    console.print(f"encoding spec {spec.name!r} v{spec.version}: {out} (no secrets; share it)")
