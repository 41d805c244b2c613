"""The portal's HTML pages: the catalogue and one page per table (Korean, with English).

Pages are Jinja2 templates (``server/templates/public_*.html``) filled from published tables
only. The chart and map are drawn in the browser by Plotly from figures built here
(:mod:`ansim.portal._charts`); the table view and the metadata block need no JavaScript.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from ansim.portal._charts import category_label, figures, table_shape
from ansim.portal._published import PublishedTable, format_number
from ansim.regions import GYEONGGI_SIGUNGU

__all__ = ["LANGUAGES", "CatalogueFilter", "catalogue_page", "matches", "table_page"]

LANGUAGES = ("ko", "en")
_TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parents[1] / "server" / "templates"),
    autoescape=select_autoescape(["html"]),
)
TEXT: dict[str, dict[str, str]] = {
    "ko": {
        "portal": "안심 공개 통계", "catalogue": "공개 통계 목록", "language": "언어",
        "intro": "반출 심사를 거쳐 공개된 통계만 보여 줍니다. 모든 숫자에 보호 방법이 표시됩니다.",
        "search": "검색", "topic": "주제", "sigungu": "시군", "period": "기간", "project": "과제",
        "all": "전체", "apply": "적용", "none": "조건에 맞는 통계가 없습니다.", "count": "건",
        "chart": "차트", "map": "경기도 31개 시군 지도", "grey": "회색: 공개된 값 없음(x)",
        "series": "시계열", "table": "표",
        "slice": "보기", "value": "값", "protection": "보호", "error": "오차 범위",
        "item": "항목", "metadata": "메타데이터", "custodians": "제공기관", "purpose": "목적",
        "reference_period": "기준 기간", "unit": "단위", "method": "보호 방법",
        "release_date": "공표일", "approvers": "승인", "downloads": "내려받기",
        "api": "오픈 API", "register": "투명성 등록부에서 과제 보기",
        "same_project": "이 과제의 다른 공개 통계", "back": "목록으로",
        "published": "공개", "suppressed": "비공개(x)", "rounded": "반올림",
        "dp": "차분 프라이버시", "legend": "x = 노출 위험으로 비공개, 반올림 = 반올림한 값, "
        "차분 프라이버시 = 잡음을 더한 값(오차 범위 표시)",
    },
    "en": {
        "portal": "Ansim open statistics", "catalogue": "Released statistics",
        "language": "Language",
        "intro": "Only statistics released after output checking are shown; every number shows "
        "its protection.",
        "search": "Search", "topic": "Topic", "sigungu": "Si/gun", "period": "Period",
        "project": "Project", "all": "All", "apply": "Apply", "none": "No statistics match.",
        "count": "tables", "chart": "Chart", "map": "Map of Gyeonggi's 31 si/gun",
        "grey": "Grey: no released value (x)",
        "series": "Time series", "table": "Table", "slice": "View", "value": "Value",
        "protection": "Protection", "error": "Error bar", "item": "Item", "metadata": "Metadata",
        "custodians": "Source custodians", "purpose": "Purpose",
        "reference_period": "Reference period", "unit": "Unit", "method": "Protection method",
        "release_date": "Release date", "approvers": "Approved by", "downloads": "Downloads",
        "api": "Open API", "register": "This project in the transparency register",
        "same_project": "Other statistics of this project",
        "back": "Back to the catalogue", "published": "published", "suppressed": "suppressed (x)",
        "rounded": "rounded", "dp": "differential privacy",
        "legend": "x = withheld (disclosure risk), rounded = rounded value, differential privacy "
        "= value with noise (error bar shown)",
    },
}  # fmt: skip
_DIMENSION_NAMES = {
    "sigungu": ("시군", "Si/gun"), "age_band": ("연령대", "Age band"), "age": ("연령", "Age"),
    "sex": ("성별", "Sex"), "period": ("기간", "Period"), "week": ("주", "Week"),
    "month": ("월", "Month"), "year": ("연도", "Year"), "vaccinated": ("예방접종", "Vaccination"),
    "self_rated_health": ("주관적 건강", "Self-rated health"),
}  # fmt: skip


@dataclass(frozen=True)
class CatalogueFilter:
    """What the catalogue's visitor searches for (empty: anything).

    Attributes:
        q: Words in the title, topic, project or purpose.
        topic: A topic exactly.
        sigungu: A si/gun code the table has numbers for.
        period: A reference period exactly (or a period category of the table).
        project: A project exactly.
    """

    q: str = ""
    topic: str = ""
    sigungu: str = ""
    period: str = ""
    project: str = ""


def matches(table: PublishedTable, want: CatalogueFilter) -> bool:
    """Whether ``table`` passes the catalogue's search and filters.

    Example:
        >>> from ansim.portal import Cell, PublishedTable, TableMetadata
        >>> meta = TableMetadata(("gyeonggi",), "covid", "s", "2021", "t", "2026-12-01", ("c",))
        >>> table = PublishedTable("t", "확진자", "Cases", "941", "DT_1", "health", "2021", "Y",
        ...     "명", ("sigungu",), ({"41110": "수원시", "41610": "광주시"},), {"n": "확진자"},
        ...     (Cell(("41110",), "n", 12.0), Cell(("41610",), "n", None, "suppressed")), meta)
        >>> [matches(table, CatalogueFilter(**f)) for f in
        ...  ({"q": "cases"}, {"sigungu": "41610"}, {"sigungu": "41830"}, {"project": "x"})]
        [True, True, False, False]
    """
    shape = table_shape(table)
    text = " ".join([table.title_ko, table.title_en, table.topic, table.metadata.project,
                     table.metadata.purpose, table.id]).casefold()  # fmt: skip
    periods = {table.period, table.metadata.reference_period}
    if shape.period is not None:
        periods |= set(table.labels[shape.period])
    regions = set(table.labels[shape.region]) if shape.region is not None else set()
    return (
        all(word in text for word in want.q.casefold().split())
        and want.topic in ("", table.topic)
        and want.project in ("", table.metadata.project)
        and (not want.period or want.period in periods)
        and (not want.sigungu or want.sigungu in regions)
    )


def _facets(tables: Iterable[PublishedTable]) -> dict[str, list[str]]:
    listed = list(tables)
    return {
        "topic": sorted({t.topic for t in listed}),
        "project": sorted({t.metadata.project for t in listed}),
        "period": sorted({t.period for t in listed}),
    }


def catalogue_page(
    tables: Iterable[PublishedTable], shown: list[PublishedTable], want: CatalogueFilter, lang: str
) -> str:
    """The catalogue: search form, filters and the matching tables."""
    regions = [(code, s.name_en if lang == "en" else s.name_ko)
               for code, s in GYEONGGI_SIGUNGU.items()]  # fmt: skip
    return _TEMPLATES.get_template("public_catalogue.html").render(
        lang=lang, t=TEXT[lang], tables=shown, want=want, facets=_facets(tables), regions=regions
    )


def _dimension_name(name: str, lang: str) -> str:
    pair = _DIMENSION_NAMES.get(name.lower())
    return pair[LANGUAGES.index(lang)] if pair else name


def _rows(table: PublishedTable, lang: str) -> list[dict[str, Any]]:
    """The table view: labels, the shown value, its protection and its error bar's geometry."""
    bounds = [v for c in table.cells for v in (c.ci_low, c.value, c.ci_high) if v is not None]
    low, high = (min(bounds), max(bounds)) if bounds else (0.0, 1.0)
    span = (high - low) or 1.0
    rows = []
    for cell in table.cells:
        labels = [category_label(table, d, k, lang) for d, k in enumerate(cell.keys)]
        bar = None
        if cell.value is not None and cell.ci_low is not None and cell.ci_high is not None:
            bar = {
                "lo": format_number(cell.ci_low), "hi": format_number(cell.ci_high),
                "x1": round(100 * (cell.ci_low - low) / span, 1),
                "x2": round(100 * (cell.ci_high - low) / span, 1),
                "x": round(100 * (cell.value - low) / span, 1),
            }  # fmt: skip
        item = table.item_label(cell.item, lang)
        rows.append({"labels": labels, "item": item, "shown": cell.shown(),
                     "protection": cell.protection, "bar": bar})  # fmt: skip
    return rows


def table_page(table: PublishedTable, lang: str) -> str:
    """The page of one table: chart, map, time series, table view, metadata and downloads."""
    meta = table.metadata
    t = TEXT[lang]
    facts = [
        (t["custodians"], ", ".join(meta.custodians)), (t["project"], meta.project),
        (t["purpose"], meta.purpose), (t["reference_period"], meta.reference_period),
        (t["unit"], table.unit_label(lang)), (t["method"], meta.protection_method),
        (t["release_date"], meta.release_date), (t["approvers"], ", ".join(meta.approvers)),
    ]  # fmt: skip
    drawn = figures(table, lang)
    data = json.dumps(drawn, ensure_ascii=False, separators=(",", ":"))
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        data = data.replace(char, escaped)  # JSON inside <script>: no tag can end it
    return _TEMPLATES.get_template("public_table.html").render(
        lang=lang, t=t, table=table, title=table.title(lang),
        facts=facts, rows=_rows(table, lang), figures=drawn, figures_json=Markup(data),  # noqa: S704 - escaped above
        dimensions=[_dimension_name(d, lang) for d in table.dimensions],
        has_map=table_shape(table).region is not None,
    )  # fmt: skip
