"""Linkage-unit commands: ``ansim linkage …`` and the whole-flow ``ansim link``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ansim.cli._acting import acting_user
from ansim.cli._app import app, console, linkage_app
from ansim.cli._audit import DEFAULT_HOME, HomeOpt, UrlOpt, open_governance

if TYPE_CHECKING:
    import pyarrow as pa

    from ansim.linkage import LinkageConfig, LinkageReport

__all__: list[str] = []

_METHOD_HELP = "exact | fuzzy | probabilistic (default: the config's, else probabilistic)."


_THRESHOLD = typer.Option("--threshold", help="Match probability at which a pair links.")
_ASSIGNMENT = typer.Option("--assignment", help="cluster | greedy | optimal.")
_SEED = typer.Option("--seed", help="Seed of sampling (and, for ansim link, of trial keys).")
_BLOCKING = typer.Option("--blocking", help="auto | standard | lsh (extra LSH passes).")
_PAIRS = typer.Option("--pairs", help="Also write pairs.parquet (scored pairs).")
_MODEL = typer.Option("--model", help="Apply a saved model (JSON) instead of training.")
_SAVE = typer.Option("--save-model", help="Write the model that scored the pairs (JSON).")
_ENGINE = typer.Option("--engine", help="duckdb (one machine, default) | spark (ansim[spark]).")


def _config(  # noqa: PLR0917 -- one value per CLI option
    config: Path | None,
    method: str | None,
    threshold: float | None = None,
    assignment: str | None = None,
    seed: int | None = None,
    blocking: str | None = None,
) -> LinkageConfig:
    from ansim.linkage import LinkageConfig

    loaded = LinkageConfig.from_yaml(config) if config is not None else LinkageConfig()
    loaded = loaded.with_options(
        match_probability=threshold, assignment=assignment, seed=seed, blocking_mode=blocking
    )
    return loaded.with_method(method) if method else loaded


def _summary(report: LinkageReport) -> None:
    console.print(
        f"{report.method}: {sum(report.records.values()):,} records → {report.persons:,} persons"
    )
    estimates = report.estimates
    if "estimated_precision" in estimates:
        console.print(
            f"estimated precision {estimates['estimated_precision']}, "
            f"estimated recall {estimates['estimated_recall']} (no labels used)"
        )
    false = estimates.get("false_links")
    if isinstance(false, dict):
        console.print(
            f"estimated false links (clusters joining different people) {false['point']} "
            f"[90%: {false['low']}–{false['high']}]"
        )


@linkage_app.command("match")
def linkage_match(
    identity: Annotated[
        list[Path] | None,
        typer.Option("--identity", help="A sealed identity package, *.ansim (repeat)."),
    ] = None,
    inbox: Annotated[
        Path | None, typer.Option("--inbox", help="Take every identity package in this folder.")
    ] = None,
    *,
    out: Annotated[Path, typer.Option("--out", help="The linkage unit's working directory.")],
    project: Annotated[str | None, typer.Option("--project", help="Governed project.")] = None,
    keys: Annotated[
        Path | None, typer.Option("--keys", help="The linkage unit's key store.")
    ] = None,
    hub: Annotated[str, typer.Option("--hub", help="Party the link map is sealed for.")] = "hub",
    home: HomeOpt = DEFAULT_HOME,
    url: UrlOpt = None,
    config: Annotated[Path | None, typer.Option("--config", help="Linkage config (YAML).")] = None,
    method: Annotated[str | None, typer.Option("--method", help=_METHOD_HELP)] = None,
    threshold: Annotated[float | None, _THRESHOLD] = None,
    assignment: Annotated[str | None, _ASSIGNMENT] = None,
    seed: Annotated[int | None, _SEED] = None,
    blocking: Annotated[str | None, _BLOCKING] = None,
    pairs: Annotated[bool, _PAIRS] = False,
    model: Annotated[Path | None, _MODEL] = None,
    save_model: Annotated[Path | None, _SAVE] = None,
) -> None:
    """Open sealed identity packages, link them, and seal the link map for the hub.

    Runs as the project's linkage-unit operator (checked and audited). Identity parts are
    accepted only as sealed packages: a plain Parquet part is refused. The link map, its
    report and the opened parts stay in OUT; the link map leaves only sealed, in
    OUT/outbox/<hub>/.
    """
    from ansim.cli._packages import passphrase
    from ansim.errors import InvalidSpecError
    from ansim.linkage import LinkageModel
    from ansim.packages import PartyKeyStore
    from ansim.services import LinkageUnit, require_packages

    chosen = _config(config, method, threshold, assignment, seed, blocking)
    saved = LinkageModel.load(model) if model is not None else None
    if inbox is not None:
        from ansim.packages import packages_in

        identity = [*(identity or []), *packages_in(inbox, "identity")]
    packages = require_packages(identity or [], "the linkage unit")
    if project is None or keys is None:
        raise InvalidSpecError("linkage match needs --project and --keys (the linkage unit's)")
    user = acting_user()
    store = PartyKeyStore.open(keys, passphrase=passphrase())
    gov = open_governance(home, url)
    try:
        unit = LinkageUnit(gov, project, out, store)
        received = unit.receive(user, packages)
        linkmap = unit.link(user, received, chosen, model=saved, pairs=pairs,
                            save_model=save_model)  # fmt: skip
        package = unit.seal_link_map(user, recipient=hub)
    finally:
        gov.close()
    _summary(linkmap.report)
    console.print(f"link map: {out / 'linkmap.parquet'} (stays here)\nsealed for {hub}: {package}")
    console.print(f"report for people: {out / 'linkage_report.html'}")


@linkage_app.command("explain")
def linkage_explain(
    pairs: Annotated[Path, typer.Option("--pairs", help="pairs.parquet from --pairs.")],
    model: Annotated[Path, typer.Option("--model", help="The model that scored them.")],
    row: Annotated[int, typer.Option("--row", help="Row of the pair (0: the best).")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the steps as JSON.")] = False,
) -> None:
    """Show how one pair's match weight is made: prior, each field's level, adjustments."""
    import json
    from dataclasses import asdict

    from ansim.errors import InvalidSpecError
    from ansim.linkage import LinkageModel, waterfall

    saved = LinkageModel.load(model)
    table = _read_pairs(pairs)
    if not 0 <= row < table.num_rows:
        raise InvalidSpecError(f"--row must be between 0 and {table.num_rows - 1}")
    pair = table.slice(row, 1).to_pylist()[0]
    steps = waterfall(pair, saved)
    if as_json:
        levels = {k: v for k, v in pair.items() if k.startswith("level_")}
        out = {
            "row": row,
            "match_weight": pair["match_weight"],
            "match_probability": pair["match_probability"],
            "levels": levels,
            "steps": [asdict(step) for step in steps],
        }
        typer.echo(json.dumps(out, ensure_ascii=False, indent=2))
        return
    for step in steps:
        console.print(f"{step.label:<40} {step.weight:+8.3f}  → {step.total:+8.3f}")
    console.print(f"match probability {pair['match_probability']}")


def _read_pairs(pairs: Path) -> pa.Table:
    import pyarrow.parquet as pq

    from ansim.errors import InvalidSpecError

    try:
        return pq.read_table(pairs)
    except (OSError, ValueError) as e:
        raise InvalidSpecError(f"cannot read pairs file {pairs.name}: {type(e).__name__}") from e


@linkage_app.command("sweep")
def linkage_sweep(
    pairs: Annotated[Path, typer.Option("--pairs", help="pairs.parquet from --pairs.")],
    threshold: Annotated[
        list[float] | None, typer.Option("--threshold", help="A threshold (repeat).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the sweep as JSON.")] = False,
) -> None:
    """Model-expected precision and recall of the scored pairs at each threshold.

    What the model expects of the pairs in the file (those above its floor), before
    clustering; the report's estimates.threshold_sweep also counts all candidates and the
    pairs blocking is estimated to miss.
    """
    import json

    import numpy as np

    from ansim.errors import InvalidSpecError
    from ansim.linkage import threshold_sweep

    table = _read_pairs(pairs)
    if "match_probability" not in table.column_names:
        raise InvalidSpecError(f"{pairs.name} is not a pairs file: it has no match_probability")
    probability = np.asarray(table["match_probability"], np.float32)
    chosen = tuple(threshold) if threshold else (0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 0.999)
    if not all(0.0 < t < 1.0 for t in chosen):
        raise InvalidSpecError("--threshold must be between 0 and 1 (exclusive)")
    sweep = threshold_sweep(probability, 0.0, chosen)
    if as_json:
        typer.echo(json.dumps(sweep, indent=2))
        return
    console.print(f"{'threshold':>9} {'pairs':>10} {'precision':>10} {'recall':>10}")
    for row in sweep:
        console.print(
            f"{row['threshold']:>9g} {row['pairs']:>10,} {row['precision']:>10.6f} "
            f"{row['recall']:>10.6f}"
        )


@linkage_app.command("config")
def linkage_config(
    example: Annotated[bool, typer.Option("--example", help="Print a commented config.")] = False,
) -> None:
    """Print the linkage config (keys listed below); --example adds a comment per key.

    Keys: method, match_probability, assignment, blocking_mode, seed, u_from, random_pairs,
    training_pairs, em_iterations, max_block, fuzzy_threshold, pairs_floor, comparisons,
    blocking.
    """
    from ansim.linkage import LinkageConfig, example_config

    if example:
        typer.echo(example_config(), nl=False)
    else:
        typer.echo(LinkageConfig().to_yaml(), nl=False)


@app.command()
def link(  # noqa: PLR0917 -- Typer passes one option per knob
    out: Annotated[Path, typer.Option("--out", help="Output directory.")],
    spec: Annotated[
        list[Path] | None, typer.Option("--spec", help="Spec of the file that follows.")
    ] = None,
    files: Annotated[
        list[Path] | None, typer.Argument(help="Data files, one after each --spec.")
    ] = None,
    max_bytes: Annotated[int, typer.Option("--max-bytes")] = 4 * 1024**3,
    config: Annotated[Path | None, typer.Option("--config", help="Linkage config (YAML).")] = None,
    method: Annotated[str | None, typer.Option("--method", help=_METHOD_HELP)] = None,
    threshold: Annotated[float | None, _THRESHOLD] = None,
    assignment: Annotated[str | None, _ASSIGNMENT] = None,
    seed: Annotated[int | None, _SEED] = None,
    blocking: Annotated[str | None, _BLOCKING] = None,
    pairs: Annotated[bool, _PAIRS] = False,
    model: Annotated[Path | None, _MODEL] = None,
    save_model: Annotated[Path | None, _SAVE] = None,
    engine: Annotated[str, _ENGINE] = "duckdb",
    unsealed: Annotated[
        bool,
        typer.Option(
            "--unsealed",
            help="Trial mode: give the linkage unit the identity parts unsealed (no package "
            "encryption or signature; never how a deployment sends parts).",
        ),
    ] = False,
) -> None:
    """The whole flow in a throwaway project: --spec A.yaml A.csv --spec B.yaml B.csv.

    One dataset (--spec A.yaml A.csv) is deduplicated: its records are linked among
    themselves, with the same outputs.

    Each party's step runs through its service with trial users and keys made for the run
    and then forgotten; the identity parts travel to the linkage unit as sealed packages
    (--unsealed skips that, as a trial mode). With --seed the trial secret and serials are
    derived from the seed, so a run is reproducible (and its keys are not secret: for trials
    only).
    """
    from ansim.flow import link_files
    from ansim.linkage import LinkageModel, on_engine

    spec, files = spec or [], files or []
    if len(spec) != len(files):
        raise typer.BadParameter("give exactly one data file after each --spec")
    with on_engine(engine):
        run = link_files(
            list(zip(spec, files, strict=True)),
            out,
            max_bytes=max_bytes,
            config=_config(config, method, threshold, assignment, seed, blocking),
            model=LinkageModel.load(model) if model is not None else None,
            pairs=pairs,
            save_model=save_model,
            seed=seed,
            unsealed=unsealed,
        )
    for name, result in run.ingested.items():
        console.print(
            f"{name}: {result.rows_landed:,} landed, {result.rows_quarantined:,} quarantined"
        )
    _summary(run.report)
    console.print(f"link map: {run.linkmap}\nserial maps: {out / 'serials'}")
    console.print(f"report for people: {out / 'linkage_report.html'}")
