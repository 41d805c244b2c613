"""The demo's public statistics: tables computed in the hub, released to the portal.

Each table is a :class:`~ansim.release.Candidate` carrying its published numbers as files and
as a portal table (``portal.json``), and, inside the hub, the persons behind every published
count. Before it is submitted, :func:`~ansim.release.withhold_exposing` withholds (``x``) the
rows the project's ledger would refuse, given everything released before it; the release path
then audits it again. The tables:

- confirmed cases per 100,000 by si/gun × age band × sex (the rate table; suppressed ``x``);
- isolation support and disaster-basic-income uptake among confirmed cases by si/gun
  (gyeonggi's cases linked to kostat's register; suppressed ``x``);
- self-rated health by vaccination among SNU cohort members linked to the register (counts
  rounded to base 5, shares from the rounded counts; suppressed ``x`` where the ledger says);
- confirmed cases by si/gun × week under differential privacy (each with its 95% interval);
- isolation support and disaster basic income paid by month (province level) under
  differential privacy, from the same release (each with its 95% interval).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from typing import Any

import ibis

from ansim._safecsv import safe_csv_text
from ansim.engine import QueryEngine
from ansim.hub import linked_table_name
from ansim.portal import Cell, PublishedTable, TableMetadata
from ansim.regions import GYEONGGI_SIGUNGU
from ansim.release import (
    Candidate,
    ProjectLedger,
    ReleasedTable,
    ReleaseKind,
    rate_table,
    vet_rate_table,
    withhold_exposing,
)

__all__ = [
    "ORG_ID",
    "dp_cases_table",
    "dp_support_table",
    "health_by_vaccination",
    "period",
    "rate_candidate",
    "support_uptake",
]

ORG_ID = "ANSIM"
"""The demo's publishing organisation code on the portal (KOSIS ``ORG_ID``)."""
THRESHOLD = 10
ROUNDING_BASE = 5
_SEX = {"M": "남자", "F": "여자"}
_SEX_EN = {"M": "Male", "F": "Female"}


def _sigungu(codes: Sequence[str]) -> dict[str, str]:
    return {c: GYEONGGI_SIGUNGU[c].name_ko if c in GYEONGGI_SIGUNGU else c for c in codes}


def _metadata(custodians: Sequence[str], period: str, method: str) -> TableMetadata:
    """Provenance; the release path fills in the project, release date and approvers."""
    return TableMetadata(
        custodians=tuple(custodians), project="", purpose="statistics (통계작성)",
        reference_period=period, protection_method=method, release_date="1970-01-01",
        approvers=("pending",),
    )  # fmt: skip


def period(engine: QueryEngine) -> tuple[str, str]:
    """The cases' reference period (``YYYY-MM-DD – YYYY-MM-DD``) and its years (``PRD_DE``)."""
    cases = engine.table(linked_table_name("gyeonggi_cases"))
    span = engine.to_pyarrow(
        cases.aggregate(first=cases.case_date.min(), last=cases.case_date.max())
    ).to_pylist()[0]
    first, last = span["first"], span["last"]
    years = str(first.year) if first.year == last.year else f"{first.year}-{last.year}"
    return f"{first.isoformat()} – {last.isoformat()}", years


def _people(engine: QueryEngine) -> ibis.Table:
    """One row per person of the register: their si/gun."""
    register = engine.table(linked_table_name("kostat_register"))
    return register.group_by("person_id").agg(region=register.sigungu_code.arbitrary())


# -- confirmed cases per 100,000 ---------------------------------------------------------------
def rate_candidate(
    engine: QueryEngine, ledger: ProjectLedger, period: tuple[str, str]
) -> tuple[Candidate, ReleasedTable]:
    """Confirmed cases per 100,000 by si/gun × age band × sex, as a candidate for the portal."""
    released = vet_rate_table(rate_table(engine), ledger)
    rows = released.table.to_pylist()
    items = {"rate": "인구 10만명당 확진자", "cases": "확진자", "population": "인구"}
    cells = []
    for row in rows:
        keys = (str(row["sigungu_code"]), str(row["age_band"]), str(row["sex"]))
        for item, column in (("rate", "rate_per_100k"), ("cases", "cases"),
                             ("population", "population")):  # fmt: skip
            value = row[column]
            cells.append(Cell(keys, item, None if value is None else float(value),
                              "published" if value is not None else "suppressed"))  # fmt: skip
    table = PublishedTable(
        id="cases-per-100k-sigungu-age-sex", title_ko="시군별·연령대별·성별 인구 10만명당 확진자",
        title_en="Confirmed COVID-19 cases per 100,000 by si/gun, age band and sex",
        org_id=ORG_ID, tbl_id="DT_ANSIM_001", topic="health", period=period[1],
        period_type="Y", unit="명 (rate: 인구 10만명당)",
        dimensions=("sigungu", "age_band", "sex"),
        labels=(
            _sigungu(sorted({k for k, *_ in (c.keys for c in cells)})),
            {b: b for b in sorted({c.keys[1] for c in cells})},
            {s: _SEX.get(s, s) for s in sorted({c.keys[2] for c in cells})},
        ),
        items=items, cells=tuple(cells),
        labels_en=({}, {}, {s: _SEX_EN.get(s, s) for s in sorted({c.keys[2] for c in cells})}),
        items_en={"rate": "Confirmed cases per 100,000", "cases": "Confirmed cases",
                  "population": "Population"},
        unit_en="persons (rate: per 100,000 population)",
        metadata=_metadata(
            ("gyeonggi", "kostat"), period[0],
            f"threshold {THRESHOLD}: cells with fewer than {THRESHOLD} cases or persons, and "
            "cells the release ledger's attacker LP finds exposing, are shown as x",
        ),
    )  # fmt: skip
    candidate = Candidate.rate_table(released, "cases_per_100k_by_sigungu_age_sex")
    return candidate.with_portal(table), released


