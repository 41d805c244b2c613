"""The linkage report for people: ``linkage_report.html``, drawn from ``linkage_report.json``.

One self-contained page per run, in Korean with English: the estimates with their intervals,
the threshold sweep, the match-weight histogram, the model's match weights and m/u per field
level, the blocking passes, cluster sizes and, once the hub has sent them back, the linkage
rates by subgroup. Each chart (Plotly, drawn in the browser) has a plain table beside it, so
the page reads without JavaScript. The file inlines ``plotly.min.js`` from the installed
package (it works offline, no CDN); the server's page references its own local route instead.

Only what the report holds enters the page: counts, rates and the model's parameters, never a
serial, token, identifier or attribute. Everything shown is escaped (field names included).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import html
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from ansim._atomic import write_text_atomic
from ansim.errors import LinkageError

__all__ = [
    "RATES_FILE",
    "REPORT_HTML_FILE",
    "REPORT_SCRIPT_HASH",
    "read_linkage_rates",
    "render_linkage_report",
    "write_linkage_report_html",
]

REPORT_HTML_FILE = "linkage_report.html"
RATES_FILE = "feedback/linkage_rates_by_subgroup.csv"
"""Where the hub's linkage rates by subgroup land at the linkage unit (relative to its home)."""

_DATA = Path(__file__).parent / "data"
_DRAW_JS = (_DATA / "linkage_report.js").read_text(encoding="utf-8")
REPORT_SCRIPT_HASH = (
    "sha256-" + base64.b64encode(hashlib.sha256(_DRAW_JS.encode()).digest()).decode()
)
"""The CSP source of the page's one inline script (its drawing code), for a server."""

_ESTIMATES = (
    ("precision", "정밀도", "Precision"),
    ("recall", "재현율", "Recall"),
    ("false_links", "잘못된 연계", "False links"),
    ("missed_links", "놓친 연계", "Missed links"),
    ("false_links_within_source", "잘못된 연계(같은 출처 안)", "False links within a source"),
    ("false_links_across_sources", "잘못된 연계(출처 사이)", "False links across sources"),
)
_RATES = ("precision", "recall")


@dataclass(frozen=True)
class _Cell:
    text: str
    number: bool = False


@dataclass(frozen=True)
class _Table:
    key: str
    caption: str
    head: tuple[str, ...]
    rows: list[tuple[_Cell, ...]]


@dataclass
class _Section:
    id: str
    ko: str
    en: str
    notes: list[str] = field(default_factory=list)
    missing: str | None = None
    figures: list[str] = field(default_factory=list)
    tables: list[_Table] = field(default_factory=list)


def _text(value: object) -> _Cell:
    """A table cell: numbers as the JSON holds them (integers with thousands separators)."""
    if value is None:
        return _Cell("—")
    if isinstance(value, bool):
        return _Cell("예 yes" if value else "아니오 no")
    if isinstance(value, int):
        return _Cell(f"{value:,}", number=True)
    if isinstance(value, float):
        return _Cell(repr(value) if math.isfinite(value) else str(value), number=True)
    return _Cell(str(value))


def _row(*values: object) -> tuple[_Cell, ...]:
    return tuple(_text(v) for v in values)


def _label(value: object) -> str:
    """A label for Plotly, which reads a few HTML tags in text: entities make it plain text."""
    return html.escape(str(value), quote=False)


def _bar(x: Sequence[object], y: Sequence[object], title: str, **layout: Any) -> dict[str, Any]:
    return {
        "data": [
            {
                "type": "bar",
                "x": [_label(v) for v in x],
                "y": list(y),
                "marker": {"color": "#1f5fa8"},
            }
        ],
        "layout": {
            "margin": {"l": 60, "r": 20, "t": 30, "b": 90},
            "title": {"text": title},
            **layout,
        },
    }


def _mapping(value: object) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}


_SectionBuilder = Callable[[dict[str, Any], dict[str, dict[str, Any]]], _Section]


