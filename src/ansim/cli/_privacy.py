"""Differential-privacy commands: ``ansim privacy budget``, ``release`` and ``synthesize``.

Neither takes a user name: a name proves nothing. Releases from a project's data go through
the governance ledger with an authenticated actor (the library's ``release_dp``; the server
and CLI sign-in are built elsewhere); these commands work on a plain file with a one-off
budget kept in the release's own report.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ansim.cli._app import app, console

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
    input_path: Annotated[Path, typer.Option("--input", help="Rows: a .parquet or .csv file.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for <name>.csv/.json per query.")],
    rho: Annotated[float | None, _RHO] = None,
) -> None:
    """Release DP tables with 95% intervals from a file, paid from a one-off budget."""
    from ansim.errors import InvalidSpecError
    from ansim.privacy import release_file

    spec = _read_spec(spec_path, rho)
    if out.exists() and not out.is_dir():
        raise InvalidSpecError(f"--out {out} is a file; give a folder")
    release = release_file(spec, input_path, out, rho=rho)
    console.print(
        f"released {len(release.tables)} DP tables to {out} "
        f"(rho {release.plan.rho:.4g}, epsilon {release.plan.epsilon:.3g} at delta "
        f"{spec.conversion_delta:g}; privacy unit: {spec.privacy_unit})",
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
) -> None:
    """DP synthetic microdata (MST through mbi) from a file, paid from a one-off budget.

    합성 데이터: 차등정보보호(DP)로 만든 가상 마이크로데이터.
    """
    from ansim._specfile import parse_yaml, read_spec_text
    from ansim.errors import InvalidSpecError
    from ansim.privacy import parse_synthesis_spec, synthesize_file

    data = parse_yaml(read_spec_text(spec_path, "synthesis spec"), "the synthesis spec")
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
