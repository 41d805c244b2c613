"""The portal's public routes: catalogue, table pages, downloads and the KOSIS-style API.

Every response is built from the published tables alone (``<home>/release/public``), cached
per folder state: a publish changes the folder, so the next request renders afresh.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Annotated

import plotly  # type: ignore[import-untyped]
from fastapi import APIRouter, FastAPI, HTTPException, Query
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response

from ansim.portal._formats import kosis_rows, plain_rows, safe_csv
from ansim.portal._geo import gyeonggi_geojson
from ansim.portal._published import PublishedTable, load_published, public_dir

__all__ = ["Catalogue", "create_app", "public_router"]

_PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


class Catalogue:
    """The published tables of a home, reloaded only when the folder changes."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self._state: tuple[tuple[str, int, int], ...] | None = None
        self._tables: dict[str, PublishedTable] = {}

    def _folder_state(self) -> tuple[tuple[str, int, int], ...]:
        folder = public_dir(self.home)
        if not folder.is_dir():
            return ()
        stats = ((p.name, p.stat()) for p in sorted(folder.glob("*.json")))
        return tuple((name, st.st_mtime_ns, st.st_size) for name, st in stats)

    def tables(self) -> dict[str, PublishedTable]:
        """The published tables by id (cached until the folder changes)."""
        state = self._folder_state()
        if state != self._state:
            self._tables, self._state = load_published(self.home), state
        return self._tables

    def get(self, table_id: str) -> PublishedTable:
        """One table, or HTTP 404."""
        table = self.tables().get(table_id)
        if table is None:
            raise HTTPException(status_code=404, detail="no published table with this id")
        return table


def _kosis_error(code: str, message: str) -> JSONResponse:
    return JSONResponse({"err": code, "errMsg": message})


def _envelope(
    code: str, message: str, items: list[dict[str, object]], page: int, rows: int
) -> dict[str, object]:
    """A data.go.kr response: header with result code and message, body with one page."""
    start = (page - 1) * rows
    return {
        "response": {
            "header": {"resultCode": code, "resultMsg": message},
            "body": {
                "items": {"item": items[start : start + rows]},
                "numOfRows": rows, "pageNo": page, "totalCount": len(items),
            },
        }
    }  # fmt: skip


def _page(table: PublishedTable) -> str:
    rows = plain_rows(table)
    head = "".join(f"<th>{html.escape(k)}</th>" for k in rows[0]) if rows else ""
    shown_rows = [r | {"value": "x" if r["value"] is None else r["value"]} for r in rows]
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape('' if v is None else str(v))}</td>" for v in r.values())
        + "</tr>"
        for r in shown_rows
    )  # fmt: skip
    shown = [c for c in table.cells if c.value is not None]
    trace = {
        "type": "bar",
        "x": [
            " · ".join(lab[k] for k, lab in zip(c.keys, table.labels, strict=True)) for c in shown
        ],
        "y": [c.value for c in shown],
    }
    meta = table.metadata
    facts = {
        "제공기관 (custodians)": ", ".join(meta.custodians),
        "과제 (project)": meta.project,
        "목적 (purpose)": meta.purpose,
        "기준 기간 (reference period)": meta.reference_period,
        "단위 (unit)": table.unit,
        "보호 방법 (protection)": meta.protection_method,
        "공표일 (release date)": meta.release_date,
        "승인 (approved by)": ", ".join(meta.approvers),
    }
    dl = "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in facts.items())
    data = json.dumps([trace], ensure_ascii=False).replace("<", "\\u003c")
    return f"""<!doctype html><html lang="ko"><head><meta charset="utf-8">
<title>{html.escape(table.title_ko)}</title><script src="/public/static/plotly.min.js"></script>
</head><body><h1>{html.escape(table.title_ko)}</h1><p>{html.escape(table.title_en)}</p>
<div id="chart"></div><dl>{dl}</dl><table id="cells"><thead><tr>{head}</tr></thead>
<tbody>{body}</tbody></table>
<script>Plotly.newPlot("chart", {data}, {{}}, {{displaylogo: false}});</script></body></html>"""


def public_router(home: Path) -> APIRouter:
    """The portal's public routes over the published tables of ``home`` (no login)."""
    catalogue = Catalogue(home)
    router = APIRouter()

    @router.get("/public/tables")
    def list_tables() -> list[dict[str, str]]:
        return [
            {"id": t.id, "title": t.title_ko, "title_en": t.title_en, "org_id": t.org_id,
             "tbl_id": t.tbl_id, "topic": t.topic, "period": t.period}
            for t in catalogue.tables().values()
        ]  # fmt: skip

    @router.get("/public/tables/{table_id}", response_class=HTMLResponse)
    def table_page(table_id: str) -> HTMLResponse:
        return HTMLResponse(_page(catalogue.get(table_id)))

    @router.get("/public/tables/{table_id}/data")
    def table_data(
        table_id: str, format: Annotated[str, Query(pattern="^(json|csv)$")] = "json"
    ) -> Response:
        rows = plain_rows(catalogue.get(table_id))
        if format == "csv":
            headers = {"Content-Disposition": f'attachment; filename="{table_id}.csv"'}
            return Response("\ufeff" + safe_csv(rows), media_type="text/csv", headers=headers)
        return JSONResponse(rows)

    @router.get("/public/geo/gyeonggi-sigungu.geojson")
    def geojson() -> Response:
        return Response(gyeonggi_geojson(), media_type="application/geo+json")

    @router.get("/public/static/plotly.min.js")
    def plotly_js() -> FileResponse:
        return FileResponse(_PLOTLY_JS, media_type="text/javascript")

    @router.get("/openapi/statisticsData.do")
    def statistics_data(
        method: str = "",
        orgId: str = "",
        tblId: str = "",
        format: str = "json",
    ) -> JSONResponse:
        if method != "getList" or not orgId or not tblId:
            return _kosis_error("20", "필수요청변수값이 누락되었습니다.")
        if format != "json":
            return _kosis_error("21", "잘못된 요청변수를 입력했습니다.")
        matches = [t for t in catalogue.tables().values() if (t.org_id, t.tbl_id) == (orgId, tblId)]
        if not matches:
            return _kosis_error("30", "조회결과가 없습니다.")
        return JSONResponse([row for t in matches for row in kosis_rows(t)])

    @router.get("/openapi/tables/{table_id}/items")
    def data_go_kr(
        table_id: str,
        pageNo: Annotated[int, Query(ge=1, le=100_000)] = 1,
        numOfRows: Annotated[int, Query(ge=1, le=1000)] = 10,
        type: Annotated[str, Query(pattern="^json$")] = "json",
    ) -> JSONResponse:
        table = catalogue.tables().get(table_id)
        if table is None:  # data.go.kr: 03 NODATA_ERROR
            return JSONResponse(_envelope("03", "NODATA_ERROR", [], pageNo, numOfRows))
        items: list[dict[str, object]] = list(plain_rows(table))
        return JSONResponse(_envelope("00", "NORMAL SERVICE.", items, pageNo, numOfRows))

    return router


def create_app(home: Path) -> FastAPI:
    """A standalone portal app over ``home`` (for tests and local use)."""
    app = FastAPI(title="Ansim open statistics portal")
    app.include_router(public_router(home))
    return app