def _summary(report: dict[str, Any], figures: dict[str, dict[str, Any]]) -> _Section:
    section = _Section("summary", "요약", "Summary")
    records = _mapping(report.get("records"))
    rows = [_row(f"records · {name}", count) for name, count in records.items()]
    rows.append(_row("persons", report.get("persons")))
    rows += [_row(f"edges · {k}", v) for k, v in _mapping(report.get("edges")).items()]
    rows += [
        _row(f"skipped_groups · {k}", v) for k, v in _mapping(report.get("skipped_groups")).items()
    ]
    section.tables.append(_Table("summary", "개수 Counts", ("항목 Figure", "값 Value"), rows))
    by_sources = _mapping(report.get("persons_by_sources"))
    section.tables.append(
        _Table(
            "persons_by_sources",
            "출처 수별 사람 Persons by number of sources",
            ("출처 수 Sources", "사람 Persons"),
            [_row(k, v) for k, v in by_sources.items()],
        )
    )
    linked = _mapping(report.get("linked_pairs"))
    section.tables.append(
        _Table(
            "linked_pairs",
            "연계된 기록 Linked records (A~B)",
            ("A~B", "기록 Records"),
            [_row(k, v) for k, v in linked.items()],
        )
    )
    return section


def _interval(value: object) -> tuple[object, object, object] | None:
    if isinstance(value, Mapping) and "point" in value:
        return value.get("point"), value.get("low"), value.get("high")
    return None


def _estimates(report: dict[str, Any], figures: dict[str, dict[str, Any]]) -> _Section:
    section = _Section(
        "estimates",
        "품질 추정(라벨 없이, 90% 구간)",
        "Quality estimates (label-free, 90% intervals)",
    )
    estimates = _mapping(report.get("estimates"))
    shown = [(key, ko, en, _interval(estimates.get(key))) for key, ko, en in _ESTIMATES]
    present = [(key, ko, en, found) for key, ko, en, found in shown if found is not None]
    if not present:
        section.missing = "이 보고서에는 추정이 없습니다 (This report has no estimates.)"
        return section
    rows = [_row(f"{ko} {en}", *found) for _, ko, en, found in present]
    section.tables.append(
        _Table(
            "estimates",
            "추정과 구간 Estimates and intervals",
            ("추정 Estimate", "점 Point", "하한 Low", "상한 High"),
            rows,
        )
    )
    for group, figure in (("rates", "fig-estimates-rates"), ("counts", "fig-estimates-counts")):
        chosen = [(en, f) for key, _, en, f in present if (key in _RATES) == (group == "rates")]
        if not chosen:
            continue
        points = [f[0] for _, f in chosen]
        figures[figure] = {
            "data": [
                {
                    "type": "scatter",
                    "mode": "markers",
                    "x": [_label(en) for en, _ in chosen],
                    "y": points,
                    "marker": {"size": 12, "color": "#c4621b"},
                    "error_y": {
                        "type": "data",
                        "symmetric": False,
                        "array": [_gap(f[2], f[0]) for _, f in chosen],
                        "arrayminus": [_gap(f[0], f[1]) for _, f in chosen],
                    },
                }
            ],
            "layout": {
                "margin": {"l": 60, "r": 20, "t": 30, "b": 90},
                "title": {"text": "90% interval"},
            },
        }
        section.figures.append(figure)
    other = [
        (k, v)
        for k, v in estimates.items()
        if k not in dict.fromkeys(k for k, _, _ in _ESTIMATES) and not isinstance(v, dict | list)
    ]
    if other:
        section.tables.append(
            _Table(
                "estimates_other",
                "그 밖의 추정 Other estimates",
                ("항목 Figure", "값 Value"),
                [_row(k, v) for k, v in other],
            )
        )
    return section


def _gap(high: object, low: object) -> float:
    if isinstance(high, int | float) and isinstance(low, int | float):
        return max(float(high) - float(low), 0.0)
    return 0.0


def _sweep(report: dict[str, Any], figures: dict[str, dict[str, Any]]) -> _Section:
    section = _Section(
        "threshold-sweep",
        "임계값에 따른 정밀도와 재현율",
        "Precision and recall by threshold (model-expected)",
    )
    sweep = _mapping(report.get("estimates")).get("threshold_sweep")
    rows = [s for s in sweep if isinstance(s, Mapping)] if isinstance(sweep, list) else []
    if not rows:
        section.missing = "임계값 곡선이 없습니다 (No threshold sweep in this report.)"
        return section
    x = [r.get("threshold") for r in rows]
    figures["fig-sweep"] = {
        "data": [
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": name,
                "x": x,
                "y": [r.get(name) for r in rows],
            }
            for name in ("precision", "recall")
        ],
        "layout": {
            "margin": {"l": 60, "r": 20, "t": 30, "b": 60},
            "xaxis": {"title": {"text": "threshold (match probability)"}},
        },
    }
    section.figures.append("fig-sweep")
    section.tables.append(
        _Table(
            "threshold_sweep",
            "임계값 곡선 Threshold sweep",
            ("임계값 Threshold", "쌍 Pairs", "정밀도 Precision", "재현율 Recall"),
            [
                _row(r.get("threshold"), r.get("pairs"), r.get("precision"), r.get("recall"))
                for r in rows
            ],
        )
    )
    return section


