"""Realistic identifier errors for the demo world's custodian files.

Each function takes one column (Arrow strings, one value per record), picks records at the
error rates in :data:`RATES` independently of every other column and file, and rewrites just
those records in Python; the rest of the column is untouched and never leaves Arrow. Errors
mimic what really happens to Korean identifiers: a similar syllable typed for another, a
vowel or final consonant slipping to its neighbour, stray spaces, decomposed (NFD) Hangul from
macOS, adjacent digits swapped, day and month swapped, a new phone number, address variants.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence, Sized
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "RATES",
    "ErrorRates",
    "corrupt_birth_dates",
    "corrupt_names",
    "corrupt_phones",
    "corrupt_rrns",
    "impossible_dates",
    "vary_addresses",
]

BoolArray = npt.NDArray[np.bool_]
Change = Callable[[str, Sequence[float]], str | None]


@dataclass(frozen=True)
class ErrorRates:
    """Share of records given each kind of error (each drawn independently per record)."""

    name_syllable: float = 0.02
    name_jamo: float = 0.02
    name_spacing: float = 0.02
    name_nfd: float = 0.05
    name_blank: float = 0.005
    rrn_swap: float = 0.01
    rrn_blank: float = 0.02
    rrn_malformed: float = 0.0005
    birth_blank: float = 0.01
    birth_swap: float = 0.003
    phone_blank: float = 0.05
    phone_changed: float = 0.03
    phone_swap: float = 0.005
    address_variant: float = 0.02
    impossible_case_date: float = 0.0002


RATES = ErrorRates()

_HANGUL_FIRST, _HANGUL_LAST = 0xAC00, 0xD7A3
_VOWELS, _FINALS = 21, 28
# Initial consonants ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ and those misheard or mistyped for them.
_INITIAL_NEIGHBOURS: tuple[tuple[int, ...], ...] = (
    (15, 1), (0,), (5, 6), (16, 4), (3,), (2,), (2, 7), (17, 8), (7,), (10, 12),
    (9,), (18,), (14, 13), (12,), (12,), (0,), (3,), (7,), (11,),
)  # fmt: skip
# Vowels ㅏㅐㅑㅒㅓㅔㅕㅖㅗㅘㅙㅚㅛㅜㅝㅞㅟㅠㅡㅢㅣ: neighbours on the keyboard or in sound.
_VOWEL_NEIGHBOURS: tuple[tuple[int, ...], ...] = (
    (2, 4), (5, 3), (0, 6), (1, 7), (6, 8, 0), (1, 7), (4, 12), (5, 3), (12, 4), (0, 10),
    (11, 15), (10, 15), (8, 6), (17, 18), (4, 13), (10, 11), (19, 20), (13, 12), (13, 20),
    (16, 20), (18, 19),
)  # fmt: skip
# Finals (0 = none): 은/응/을, 민/밍/미, 석/서, 범/번 ... anything else loses its final.
_FINAL_NEIGHBOURS: dict[int, tuple[int, ...]] = {
    0: (4, 21, 8), 1: (0, 21), 4: (21, 16, 0), 7: (19, 0), 8: (0, 4), 16: (4, 17),
    17: (16, 0), 19: (7, 0), 21: (4, 0),
}  # fmt: skip
_CONFUSABLE = (
    "서세", "혜해헤", "예에얘", "윤연융", "영용령", "정종청", "진지찐", "민빈밍", "현헌형",
    "은운응", "수주슈", "재제채", "경겅견", "희히휘", "원웜월", "준전중", "하화", "석속",
    "훈훙", "호효", "태테", "성상", "우유", "철첼", "숙속", "자주",
)  # fmt: skip
_SIMILAR: dict[str, str] = {}
for _group in _CONFUSABLE:
    for _syllable in _group:
        _SIMILAR[_syllable] = _SIMILAR.get(_syllable, "") + _group.replace(_syllable, "")
_VOWEL_SLIPS = 0.6  # share of jamo typos in the vowel (the rest in the final consonant)
_SHORTEST_SPLIT = 2  # a name needs two characters to get a stray space
_SPACE_AFTER_SURNAME = 0.7  # 김 민준 (else 김민 준)
_DROPPED_DIGITS = 0.5  # share of malformed RRNs missing a digit (the rest have a letter)
_MALFORMED_LETTERS = "OIlBSZ"  # the letters people and OCR mistake for 0, 1, 1, 8, 5, 2
_APARTMENT = re.compile(r" (\d+)동 (\d+)호$")
_ROAD_NUMBER = re.compile(r"(로|길) (\d)")
_IMPOSSIBLE_MONTH_DAYS = ("02-30", "02-31", "04-31", "06-31", "09-31", "11-31", "13-01")
_PHONE_LOW, _PHONE_SPAN = 20_000_000, 80_000_000


def corrupt_names(rng: np.random.Generator, names: pa.Array, *, nfd: bool) -> pa.Array:
    """Typos, stray spaces, decomposed Hangul and blanks in names.

    Args:
        rng: The random generator.
        names: Full names.
        nfd: Whether some names may be written as NFD-decomposed Hangul (only possible in
            Unicode files: CP949 cannot encode conjoining jamo).

    Returns:
        The names with errors.
    """
    names = _rewrite(rng, names, RATES.name_syllable, _similar_syllable)
    names = _rewrite(rng, names, RATES.name_jamo, _jamo_typo)
    names = _rewrite(rng, names, RATES.name_spacing, _stray_space)
    if nfd:
        names = _rewrite(rng, names, RATES.name_nfd, _decompose)
    return _rewrite(rng, names, RATES.name_blank, _blank)


def corrupt_rrns(rng: np.random.Generator, rrns: pa.Array, *, malformed: bool) -> pa.Array:
    """Swapped digits, blanks and (optionally) malformed values in 13-digit RRNs.

    Args:
        rng: The random generator.
        rrns: Registration numbers without the dash.
        malformed: Whether to include a few malformed numbers (12 digits, or a letter for a
            digit) so that ingest has something to quarantine; at least one when any.

    Returns:
        The numbers with errors.
    """
    rrns = _rewrite(rng, rrns, RATES.rrn_swap, _swap_adjacent)
    rrns = _rewrite(rng, rrns, RATES.rrn_blank, _blank)
    if malformed:
        rrns = _rewrite(rng, rrns, RATES.rrn_malformed, _malform, at_least_one=True)
    return rrns


def corrupt_birth_dates(rng: np.random.Generator, dates: pa.Array) -> pa.Array:
    """Blank birth dates and day/month swaps (where the swapped date exists).

    Args:
        rng: The random generator.
        dates: ISO dates (``YYYY-MM-DD``).

    Returns:
        The dates with errors, still ISO.
    """
    month = pc.cast(pc.utf8_slice_codeunits(dates, 5, 7), pa.int64())
    day = pc.cast(pc.utf8_slice_codeunits(dates, 8, 10), pa.int64())
    swappable = pc.and_(pc.less_equal(day, 12), pc.not_equal(day, month))
    eligible = swappable.to_numpy(zero_copy_only=False)
    # the rate is of all records, but only about a third of dates can be swapped
    rate = min(1.0, RATES.birth_swap * len(dates) / max(1, int(eligible.sum())))
    dates = _rewrite(rng, dates, rate, _swap_day_month, eligible=eligible)
    return _rewrite(rng, dates, RATES.birth_blank, _blank)


def corrupt_phones(rng: np.random.Generator, phones: pa.Array) -> pa.Array:
    """New numbers, swapped digits and blanks in mobile phones.

    Args:
        rng: The random generator.
        phones: The eight digits after ``010`` (null for people without a phone).

    Returns:
        The phones with errors.
    """
    phones = _rewrite(rng, phones, RATES.phone_changed, _new_phone)
    phones = _rewrite(rng, phones, RATES.phone_swap, _swap_adjacent)
    return _rewrite(rng, phones, RATES.phone_blank, _blank)


def vary_addresses(rng: np.random.Generator, addresses: pa.Array) -> pa.Array:
    """Rewrite some addresses in another common format (same place, different text).

    Args:
        rng: The random generator.
        addresses: Road-name addresses as made by the population.

    Returns:
        The addresses, a few in variant formats.
    """
    return _rewrite(rng, addresses, RATES.address_variant, _address_variant)


def impossible_dates(rng: np.random.Generator, dates: pa.Array) -> pa.Array:
    """Replace a tiny share (at least one) of ISO dates by impossible ones like ``2021-02-30``.

    Args:
        rng: The random generator.
        dates: ISO dates.

    Returns:
        The dates, a few impossible.
    """
    return _rewrite(rng, dates, RATES.impossible_case_date, _impossible, at_least_one=True)


def _rewrite(
    rng: np.random.Generator,
    values: pa.Array,
    rate: float,
    change: Change,
    *,
    eligible: BoolArray | None = None,
    at_least_one: bool = False,
) -> pa.Array:
    """Apply ``change`` to a random ``rate`` share of the non-null (and eligible) values.

    ``change`` gets the value and three uniform draws, so the records it touches are the only
    ones that reach Python.
    """
    candidates = values.is_valid().to_numpy(zero_copy_only=False)
    if eligible is not None:
        candidates &= eligible
    chosen = (rng.random(len(values)) < rate) & candidates
    if at_least_one and not chosen.any() and candidates.any():
        pool = np.flatnonzero(candidates)
        chosen[pool[rng.integers(0, pool.size)]] = True
    positions = np.flatnonzero(chosen)
    if positions.size == 0:
        return values
    draws = rng.random((positions.size, 3)).tolist()
    old = values.take(pa.array(positions)).to_pylist()
    new = [change(value, draw) for value, draw in zip(old, draws, strict=True)]
    return pc.replace_with_mask(values, pa.array(chosen), pa.array(new, type=pa.string()))


def _pick(options: Sized, u: float) -> int:
    """Index of the option a uniform draw ``u`` falls on."""
    return min(int(u * len(options)), len(options) - 1)


def _blank(_value: str, _draw: Sequence[float]) -> str | None:
    """A missing value."""
    return None


def _decompose(value: str, _draw: Sequence[float]) -> str:
    """The name as NFD: each syllable spelt as its conjoining jamo."""
    return unicodedata.normalize("NFD", value)


def _hangul_positions(value: str) -> list[int]:
    """Positions of precomposed Hangul syllables."""
    return [i for i, ch in enumerate(value) if _HANGUL_FIRST <= ord(ch) <= _HANGUL_LAST]


def _similar_syllable(value: str, draw: Sequence[float]) -> str:
    """One syllable replaced by a similar one (서/세, 윤/연, or a neighbouring initial)."""
    positions = _hangul_positions(value)
    if not positions:
        return value
    at = positions[_pick(positions, draw[0])]
    syllable = value[at]
    similar = _SIMILAR.get(syllable)
    if similar:
        replacement = similar[_pick(similar, draw[1])]
    else:
        code = ord(syllable) - _HANGUL_FIRST
        initial, rest = divmod(code, _VOWELS * _FINALS)
        options = _INITIAL_NEIGHBOURS[initial]
        replacement = chr(
            _HANGUL_FIRST + options[_pick(options, draw[1])] * _VOWELS * _FINALS + rest
        )
    return value[:at] + replacement + value[at + 1 :]


def _jamo_typo(value: str, draw: Sequence[float]) -> str:
    """One syllable's vowel or final consonant slipped to a neighbouring one."""
    positions = _hangul_positions(value)
    if not positions:
        return value
    at = positions[_pick(positions, draw[0])]
    code = ord(value[at]) - _HANGUL_FIRST
    initial, vowel, final = code // (_VOWELS * _FINALS), code // _FINALS % _VOWELS, code % _FINALS
    if draw[1] < _VOWEL_SLIPS:
        options = _VOWEL_NEIGHBOURS[vowel]
        vowel = options[_pick(options, draw[2])]
    else:
        options = _FINAL_NEIGHBOURS.get(final, (0,))
        final = options[_pick(options, draw[2])]
    syllable = chr(_HANGUL_FIRST + (initial * _VOWELS + vowel) * _FINALS + final)
    return value[:at] + syllable + value[at + 1 :]


