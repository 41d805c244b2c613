"""Published tables for the portal's tests, shaped like the demo's released outputs."""

from __future__ import annotations

from pathlib import Path

from ansim.portal import Cell, PublishedTable, TableMetadata, publish
from ansim.regions import GYEONGGI_SIGUNGU

SIGUNGU = {code: s.name_ko for code, s in GYEONGGI_SIGUNGU.items()}


def _meta(project: str = "covid-support", method: str = "threshold 10") -> TableMetadata:
    return TableMetadata(
        custodians=("gyeonggi", "kostat"),
        project=project,
        purpose="COVID-19 support statistics",
        reference_period="2021",
        protection_method=method,
        release_date="2026-12-02",
        approvers=("checker.kostat", "checker.gyeonggi"),
    )


def cases_by_sigungu_sex() -> PublishedTable:
    """Cases per 100,000 by si/gun × sex: published, rounded and suppressed cells."""
    cells = []
    for i, code in enumerate(SIGUNGU):
        cells.append(Cell((code, "M"), "rate", 100.0 + i))
        if i % 5 == 4:
            cells.append(Cell((code, "F"), "rate", None, "suppressed"))
        else:
            cells.append(Cell((code, "F"), "rate", float(50 + 10 * i), "rounded"))
    return PublishedTable(
        id="cases-rate",
        title_ko="인구 10만 명당 확진자 (시군·성별)",
        title_en="Confirmed cases per 100,000 by si/gun and sex",
        org_id="941",
        tbl_id="DT_ANSIM_001",
        topic="covid",
        period="2021",
        period_type="Y",
        unit="명",
        dimensions=("sigungu", "sex"),
        labels=(SIGUNGU, {"M": "남", "F": "여"}),
        items={"rate": "10만 명당 확진자"},
        cells=tuple(cells),
        metadata=_meta(),
    )


def weekly_cases_dp() -> PublishedTable:
    """Confirmed cases per week by si/gun, differentially private with error bars."""
    weeks = {"2021-W01": "2021년 1주", "2021-W02": "2021년 2주", "2021-W03": "2021년 3주"}
    cells = tuple(
        Cell((week, code), "cases", 20.0 + w + i, "dp", 15.5 + w + i, 24.5 + w + i)
        for w, week in enumerate(weeks)
        for i, code in enumerate(list(SIGUNGU)[:3])
    )
    return PublishedTable(
        id="weekly-cases",
        title_ko="주별 확진자 수 (차분 프라이버시)",
        title_en="Confirmed cases per week (differential privacy)",
        org_id="941",
        tbl_id="DT_ANSIM_002",
        topic="covid",
        period="2021",
        period_type="W",
        unit="명",
        dimensions=("week", "sigungu"),
        labels=(weeks, {c: SIGUNGU[c] for c in list(SIGUNGU)[:3]}),
        items={"cases": "확진자 수"},
        cells=cells,
        metadata=_meta(method="differential privacy, rho 0.5"),
    )


def health_by_vaccination() -> PublishedTable:
    """A table without si/gun: self-rated health by vaccination (no map)."""
    return PublishedTable(
        id="health-vaccination",
        title_ko="예방접종별 주관적 건강",
        title_en="Self-rated health by vaccination",
        org_id="941",
        tbl_id="DT_ANSIM_003",
        topic="health",
        period="2021",
        period_type="Y",
        unit="%",
        dimensions=("vaccinated",),
        labels=({"Y": "접종", "N": "미접종"},),
        items={"good": "건강 좋음 비율"},
        cells=(Cell(("Y",), "good", 61.2), Cell(("N",), "good", None, "suppressed")),
        metadata=_meta(project="snu-cohort"),
    )


def publish_all(home: Path) -> list[PublishedTable]:
    """Publish the three tables under ``home``."""
    tables = [cases_by_sigungu_sex(), weekly_cases_dp(), health_by_vaccination()]
    for table in tables:
        publish(table, home)
    return tables