def _histogram(report: dict[str, Any], figures: dict[str, dict[str, Any]]) -> _Section:
    section = _Section(
        "match-weight-histogram",
        "후보 쌍의 매칭 가중치 분포",
        "Match weights of the candidate pairs",
    )
    counts = _mapping(_mapping(report.get("estimates")).get("match_weight_histogram"))
    if not counts:
        section.missing = "가중치 분포가 없습니다 (No match-weight histogram in this report.)"
        return section
    figures["fig-histogram"] = _bar(
        list(counts),
        list(counts.values()),
        "pairs per weight bin",
        xaxis={"title": {"text": "match weight (log2 Bayes factor)"}},
    )
    section.figures.append("fig-histogram")
    section.tables.append(
        _Table(
            "match_weight_histogram",
            "구간별 쌍 Pairs per bin",
            ("가중치 구간 Weight bin", "쌍 Pairs"),
            [_row(k, v) for k, v in counts.items()],
        )
    )
    return section


def _levels(model: dict[str, Any]) -> list[tuple[str, str, object, object, object]]:
    return [
        (str(name), str(level.get("level")), level.get("m"), level.get("u"), level.get("weight"))
        for name, levels in _mapping(model.get("fields")).items()
        for level in (levels if isinstance(levels, list) else [])
        if isinstance(level, Mapping)
    ]


def _model(report: dict[str, Any], figures: dict[str, dict[str, Any]]) -> _Section:
    section = _Section(
        "model",
        "모형: 비교 수준별 매칭 가중치와 m/u",
        "Model: match weight and m/u per comparison level",
    )
    model = _mapping(report.get("model"))
    levels = _levels(model)
    if not levels:
        section.missing = "확률 모형이 없습니다 (No probabilistic model in this run.)"
        return section
    if "applied" in model:
        section.notes.append(f"applied: {model['applied']}")
    names = [_label(f"{f} · {lv}") for f, lv, *_ in levels]
    height = {"height": max(360, 22 * len(levels) + 120)}
    figures["fig-weights"] = {
        "data": [
            {
                "type": "bar",
                "orientation": "h",
                "y": names,
                "x": [r[4] for r in levels],
                "marker": {"color": ["#2a8a7a" if _positive(r[4]) else "#c4621b" for r in levels]},
            }
        ],
        "layout": {
            "margin": {"l": 220, "r": 20, "t": 30, "b": 50},
            **height,
            "yaxis": {"autorange": "reversed"},
            "xaxis": {"title": {"text": "match weight log2(m/u)"}},
        },
    }
    figures["fig-mu"] = {
        "data": [
            {
                "type": "bar",
                "orientation": "h",
                "name": name,
                "y": names,
                "x": [r[index] for r in levels],
            }
            for name, index in (("m", 2), ("u", 3))
        ],
        "layout": {
            "margin": {"l": 220, "r": 20, "t": 30, "b": 50},
            **height,
            "barmode": "group",
            "yaxis": {"autorange": "reversed"},
            "xaxis": {"type": "log", "title": {"text": "probability (log scale)"}},
        },
    }
    section.figures += ["fig-weights", "fig-mu"]
    section.tables.append(
        _Table(
            "model",
            "비교 수준 Comparison levels",
            ("필드 Field", "수준 Level", "m", "u", "가중치 Weight"),
            [_row(*r) for r in levels],
        )
    )
    prior = _mapping(model.get("prior_log2_odds"))
    if prior:
        section.tables.append(
            _Table(
                "prior",
                "사전 로그 오즈 Prior log2 odds",
                ("A~B", "log2 odds"),
                [_row(k, v) for k, v in prior.items()],
            )
        )
    training = _mapping(model.get("training"))
    sessions = training.get("sessions")
    if isinstance(sessions, list):
        section.tables.append(
            _Table(
                "training",
                "학습 세션 Training sessions (EM)",
                ("차단 필드 Blocked on", "쌍 Pairs", "일치 비율 Match share"),
                [
                    _row(s.get("blocked_on"), s.get("pairs"), s.get("match_share"))
                    for s in sessions
                    if isinstance(s, Mapping)
                ],
            )
        )
    return section


