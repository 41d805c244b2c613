"""The open API against the field lists of KOSIS and data.go.kr (the shapes Korean users know)."""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansim.portal import RateLimit, create_app, publish
from tests.unit.portal.tables import health_by_vaccination, publish_all

with warnings.catch_warnings():  # starlette asks for httpx2, which is not installed here
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

# KOSIS statisticsData.do?method=getList (jsonVD=Y): the fields of one row, in order
KOSIS_ROW = ["ORG_ID", "TBL_ID", "TBL_NM", "PRD_SE", "PRD_DE"]
KOSIS_ITEM = ["ITM_ID", "ITM_NM", "UNIT_NM", "DT"]
KOSIS_ERROR = {"err", "errMsg"}
KOSIS_TABLE_LIST = ["VW_CD", "VW_NM", "LIST_ID", "LIST_NM", "ORG_ID", "TBL_ID", "TBL_NM",
                    "STAT_ID", "SEND_DE", "REC_TBL_SE"]  # fmt: skip
KOSIS_META_ITM = ["ORG_ID", "TBL_ID", "OBJ_ID", "OBJ_NM", "OBJ_ID_SN", "ITM_ID", "ITM_NM",
                  "UP_ITM_ID", "UNIT_NM"]  # fmt: skip
# data.go.kr: response.header and response.body
DATA_GO_KR_HEADER = {"resultCode", "resultMsg"}
DATA_GO_KR_BODY = {"items", "numOfRows", "pageNo", "totalCount"}
DATA = "/openapi/statisticsData.do"


def _kosis(table_id: str = "DT_ANSIM_001", **params: str) -> dict[str, str]:
    return {"method": "getList", "orgId": "941", "tblId": table_id, "format": "json",
            "jsonVD": "Y", **params}  # fmt: skip


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    publish_all(tmp_path)
    return TestClient(create_app(tmp_path, RateLimit(per_minute=100_000, burst=10_000)))


def test_kosis_rows_have_exactly_the_kosis_fields(client: TestClient) -> None:
    rows = client.get(DATA, params=_kosis()).json()
    assert len(rows) == 62
    fields = [*KOSIS_ROW, "C1", "C1_NM", "C2", "C2_NM", *KOSIS_ITEM]
    assert all(list(row) == fields for row in rows)
    assert all(isinstance(v, str) for row in rows for v in row.values())
    assert {r["DT"] for r in rows if r["C2"] == "F" and r["C1"] == "41190"} == {"x"}
    assert rows[0] | {"DT": ""} == {
        "ORG_ID": "941", "TBL_ID": "DT_ANSIM_001", "TBL_NM": "인구 10만 명당 확진자 (시군·성별)",
        "PRD_SE": "Y", "PRD_DE": "2021", "C1": "41110", "C1_NM": "수원시", "C2": "M",
        "C2_NM": "남", "ITM_ID": "rate", "ITM_NM": "10만 명당 확진자", "UNIT_NM": "명", "DT": "",
    }  # fmt: skip


def test_kosis_period_dimension_gives_prd_de(client: TestClient) -> None:
    rows = client.get(DATA, params=_kosis("DT_ANSIM_002")).json()
    assert all(list(r) == [*KOSIS_ROW, "C1", "C1_NM", "C2", "C2_NM", *KOSIS_ITEM] for r in rows)
    assert sorted({r["PRD_DE"] for r in rows}) == ["2021-W01", "2021-W02", "2021-W03"]
    assert all(r["PRD_DE"] == r["C1"] for r in rows)  # the week dimension, also as C1
    latest = client.get(DATA, params=_kosis("DT_ANSIM_002", newEstPrdCnt="1")).json()
    assert {r["PRD_DE"] for r in latest} == {"2021-W03"}
    window = client.get(
        DATA, params=_kosis("DT_ANSIM_002", startPrdDe="2021-W02", endPrdDe="2021-W02")
    ).json()
    assert {r["PRD_DE"] for r in window} == {"2021-W02"}


def test_kosis_filters_by_classification_and_item(client: TestClient) -> None:
    one = client.get(DATA, params=_kosis(objL1="41110+41130", objL2="F", itmId="ALL")).json()
    assert sorted((r["C1"], r["C2"]) for r in one) == [("41110", "F"), ("41130", "F")]
    assert client.get(DATA, params=_kosis(itmId="nope")).json()["err"] == "30"


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"method": "getList"}, "20"),
        (_kosis(tblId=""), "20"),
        (_kosis(format="xml"), "21"),
        (_kosis("DT_NONE"), "30"),
        (_kosis(prdSe="M"), "30"),
        ({**_kosis(), "method": "getMeta", "type": "WHAT"}, "21"),
    ],
)
def test_kosis_errors_in_kosis_shape(client: TestClient, params: dict[str, str], code: str) -> None:
    answer = client.get(DATA, params=params)
    assert answer.status_code == 200 and set(answer.json()) == KOSIS_ERROR
    assert answer.json()["err"] == code


