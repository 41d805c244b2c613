"""The demo's portal shows only what the release ledger released (issues 11 and 13).

Every public response of the demo's server is scanned: the catalogue, each table's page, its
JSON and CSV downloads, the KOSIS-style and data.go.kr-style APIs. Each table shown is one the
project's ledger recorded (same SHA-256), and every number shown is one of the numbers that
release published, cell by cell where the response names its cell.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import re
import shutil
import warnings
from html.parser import HTMLParser
from pathlib import Path

import pytest

from ansim.demo import DemoRun
from ansim.demo._run import PROJECT
from ansim.governance import Governance
from ansim.portal import Cell, PublishedTable, public_dir
from ansim.release import ReleaseService
from ansim.server import create_app

with warnings.catch_warnings():  # starlette asks for httpx2, which is not installed here
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")


@pytest.fixture(scope="module")
def served(demo_run: DemoRun, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("portal") / "demo"
    return shutil.copytree(demo_run.out, out, ignore=shutil.ignore_patterns("world"))


def _released(home: Path) -> dict[str, PublishedTable]:
    """The portal tables the ledger recorded, checked against the files the portal reads."""
    gov = Governance(home / "governance")
    try:
        service = ReleaseService(gov, PROJECT, home / "hub" / "workspace")
        entries = {
            e["portal"]["id"]: e["portal"] for e in service.ledger.entries() if "portal" in e
        }
        tables = service.published_tables()
    finally:
        gov.close()
    assert set(tables) == set(entries)
    for table_id, data in tables.items():
        assert hashlib.sha256(data).hexdigest() == entries[table_id]["sha256"]
        assert (public_dir(home) / f"{table_id}.json").read_bytes() == data
    return {i: PublishedTable.from_json(d.decode("utf-8")) for i, d in tables.items()}


def _numbers(table: PublishedTable) -> list[float]:
    return [v for c in table.cells for v in (c.value, c.ci_low, c.ci_high) if v is not None]


def _labels(table: PublishedTable) -> set[float]:
    """Numbers that are names, not statistics: codes, labels, titles, metadata."""
    texts = [
        table.title_ko, table.title_en, table.unit, table.period, table.tbl_id,
        *(k for labels in table.labels for kv in labels.items() for k in kv),
        *table.items.values(), *(str(v) for v in vars(table.metadata).values()),
    ]  # fmt: skip
    return {float(t) for text in texts for t in _NUMBER.findall(text)}


def _shown(number: float, allowed: list[float]) -> bool:
    return any(math.isclose(number, a, rel_tol=1e-5, abs_tol=1e-9) for a in allowed)


class _Cells(HTMLParser):
    """The text of every table cell of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: list[str] = []
        self._inside = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"td", "th"}:
            self._inside = True
            self.cells.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag in {"td", "th"}:
            self._inside = False

    def handle_data(self, data: str) -> None:
        if self._inside:
            self.cells[-1] += data


Cells = dict[tuple[tuple[str, ...], str], Cell]


def _by_cell(client: TestClient, table: PublishedTable, cells: Cells) -> int:
    """The JSON download, the KOSIS rows and the data.go.kr items: cell by cell."""
    items = {label: code for code, label in table.items.items()}
    data = client.get(f"/public/tables/{table.id}/data")
    assert data.status_code == 200
    for row in data.json():
        cell = cells[(tuple(row[d] for d in table.dimensions), items[row["item"]])]
        assert (row["value"], row["ci_low"], row["ci_high"]) == (
            cell.value, cell.ci_low, cell.ci_high,
        )  # fmt: skip
    kosis = client.get(
        "/openapi/statisticsData.do",
        params={"method": "getList", "orgId": table.org_id, "tblId": table.tbl_id,
                "format": "json", "jsonVD": "Y"},
    )  # fmt: skip
    assert kosis.status_code == 200
    for row in kosis.json():
        keys = tuple(row[f"C{i}"] for i in range(1, len(table.dimensions) + 1))
        cell = cells[(keys, row["ITM_ID"])]
        if cell.value is None:
            assert not _NUMBER.fullmatch(str(row["DT"]))
        else:
            assert math.isclose(float(row["DT"]), cell.value, rel_tol=1e-5)
    page, total = 1, 1
    while (page - 1) * 1000 < total:
        body = client.get(
            f"/openapi/tables/{table.id}/items", params={"pageNo": page, "numOfRows": 1000}
        ).json()["response"]["body"]
        for row in body["items"]["item"]:
            cell = cells[(tuple(row[d] for d in table.dimensions), items[row["item"]])]
            assert row["value"] == cell.value
        page, total = page + 1, body["totalCount"]
    return len(data.json())


def _by_number(client: TestClient, table: PublishedTable) -> None:
    """The CSV download and the page (its table and chart): every number a released one."""
    numbers, names = _numbers(table), _labels(table)
    download = client.get(f"/public/tables/{table.id}/data", params={"format": "csv"})
    assert download.status_code == 200
    for row in csv.DictReader(io.StringIO(download.text.lstrip("\ufeff"))):
        for column in ("value", "ci_low", "ci_high"):
            text = (row.get(column) or "").lstrip("'")
            assert not _NUMBER.fullmatch(text) or _shown(float(text), numbers), (table.id, text)
    html = client.get(f"/public/tables/{table.id}")
    assert html.status_code == 200
    parser = _Cells()
    parser.feed(html.text)
    for text in parser.cells:
        for token in _NUMBER.findall(text):
            assert _shown(float(token), numbers) or float(token) in names, (table.id, text)
    for start in re.finditer(r"Plotly\.newPlot\(\s*\"[^\"]*\",\s*", html.text):
        traces, _ = json.JSONDecoder().raw_decode(html.text, start.end())
        for trace in traces:
            for y in trace.get("y") or []:
                assert y is None or _shown(float(y), numbers), (table.id, y)


def test_every_number_on_the_demo_portal_was_released_by_the_ledger(served: Path) -> None:
    released = _released(served)
    assert {"cases-per-100k-sigungu-age-sex", "support-uptake-sigungu",
            "self-rated-health-vaccination", "dp-cases-sigungu-week",
            "dp-support-month"} <= set(released)  # fmt: skip
    assert any(_numbers(t) for t in released.values())  # not vacuous: numbers are shown
    client = TestClient(create_app(served))
    catalogue = client.get("/public/tables")
    assert catalogue.status_code == 200
    assert {t["id"] for t in catalogue.json()} == set(released)  # the ledger's, nothing else
    scanned = 0
    for table in released.values():
        scanned += _by_cell(client, table, {(c.keys, c.item): c for c in table.cells})
        _by_number(client, table)
    assert scanned == sum(len(t.cells) for t in released.values())


def test_a_table_written_around_the_release_path_is_caught(served: Path, tmp_path: Path) -> None:
    copy = shutil.copytree(served, tmp_path / "demo")
    path = public_dir(copy) / "self-rated-health-vaccination.json"
    body = json.loads(path.read_text(encoding="utf-8"))
    shown = next(c for c in body["cells"] if c["value"] is not None)
    shown["value"] += 1  # a number the ledger never released
    path.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(AssertionError):
        _released(copy)
