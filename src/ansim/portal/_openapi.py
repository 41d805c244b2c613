"""The open API in the shapes Korean users know: KOSIS and data.go.kr.

* KOSIS (``/openapi/statisticsData.do``, ``/openapi/statisticsList.do``): ``method=getList``
  gives the rows ``ORG_ID, TBL_ID, TBL_NM, PRD_SE, PRD_DE, C1, C1_NM, …, ITM_ID, ITM_NM,
  UNIT_NM, DT`` with suppressed cells ``x``; ``method=getMeta`` gives a table's name, items and
  periods; errors are ``{"err": code, "errMsg": text}`` with KOSIS's codes.
* data.go.kr (``/openapi/tables/{id}/items``): ``response.header.resultCode/resultMsg`` and
  ``response.body.items.item[]`` with ``numOfRows``, ``pageNo``, ``totalCount``, as JSON or XML
  (``type``), with the portal's result codes.

Both take ``lang=ko`` (the default) or ``lang=en``: the names (``TBL_NM``, ``C1_NM`` …,
``ITM_NM``, ``UNIT_NM``; data.go.kr's ``*_name``, ``item``, ``unit``) come from the table's
English labels where it has them, Korean otherwise; the fields stay the same. Another ``lang``
is the API's own parameter error (KOSIS ``21``, data.go.kr ``10``).

Every parameter is read as text and checked here, so a bad request gets the API's own error
shape rather than a framework's.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Any
from xml.etree import ElementTree as ET

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel

from ansim.portal._charts import category_label, table_shape
from ansim.portal._formats import kosis_rows, plain_rows
from ansim.portal._published import PublishedTable, format_number
from ansim.portal._rendering import Rendering

if TYPE_CHECKING:
    from collections.abc import Iterable

if TYPE_CHECKING:
    from ansim.portal._limits import TokenBuckets
    from ansim.portal._router import Catalogue

__all__ = [
    "API_LANGUAGES",
    "DATA_GO_KR_CODES",
    "KOSIS_ERRORS",
    "KOSIS_MAX_CELLS",
    "KosisQuery",
    "envelope",
    "open_api_router",
]

KOSIS_ERRORS = {
    "20": "필수요청변수값이 누락되었습니다.",
    "21": "잘못된 요청변수를 입력했습니다.",
    "30": "조회결과가 없습니다.",
    "31": "조회결과가 초과되었습니다.",
    "40": "호출가능한 조회건수를 초과하였습니다.",
}
"""KOSIS error codes the portal answers (as KOSIS words them)."""

KOSIS_MAX_CELLS = 40_000
"""KOSIS answers at most this many cells per call (error 31 beyond)."""

DATA_GO_KR_CODES = {
    "00": "NORMAL SERVICE.",
    "03": "NODATA_ERROR",
    "10": "INVALID_REQUEST_PARAMETER_ERROR",
    "11": "NO_MANDATORY_REQUEST_PARAMETERS_ERROR",
    "22": "LIMITED_NUMBER_OF_SERVICE_REQUESTS_EXCEEDS_ERROR",
}
"""data.go.kr result codes the portal answers."""

API_LANGUAGES = ("ko", "en")
"""The values of the open API's ``lang`` parameter (the first is the default)."""

_VIEW_NAME = {"ko": "안심 공개 통계", "en": "Ansim open statistics"}
_ITEM_OBJ_NAME = {"ko": "항목", "en": "Item"}
_MAX_ROWS = 10_000
_MAX_PAGE = 1_000_000
Text = Annotated[str, Query()]
_MAX_PARAM = 400
"""Longest parameter value read; a longer one is the API's own 'invalid parameter' error
(a framework's 422 would not be in the API's shape)."""
_XML_NAME = re.compile(r"[^A-Za-z0-9_.-]")
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
"""Characters XML 1.0 cannot hold, escaped or not (dropped from the XML answer)."""


