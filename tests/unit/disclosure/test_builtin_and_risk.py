"""Built-in Korean hierarchies and risk measures."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from ansim.disclosure import (
    KAnonymity,
    age_hierarchy,
    anonymise,
    band_hierarchy,
    date_hierarchy,
    risk_profile,
    risk_report,
    sigungu_hierarchy,
)
from ansim.errors import InvalidSpecError


def test_age_bands_nest_and_top_code() -> None:
    h = age_hierarchy()
    assert [h.label("47", lv) for lv in range(h.height)] == ["47", "45-49", "40-49", "40-59", "*"]
    assert {h.label("95", lv) for lv in (1, 2, 3)} == {"80+"}
    with pytest.raises(InvalidSpecError, match="divide the next"):
        band_hierarchy("x", 0, 10, (5, 7))
    with pytest.raises(InvalidSpecError, match="multiple of every width"):
        band_hierarchy("x", 0, 100, (10,), top_code=85)


def test_income_bands_with_unit() -> None:
    h = band_hierarchy("income", 0, 9999, (100, 1000), top_code=5000, unit="만원")
    assert h.label("1234", 1) == "1200-1299만원"
    assert h.label("7000", 2) == "5000만원+"


def test_dates_roll_up_to_month_quarter_year() -> None:
    h = date_hierarchy("onset", dt.date(2020, 12, 30), dt.date(2021, 1, 2))
    assert h.domain_size == 4
    assert h.label("2020-12-31", 2) == "2020-Q4"
    assert h.label("2021-01-01", 3) == "2021"


def test_sigungu_to_province() -> None:
    h = sigungu_hierarchy()
    assert h.label("41610", 2) == "경기도"  # Gwangju-si is in Gyeonggi
    assert h.label("41465", 1) == "41460"  # a Yongin gu rolls up to Yongin-si
    assert sigungu_hierarchy(codes=["11110"]).label("11110", 2) == "서울특별시"
    with pytest.raises(InvalidSpecError, match="code number 1"):
        sigungu_hierarchy(codes=["99999"])


def test_risk_before_and_after_anonymisation() -> None:
    ages = [str(a) for a in (31, 32, 33, 34, 35, 36, 41, 42, 43, 47)]
    table = pa.table({"age": ages, "x": list("abcdefghij")})
    before = risk_profile(table, ["age"], sampling_fraction=0.1)
    assert before.prosecutor_max == 1.0
    assert before.sample_uniques == 10
    assert before.population_uniques is not None
    assert 0 < before.population_uniques <= 10
    result = anonymise(table, {"age": age_hierarchy()}, ["age"], [KAnonymity(3)])
    after = risk_profile(result.table, ["age"])
    assert after.prosecutor_max <= 1 / 3
    assert after.sample_uniques == 0
    report = risk_report(table, result.table, ["age"])
    assert report["before"]["prosecutor_average"] > report["after"]["prosecutor_average"]
    with pytest.raises(InvalidSpecError):
        risk_profile(table, ["nope"])


def test_journalist_risk_uses_population_sizes() -> None:
    table = pa.table({"sex": ["F", "F", "M"]})
    p = risk_profile(table, ["sex"], population_sizes={("F",): 100, ("M",): 4})
    assert p.prosecutor_max == 1.0
    assert p.journalist_max == pytest.approx(1 / 4)
    assert p.marketer == pytest.approx((2 / 100 + 1 / 4) / 3)
