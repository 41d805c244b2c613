"""The demo's DP release: stable form, intervals, ledger spend, consistent si/gun tables."""

import json

import pyarrow.csv as pacsv

from ansim.demo import DemoRun
from ansim.governance import Governance, PrivacyLedger
from ansim.privacy import DEMO_METHOD
from ansim.regions import GYEONGGI_SIGUNGU
from ansim.release import ReleaseKind, ReleaseService, ReleaseStatus

PROJECT = "gyeonggi-covid-demo"


def test_demo_releases_dp_cases_by_sigungu_week(demo_run: DemoRun) -> None:
    dp_dir = demo_run.out / "release" / "dp"
    table = pacsv.read_csv(
        dp_dir / "confirmed_by_sigungu_week.csv",
        convert_options=pacsv.ConvertOptions(column_types={"sigungu_code": "string"}),
    )
    assert table.column_names == ["sigungu_code", "week", "estimate", "ci_low", "ci_high"]
    assert set(table["sigungu_code"].to_pylist()) == set(GYEONGGI_SIGUNGU)
    assert table.num_rows == 31 * 154  # every public cell, weeks of 2020-01-20 .. 2022-12-31
    for row in table.to_pylist()[:200]:
        assert row["ci_low"] < row["estimate"] < row["ci_high"]
    meta = json.loads((dp_dir / "confirmed_by_sigungu_week.json").read_text())
    assert {"rho", "epsilon", "delta", "privacy_unit", "mechanism"} <= set(meta)
    assert "person" in meta["privacy_unit"]
    gov = Governance(demo_run.governance)
    spends = PrivacyLedger(gov).spends(PROJECT)
    gov.close()
    assert [s.id for s in spends if s.release == "confirmed_cases_dp"] == [meta["paid_by"]["spend"]]
    consistent = pacsv.read_csv(dp_dir / "confirmed_by_sigungu_week_consistent.csv").to_pylist()
    assert min(r["estimate"] for r in consistent) >= 0
    weekly: dict[str, int] = {}
    for r in consistent:
        weekly[r["week"]] = weekly.get(r["week"], 0) + r["estimate"]
    assert sum(weekly.values()) > 0


def test_demo_releases_dp_support_paid_by_month_in_the_same_spend(demo_run: DemoRun) -> None:
    dp_dir = demo_run.out / "release" / "dp"
    weekly = json.loads((dp_dir / "confirmed_by_sigungu_week.json").read_text())
    total_rho = 0.0
    for name, column, upper in (
        ("isolation_support_by_month", "isolation_support_krw", 600_000),
        ("disaster_income_by_month", "disaster_income_krw", 100_000),
    ):
        rows = pacsv.read_csv(dp_dir / f"{name}.csv").to_pylist()
        assert list(rows[0]) == ["month", "estimate", "ci_low", "ci_high"]
        months = [r["month"] for r in rows]
        assert len(months) == 36  # every public month of 2020-2022, none read from the data
        assert months[0] == "2020-01" and months[-1] == "2022-12"
        for r in rows:
            assert r["ci_low"] <= r["estimate"] <= r["ci_high"]
            assert r["estimate"] % 10_000 == 0  # whole units of the 10,000 won step
        assert sum(r["estimate"] for r in rows) > 0
        meta = json.loads((dp_dir / f"{name}.json").read_text())
        assert meta["statistic"] == "sum" and meta["column"] == column
        assert meta["bounds"]["lower"] == 0 and meta["bounds"]["upper"] == upper
        assert meta["paid_by"]["spend"] == weekly["paid_by"]["spend"]  # one spend, one rho
        total_rho += meta["rho"]
    portal = json.loads((demo_run.out / "release" / "dp-support-month" / "portal.json").read_text())
    assert portal["period_type"] == "M" and portal["dimensions"] == ["month"]
    assert all(c["ci_low"] is not None for c in portal["cells"])
    assert 0 < total_rho < 0.5  # inside the release's rho, beside the weekly tables


def test_demo_writes_a_dp_synthetic_extract_of_the_linked_cohort(demo_run: DemoRun) -> None:
    folder = demo_run.out / "release" / "synthetic"
    table = pacsv.read_csv(folder / "linked_cohort_synthetic.csv")
    assert table.column_names[:3] == ["sigungu_code", "sex", "age"]
    assert set(table["confirmed"].to_pylist()) <= {"Y", "N"}
    assert set(table["sex"].to_pylist()) <= {"M", "F"}
    utility = json.loads((folder / "utility.json").read_text())
    for order in ("tvd_1way", "tvd_2way", "tvd_3way"):
        assert {"average", "worst"} <= set(utility[order])
    for order, marginals in (("tvd_1way", 9), ("tvd_2way", 36), ("tvd_3way", 84)):
        assert utility[order]["marginals"] == marginals  # all of them, over the 9 columns
        assert 0 <= utility[order]["average"] <= utility[order]["worst"] <= 1
    meta = json.loads((folder / "synthesis.json").read_text())
    assert meta["method"] == DEMO_METHOD.value  # the mechanism is named, the one the demo uses
    assert meta["mechanism"].startswith(f"{DEMO_METHOD.value.upper()} synthetic data")
    gov = Governance(demo_run.governance)
    spends = PrivacyLedger(gov).spends(PROJECT)
    gov.close()
    assert [s.id for s in spends if s.release == "linked_cohort_synthetic"] == [
        meta["budget"]["spend"]
    ]
    assert sum(s.rho for s in spends) <= 1.0 + 1e-9  # the demo project's whole budget


def test_the_synthetic_extract_is_released_through_the_one_path(demo_run: DemoRun) -> None:
    gov = Governance(demo_run.governance)
    try:
        service = ReleaseService(gov, PROJECT, demo_run.out / "hub" / "workspace")
        [synthetic] = [s for s in service.all() if s.kind is ReleaseKind.DP_SYNTHETIC]
    finally:
        gov.close()
    assert synthetic.status is ReleaseStatus.RELEASED
    assert len(set(synthetic.approvals)) == 2 and synthetic.author not in synthetic.approvals
    assert not (demo_run.out / "hub" / "staging").exists()  # nothing left outside the path
