"""Differential-privacy commands: ``ansim privacy budget``, ``release`` and ``synthesize``.

None takes a user name: a name proves nothing. ``release --project`` is a client of the hub's
server: the server reads the project's hub table as the user ``ansim login`` proved, charges
the project's privacy budget once, and submits each DP table (CSV, JSON and a ``portal.json``
with 95% intervals) to the project's one release path: nothing is written outside the hub
until two output checkers approve it and one publishes it (``ansim release review/publish``).
Without ``--project``, ``release`` is a *trial* on a plain file with a one-off budget: it
writes into ``--out/trial-not-for-publication`` with a notice saying it was not reviewed and
may not be published. ``synthesize`` still works
on a plain file with a one-off budget.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ansim.cli._app import app, console
from ansim.cli._release import ServerOpt

if TYPE_CHECKING:
    from ansim.privacy import ReleaseSpec

__all__: list[str] = []

privacy_app = typer.Typer(
    help="Differential privacy: price and release DP statistics and synthetic data.",
    no_args_is_help=True,
)
app.add_typer(privacy_app, name="privacy")

_SPEC = typer.Option("--spec", help="Release spec (YAML: queries, keys, bounds, rho or epsilon).")
_RHO = typer.Option("--rho", help="Total zCDP budget (overrides the spec's rho/epsilon).")


def _read_spec(path: Path, rho: float | None) -> ReleaseSpec:
    from ansim._specfile import parse_yaml, read_spec_text
    from ansim.privacy import parse_release_spec

    data = parse_yaml(read_spec_text(path, "release spec"), "the release spec")
    return parse_release_spec(data, rho=rho)


@privacy_app.command("budget")
def privacy_budget(
    *,
    spec_path: Annotated[Path, _SPEC],
    rho: Annotated[float | None, _RHO] = None,
) -> None:
    """Price a release or a synthesis without data: ρ, (ε, δ), noise scales, half-widths."""
    from ansim._specfile import parse_yaml, read_spec_text
    from ansim.privacy import describe_plan, parse_synthesis_spec, plan_release, plan_synthesis

    data = parse_yaml(read_spec_text(spec_path, "release spec"), "the release spec")
    if isinstance(data, dict) and "columns" in data and "queries" not in data:
        plan = plan_synthesis(parse_synthesis_spec(data, rho=rho))
        typer.echo(json.dumps(plan.describe(), indent=2, ensure_ascii=False))
        return
    spec = _read_spec(spec_path, rho)
    typer.echo(json.dumps(describe_plan(plan_release(spec)), indent=2, ensure_ascii=False))


@privacy_app.command("release")
def privacy_release(
    *,
    spec_path: Annotated[Path, _SPEC],
    project: Annotated[
        str | None,
        typer.Option("--project", help="Release from this project: reviewed, then published."),
    ] = None,
    table: Annotated[
        str | None, typer.Option("--table", help="The hub table to read (with --project).")
    ] = None,
    input_path: Annotated[
        Path | None, typer.Option("--input", help="Trial only: a .parquet or .csv file.")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Trial only: folder for trial-not-for-publication/."),
    ] = None,
    rho: Annotated[float | None, _RHO] = None,
    server: ServerOpt = None,
) -> None:
    """Submit DP tables with 95% intervals for review (--project), or make a trial from a file.

    With --project this is a client of the hub's server ('ansim login' first): the server
    reads the hub table, charges the project's budget and submits the tables.

    차분 프라이버시 공표: 프로젝트의 공표 경로로 제출합니다(반출 검토자 두 명의 승인 후 공개).
    """
    from ansim.errors import InvalidSpecError

    spec = _read_spec(spec_path, rho)
    if project is None:
        if input_path is None or out is None:
            raise InvalidSpecError(
                "give --project and --table to release a project's data (through the hub's "
                "server), or --input and --out for a trial that may not be published"
            )
        _trial(spec, input_path, out, rho)
        return
    if input_path is not None or out is not None:
        raise InvalidSpecError(
            "with --project the rows are the project's hub table (--table) and nothing is "
            "written before review: the checkers publish with 'ansim release publish --out'"
        )
    if table is None:
        raise InvalidSpecError("with --project give the hub table to read (--table)")
    _submit(spec, spec_path, project=project, table=table, rho=rho, server=server)


def _trial(spec: ReleaseSpec, input_path: Path, out: Path, rho: float | None) -> None:
    from ansim.errors import InvalidSpecError
    from ansim.privacy import TRIAL_FOLDER, release_file

    if out.exists() and not out.is_dir():
        raise InvalidSpecError(f"--out {out} is a file; give a folder")
    folder = out / TRIAL_FOLDER
    release = release_file(spec, input_path, folder, rho=rho)
    console.print(
        f"TRIAL (not reviewed, not for publication; 시험용, 공개 불가): {len(release.tables)} DP "
        f"tables to {folder} (one-off rho {release.plan.rho:.4g}, epsilon "
        f"{release.plan.epsilon:.3g} at delta {spec.conversion_delta:g}; privacy unit: "
        f"{spec.privacy_unit}); to publish, release from a project with --project",
        highlight=False,
    )


def _submit(
    spec: ReleaseSpec,
    spec_path: Path,
    *,
    project: str,
    table: str,
    rho: float | None,
    server: str | None,
) -> None:
    from ansim._specfile import read_spec_text
    from ansim.cli._release import hub_client
    from ansim.privacy import review_hint
    from ansim.release import Submission

    with hub_client(server) as client:
        done = client.releases.submit_dp(
            project, read_spec_text(spec_path, "release spec"), table, rho
        )
    submitted = [Submission.from_dict(s) for s in done.get("submissions") or ()]
    console.print(
        f"charged rho {done.get('rho', 0):.4g} (epsilon {done.get('epsilon', 0):.3g} at delta "
        f"{spec.conversion_delta:g}) to project {project}'s privacy budget "
        f"({done.get('rho_remaining', 0):.4g} left; privacy unit: {done.get('privacy_unit')}); "
        f"submitted {', '.join(s.id for s in submitted)} for review — nothing is published yet "
        f"(검토 대기: 반출 검토자 두 명의 승인 후 공개). "
        f"{review_hint(submitted, {'project': project})}",
        highlight=False,
    )


@privacy_app.command("synthesize")
def privacy_synthesize(
    *,
    spec_path: Annotated[
        Path, typer.Option("--spec", help="Synthesis spec (YAML: columns, domains, rho, seed).")
    ],
    input_path: Annotated[Path, typer.Option("--input", help="Rows: a .parquet or .csv file.")],
    out: Annotated[
        Path,
        typer.Option(
            "--out", help="Folder for synthetic.parquet, synthesis.json and utility.json."
        ),
    ],
    rho: Annotated[float | None, _RHO] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", help="Seed of the record sampling (not of the noise).")
    ] = None,
    mechanism: Annotated[
        str | None,
        typer.Option(
            "--mechanism", help="mst or aim (overrides the spec's method; default: the spec's)."
        ),
    ] = None,
) -> None:
    """DP synthetic microdata (MST or AIM through mbi) from a file, paid from a one-off budget.

    합성 데이터: 차등정보보호(DP)로 만든 가상 마이크로데이터.
    """
    from ansim._specfile import parse_yaml, read_spec_text
    from ansim.errors import InvalidSpecError
    from ansim.privacy import SynthesisMethod, parse_synthesis_spec, synthesize_file

    data = parse_yaml(read_spec_text(spec_path, "synthesis spec"), "the synthesis spec")
    if mechanism is not None:
        if mechanism not in {m.value for m in SynthesisMethod}:
            raise InvalidSpecError(f"--mechanism {mechanism!r}: give mst or aim")
        if isinstance(data, dict):
            data = {**data, "method": mechanism}
    spec = parse_synthesis_spec(data, rho=rho)
    if seed is not None:
        spec = spec.with_seed(seed)
    if out.exists() and not out.is_dir():
        raise InvalidSpecError(f"--out {out} is a file; give a folder")
    release = synthesize_file(spec, input_path, out, rho=rho)
    utility = release.utility
    console.print(
        f"synthesised {release.table.num_rows} rows to {out} with {spec.method.value.upper()} "
        f"(rho {release.plan.rho:.4g}, epsilon {release.plan.epsilon:.3g} at delta "
        f"{spec.conversion_delta:g}; privacy unit: {spec.privacy_unit}); average TVD "
        f"2-way {utility['tvd_2way']['average']}, 3-way {utility['tvd_3way']['average']}",
        highlight=False,
    )
