"""``linkage_report.html`` from real runs: ``ansim link`` and the demo (with the hub's rates)."""

import json
import re
from pathlib import Path

import pyarrow.csv as pacsv
import pytest
from markupsafe import escape
from typer.testing import CliRunner

from ansim.cli import app
from ansim.demo import DemoRun

runner = CliRunner()
SPECS = Path(__file__).parents[2] / "src" / "ansim" / "demo" / "specs"
SECTIONS = ("summary", "estimates", "threshold-sweep", "match-weight-histogram", "model",
            "blocking", "cluster-sizes", "subgroup-rates", "notes")  # fmt: skip


@pytest.fixture(scope="module")
def linked(demo_run: DemoRun, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report-html")
    world = demo_run.world.datasets
    result = runner.invoke(
        app,
        [
            "link",
            "--spec", str(SPECS / "gyeonggi_cases.yaml"), str(world["gyeonggi_cases"]),
            "--spec", str(SPECS / "kostat_register.yaml"), str(world["kostat_register"]),
            "--out", str(out), "--seed", "3",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "linkage_report.html" in result.output
    return out


def _figures(page: str) -> dict[str, dict[str, object]]:
    found = re.search(r'<script type="application/json" id="linkage-figures">(.*?)</script>', page)
    assert found is not None
    return json.loads(found.group(1))


def _n(value: object) -> str:
    return f"{value:,}" if isinstance(value, int) else repr(value)


def test_the_html_beside_the_json_shows_its_numbers(linked: Path) -> None:
    report = json.loads((linked / "linkage_report.json").read_text(encoding="utf-8"))
    page = (linked / "linkage_report.html").read_text(encoding="utf-8")
    for section in SECTIONS:
        assert f'<section id="{section}">' in page, section
    assert not re.search(r"<script[^>]*\bsrc=", page)  # Plotly inline: no CDN, works offline
    figures = _figures(page)
    passes = report["blocking"]["passes"]
    assert figures["fig-blocking"]["data"][0]["x"] == [p["pairs"] for p in passes]  # type: ignore[index]
    for p in passes:
        assert f'<td>{escape(p["rule"])}</td><td class="n">{_n(p["pairs"])}</td>' in page
    sizes = report["cluster_sizes"]
    assert figures["fig-clusters"]["data"][0]["y"] == list(sizes.values())  # type: ignore[index]
    for size, count in sizes.items():
        assert f'<td>{size}</td><td class="n">{_n(count)}</td>' in page
    for key in ("precision", "recall", "false_links", "missed_links"):
        e = report["estimates"][key]
        cells = "".join(f'<td class="n">{_n(e[k])}</td>' for k in ("point", "low", "high"))
        assert cells in page, key
    levels = [lv for field in report["model"]["fields"].values() for lv in field]
    assert figures["fig-weights"]["data"][0]["x"] == [lv["weight"] for lv in levels]  # type: ignore[index]
    assert figures["fig-mu"]["data"][0]["x"] == [lv["m"] for lv in levels]  # type: ignore[index]
    histogram = report["estimates"]["match_weight_histogram"]
    assert figures["fig-histogram"]["data"][0]["y"] == list(histogram.values())  # type: ignore[index]
    assert "The hub has not sent rates for this run yet." in page  # ansim link has no hub


def test_the_demos_report_gains_the_hubs_subgroup_rates(demo_run: DemoRun) -> None:
    unit = demo_run.out / "linkage_unit"
    page = (unit / "linkage_report.html").read_text(encoding="utf-8")
    rates = pacsv.read_csv(unit / "feedback" / "linkage_rates_by_subgroup.csv").to_pylist()
    assert "The hub has not sent rates for this run yet." not in page
    for column in {r["column"] for r in rates}:
        assert f'<table data-table="rates:{column}">' in page
    for row in rates:
        if row["rate"] is not None:
            assert f'<td class="n">{row["rate"]!r}</td>' in page
