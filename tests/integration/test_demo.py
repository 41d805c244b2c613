import json

import pyarrow.csv as pacsv

from ansim.demo import DemoRun
from ansim.demo._run import CHECKER, CHECKER2, PROJECT
from ansim.governance import Governance
from ansim.portal import load_published
from ansim.release import ReleaseService, ReleaseStatus


def test_demo_runs_end_to_end(demo_run: DemoRun) -> None:
    out = demo_run.out
    assert set(demo_run.ingested) == {"gyeonggi_cases", "kostat_register", "snu_cohort"}
    assert demo_run.ingested["kostat_register"].encoding == "cp949"
    for result in demo_run.ingested.values():
        assert result.rows_landed + result.rows_quarantined == result.rows_read
    assert (out / "linkage_unit" / "linkmap.parquet").is_file()
    assert demo_run.hub_store.is_file()
    quality = json.loads((out / "evaluation" / "linkage_quality.json").read_text())
    assert quality["pairwise"]["precision"] > 0.99
    assert quality["pairwise"]["recall"] > 0.95
    table = pacsv.read_csv(demo_run.release).to_pylist()
    assert table
    for cell in table:
        assert "status" not in cell  # one symbol, x, for every withheld cell (issue 11)
        if cell["cases"] != "x":
            assert int(cell["cases"]) >= 10
            assert int(cell["population"]) >= 10


def test_quarantined_rows_keep_their_raw_fields_and_row_numbers(demo_run: DemoRun) -> None:
    result = demo_run.ingested["gyeonggi_cases"]
    rows = pacsv.read_csv(result.quarantine).to_pylist()
    assert len(rows) == result.rows_quarantined
    assert all(r["row_number"] >= 2 and r["reason"] and r["raw"] for r in rows)


def test_the_demo_releases_its_public_tables_through_the_release_path(demo_run: DemoRun) -> None:
    gov = Governance(demo_run.out / "governance")
    try:
        service = ReleaseService(gov, PROJECT, demo_run.out / "hub" / "workspace")
        released = [s for s in service.all() if s.portal]
        entries = [e for e in service.ledger.entries() if "portal" in e]
    finally:
        gov.close()
    assert len(released) == len(entries) == 5
    assert all(s.status == ReleaseStatus.RELEASED for s in released)
    assert all(set(s.approvals) == {CHECKER, CHECKER2} and s.author == "analyst.snu"
               for s in released)  # fmt: skip
    shown = load_published(demo_run.out)
    assert set(shown) == {e["portal"]["id"] for e in entries}
    protections = {c.protection for t in shown.values() for c in t.cells}
    assert {"suppressed", "rounded", "dp"} <= protections
    for dp_id in ("dp-cases-sigungu-week", "dp-support-month"):
        dp = shown[dp_id]
        assert all(c.ci_low is not None and c.ci_low <= c.value <= c.ci_high for c in dp.cells)
    assert shown["dp-support-month"].period_type == "M"
    assert {t.metadata.project for t in shown.values()} == {PROJECT}