def test_kosis_metadata_and_table_list(client: TestClient) -> None:
    tbl = client.get(DATA, params={**_kosis(), "method": "getMeta", "type": "TBL"}).json()
    assert tbl == [{"ORG_ID": "941", "TBL_ID": "DT_ANSIM_001",
                    "TBL_NM": "인구 10만 명당 확진자 (시군·성별)",
                    "TBL_NM_ENG": "Confirmed cases per 100,000 by si/gun and sex"}]  # fmt: skip
    itm = client.get(DATA, params={**_kosis(), "method": "getMeta", "type": "ITM"}).json()
    assert all(list(r) == KOSIS_META_ITM for r in itm) and len(itm) == 31 + 2 + 1
    prd = client.get(DATA, params={**_kosis("DT_ANSIM_002"), "method": "getMeta", "type": "PRD"})
    assert [r["PRD_DE"] for r in prd.json()] == ["2021-W01", "2021-W02", "2021-W03"]
    listed = {"method": "getList", "vwCd": "MT_ANSIM", "format": "json"}
    listing = client.get("/openapi/statisticsList.do", params=listed)
    assert all(list(r) == KOSIS_TABLE_LIST for r in listing.json()) and len(listing.json()) == 3
    topic = client.get("/openapi/statisticsList.do", params={"method": "getList",
                       "vwCd": "MT_ANSIM", "parentListId": "health"}).json()  # fmt: skip
    assert [r["TBL_ID"] for r in topic] == ["DT_ANSIM_003"]
    assert client.get("/openapi/statisticsList.do").json()["err"] == "20"


def _items(client: TestClient, table_id: str, **params: str) -> dict[str, Any]:
    body: dict[str, Any] = client.get(f"/openapi/tables/{table_id}/items", params=params).json()
    return body


def test_data_go_kr_envelope_and_paging(client: TestClient) -> None:
    body = _items(client, "cases-rate", pageNo="3", numOfRows="25")
    assert set(body) == {"response"} and set(body["response"]) == {"header", "body"}
    assert body["response"]["header"] == {"resultCode": "00", "resultMsg": "NORMAL SERVICE."}
    page = body["response"]["body"]
    assert set(page) == DATA_GO_KR_BODY and set(page["items"]) == {"item"}
    assert (page["numOfRows"], page["pageNo"], page["totalCount"]) == (25, 3, 62)
    assert len(page["items"]["item"]) == 12


def test_data_go_kr_xml_has_the_same_structure(client: TestClient) -> None:
    answer = client.get(
        "/openapi/tables/cases-rate/items", params={"type": "xml", "numOfRows": "2"}
    )
    assert answer.headers["content-type"].startswith("application/xml")
    root = ET.fromstring(answer.content)  # noqa: S314 - our own output
    assert root.tag == "response" and root.findtext("header/resultCode") == "00"
    assert {child.tag for child in root.find("body")} == DATA_GO_KR_BODY  # type: ignore[union-attr]
    assert len(root.findall("body/items/item")) == 2 and root.findtext("body/totalCount") == "62"
    assert root.findtext("body/items/item/value") == "100"


@pytest.mark.parametrize(
    ("table_id", "params", "code"),
    [
        ("none", {}, "03"),
        ("cases-rate", {"pageNo": "0"}, "10"),
        ("cases-rate", {"numOfRows": "abc"}, "10"),
        ("cases-rate", {"numOfRows": "100000"}, "10"),
        ("cases-rate", {"type": "csv"}, "10"),
    ],
)
def test_data_go_kr_error_codes(
    client: TestClient, table_id: str, params: dict[str, str], code: str
) -> None:
    header = _items(client, table_id, **params)["response"]["header"]
    assert set(header) == DATA_GO_KR_HEADER and header["resultCode"] == code


@given(label=st.text(max_size=20), dimension=st.from_regex(r"[a-z0-9 _-]{1,12}", fullmatch=True))
@settings(max_examples=60, deadline=None)
def test_xml_and_downloads_work_whatever_the_labels(label: str, dimension: str) -> None:
    table = health_by_vaccination()
    odd = type(table)(**{**vars(table), "dimensions": (dimension,),
                         "labels": ({"Y": label, "N": "미접종"},)})  # fmt: skip
    with tempfile.TemporaryDirectory() as home:
        publish(odd, Path(home))
        client = TestClient(create_app(Path(home), RateLimit(per_minute=10**6, burst=10**6)))
        answer = client.get("/openapi/tables/health-vaccination/items", params={"type": "xml"})
        for form in ("csv", "xlsx", "json"):  # every download of such a table works too
            assert client.get(f"/public/tables/health-vaccination/data?format={form}").is_success
        assert client.get("/public/tables/health-vaccination").is_success
    root = ET.fromstring(answer.content)  # noqa: S314 - our own output
    assert root.findtext("header/resultCode") == "00"
    assert len(root.findall("body/items/item")) == 2


def test_overlong_parameters_get_each_api_s_own_error(client: TestClient) -> None:
    kosis = client.get(DATA, params=_kosis(objL1="4" * 1000))
    assert kosis.status_code == 200 and kosis.json()["err"] == "21"
    listing = client.get("/openapi/statisticsList.do", params={"method": "getList",
                         "vwCd": "M" * 1000})  # fmt: skip
    assert listing.json()["err"] == "21"
    items = _items(client, "cases-rate", pageNo="1" * 1000)
    assert items["response"]["header"]["resultCode"] == "10"