# -- support uptake among confirmed cases ------------------------------------------------------
def support_uptake(
    engine: QueryEngine, ledger: ProjectLedger, period: tuple[str, str]
) -> Candidate:
    """Isolation support and disaster-basic-income uptake among confirmed cases by si/gun."""
    cases = engine.table(linked_table_name("gyeonggi_cases"))
    per_person = cases.group_by("person_id").agg(
        isolation=(cases.isolation_support_krw.fill_null(0) > 0).any(),
        income=(cases.disaster_income_krw.fill_null(0) > 0).any(),
    )
    linked = per_person.join(_people(engine), "person_id")
    rows = engine.to_pyarrow(linked.select("person_id", "region", "isolation", "income"))
    groups: dict[str, dict[str, frozenset[str]]] = {}
    for r in rows.to_pylist():
        region, person = str(r["region"]), str(r["person_id"])
        named = groups.setdefault(region, {})
        for item, flag in (("cases", True), ("isolation", r["isolation"]), ("income", r["income"])):
            if flag:
                key = f"{item} {region}"
                named[key] = named.get(key, frozenset()) | {person}

    def small(named: Mapping[str, frozenset[str]], region: str) -> bool:
        n = len(named[f"cases {region}"])
        counts = [len(named.get(f"{item} {region}", ())) for item in ("isolation", "income")]
        return n < THRESHOLD or any(k < THRESHOLD or n - k < THRESHOLD for k in counts)

    too_small = {g for g, named in groups.items() if small(named, g)}
    withheld = too_small | withhold_exposing(
        ledger, {g: n for g, n in groups.items() if g not in too_small}, THRESHOLD
    )
    items = {
        "cases": "확진자",
        "isolation": "격리지원금 수급자", "isolation_pct": "격리지원금 수급률(%)",
        "income": "재난기본소득 수급자", "income_pct": "재난기본소득 수급률(%)",
    }  # fmt: skip
    cells, out_rows = [], []
    for region in sorted(groups):
        named = groups[region]
        n = len(named.get(f"cases {region}", ()))
        values: dict[str, float | None] = dict.fromkeys(items)
        if region not in withheld:
            k_iso = len(named[f"isolation {region}"])
            k_inc = len(named[f"income {region}"])
            values = {
                "cases": n, "isolation": k_iso, "isolation_pct": round(100 * k_iso / n, 1),
                "income": k_inc, "income_pct": round(100 * k_inc / n, 1),
            }  # fmt: skip
        for item, value in values.items():
            cells.append(Cell((region,), item, None if value is None else float(value),
                              "published" if value is not None else "suppressed"))  # fmt: skip
        out_rows.append([region, _sigungu([region])[region],
                         *("x" if v is None else v for v in values.values())])  # fmt: skip
    table = PublishedTable(
        id="support-uptake-sigungu", title_ko="시군별 확진자의 격리지원금·재난기본소득 수급률",
        title_en="Isolation support and disaster basic income uptake among confirmed cases "
        "by si/gun",
        org_id=ORG_ID, tbl_id="DT_ANSIM_002", topic="welfare", period=period[1],
        period_type="Y", unit="명, %", dimensions=("sigungu",),
        labels=(_sigungu(sorted(groups)),), items=items, cells=tuple(cells),
        items_en={
            "cases": "Confirmed cases",
            "isolation": "Isolation support recipients",
            "isolation_pct": "Isolation support uptake (%)",
            "income": "Disaster basic income recipients",
            "income_pct": "Disaster basic income uptake (%)",
        },
        unit_en="persons, %",
        metadata=_metadata(
            ("gyeonggi", "kostat"), period[0],
            f"threshold {THRESHOLD}: a si/gun with fewer than {THRESHOLD} cases, recipients "
            "or non-recipients, or one the release ledger's attacker LP finds exposing, is x",
        ),
    )  # fmt: skip
    published = {
        name: members
        for g, named in groups.items()
        if g not in withheld
        for name, members in named.items()
    }
    text = safe_csv_text(["sigungu_code", "sigungu_name", *items], out_rows)
    return Candidate(
        ReleaseKind.PORTAL_TABLE, table.title_en,
        {"support_uptake_by_sigungu.csv": text.encode("utf-8-sig")}, published, THRESHOLD,
    ).with_portal(table)  # fmt: skip


