"""The open API against the field lists of KOSIS and data.go.kr (the shapes Korean users know)."""

from __future__ import annotations

import dataclasses
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


@pytest.fixture
def english(tmp_path: Path) -> TestClient:
    """The three tables, the first with English labels for sex, its item and its unit."""
    first, *others = publish_all(tmp_path)
    publish(dataclasses.replace(first, labels_en=({}, {"M": "Male", "F": "  "}),
                                items_en={"rate": "Cases per 100,000"},
                                unit_en="persons"), tmp_path)  # fmt: skip
    del others
    return TestClient(create_app(tmp_path, RateLimit(per_minute=100_000, burst=10_000)))


def test_kosis_rows_in_english_have_the_same_fields_and_english_names(english: TestClient) -> None:
    korean = english.get(DATA, params=_kosis()).json()
    rows = english.get(DATA, params=_kosis(lang="en")).json()
    fields = [*KOSIS_ROW, "C1", "C1_NM", "C2", "C2_NM", *KOSIS_ITEM]
    assert len(rows) == len(korean) == 62 and all(list(row) == fields for row in rows)
    assert rows[0] | {"DT": ""} == {
        "ORG_ID": "941", "TBL_ID": "DT_ANSIM_001",
        "TBL_NM": "Confirmed cases per 100,000 by si/gun and sex", "PRD_SE": "Y", "PRD_DE": "2021",
        "C1": "41110", "C1_NM": "Suwon-si", "C2": "M", "C2_NM": "Male", "ITM_ID": "rate",
        "ITM_NM": "Cases per 100,000", "UNIT_NM": "persons", "DT": "",
    }  # fmt: skip
    assert {r["C2_NM"] for r in rows if r["C2"] == "F"} == {"여"}  # blank English: Korean
    assert [r["DT"] for r in rows] == [r["DT"] for r in korean]  # the same numbers
    assert english.get(DATA, params=_kosis(lang="ko")).json() == korean


def test_english_falls_back_to_korean_and_is_never_empty(english: TestClient) -> None:
    rows = english.get(DATA, params=_kosis("DT_ANSIM_003", lang="en")).json()
    assert {(r["TBL_NM"], r["C1_NM"], r["ITM_NM"], r["UNIT_NM"]) for r in rows} == {
        ("Self-rated health by vaccination", "접종", "건강 좋음 비율", "%"),
        ("Self-rated health by vaccination", "미접종", "건강 좋음 비율", "%"),
    }
    for table_id in ("DT_ANSIM_001", "DT_ANSIM_002", "DT_ANSIM_003"):
        for row in english.get(DATA, params=_kosis(table_id, lang="en")).json():
            assert all(row[f].strip() for f in row if f.endswith("_NM"))


def test_kosis_metadata_and_list_in_english(english: TestClient) -> None:
    meta = {**_kosis(lang="en"), "method": "getMeta"}
    tbl = english.get(DATA, params={**meta, "type": "TBL"}).json()
    assert (
        tbl[0]["TBL_NM"] == tbl[0]["TBL_NM_ENG"] == "Confirmed cases per 100,000 by si/gun and sex"
    )
    itm = english.get(DATA, params={**meta, "type": "ITM"}).json()
    assert all(list(r) == KOSIS_META_ITM for r in itm) and len(itm) == 31 + 2 + 1
    assert {r["ITM_NM"] for r in itm if r["OBJ_ID"] == "ITEM"} == {"Cases per 100,000"}
    assert {r["OBJ_NM"] for r in itm if r["OBJ_ID"] == "ITEM"} == {"Item"}
    assert "Goyang-si" in {r["ITM_NM"] for r in itm}
    listed = {"method": "getList", "vwCd": "MT_ANSIM", "format": "json"}
    listing = english.get("/openapi/statisticsList.do", params={**listed, "lang": "en"}).json()
    assert all(list(r) == KOSIS_TABLE_LIST for r in listing) and len(listing) == 3
    assert {r["TBL_NM"] for r in listing} == {
        "Confirmed cases per 100,000 by si/gun and sex",
        "Confirmed cases per week (differential privacy)",
        "Self-rated health by vaccination",
    }
    assert {r["VW_NM"] for r in listing} == {"Ansim open statistics"}
    korean = english.get("/openapi/statisticsList.do", params=listed).json()
    assert {r["VW_NM"] for r in korean} == {"안심 공개 통계"}


@pytest.mark.parametrize("kind", ["json", "xml"])
def test_data_go_kr_items_in_english_keep_their_fields(english: TestClient, kind: str) -> None:
    params = {"numOfRows": "2", "type": kind}
    korean = english.get("/openapi/tables/cases-rate/items", params=params)
    answer = english.get("/openapi/tables/cases-rate/items", params={**params, "lang": "en"})
    if kind == "xml":
        root = ET.fromstring(answer.content)  # noqa: S314 - our own output
        assert root.findtext("header/resultCode") == "00"
        assert root.findtext("body/items/item/sigungu_name") == "Suwon-si"
        assert [c.tag for c in root.find("body/items/item")] == [  # type: ignore[union-attr]
            c.tag
            for c in ET.fromstring(korean.content).find("body/items/item")  # type: ignore[union-attr]  # noqa: S314
        ]
        return
    items = answer.json()["response"]["body"]["items"]["item"]
    assert [list(i) for i in items] == [list(i) for i in korean.json()["response"]["body"]
                                        ["items"]["item"]]  # fmt: skip
    assert (items[0]["sigungu_name"], items[0]["sex_name"], items[0]["item"], items[0]["unit"]) == (
        "Suwon-si",
        "Male",
        "Cases per 100,000",
        "persons",
    )


def test_an_unknown_lang_is_each_api_s_parameter_error(english: TestClient) -> None:
    for bad in ("fr", "EN", "", "k" * 1000):
        assert english.get(DATA, params=_kosis(lang=bad)).json() == {
            "err": "21", "errMsg": "잘못된 요청변수를 입력했습니다."
        }  # fmt: skip
        listing = english.get("/openapi/statisticsList.do", params={
            "method": "getList", "vwCd": "MT_ANSIM", "lang": bad}).json()  # fmt: skip
        assert listing["err"] == "21"
        header = _items(english, "cases-rate", lang=bad)["response"]["header"]
        assert header["resultCode"] == "10"


def test_renderings_are_cached_per_language(english: TestClient) -> None:
    for _ in range(2):  # the second round comes from the cache: each language keeps its own
        en = english.get(DATA, params=_kosis(lang="en")).json()
        ko = english.get(DATA, params=_kosis()).json()
        assert (en[0]["C1_NM"], ko[0]["C1_NM"]) == ("Suwon-si", "수원시")
        items_en = _items(english, "cases-rate", lang="en")["response"]["body"]["items"]["item"]
        items_ko = _items(english, "cases-rate")["response"]["body"]["items"]["item"]
        assert (items_en[0]["sigungu_name"], items_ko[0]["sigungu_name"]) == ("Suwon-si", "수원시")
        csv_en = english.get(
            "/public/tables/cases-rate/data", params={"format": "csv", "lang": "en"}
        )
        assert "Suwon-si" in csv_en.text and "수원시" not in csv_en.text
