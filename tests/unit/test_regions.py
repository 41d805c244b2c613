"""The full si/gun/gu code list validates every province's codes (issue 10, class 4)."""

import csv
import datetime as dt
from importlib.resources import files

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansim.regions import (
    GYEONGGI_GU,
    GYEONGGI_SIGUNGU,
    admin_code_history,
    admin_codes,
    is_known_sigungu_code,
    sigungu_code_problem,
    sigungu_of,
)


@pytest.mark.parametrize("code", ["11999", "50000", "26999", "42000", "99110", "4111", "4111a"])
def test_codes_outside_the_list_are_refused(code: str) -> None:
    assert not is_known_sigungu_code(code)


@pytest.mark.parametrize(
    "code", ["11110", "26440", "36110", "50110", "48125", "51110", "52111", "27720", "41730"]
)
def test_codes_of_every_province_and_old_codes_are_known(code: str) -> None:
    assert is_known_sigungu_code(code)


def test_every_province_has_codes_and_gyeonggi_is_covered() -> None:
    codes = admin_codes()
    provinces = {c[:2] for c in codes}
    assert provinces >= {"11", "26", "27", "28", "29", "30", "31", "36", "41", "43", "44"}
    assert provinces >= {"46", "47", "48", "50", "51", "52"}
    assert all(c in codes for c in [*GYEONGGI_SIGUNGU, *GYEONGGI_GU])


def test_validity_dates() -> None:
    codes = admin_codes()
    assert not codes["41730"].valid_on(dt.date(2014, 1, 1))  # Yeoju-gun became Yeoju-si
    assert codes["41730"].valid_on(dt.date(2010, 1, 1))
    assert codes["41670"].valid_on(dt.date(2014, 1, 1))
    assert not codes["42110"].valid_on(dt.date(2024, 1, 1))  # Gangwon renumbered 51
    assert codes["51110"].valid_on(dt.date(2024, 1, 1))


def test_general_gu_map_to_their_si() -> None:
    assert [sigungu_of(c) for c in ("43111", "47113", "41287", "11215")] == [
        "43110",
        "47110",
        "41280",
        "11215",
    ]


def _intervals_from_the_file() -> dict[str, list[tuple[dt.date | None, dt.date | None]]]:
    """The shipped list read independently of ``regions``: code → validity intervals."""
    text = (files("ansim") / "_data" / "sigungu_codes.csv").read_text(encoding="utf-8")
    found: dict[str, list[tuple[dt.date | None, dt.date | None]]] = {}
    for row in csv.DictReader(text.splitlines()):
        start = dt.date.fromisoformat(row["valid_from"]) if row["valid_from"] else None
        end = dt.date.fromisoformat(row["valid_to"]) if row["valid_to"] else None
        found.setdefault(row["code"], []).append((start, end))
    return found


_INTERVALS = _intervals_from_the_file()


@settings(max_examples=2000, deadline=None, database=None)
@given(
    code=st.sampled_from(sorted(_INTERVALS)),
    day=st.dates(dt.date(1990, 1, 1), dt.date(2040, 12, 31)),
)
def test_a_code_is_accepted_iff_the_day_lies_in_one_of_its_intervals(
    code: str, day: dt.date
) -> None:
    inside = any(
        (start is None or start <= day) and (end is None or day <= end)
        for start, end in _INTERVALS[code]
    )
    assert is_known_sigungu_code(code, day) is inside
    problem = sigungu_code_problem(code, day)
    assert (problem is None) is inside
    if problem is not None:
        assert problem.startswith(f"code {code} not valid on {day.isoformat()}: in use ")
    assert is_known_sigungu_code(code)  # without a day: in use at some time


@settings(max_examples=300, deadline=None, database=None)
@given(code=st.text("0123456789", min_size=5, max_size=5), day=st.dates())
def test_codes_outside_the_list_are_refused_on_every_day(code: str, day: dt.date) -> None:
    if code not in _INTERVALS:
        assert sigungu_code_problem(code, day) == "unknown si/gun code"


@pytest.mark.parametrize(
    ("old", "new", "first_day"),
    [
        ("42110", "51110", "2023-06-11"),  # Gangwon State
        ("42830", "51830", "2023-06-11"),
        ("45110", "52110", "2024-01-18"),  # Jeonbuk State
        ("45111", "52111", "2024-01-18"),
        ("47720", "27720", "2023-07-01"),  # Gunwi-gun to Daegu
        ("41730", "41670", "2013-09-23"),  # Yeoju-gun to Yeoju-si
        ("43710", "43114", "2014-07-01"),  # Cheongwon-gun into Cheongju (Cheongwon-gu)
        ("28170", "28177", "2018-07-01"),  # Incheon Nam-gu renamed Michuhol-gu
        ("28110", "28125", "2026-07-01"),  # Incheon: Jung-gu → Jemulpo-gu
        ("28140", "28155", "2026-07-01"),  # Incheon: Dong-gu → (Jemulpo-gu), Yeongjong-gu
        ("28260", "28290", "2026-07-01"),  # Incheon: Seo-gu → Seohae-gu, Geomdan-gu
        ("28260", "28275", "2026-07-01"),
    ],
)
def test_reforms_take_effect_on_their_first_day(old: str, new: str, first_day: str) -> None:
    day = dt.date.fromisoformat(first_day)
    before = day - dt.timedelta(days=1)
    assert is_known_sigungu_code(old, before) and not is_known_sigungu_code(old, day)
    assert is_known_sigungu_code(new, day) and not is_known_sigungu_code(new, before)


def test_general_gu_that_come_and_go() -> None:
    abolished, restored = dt.date(2016, 7, 4), dt.date(2024, 1, 1)
    for old, new in [("41195", "41192"), ("41197", "41194"), ("41199", "41196")]:  # Bucheon
        assert is_known_sigungu_code(old, abolished - dt.timedelta(days=1))
        assert not is_known_sigungu_code(old, abolished)
        assert not is_known_sigungu_code(new, restored - dt.timedelta(days=1))
        assert is_known_sigungu_code(new, restored)
    assert is_known_sigungu_code("41190", dt.date(2020, 1, 1))  # the si itself throughout
    for gu in ("41591", "41593", "41595", "41597"):  # Hwaseong's four gu
        assert not is_known_sigungu_code(gu, dt.date(2026, 1, 31))
        assert is_known_sigungu_code(gu, dt.date(2026, 2, 1))
    assert [a.name for a in admin_code_history()["28275"]] == ["서해구"]