def _stray_space(value: str, draw: Sequence[float]) -> str:
    """A space after the surname (``김 민준``) or inside the given name (``김민 준``)."""
    if len(value) < _SHORTEST_SPLIT:
        return value
    after_surname = draw[0] < _SPACE_AFTER_SURNAME or len(value) == _SHORTEST_SPLIT
    at = 1 if after_surname else len(value) - 1
    return value[:at] + " " + value[at:]


def _swap_adjacent(value: str, draw: Sequence[float]) -> str:
    """Two adjacent, different characters swapped (``0312`` → ``0321``)."""
    positions = [i for i in range(len(value) - 1) if value[i] != value[i + 1]]
    if not positions:
        return value
    at = positions[_pick(positions, draw[0])]
    return value[:at] + value[at + 1] + value[at] + value[at + 2 :]


def _malform(value: str, draw: Sequence[float]) -> str:
    """A digit dropped (12 digits) or replaced by a look-alike letter."""
    at = _pick(value, draw[1])
    if draw[0] < _DROPPED_DIGITS:
        return value[:at] + value[at + 1 :]
    letter = _MALFORMED_LETTERS[_pick(_MALFORMED_LETTERS, draw[2])]
    return value[:at] + letter + value[at + 1 :]


def _swap_day_month(value: str, _draw: Sequence[float]) -> str:
    """``YYYY-MM-DD`` read as ``YYYY-DD-MM``."""
    return f"{value[:4]}-{value[8:10]}-{value[5:7]}"


def _new_phone(_value: str, draw: Sequence[float]) -> str:
    """A different phone number (the person changed numbers)."""
    return str(_PHONE_LOW + int(draw[0] * _PHONE_SPAN))


def _address_variant(value: str, draw: Sequence[float]) -> str:
    """The same address written differently: no or short province, joined numbers."""
    local = value.removeprefix("경기도 ")
    variants = [local, "경기 " + local, _ROAD_NUMBER.sub(r"\1\2", value, count=1)]
    variants.append(value.replace(" ", "  ", 1))
    if _APARTMENT.search(value):
        variants.append(_APARTMENT.sub(r" \1동\2호", value))
        variants.append(_APARTMENT.sub(r" \1-\2", value))
    return variants[_pick(variants, draw[0])]


def _impossible(value: str, draw: Sequence[float]) -> str:
    """A date that does not exist in the same year."""
    return f"{value[:4]}-{_IMPOSSIBLE_MONTH_DAYS[_pick(_IMPOSSIBLE_MONTH_DAYS, draw[0])]}"
