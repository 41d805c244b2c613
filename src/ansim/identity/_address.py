"""Korean addresses: road-name (도로명) or lot-number (지번) form, canonical text, si/gun code.

A road-name address names a road (…로, …길, …대로, …로N번길) and a building number; a lot-number
address names a neighbourhood (…동, …리, …가) and a lot (…번지, 산 12-3). The si/gun is read from
the text and compared with the MOIS code a custodian also holds, so disagreements are reported.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

import pyarrow as pa
import pyarrow.compute as pc

from ansim.errors import InvalidIdentifierError
from ansim.regions import GYEONGGI_SIGUNGU, sigungu_of

__all__ = [
    "COMMON_RAW",
    "COMMON_STANDARDISED",
    "AddressFacts",
    "AddressForm",
    "address_facts",
    "bulk_sigungu_of_common",
    "bulk_standardise_common",
    "sigungu_matches",
    "standardise_address",
]

_PROVINCE_WORDS = {
    "서울", "서울시", "서울특별시", "부산", "부산광역시", "대구", "대구광역시", "인천",
    "인천광역시", "광주광역시", "대전", "대전광역시", "울산", "울산광역시", "세종",
    "세종시", "세종특별자치시", "경기", "경기도", "강원", "강원도", "강원특별자치도", "충북",
    "충청북도", "충남", "충청남도", "전북", "전라북도", "전북특별자치도", "전남", "전라남도",
    "경북", "경상북도", "경남", "경상남도", "제주", "제주도", "제주특별자치도",
}  # fmt: skip
_GYEONGGI_PREFIX = {"경기", "경기도"}
_OTHER_PROVINCE = _PROVINCE_WORDS - _GYEONGGI_PREFIX
_SI_GUN = {s.name_ko: s.code for s in GYEONGGI_SIGUNGU.values()}
_ROAD = re.compile(r"^[가-힣0-9]+(?:대로|로|길)(?:\d+(?:번?길))?$")
_LOT_AREA = re.compile(r"^[가-힣0-9]+(?:동|리|가)$")
_LOT_NUMBER = re.compile(r"^(?:산)?\d+(?:-\d+)?(?:번지)?$")
_BUILDING = re.compile(r"^\d+(?:-\d+)?$")
# an apartment unit: "101동 1203호", "101동1203호", or "101-1203" right after a building number
_APARTMENT = re.compile(r"\s(\d+)\s*동\s*(\d+)\s*호$|(?<=\d)\s+(\d+)-(\d+)$")
_SPACES = re.compile(r"\s+")
_JOINED_NUMBER = re.compile(r"(로|길)(\d+)(?!\d|번길|길)")
_PUNCTUATION = re.compile(r"[,()\[\]]")
# The common shape, already canonical but for an optional province word: si/gun, optional gu,
# road (no digits in its stem), building number, optional apartment unit. Addresses of this
# shape are standardised and read in bulk with Arrow (RE2) kernels; :func:`address_facts` gives
# the same for them and handles every other shape.
_SI_GUN_NAMES = "|".join(sorted(_SI_GUN, key=len, reverse=True))
_COMMON_TAIL = (
    r" (?:[가-힣]+구 )?[가-힣]+(?:대로|로|길)(?:[0-9]+번?길)? [0-9]+(?:-[0-9]+)?"
    r"(?: [0-9]+동 [0-9]+호)?$"
)
COMMON_RAW = rf"^(?:경기도 |경기 )?(?:{_SI_GUN_NAMES}){_COMMON_TAIL}"
COMMON_STANDARDISED = rf"^(?P<sigun>{_SI_GUN_NAMES}){_COMMON_TAIL}"


class AddressForm(StrEnum):
    """Road-name (도로명주소), lot-number (지번주소), or not recognisable as either."""

    ROAD = "road"
    LOT = "lot"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class AddressFacts:
    """A standardised address and what it says.

    Attributes:
        text: Canonical text (see :func:`standardise_address`).
        form: Road-name or lot-number form.
        sigungu_code: The Gyeonggi si/gun code its text names, if any.
        outside_gyeonggi: The address names another province.
    """

    text: str
    form: AddressForm
    sigungu_code: str | None
    outside_gyeonggi: bool


def _tokens(value: str) -> list[str]:
    text = unicodedata.normalize("NFKC", value)
    text = _PUNCTUATION.sub(" ", text)
    text = _JOINED_NUMBER.sub(r"\1 \2", text)  # "정조로123" → "정조로 123", not "로15번길"
    text = _APARTMENT.sub(lambda m: f" {m[1] or m[3]}동 {m[2] or m[4]}호", text.strip())
    return _SPACES.sub(" ", text).strip().split(" ")


def address_facts(value: str | None) -> AddressFacts | None:
    """Canonical text, form and si/gun of an address.

    The canonical text drops the province for Gyeonggi addresses (``경기도``, ``경기`` or none
    mean the same), separates a road name from its building number, writes an apartment unit
    as ``101동 1203호`` (also from ``101-1203``) and collapses spaces.

    Args:
        value: Address as recorded.

    Returns:
        The facts, or ``None`` if blank.

    Raises:
        InvalidIdentifierError: The address has no letters or digits, or names only the
            province.

    Example:
        >>> facts = address_facts("경기도 수원시 정조로123 101-1203")
        >>> facts.text, facts.form.value, facts.sigungu_code
        ('수원시 정조로 123 101동 1203호', 'road', '41110')
        >>> address_facts("경기 광주시 오포읍 신현리 123-4번지").form.value
        'lot'
    """
    if value is None or not value.strip():
        return None
    words = _tokens(value)
    if not any(ch.isalnum() for ch in "".join(words)):
        raise InvalidIdentifierError("address has no letters or digits")
    outside = words[0] in _OTHER_PROVINCE
    if words[0] in _GYEONGGI_PREFIX:
        words = words[1:]
    if not words:
        raise InvalidIdentifierError("address names a province only")
    code = None if outside else next((_SI_GUN[w] for w in words[:2] if w in _SI_GUN), None)
    return AddressFacts(" ".join(words), _form(words), code, outside)


def _form(words: list[str]) -> AddressForm:
    for here, after in zip(words, [*words[1:], ""], strict=True):
        if _ROAD.match(here) and _BUILDING.match(after):
            return AddressForm.ROAD
        if _LOT_AREA.match(here) and _LOT_NUMBER.match(after):
            return AddressForm.LOT
    return AddressForm.UNKNOWN


def standardise_address(value: str | None) -> str | None:
    """Canonical text of an address (see :func:`address_facts`).

    Example:
        >>> standardise_address("경기  수원시 정조로123")
        '수원시 정조로 123'
    """
    facts = address_facts(value)
    return None if facts is None else facts.text


def bulk_standardise_common(text: pa.Array) -> pa.Array:
    """Standardised text of the addresses in the common shape, in bulk (Arrow kernels).

    The common shape: an optional ``경기도``/``경기``, a Gyeonggi si/gun, an optional gu, a road
    name without digits in its stem (side roads such as ``…로15번길`` included), a building
    number and an optional ``101동 1203호``, single-spaced. For these the result equals
    :func:`standardise_address`; every other address gives null here (use the scalar function).

    Args:
        text: Addresses as recorded.

    Returns:
        Standardised text, or null where the address is not in the common shape.

    Example:
        >>> addresses = pa.array(["경기도 수원시 정조로 12", "수원시 정조로12"])
        >>> bulk_standardise_common(addresses).to_pylist()
        ['수원시 정조로 12', None]
    """
    text = pc.utf8_trim_whitespace(pc.utf8_normalize(text, "NFKC"))
    common = pc.match_substring_regex(text, COMMON_RAW)
    return pc.if_else(common, pc.replace_substring_regex(text, r"^경기도? ", ""), None)


def bulk_sigungu_of_common(standardised: pa.Array) -> pa.Array:
    """Si/gun code named by standardised addresses in the common shape, in bulk.

    Args:
        standardised: Addresses as :func:`standardise_address` gives them.

    Returns:
        The five-digit MOIS code, or null where the address is not in the common shape
        (:func:`address_facts` reads those).

    Example:
        >>> addresses = pa.array(["광주시 경안로 1", "광주시 오포읍 신현리 1"])
        >>> bulk_sigungu_of_common(addresses).to_pylist()
        ['41610', None]
    """
    name = pc.struct_field(pc.extract_regex(standardised, COMMON_STANDARDISED), [0])
    names = pa.array(list(_SI_GUN), pa.string())
    codes = pa.array([_SI_GUN[n] for n in names.to_pylist()], pa.string())
    return pc.take(codes, pc.index_in(name, value_set=names))


def sigungu_matches(facts: AddressFacts, code: str | None) -> bool | None:
    """Whether the si/gun named in an address agrees with a si/gun code (``None``: cannot tell).

    A gu code (수원시 장안구, 41111) agrees with its si (41110).

    Example:
        >>> facts = address_facts("수원시 정조로 123")
        >>> sigungu_matches(facts, "41111"), sigungu_matches(facts, "41130")
        (True, False)
    """
    if code is None or facts.sigungu_code is None:
        return None
    return sigungu_of(code) == facts.sigungu_code
