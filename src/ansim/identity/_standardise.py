"""Standardisation of Korean identifiers before tokens are made.

Each function takes the text a custodian holds and returns the canonical form used for linkage,
or raises :class:`~ansim.errors.InvalidIdentifierError` saying what is wrong (never echoing the
value). Blank input returns ``None``: missing is not invalid.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

from ansim.errors import InvalidIdentifierError

__all__ = [
    "parse_date",
    "standardise_name",
    "standardise_phone",
    "standardise_rrn",
    "standardise_sex",
]

_SPACE_AND_PUNCTUATION = re.compile(r"[\s\.\,\-\_\'\"\u00b7\u318d\u2027\u30fb\(\)]+")
_NON_DIGIT = re.compile(r"\D")
_HANGUL = re.compile(r"[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]")
_RRN_SHAPE = re.compile(r"^\d{6}[\s\-]*\d{7}$")
_DATE_SEPARATED = re.compile(
    r"^(\d{4})\s*[-./년]\s*(\d{1,2})\s*[-./월]\s*(\d{1,2})\s*(?:일|\.)?"
    r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"
)
_DATE_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_DATE_SHORT = re.compile(
    r"^(\d{2})(\d{2})(\d{2})$|^(\d{2})\s*[-./]\s*(\d{1,2})\s*[-./]\s*(\d{1,2})\.?$"
)
_SEX = {
    "m": "M", "male": "M", "man": "M", "남": "M", "남자": "M", "남성": "M", "1": "M",
    "f": "F", "female": "F", "woman": "F", "여": "F", "여자": "F", "여성": "F", "2": "F",
}  # fmt: skip


def standardise_name(value: str | None) -> str | None:
    """Canonical form of a person's name: NFC Hangul, no spaces or punctuation, Latin case-folded.

    NFKC first folds full-width letters and compatibility jamo; decomposed (NFD) Hangul is
    recomposed, so ``김민준`` typed in either form gives the same result. Names without Hangul
    (romanised or foreign names) also lose their diacritics (``Nguyễn`` → ``nguyen``).

    Args:
        value: Name as recorded.

    Returns:
        The standardised name, or ``None`` if blank.

    Raises:
        InvalidIdentifierError: The name has no letters.

    Example:
        >>> import unicodedata
        >>> standardise_name(" 김 민준 "), standardise_name(unicodedata.normalize("NFD", "김민준"))
        ('김민준', '김민준')
        >>> standardise_name("Nguyen Van-An"), standardise_name("NGUYỄN Văn An")
        ('nguyenvanan', 'nguyenvanan')
    """
    if value is None or not value.strip():
        return None
    text = unicodedata.normalize("NFC", unicodedata.normalize("NFKC", value))
    if not _HANGUL.search(text):
        decomposed = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    text = _SPACE_AND_PUNCTUATION.sub("", text).casefold()
    if not any(ch.isalpha() for ch in text):
        raise InvalidIdentifierError("name has no letters")
    return text


def standardise_rrn(value: str | None) -> str | None:
    """The 13 digits of a resident (or foreign) registration number.

    Accepts ``YYMMDD-SNNNNNN``, the 13 digits without a dash, spaces around the dash and
    full-width digits. The check digit is not enforced: numbers issued since October 2020 have
    none.

    Args:
        value: Number as recorded.

    Returns:
        13 digits, or ``None`` if blank.

    Raises:
        InvalidIdentifierError: Not six digits, an optional dash and seven digits.

    Example:
        >>> standardise_rrn("800522-1234567"), standardise_rrn("8005221234567")
        ('8005221234567', '8005221234567')
    """
    if value is None or not value.strip():
        return None
    text = unicodedata.normalize("NFKC", value).strip()
    if not _RRN_SHAPE.match(text):
        raise InvalidIdentifierError("malformed RRN: expected YYMMDD-SNNNNNN (13 digits)")
    return _NON_DIGIT.sub("", text)


def standardise_phone(value: str | None) -> str | None:
    """Digits of a Korean phone number in domestic form (``+82 10-…`` becomes ``010…``).

    Args:
        value: Number as recorded, with or without dashes, spaces, brackets or ``+82``.

    Returns:
        9 to 11 digits starting with 0, or ``None`` if blank.

    Raises:
        InvalidIdentifierError: The digits cannot be a Korean phone number.

    Example:
        >>> standardise_phone("010-1234-5678"), standardise_phone("+82 10 1234 5678")
        ('01012345678', '01012345678')
    """
    if value is None or not value.strip():
        return None
    text = unicodedata.normalize("NFKC", value).strip()
    if re.search(r"[^\d\s\-\+\(\)\.]", text):
        raise InvalidIdentifierError("malformed phone number: unexpected characters")
    digits = _NON_DIGIT.sub("", text)
    if text.startswith("+") or (digits.startswith("82") and len(digits) in (11, 12)):
        if not digits.startswith("82"):
            raise InvalidIdentifierError("malformed phone number: not a Korean (+82) number")
        digits = "0" + digits[2:].removeprefix("0")
    if not (9 <= len(digits) <= 11) or not digits.startswith("0"):  # noqa: PLR2004
        raise InvalidIdentifierError("malformed phone number: expected 9 to 11 digits from 0")
    return digits


def parse_date(value: str | None, *, reference_year: int | None = None) -> dt.date | None:
    """A calendar date from the forms Korean data uses.

    Accepted: ``1980-05-22``, ``1980-5-22``, ``1980.05.22``, ``1980. 5. 22.``, ``1980/05/22``,
    ``19800522``, ``1980년 5월 22일``, each optionally followed by a time, and two-digit years
    (``80-05-22``, ``800522``) under an explicit century rule: ``YY`` is ``20YY`` unless that
    is after the reference year, then ``19YY``.

    Args:
        value: Date as recorded.
        reference_year: Latest year a two-digit year may mean (default: the current year).

    Returns:
        The date, or ``None`` if blank.

    Raises:
        InvalidIdentifierError: Not a date in an accepted form, or no such day.

    Example:
        >>> parse_date("1980.05.22"), parse_date("19800522") == parse_date("1980-5-22")
        (datetime.date(1980, 5, 22), True)
        >>> parse_date("80-05-22", reference_year=2026), parse_date("210301", reference_year=2026)
        (datetime.date(1980, 5, 22), datetime.date(2021, 3, 1))
    """
    if value is None or not value.strip():
        return None
    text = unicodedata.normalize("NFKC", value).strip()
    match = _DATE_COMPACT.match(text) or _DATE_SEPARATED.match(text)
    if match is not None:
        year, month, day = (int(g) for g in match.groups())
    elif short := _DATE_SHORT.match(text):
        yy, month, day = (int(g) for g in short.groups() if g is not None)
        latest = reference_year if reference_year is not None else dt.date.today().year
        year = 2000 + yy if 2000 + yy <= latest else 1900 + yy
    else:
        raise InvalidIdentifierError("bad date: expected a form such as YYYY-MM-DD or YYYYMMDD")
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise InvalidIdentifierError("bad date: no such day in the calendar") from None


def standardise_sex(value: str | None) -> str | None:
    """``M`` or ``F`` from the codes Korean data uses (M/F, 남/여, 1/2, male/female).

    Example:
        >>> standardise_sex("남"), standardise_sex("f"), standardise_sex(" ")
        ('M', 'F', None)
    """
    if value is None or not value.strip():
        return None
    code = _SEX.get(unicodedata.normalize("NFKC", value).strip().casefold())
    if code is None:
        raise InvalidIdentifierError("unknown sex code: expected M/F, 남/여 or 1/2")
    return code
