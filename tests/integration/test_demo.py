import json

import pyarrow.csv as pacsv

from ansim.demo import DemoRun


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