# -- self-rated health by vaccination ----------------------------------------------------------
def _rounded(n: int) -> int:
    return int(ROUNDING_BASE * round(n / ROUNDING_BASE))


def health_by_vaccination(
    engine: QueryEngine, ledger: ProjectLedger, period: tuple[str, str]
) -> Candidate:
    """Self-rated health (1–5) by vaccination, SNU cohort members linked to the register."""
    cohort = engine.table(linked_table_name("snu_cohort"))
    per_person = cohort.group_by("person_id").agg(
        health=cohort.self_rated_health.arbitrary(), vaccinated=cohort.vaccinated.arbitrary()
    )
    linked = per_person.join(_people(engine).select("person_id"), "person_id")
    linked = linked.filter(
        linked.health.isin(list(range(1, 6))) & linked.vaccinated.isin(["Y", "N"])
    )
    groups: dict[str, dict[str, frozenset[str]]] = {}
    for r in engine.to_pyarrow(linked).to_pylist():
        key = f"{r['vaccinated']}/{r['health']}"
        named = groups.setdefault(key, {key: frozenset()})
        named[key] = named[key] | {str(r["person_id"])}
    small = {g for g, named in groups.items() if len(named[g]) < THRESHOLD}
    withheld = small | withhold_exposing(
        ledger, {g: n for g, n in groups.items() if g not in small}, THRESHOLD
    )
    shown = {g: _rounded(len(groups[g][g])) for g in groups if g not in withheld}
    totals: dict[str, int] = {}
    for g, rounded in shown.items():
        totals[g.split("/")[0]] = totals.get(g.split("/")[0], 0) + rounded
    cells, out_rows = [], []
    for g in sorted(groups):
        vaccinated, health = g.split("/")
        value = shown.get(g)
        total = totals.get(vaccinated, 0)
        share = None if value is None or not total else round(100 * value / total, 1)
        for item, v in (("persons", value), ("share", share)):
            cells.append(Cell((vaccinated, health), item, None if v is None else float(v),
                              "rounded" if v is not None else "suppressed"))  # fmt: skip
        out_rows.append([vaccinated, health, "x" if value is None else value,
                         "x" if share is None else share])  # fmt: skip
    table = PublishedTable(
        id="self-rated-health-vaccination", title_ko="코로나19 백신 접종 여부별 주관적 건강 수준",
        title_en="Self-rated health by COVID-19 vaccination (SNU cohort linked to the register)",
        org_id=ORG_ID, tbl_id="DT_ANSIM_003", topic="health", period=period[1],
        period_type="Y", unit="명 (5 단위 반올림), %",
        dimensions=("vaccinated", "self_rated_health"),
        labels=({"Y": "접종", "N": "미접종"}, {str(h): f"{h}점" for h in range(1, 6)}),
        items={"persons": "응답자 (5 단위 반올림)", "share": "접종 여부별 비율(%)"},
        labels_en=({"Y": "Vaccinated", "N": "Not vaccinated"},
                   {str(h): f"{h} of 5" for h in range(1, 6)}),
        items_en={"persons": "Respondents (rounded to base 5)",
                  "share": "Share within vaccination group (%)"},
        unit_en="persons (rounded to base 5), %",
        cells=tuple(cells), metadata=_metadata(
            ("snu", "kostat"), period[0],
            f"counts rounded to base {ROUNDING_BASE}, shares from the rounded counts; cells "
            f"under {THRESHOLD} persons, or that the release ledger's attacker LP finds "
            "exposing, are x",
        ),
    )  # fmt: skip
    published = {g: groups[g][g] for g in groups if g not in withheld}
    text = safe_csv_text(["vaccinated", "self_rated_health", "persons_rounded", "share_pct"],
                         out_rows)  # fmt: skip
    return Candidate(
        ReleaseKind.PORTAL_TABLE, table.title_en,
        {"self_rated_health_by_vaccination.csv": text.encode("utf-8-sig")}, published, THRESHOLD,
    ).with_portal(table)  # fmt: skip


