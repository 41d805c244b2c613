"""The linkage report's HTML page: every section, escaping, offline Plotly, no CDN."""

import json
import re
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ansim.errors import LinkageError
from ansim.linkage import (
    REPORT_HTML_FILE,
    read_linkage_rates,
    render_linkage_report,
    write_linkage_report_html,
)

ODD = "<script>alert(\"x\")</script> & 'quote' </td>"
REPORT = {
    "method": "probabilistic",
    "records": {"a": 10, ODD: 12},
    "persons": 15,
    "edges": {"links": 7},
    "persons_by_sources": {"1": 8, "2": 7},
    "linked_pairs": {f"a~{ODD}": 7},
    "cluster_sizes": {"1": 8, "2": 7},
    "blocking": {
        "passes": [{"rule": f"equal({ODD})", "pairs": 1234, "skipped_blocks": 0,
                    "over_budget": False}],
        "candidate_pairs": 1234,
        "estimated_true_pairs_missed_interval": {"point": 0.5, "low": 0.0, "high": 2.0},
    },
    "model": {"fields": {ODD: [{"level": "exact", "m": 0.9, "u": 0.001, "weight": 9.8},
                               {"level": "else", "m": 0.1, "u": 0.999, "weight": -3.3}]}},
    "estimates": {
        "precision": {"point": 0.99, "low": 0.95, "high": 1.0},
        "false_links": {"point": 1.0, "low": 0.0, "high": 3.0},
        "threshold_sweep": [{"threshold": 0.5, "pairs": 7, "precision": 0.99, "recall": 0.98}],
        "match_weight_histogram": {"[-4,0)": 3, "[0,4)": 7},
    },
    "notes": {"persons": "clusters of the link map"},
}  # fmt: skip
SECTIONS = ("summary", "estimates", "threshold-sweep", "match-weight-histogram", "model",
            "blocking", "cluster-sizes", "subgroup-rates", "notes")  # fmt: skip


def _script_sources(page: str) -> list[str | None]:
    """The ``src`` of each script element, in order (None for an inline one)."""
    return [
        (found.group(1) if (found := re.search(r'src="([^"]*)"', attrs)) else None)
        for attrs in re.findall(r"<script([^>]*)>", page)
    ]


def _figures(page: str) -> dict[str, dict[str, object]]:
    found = re.search(r'<script type="application/json" id="linkage-figures">(.*?)</script>', page)
    assert found is not None
    return json.loads(found.group(1))


def test_every_section_is_there_with_a_table_beside_its_chart() -> None:
    page = render_linkage_report(REPORT, plotly_src="/public/static/plotly.min.js")
    for section in SECTIONS:
        assert f'<section id="{section}">' in page, section
    figures = _figures(page)
    assert set(figures) >= {"fig-estimates-rates", "fig-estimates-counts", "fig-sweep",
                            "fig-histogram", "fig-weights", "fig-mu", "fig-blocking",
                            "fig-clusters"}  # fmt: skip
    for figure in figures:
        assert f'id="{figure}"' in page
    assert page.count("<table") >= len(figures)
    assert '<td class="n">1,234</td>' in page  # the pass's pairs, as the JSON has them
    assert figures["fig-blocking"]["data"][0]["x"] == [1234]  # type: ignore[index]
    assert figures["fig-weights"]["data"][0]["x"] == [9.8, -3.3]  # type: ignore[index]


def test_odd_field_names_are_escaped_everywhere() -> None:
    page = render_linkage_report(REPORT, plotly_src="/public/static/plotly.min.js")
    assert ODD not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page  # shown, as text
    assert _script_sources(page) == [
        None,
        "/public/static/plotly.min.js",
        None,
    ]  # data, Plotly, drawing
    figures = json.dumps(_figures(page))
    assert "<script" not in figures  # labels reach Plotly as entities, never as tags


@settings(max_examples=40, deadline=None)
@given(st.text(min_size=1, max_size=20))
def test_no_field_name_can_add_markup(name: str) -> None:
    assume(name != "b")  # a second dataset called "b" would be one key, not two
    report = {"method": "probabilistic", "records": {name: 1, "b": 1}, "persons": 2,
              "model": {"fields": {name: [{"level": name, "m": 0.5, "u": 0.5, "weight": 0.0}]}},
              "blocking": {"passes": [{"rule": name, "pairs": 1}]}}  # fmt: skip
    page = render_linkage_report(report, plotly_src="/p.js")
    assert page.count("<script") == 3
    assert page.count("<td") == render_linkage_report(
        {**report, "records": {"x": 1, "b": 1}, "model": {"fields": {"x": [
            {"level": "x", "m": 0.5, "u": 0.5, "weight": 0.0}]}},
         "blocking": {"passes": [{"rule": "x", "pairs": 1}]}}, plotly_src="/p.js",
    ).count("<td")  # fmt: skip


def test_an_exact_run_says_what_it_lacks() -> None:
    exact = {"method": "exact", "records": {"a": 2, "b": 2}, "persons": 3,
             "cluster_sizes": {"1": 2, "2": 1}}  # fmt: skip
    page = render_linkage_report(exact, plotly_src="/p.js")
    assert "No probabilistic model in this run." in page
    assert "This report has no estimates." in page
    assert "The hub has not sent rates for this run yet." in page


def test_the_file_inlines_plotly_and_holds_no_remote_script(tmp_path: Path) -> None:
    path = write_linkage_report_html(REPORT, tmp_path)
    assert path == tmp_path / REPORT_HTML_FILE
    page = path.read_text(encoding="utf-8")
    assert "<script src=" not in page  # everything inline: it opens offline
    assert len(page) > 1_000_000  # plotly.min.js itself
    assert not re.search(r"<script[^>]*src=\"?https?:", page)
    assert not list(tmp_path.glob(".*.tmp"))  # written atomically


def test_subgroup_rates_show_withheld_groups_without_numbers(tmp_path: Path) -> None:
    csv = tmp_path / "rates.csv"
    csv.write_text(
        '"column","group","records","linked","rate"\n"sex","F",40,30,0.75\n"sex","M",,,\n'
        '"age_band",,50,45,0.9\n',
        encoding="utf-8",
    )
    rates = read_linkage_rates(csv)
    assert rates is not None and rates[1] == {
        "column": "sex", "group": "M", "records": None, "linked": None, "rate": None
    }  # fmt: skip
    page = render_linkage_report(REPORT, rates=rates, plotly_src="/p.js")
    assert '<td>F</td><td class="n">40</td><td class="n">30</td><td class="n">0.75</td>' in page
    assert "<td>M</td><td>—</td><td>—</td><td>보류 withheld</td>" in page
    assert _figures(page)["fig-rates-0"]["data"][0]["y"] == [0.75]  # type: ignore[index]
    assert read_linkage_rates(tmp_path / "none.csv") is None
    (tmp_path / "bad.csv").write_text('"a","b"\n1,2\n', encoding="utf-8")
    with pytest.raises(LinkageError, match="lacks columns"):
        read_linkage_rates(tmp_path / "bad.csv")