def _positive(value: object) -> bool:
    return isinstance(value, int | float) and value >= 0


def _blocking(report: dict[str, Any], figures: dict[str, dict[str, Any]]) -> _Section:
    section = _Section("blocking", "차단 규칙별 후보 쌍", "Blocking: candidate pairs per pass")
    blocking = _mapping(report.get("blocking"))
    passes = [p for p in blocking.get("passes", []) if isinstance(p, Mapping)]
    if not passes:
        section.missing = "차단 단계가 없습니다 (No blocking passes in this run.)"
        return section
    figures["fig-blocking"] = {
        "data": [
            {
                "type": "bar",
                "orientation": "h",
                "y": [_label(p.get("rule")) for p in passes],
                "x": [p.get("pairs") for p in passes],
                "marker": {"color": "#1f5fa8"},
            }
        ],
        "layout": {
            "margin": {"l": 300, "r": 20, "t": 30, "b": 50},
            "height": max(320, 24 * len(passes) + 100),
            "yaxis": {"autorange": "reversed"},
            "xaxis": {"title": {"text": "pairs"}},
        },
    }
    section.figures.append("fig-blocking")
    section.tables.append(
        _Table(
            "blocking_passes",
            "단계 Passes",
            ("규칙 Rule", "쌍 Pairs", "건너뛴 블록 Skipped blocks", "예산 초과 Over budget"),
            [
                _row(p.get("rule"), p.get("pairs"), p.get("skipped_blocks"), p.get("over_budget"))
                for p in passes
            ],
        )
    )
    rows = []
    for key, value in blocking.items():
        if key == "passes":
            continue
        found = _interval(value)
        rows.append(_row(key, *(found or (value, None, None))))
    section.tables.append(
        _Table(
            "blocking",
            "차단 요약 Blocking summary",
            ("항목 Figure", "값 Value", "하한 Low", "상한 High"),
            rows,
        )
    )
    return section


def _clusters(report: dict[str, Any], figures: dict[str, dict[str, Any]]) -> _Section:
    section = _Section("cluster-sizes", "군집 크기", "Cluster sizes")
    sizes = _mapping(report.get("cluster_sizes"))
    if not sizes:
        section.missing = "군집이 없습니다 (No clusters.)"
        return section
    figures["fig-clusters"] = _bar(
        list(sizes),
        list(sizes.values()),
        "persons per cluster size",
        yaxis={"type": "log"},
        xaxis={"type": "category"},
    )
    section.figures.append("fig-clusters")
    section.tables.append(
        _Table(
            "cluster_sizes",
            "크기별 사람 Persons by records",
            ("기록 수 Records", "사람 Persons"),
            [_row(k, v) for k, v in sizes.items()],
        )
    )
    return section


def _rates(
    rates: Sequence[Mapping[str, object]] | None, figures: dict[str, dict[str, Any]]
) -> _Section:
    section = _Section(
        "subgroup-rates",
        "집단별 연계율(결합전문기관 회신)",
        "Linkage rates by subgroup (sent back by the hub)",
    )
    if rates is None:
        section.missing = (
            "결합전문기관이 이번 연계의 집단별 연계율을 아직 보내지 않았습니다 "
            "(The hub has not sent rates for this run yet.)"
        )
        return section
    section.notes.append("작은 집단은 개수와 비율 없이 표시됩니다 (small groups are withheld).")
    by_column: dict[str, list[Mapping[str, object]]] = {}
    for row in rates:
        by_column.setdefault(str(row.get("column")), []).append(row)
    for index, (column, rows) in enumerate(by_column.items()):
        shown = [r for r in rows if r.get("rate") is not None]
        if shown:
            figure = f"fig-rates-{index}"
            figures[figure] = _bar(
                [r.get("group") for r in shown],
                [r.get("rate") for r in shown],
                _label(column),
                yaxis={"range": [0, 1]},
                xaxis={"type": "category"},
            )
            section.figures.append(figure)
        section.tables.append(
            _Table(
                f"rates:{column}",
                column,
                ("집단 Group", "기록 Records", "연계 Linked", "연계율 Rate"),
                [
                    _row(
                        r.get("group"),
                        r.get("records"),
                        r.get("linked"),
                        "보류 withheld" if r.get("rate") is None else r.get("rate"),
                    )
                    for r in rows
                ],
            )
        )
    return section