def _kosis_error(code: str) -> Rendering:
    return Rendering.json({"err": code, "errMsg": KOSIS_ERRORS[code]})


def envelope(code: str, items: list[dict[str, Any]], page: int, rows: int) -> dict[str, Any]:
    """A data.go.kr response: header with result code and message, body with one page.

    Example:
        >>> envelope("00", [{"a": 1}, {"a": 2}], 2, 1)["response"]["body"]
        {'items': {'item': [{'a': 2}]}, 'numOfRows': 1, 'pageNo': 2, 'totalCount': 2}
    """
    start = (page - 1) * rows
    return {
        "response": {
            "header": {"resultCode": code, "resultMsg": DATA_GO_KR_CODES[code]},
            "body": {
                "items": {"item": items[start : start + rows]},
                "numOfRows": rows, "pageNo": page, "totalCount": len(items),
            },
        }
    }  # fmt: skip


def _xml(parent: ET.Element, value: Any, name: str) -> None:
    tag = _XML_NAME.sub("_", name) or "field"
    if tag[0].isdigit() or tag[0] in ".-":
        tag = "_" + tag
    if isinstance(value, list):
        for entry in value:
            _xml(parent, entry, name)
        return
    node = ET.SubElement(parent, tag)
    if isinstance(value, dict):
        for key, entry in value.items():
            _xml(node, entry, key)
    elif isinstance(value, float):
        node.text = format_number(value)
    elif value is not None:
        node.text = _NOT_XML.sub("", str(value))


def _data_go_kr(body: dict[str, Any], kind: str) -> Rendering:
    if kind == "xml":
        root = ET.Element("response")
        for key, value in body["response"].items():
            _xml(root, value, key)
        text = ET.tostring(root, encoding="unicode", xml_declaration=False)
        xml = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>' + text
        return Rendering(xml.encode("utf-8"), "application/xml; charset=utf-8")
    return Rendering.json(body)


def _codes(value: str) -> set[str] | None:
    """KOSIS's list parameter: codes joined by ``+`` (a space once decoded); ``ALL``/empty: any."""
    codes = set(value.replace("+", " ").split())
    return None if not codes or "ALL" in codes else codes


def _kosis_filter(
    table: PublishedTable, wanted: dict[str, set[str] | None], start: str, end: str, lang: str
) -> list[dict[str, str]]:
    rows = []
    for row in kosis_rows(table, lang=lang):
        if any(codes is not None and row.get(f) not in codes for f, codes in wanted.items()):
            continue
        if (start and row["PRD_DE"] < start) or (end and row["PRD_DE"] > end):
            continue
        rows.append(row)
    return rows


def _kosis_meta(table: PublishedTable, kind: str, lang: str) -> list[dict[str, str]] | None:
    shape = table_shape(table)
    if kind == "TBL":
        return [{"ORG_ID": table.org_id, "TBL_ID": table.tbl_id, "TBL_NM": table.title(lang),
                 "TBL_NM_ENG": table.title("en")}]  # fmt: skip
    if kind == "PRD":
        periods = sorted(table.labels[shape.period]) if shape.period is not None else [table.period]
        return [{"PRD_SE": table.period_type, "PRD_DE": p} for p in periods]
    if kind == "ITM":
        classes = range(len(table.dimensions))
        rows = [{"ORG_ID": table.org_id, "TBL_ID": table.tbl_id, "OBJ_ID": table.dimensions[d],
                 "OBJ_NM": table.dimensions[d], "OBJ_ID_SN": str(sn), "ITM_ID": code,
                 "ITM_NM": category_label(table, d, code, lang), "UP_ITM_ID": "", "UNIT_NM": ""}
                for sn, d in enumerate(classes, start=1)
                for code in table.labels[d]]  # fmt: skip
        rows += [{"ORG_ID": table.org_id, "TBL_ID": table.tbl_id, "OBJ_ID": "ITEM",
                  "OBJ_NM": _ITEM_OBJ_NAME[lang], "OBJ_ID_SN": "0", "ITM_ID": code,
                  "ITM_NM": table.item_label(code, lang), "UP_ITM_ID": "",
                  "UNIT_NM": table.unit_label(lang)}
                 for code in table.items]  # fmt: skip
        return rows
    return None


