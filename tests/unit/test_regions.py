"""The full si/gun/gu code list validates every province's codes (issue 10, class 4)."""

import datetime as dt

import pytest

from ansim.regions import (
    GYEONGGI_GU,
    GYEONGGI_SIGUNGU,
    admin_codes,
    is_known_sigungu_code,
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
