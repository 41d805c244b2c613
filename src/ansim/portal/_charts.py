"""Plotly figures of a published table: a bar chart, a si/gun map and a time series per slice.

A table's cells are cut into *slices*: one item and one category of every dimension but the
chart's axis (the si/gun dimension when the table has one). Each slice gets a bar chart with the
DP error bars and, for si/gun tables, a choropleth of Gyeonggi's 31 si/gun; a table with a
period dimension also gets a time series per slice. Only released numbers enter a figure:
a suppressed cell is a gap marked ``x``, never a value.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from ansim.portal._published import Cell, PublishedTable, format_number
from ansim.regions import GYEONGGI_SIGUNGU

__all__ = [
    "PERIOD_DIMENSIONS",
    "TableShape",
    "category_label",
    "figures",
    "map_base",
    "table_shape",
]

PERIOD_DIMENSIONS = frozenset({"period", "week", "month", "quarter", "year", "prd_de"})
"""Dimension names read as time (the time series' axis)."""

REGION_TOTALS = frozenset({"41", "41000", "ALL", "all", "total", "TOTAL"})
"""Codes a si/gun dimension may also hold for Gyeonggi as a whole (charted, not mapped)."""
GEOJSON_URL = "/public/geo/gyeonggi-sigungu.geojson"
_COLOURS = {"published": "#1f5fa8", "rounded": "#2a8a7a", "dp": "#c4621b"}
_SCALE = [[0, "#c6dbef"], [1, "#08306b"]]  # light to dark blue: more is darker
_NO_DATA = "#e4e1da"  # no released value (suppressed or absent): warm grey, off the scale


@dataclass(frozen=True)
class TableShape:
    """Which dimension plays which part in a table's figures.

    Attributes:
        axis: The bar chart's axis: the si/gun dimension if any, else the non-period dimension
            with the most categories.
        region: The si/gun dimension (its codes Gyeonggi si/gun, or a Gyeonggi total), or None.
        period: The period dimension, or None.
        group: Without a si/gun dimension, the next largest dimension: one bar per category
            side by side (grouped bars), or None.
        others: The remaining dimensions (they pick the slice).
    """

    axis: int | None
    region: int | None
    period: int | None
    group: int | None
    others: tuple[int, ...]


def _is_region(labels: dict[str, str]) -> bool:
    codes = set(labels)
    return bool(codes & set(GYEONGGI_SIGUNGU)) and codes <= set(GYEONGGI_SIGUNGU) | REGION_TOTALS


def table_shape(table: PublishedTable) -> TableShape:
    """The parts a table's dimensions play in its figures.

    Example:
        >>> from ansim.portal._published import Cell, PublishedTable, TableMetadata
        >>> meta = TableMetadata(("g",), "p", "s", "2021", "t", "2026-12-01", ("c",))
        >>> t = PublishedTable("t", "제목", "Title", "1", "T", "covid", "2021", "W", "명",
        ...     ("week", "sex", "sigungu"), ({"W1": "1주"}, {"M": "남"}, {"41110": "수원시"}),
        ...     {"n": "확진자"}, (Cell(("W1", "M", "41110"), "n", 3.0),), meta)
        >>> table_shape(t)
        TableShape(axis=2, region=2, period=0, group=None, others=(1,))
    """
    period = next(
        (i for i, name in enumerate(table.dimensions) if name.lower() in PERIOD_DIMENSIONS), None
    )
    region = next(
        (i for i, labels in enumerate(table.labels) if i != period and _is_region(labels)), None
    )
    rest = [i for i in range(len(table.dimensions)) if i not in (period, region)]
    if region is not None:
        return TableShape(axis=region, region=region, period=period, group=None,
                          others=tuple(rest))  # fmt: skip
    rest.sort(key=lambda d: -len(table.labels[d]))  # stable: ties keep the table's order
    axis = rest.pop(0) if rest else None
    group = rest.pop(0) if rest else None
    return TableShape(axis=axis, region=None, period=period, group=group, others=tuple(rest))


def category_label(table: PublishedTable, dim: int, code: str, lang: str) -> str:
    """A category's label in ``lang``; English si/gun names come from :mod:`ansim.regions`."""
    given = table.label(dim, code, lang)
    if lang == "en" and given == table.labels[dim][code] and code in GYEONGGI_SIGUNGU:
        return GYEONGGI_SIGUNGU[code].name_en
    return given


def _hover(cell: Cell, unit: str) -> str:
    if cell.value is None:
        return "x"
    text = f"{format_number(cell.value)} {unit}"
    if cell.ci_low is not None and cell.ci_high is not None:
        text += f" [{format_number(cell.ci_low)}, {format_number(cell.ci_high)}]"
    return text


def _intervals(xs: list[str], cells: list[Cell | None]) -> list[dict[str, Any]]:
    """DP error bars: a line from ``ci_low`` to ``ci_high`` at each x.

    The trace holds the released bounds themselves, not offsets computed from them.
    """
    x: list[str | None] = []
    y: list[float | None] = []
    for at, cell in zip(xs, cells, strict=True):
        if cell and cell.ci_low is not None and cell.ci_high is not None:
            x += [at, at, None]
            y += [cell.ci_low, cell.ci_high, None]
    if not x:
        return []
    return [{"type": "scatter", "mode": "lines", "x": x, "y": y, "name": "95%",
             "line": {"color": "#222222", "width": 1.5}, "hoverinfo": "skip",
             "showlegend": False}]  # fmt: skip


def _bars(
    table: PublishedTable, shape: TableShape, cells: dict[tuple[str, str], Cell], lang: str
) -> list[dict[str, Any]]:
    """The bar chart of one slice: one bar per axis category (grouped by ``shape.group``)."""
    codes = list(table.labels[shape.axis]) if shape.axis is not None else [""]
    unit = table.unit_label(lang)
    xs = [category_label(table, shape.axis, c, lang) if shape.axis is not None else unit
          for c in codes]  # fmt: skip
    groups = list(table.labels[shape.group]) if shape.group is not None else [""]
    traces: list[dict[str, Any]] = []
    for group in groups:
        row = [cells.get((code, group)) for code in codes]
        traces.append({
            "type": "bar", "x": xs, "y": [c.value if c else None for c in row],
            "name": category_label(table, shape.group, group, lang) if shape.group is not None
            else table.item_label(next(iter(table.items)), lang),
            "text": [c.shown() if c else "" for c in row], "textposition": "outside",
            "hovertext": [_hover(c, table.unit_label(lang)) if c else "" for c in row],
            "hoverinfo": "x+text" if shape.group is None else "x+name+text",
            "showlegend": shape.group is not None,
            "marker": {"color": [_COLOURS.get(c.protection, _NO_DATA) if c else _NO_DATA
                                 for c in row]} if shape.group is None else {},
        })  # fmt: skip
        if shape.group is None:
            traces += _intervals(xs, row)
    return traces


def map_base(lang: str) -> dict[str, Any]:
    """The map's grey layer: all 31 si/gun, under every view's values (drawn once per page)."""
    codes = list(GYEONGGI_SIGUNGU)
    return {
        "type": "choropleth", "geojson": GEOJSON_URL, "featureidkey": "properties.sigungu_code",
        "locations": codes, "z": [0] * len(codes), "showscale": False, "name": "",
        "colorscale": [[0, _NO_DATA], [1, _NO_DATA]],
        "hovertext": [GYEONGGI_SIGUNGU[c].name_en if lang == "en" else GYEONGGI_SIGUNGU[c].name_ko
                      for c in codes],
        "hoverinfo": "text", "marker": {"line": {"color": "#ffffff", "width": 0.8}},
    }  # fmt: skip


def _map(table: PublishedTable, cells: dict[str, Cell], lang: str) -> dict[str, Any]:
    """A view's released values on the map (the page draws :func:`map_base` beneath)."""
    shown = [c for c in GYEONGGI_SIGUNGU if c in cells and cells[c].value is not None]
    names = {c: GYEONGGI_SIGUNGU[c].name_en if lang == "en" else GYEONGGI_SIGUNGU[c].name_ko
             for c in shown}  # fmt: skip
    return {
        "type": "choropleth", "geojson": GEOJSON_URL, "featureidkey": "properties.sigungu_code",
        "locations": shown, "z": [cells[c].value for c in shown], "colorscale": _SCALE,
        "colorbar": {"title": {"text": table.unit_label(lang)}}, "name": "",
        "hovertext": [f"{names[c]}: {_hover(cells[c], table.unit_label(lang))}" for c in shown],
        "hoverinfo": "text", "marker": {"line": {"color": "#ffffff", "width": 0.8}},
    }  # fmt: skip


def _slice_label(
    table: PublishedTable, item: str, keys: Iterable[tuple[int, str]], lang: str
) -> str:
    parts = [
        table.item_label(item, lang),
        *(category_label(table, dim, code, lang) for dim, code in keys),
    ]
    return " · ".join(parts)


def figures(table: PublishedTable, lang: str = "ko") -> dict[str, Any]:
    """The figures of every slice of ``table``, ready for ``Plotly.react``.

    Every number in a view's or series' ``y`` or ``z`` is a released value or a released DP
    bound (``map_base`` only draws the 31 si/gun).

    Example:
        >>> from ansim.portal import Cell, PublishedTable, TableMetadata
        >>> meta = TableMetadata(("gyeonggi",), "covid", "s", "2021", "t", "2026-12-01", ("c",))
        >>> table = PublishedTable("t", "확진자", "Cases", "941", "DT_1", "health", "2021", "Y",
        ...     "명", ("sigungu",), ({"41110": "수원시", "41610": "광주시"},), {"n": "확진자"},
        ...     (Cell(("41110",), "n", 12.0), Cell(("41610",), "n", None, "suppressed")), meta)
        >>> (view,) = figures(table)["views"]
        >>> view["bar"][0]["y"], view["bar"][0]["text"], view["map"]["z"]
        ([12.0, None], ['12', 'x'], [12.0])

    Returns:
        ``{"map_base", "first", "views": [{"label", "bar", "map"}], "series": [{"label",
        "traces"}]}`` (``first``: the view to show first):
        ``map_base`` (the grey 31 si/gun) and each view's ``map`` (its values) are None without
        a si/gun dimension, ``series`` is empty without a period dimension.
    """
    shape = table_shape(table)
    if shape.group is not None and any(c.protection == "dp" for c in table.cells):
        # grouped bars sit beside their x, where an interval line could not follow them
        shape = replace(shape, group=None, others=(shape.group, *shape.others))
    picked = [*shape.others, *([shape.period] if shape.period is not None else [])]
    sliced = [*([shape.group] if shape.group is not None else []), *shape.others]
    slices: dict[tuple[str, tuple[str, ...]], dict[tuple[str, str], Cell]] = {}
    series: dict[tuple[str, tuple[str, ...]], dict[str, dict[str, Cell]]] = {}
    for cell in table.cells:
        axis_code = cell.keys[shape.axis] if shape.axis is not None else ""
        group_code = cell.keys[shape.group] if shape.group is not None else ""
        key = (cell.item, tuple(cell.keys[d] for d in picked))
        slices.setdefault(key, {})[axis_code, group_code] = cell
        if shape.period is not None:
            skey = (cell.item, tuple(cell.keys[d] for d in sliced))
            series.setdefault(skey, {}).setdefault(axis_code, {})[cell.keys[shape.period]] = cell
    views = [
        {
            "label": _slice_label(table, item, zip(picked, codes, strict=True), lang),
            "bar": _bars(table, shape, cells, lang),
            "map": _map(table, {a: c for (a, _), c in cells.items()}, lang)
            if shape.region is not None else None,
        }
        for (item, codes), cells in slices.items()
    ]  # fmt: skip
    base = map_base(lang) if shape.region is not None else None
    return {"map_base": base, "first": _first_view(slices, shape), "views": views, "series": [
        {"label": _slice_label(table, item, zip(sliced, codes, strict=True), lang),
         "traces": _lines(table, shape, lines, lang)}
        for (item, codes), lines in series.items()
    ]}  # fmt: skip


def _first_view(slices: dict[Any, dict[tuple[str, str], Cell]], shape: TableShape) -> int:
    """The view shown first: the first with a released number.

    With a period, the busiest one (a series' first period is often empty).
    """
    totals = [sum(c.value for c in cells.values() if c.value is not None)
              for cells in slices.values()]  # fmt: skip
    shown = [any(c.value is not None for c in cells.values()) for cells in slices.values()]
    if shape.period is not None and totals:
        return totals.index(max(totals))
    return shown.index(True) if any(shown) else 0


_MAX_INTERVAL_LINES = 5  # more lines than this: the intervals are in the hover text only
_MARKERS_UP_TO = 40  # periods; beyond, lines alone (thousands of SVG markers slow the page)


def _lines(
    table: PublishedTable, shape: TableShape, lines: dict[str, dict[str, Cell]], lang: str
) -> list[dict[str, Any]]:
    period = shape.period if shape.period is not None else 0
    periods = sorted(table.labels[period])
    xs = [category_label(table, period, p, lang) for p in periods]
    traces: list[dict[str, Any]] = []
    for axis_code, by_period in lines.items():
        row = [by_period.get(p) for p in periods]
        name = category_label(table, shape.axis, axis_code, lang) if shape.axis is not None else ""
        traces.append({
            "type": "scatter", "name": name, "x": xs,
            "mode": "lines+markers" if len(xs) <= _MARKERS_UP_TO else "lines",
            "y": [c.value if c else None for c in row],
            "hovertext": [_hover(c, table.unit_label(lang)) if c else "" for c in row],
            "hoverinfo": "x+text",
        })  # fmt: skip
        if len(lines) <= _MAX_INTERVAL_LINES:
            traces += _intervals(xs, row)
    return traces
