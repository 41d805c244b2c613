"""Output of ``ansim demo --encrypted``: the published tables beside the plaintext path's."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table

from ansim.cli._app import console

__all__ = ["run_encrypted"]

_SHOWN_ROWS = 12  # rows of each table printed in full; all are in the CSV files


def run_encrypted(firms: int, seed: int, out: Path) -> None:
    """Run the encrypted small-business demo and print what it published."""
    from ansim.demo._encrypted import run_encrypted_demo

    run = run_encrypted_demo(firms, seed, out, on_step=lambda s: console.print(f"[bold]·[/] {s}"))
    console.print(
        f"\nPSI 사설 교집합 / private set intersection: {run.overlap:,} firms in both files "
        f"({run.firms:,} register firms, {run.payments:,} payments; invalid numbers "
        f"quarantined: {run.quarantined}); {run.psi_bytes / 1e6:.1f} MB of PSI messages",
        highlight=False,
        soft_wrap=True,
    )
    for t in run.tables:
        enc, ref = t.encrypted.to_table().to_pylist(), t.plaintext.to_table().to_pylist()
        dims = list(t.encrypted.protected.cells.dimensions)
        grid = Table(title=t.title, title_justify="left", show_lines=False, pad_edge=False)
        for d in dims:
            grid.add_column({"sigungu_code": "시군 si/gun", "sector": "업종 sector",
                             "representative_sex": "성별 sex"}[d])  # fmt: skip
        for name in ("건수 n", "합계 sum 암호 enc.", "합계 sum 평문 plain", "평균 mean 암호 enc.",
                     "평균 mean 평문 plain", "상태 status"):  # fmt: skip
            grid.add_column(name, justify="right")
        rows = [(a, b) for a, b in zip(enc, ref, strict=True) if a[dims[0]] != "Total"]
        shown = [r for r in rows if r[0]["status"] == "published" and r[0]["count"]]
        for a, b in shown[:_SHOWN_ROWS]:
            labels = [_label(d, a[d]) for d in dims]
            grid.add_row(*labels, *(_show(a["count"]), _show(a["sum"]), _show(b["sum"]),
                                    _show(a["mean"]), _show(b["mean"]), a["status"]))  # fmt: skip
        console.print(grid)
        c = t.comparison
        console.print(
            f"  {min(len(shown), _SHOWN_ROWS)} of {len(rows)} cells shown (non-empty, published; "
            f"x = withheld); all with margins in {t.released}; "
            f"same suppression as the plaintext path: {c['same_pattern']}; "
            f"counts equal: {c['counts_equal']}; exact maximum CKKS error of a cell sum "
            f"{_krw(c['max_abs_error_sum']):.6f} KRW (relative {c['max_rel_error_sum']:.2e}), "
            f"of a mean {_krw(c['max_abs_error_mean']):.6f} KRW; published cells differing after "
            f"rounding: {c['published_cells_differing']}",
            highlight=False,
            soft_wrap=True,
        )
    console.print(f"{run.audit}; step times (s): {run.seconds}", highlight=False, soft_wrap=True)
    console.print(
        f"comparison: {out / 'evaluation' / 'encrypted_vs_plaintext.json'}", soft_wrap=True
    )


def _label(dimension: str, code: str) -> str:
    from ansim.regions import GYEONGGI_SIGUNGU

    if dimension == "sigungu_code" and code in GYEONGGI_SIGUNGU:
        return f"{GYEONGGI_SIGUNGU[code].name_ko}({code})"
    return code


def _show(value: object) -> str:
    if value is None:
        return "x"
    return f"{value:,}" if isinstance(value, int | float) else str(value)


def _krw(thousands: object) -> float:
    """An amount in thousands of KRW (the tables' unit) in KRW."""
    return float(thousands) * 1e3 if isinstance(thousands, int | float) else float("nan")