class KosisQuery(BaseModel):
    """The query of KOSIS's ``statisticsData.do`` (``apiKey`` accepted, never read)."""

    method: str = ""
    orgId: str = ""  # KOSIS names its parameters in camel case
    tblId: str = ""
    itmId: str = ""
    prdSe: str = ""
    startPrdDe: str = ""
    endPrdDe: str = ""
    newEstPrdCnt: str = ""
    format: str = "json"
    jsonVD: str = "Y"
    type: str = ""
    objL1: str = ""
    objL2: str = ""
    objL3: str = ""
    objL4: str = ""
    objL5: str = ""
    objL6: str = ""
    objL7: str = ""
    objL8: str = ""
    lang: str = "ko"

    def too_long(self) -> bool:
        """Whether a parameter is longer than the portal reads."""
        return any(len(value) > _MAX_PARAM for value in self.model_dump().values())

    def wanted(self) -> dict[str, set[str] | None]:
        """Codes asked for per KOSIS field (None: any)."""
        objs = [self.objL1, self.objL2, self.objL3, self.objL4,
                self.objL5, self.objL6, self.objL7, self.objL8]  # fmt: skip
        wanted = {f"C{i}": _codes(v) for i, v in enumerate(objs, start=1)}
        return wanted | {"ITM_ID": _codes(self.itmId)}


def _kosis_answer(published: Iterable[PublishedTable], q: KosisQuery) -> Rendering:
    """KOSIS's answer to ``q``: rows, metadata or an error in KOSIS's shape."""
    if q.method not in ("getList", "getMeta") or not q.orgId or not q.tblId:
        return _kosis_error("20")
    if q.format != "json" or q.jsonVD not in ("Y", "N", "") or q.lang not in API_LANGUAGES:
        return _kosis_error("21")
    tables = [t for t in published if (t.org_id, t.tbl_id) == (q.orgId, q.tblId)]
    if not tables or (q.prdSe and q.prdSe != tables[0].period_type):
        return _kosis_error("30")
    if q.method == "getMeta":
        meta = [row for t in tables for row in (_kosis_meta(t, q.type, q.lang) or [])]
        return Rendering.json(meta) if meta else _kosis_error("21" if q.type else "20")
    wanted = q.wanted()
    rows = [r for t in tables for r in _kosis_filter(t, wanted, q.startPrdDe, q.endPrdDe, q.lang)]
    if q.newEstPrdCnt.isdigit() and int(q.newEstPrdCnt) > 0:
        latest = sorted({r["PRD_DE"] for r in rows})[-int(q.newEstPrdCnt) :]
        rows = [r for r in rows if r["PRD_DE"] in latest]
    if not rows:
        return _kosis_error("30")
    return Rendering.json(rows) if len(rows) <= KOSIS_MAX_CELLS else _kosis_error("31")


def _table_list(published: Iterable[PublishedTable], topic: str, lang: str) -> list[dict[str, str]]:
    return [
        {"VW_CD": "MT_ANSIM", "VW_NM": _VIEW_NAME[lang], "LIST_ID": t.topic,
         "LIST_NM": t.topic, "ORG_ID": t.org_id, "TBL_ID": t.tbl_id, "TBL_NM": t.title(lang),
         "STAT_ID": t.id, "SEND_DE": t.metadata.release_date, "REC_TBL_SE": "N"}
        for t in published if topic in ("", t.topic)
    ]  # fmt: skip