# -- the DP table ------------------------------------------------------------------------------
def dp_cases_table(files: Mapping[str, bytes], period: tuple[str, str]) -> Candidate:
    """The demo's DP table (confirmed cases by si/gun × week, 95% intervals) for the portal.

    Args:
        files: The DP release's ``confirmed_by_sigungu_week_consistent.csv`` and ``.json``
            (and any others to publish with it).
        period: The reference period and its years.

    DP protects it by its noise and the project's privacy budget, not by suppression: it
    adds no exact count to the ledger.
    """
    name = "confirmed_by_sigungu_week_consistent"
    rows = list(csv.DictReader(io.StringIO(files[f"{name}.csv"].decode("utf-8"))))
    meta: dict[str, Any] = json.loads(files[f"{name}.json"].decode("utf-8"))
    cells = tuple(
        Cell(
            (r["sigungu_code"], r["week"]),
            "cases",
            float(r["estimate"]),
            "dp",
            float(r["ci_low"]),
            float(r["ci_high"]),
        )
        for r in rows
    )
    epsilon = meta.get("epsilon")
    method = "differential privacy (discrete Gaussian, OpenDP), 95% intervals"
    if isinstance(epsilon, int | float):
        method += f", epsilon {epsilon:.3g}"
    table = PublishedTable(
        id="dp-cases-sigungu-week", title_ko="시군별·주별 확진자 (차분 프라이버시)",
        title_en="Confirmed cases by si/gun and week (differential privacy, 95% intervals)",
        org_id=ORG_ID, tbl_id="DT_ANSIM_004", topic="health", period=period[1],
        period_type="W", unit="명", dimensions=("sigungu", "week"),
        labels=(_sigungu(sorted({c.keys[0] for c in cells})),
                {w: w for w in sorted({c.keys[1] for c in cells})}),
        items={"cases": "확진자 (DP 추정치)"}, cells=cells,
        items_en={"cases": "Confirmed cases (DP estimate)"}, unit_en="persons",
        metadata=_metadata(("gyeonggi",), period[0], method),
    )  # fmt: skip
    return Candidate(ReleaseKind.PORTAL_TABLE, table.title_en, dict(files), {}, THRESHOLD
                     ).with_portal(table)  # fmt: skip


SUPPORT_MONTHLY = ("isolation_support_by_month", "disaster_income_by_month")
"""The DP release's monthly payment tables (``<name>.csv`` and ``.json``)."""


def dp_support_table(files: Mapping[str, bytes], period: tuple[str, str]) -> Candidate:
    """Support paid by month (isolation support, disaster basic income; DP) for the portal.

    A time series (dimension ``month``, ``PRD_SE`` ``M``) of the DP release's sums in won,
    each with its 95% interval. Like :func:`dp_cases_table`, DP protects it: it adds no
    exact count to the ledger.

    Args:
        files: The DP release's files; the ones of :data:`SUPPORT_MONTHLY` are published.
        period: The reference period and its years.
    """
    items = {"isolation_support_by_month": "isolation", "disaster_income_by_month": "income"}
    cells: list[Cell] = []
    epsilon = None
    for name in SUPPORT_MONTHLY:
        rows = csv.DictReader(io.StringIO(files[f"{name}.csv"].decode("utf-8")))
        cells += [
            Cell((r["month"],), items[name], float(r["estimate"]), "dp",
                 float(r["ci_low"]), float(r["ci_high"]))
            for r in rows
        ]  # fmt: skip
        epsilon = json.loads(files[f"{name}.json"].decode("utf-8")).get("epsilon", epsilon)
    method = "differential privacy (discrete Gaussian, OpenDP), 95% intervals"
    if isinstance(epsilon, int | float):
        method += f", epsilon {epsilon:.3g} for the whole release"
    months = sorted({c.keys[0] for c in cells})
    table = PublishedTable(
        id="dp-support-month", title_ko="월별 격리지원금·재난기본소득 지급액 (차분 프라이버시)",
        title_en="Isolation support and disaster basic income paid by month "
        "(differential privacy, 95% intervals)",
        org_id=ORG_ID, tbl_id="DT_ANSIM_005", topic="welfare", period=period[1],
        period_type="M", unit="원", dimensions=("month",), labels=({m: m for m in months},),
        items={"isolation": "격리지원금 지급액 (DP 추정치)",
               "income": "재난기본소득 지급액 (DP 추정치)"},
        cells=tuple(cells),
        items_en={"isolation": "Isolation support paid (DP estimate)",
                  "income": "Disaster basic income paid (DP estimate)"},
        unit_en="won", metadata=_metadata(("gyeonggi",), period[0], method),
    )  # fmt: skip
    published = {
        f"{n}.{ext}": files[f"{n}.{ext}"] for n in SUPPORT_MONTHLY for ext in ("csv", "json")
    }
    return Candidate(ReleaseKind.PORTAL_TABLE, table.title_en, published, {}, THRESHOLD
                     ).with_portal(table)  # fmt: skip