def _notes(report: dict[str, Any], figures: dict[str, dict[str, Any]]) -> _Section:
    section = _Section("notes", "용어 설명", "What each count means")
    notes = _mapping(report.get("notes"))
    section.tables.append(
        _Table(
            "notes",
            "정의 Definitions",
            ("항목 Figure", "뜻 Meaning"),
            [_row(k, v) for k, v in notes.items()],
        )
    )
    return section


_SECTIONS: tuple[_SectionBuilder, ...] = (
    _summary,
    _estimates,
    _sweep,
    _histogram,
    _model,
    _blocking,
    _clusters,
)


@functools.cache
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(_DATA), autoescape=select_autoescape(["html"]), auto_reload=False
    )


@functools.cache
def _plotly_js() -> str:
    import plotly  # type: ignore[import-untyped]  # noqa: PLC0415 - only the file inlines it

    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    text = path.read_text(encoding="utf-8")
    if "</script" in text.lower():  # it could end the inline script early
        raise LinkageError("the installed plotly.min.js cannot be inlined (it holds </script)")
    return text


def _json_in_script(value: object) -> Markup:
    data = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        data = data.replace(char, escaped)  # JSON inside <script>: no tag can end it
    return Markup(data)  # noqa: S704 - escaped above


def render_linkage_report(
    report: Mapping[str, Any],
    *,
    rates: Sequence[Mapping[str, object]] | None = None,
    plotly_src: str | None = None,
) -> str:
    """The report's HTML page: charts with a table beside each, Korean with English labels.

    Args:
        report: The linkage report (``linkage_report.json`` loaded, or the report's fields).
        rates: The hub's linkage rates by subgroup (rows of ``column``, ``group``, ``records``,
            ``linked``, ``rate``), if it has sent them for this run.
        plotly_src: A local URL of ``plotly.min.js`` (a server's page); by default the file
            inlines it, so it opens offline.

    Returns:
        The page.

    Raises:
        LinkageError: ``plotly.min.js`` cannot be inlined.

    Example:
        >>> page = render_linkage_report({"method": "exact", "records": {"a": 2, "b": 1},
        ...                               "persons": 2}, plotly_src="/plotly.min.js")
        >>> "Linkage quality report" in page and "cdn" not in page.lower()
        True
    """
    plain: dict[str, Any] = json.loads(json.dumps(report, default=str))  # keys as in the JSON
    figures: dict[str, dict[str, Any]] = {}
    sections = [build(plain, figures) for build in _SECTIONS]
    sections += [_rates(rates, figures), _notes(plain, figures)]
    method = plain.get("method", "?")
    return (
        _environment()
        .get_template("linkage_report.html")
        .render(
            method_label=f"연계 방법 method: {method}",
            sections=sections,
            figures_json=_json_in_script(figures),
            plotly_src=plotly_src,
            plotly_js=Markup("") if plotly_src else Markup(_plotly_js()),  # noqa: S704 - the package's own file
            draw_js=Markup(_DRAW_JS),  # noqa: S704 - the package's own file
        )
    )


def read_linkage_rates(path: Path) -> list[dict[str, object]] | None:
    """The hub's linkage rates by subgroup from their CSV, or None when there is none.

    Args:
        path: The CSV (``column, group, records, linked, rate``; empty cells are withheld).

    Returns:
        Its rows, or None if the file does not exist.

    Raises:
        LinkageError: The file is not such a table.
    """
    if not path.is_file():
        return None
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.csv as pacsv  # noqa: PLC0415

    types = {
        "column": pa.string(),
        "group": pa.string(),
        "records": pa.int64(),
        "linked": pa.int64(),
        "rate": pa.float64(),
    }
    try:
        table = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(column_types=types))
    except (pa.ArrowInvalid, pa.ArrowTypeError) as e:
        raise LinkageError(f"{path.name} is not a table of linkage rates by subgroup") from e
    if set(types) - set(table.column_names):
        raise LinkageError(
            f"{path.name} lacks columns {sorted(set(types) - set(table.column_names))}"
        )
    return [{k: row[k] for k in types} for row in table.to_pylist()]


def write_linkage_report_html(
    report: Mapping[str, Any],
    out: Path,
    *,
    rates: Sequence[Mapping[str, object]] | None = None,
) -> Path:
    """Write ``linkage_report.html`` into ``out`` atomically (beside ``linkage_report.json``).

    Args:
        report: The linkage report.
        out: The folder.
        rates: The hub's linkage rates by subgroup for this run, if any.

    Returns:
        The file written.
    """
    return write_text_atomic(render_linkage_report(report, rates=rates), out / REPORT_HTML_FILE)