def _items_answer(
    table: PublishedTable | None, page_no: str, num_rows: str, kind: str, lang: str
) -> Rendering:
    """The data.go.kr answer for one table (``kind`` already checked: json or xml)."""
    if lang not in API_LANGUAGES:
        return _data_go_kr(envelope("10", [], 1, 1), kind)
    if not page_no.isdigit() or not num_rows.isdigit():
        return _data_go_kr(envelope("10", [], 1, 1), kind)
    page, rows = int(page_no), int(num_rows)
    if not (1 <= page <= _MAX_PAGE and 1 <= rows <= _MAX_ROWS):
        return _data_go_kr(envelope("10", [], 1, 1), kind)
    if table is None:
        return _data_go_kr(envelope("03", [], page, rows), kind)
    return _data_go_kr(envelope("00", plain_rows(table, lang=lang), page, rows), kind)


def open_api_router(catalogue: Catalogue, buckets: TokenBuckets) -> APIRouter:
    """The KOSIS- and data.go.kr-style routes over ``catalogue``, limited by ``buckets``.

    Answers are cached per query until the public folder changes.
    """
    router = APIRouter(tags=["open API"])

    @router.get("/openapi/statisticsData.do", summary="KOSIS statisticsData (getList, getMeta)")
    async def statistics_data(request: Request, params: Annotated[KosisQuery, Query()]) -> Response:
        if buckets.take(request) is not None:
            return _kosis_error("40").response(429)
        if params.too_long():
            return _kosis_error("21").response(request=request)
        key = ("kosis", *params.model_dump().values())
        answer = catalogue.rendered(key, lambda: _kosis_answer(catalogue.tables().values(), params))
        return answer.response(request=request)

    @router.get("/openapi/statisticsList.do", summary="KOSIS statisticsList: the table list")
    async def statistics_list(
        request: Request, *, method: Text = "", vwCd: Text = "", parentListId: Text = "",
        format: Text = "json", jsonVD: Text = "Y", lang: Text = "ko",
    ) -> Response:  # fmt: skip
        if buckets.take(request) is not None:
            return _kosis_error("40").response(429)
        if max(map(len, (method, vwCd, parentListId, format, jsonVD, lang))) > _MAX_PARAM:
            return _kosis_error("21").response(request=request)
        if method != "getList" or not vwCd:
            return _kosis_error("20").response(request=request)
        if format != "json" or vwCd != "MT_ANSIM" or jsonVD not in ("Y", "N", ""):
            return _kosis_error("21").response(request=request)
        if lang not in API_LANGUAGES:
            return _kosis_error("21").response(request=request)
        rows = _table_list(catalogue.tables().values(), parentListId, lang)
        return (Rendering.json(rows) if rows else _kosis_error("30")).response(request=request)

    @router.get("/openapi/tables/{table_id}/items", summary="data.go.kr-style items of a table")
    async def data_go_kr(
        request: Request, table_id: str, *, pageNo: Text = "1", numOfRows: Text = "10",
        type: Text = "json", serviceKey: Text = "", lang: Text = "ko",
    ) -> Response:  # fmt: skip
        del serviceKey  # accepted as data.go.kr clients send it; keys go in X-API-Key
        kind = "xml" if type.lower() == "xml" else "json"
        if buckets.take(request) is not None:
            return _data_go_kr(envelope("22", [], 1, 1), kind).response(429)
        if type.lower() not in ("json", "xml") or lang not in API_LANGUAGES:
            return _data_go_kr(envelope("10", [], 1, 1), kind).response(request=request)
        if max(len(pageNo), len(numOfRows)) > _MAX_PARAM:
            return _data_go_kr(envelope("10", [], 1, 1), kind).response(request=request)
        table = catalogue.tables().get(table_id)
        key = ("items", table_id if table else "", pageNo, numOfRows, kind, lang)
        answer = catalogue.rendered(
            key, lambda: _items_answer(table, pageNo, numOfRows, kind, lang)
        )
        return answer.response(request=request)

    return router
