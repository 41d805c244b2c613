"""Korean names: jamo decomposition for typo-tolerant q-grams and the surname/given-name split."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

__all__ = ["NameParts", "decompose_jamo", "split_name"]

_SYLLABLE_FIRST, _SYLLABLE_LAST = 0xAC00, 0xD7A3
# Two-syllable surnames (복성) in use today; a longer name starting with one of them is read as
# that surname. 황보 or 남궁 followed by one syllable is still read as surname + given name.
_COMPOUND_SURNAMES = frozenset(
    [
        "남궁",
        "황보",
        "제갈",
        "선우",
        "독고",
        "사공",
        "서문",
        "동방",
        "어금",
        "망절",
        "장곡",
        "소봉",
        "을지",
    ]
)


def _is_syllable(ch: str) -> bool:
    return _SYLLABLE_FIRST <= ord(ch) <= _SYLLABLE_LAST


def decompose_jamo(name: str) -> str:
    """Hangul syllables decomposed into their jamo (conjoining forms); other text unchanged.

    A one-key typo (ㅓ for ㅕ, a missing final consonant) changes one jamo, so jamo q-grams of
    the two spellings share most of their q-grams where syllable q-grams would share few.

    Example:
        >>> decompose_jamo("김민준") == "\u1100\u1175\u11b7\u1106\u1175\u11ab\u110c\u116e\u11ab"
        True
        >>> len(decompose_jamo("김민준")), decompose_jamo("kim")
        (9, 'kim')
    """
    return unicodedata.normalize("NFD", name)


@dataclass(frozen=True)
class NameParts:
    """A Korean name split into surname (성) and given name (이름)."""

    surname: str
    given: str


def split_name(name: str) -> NameParts | None:
    """Surname and given name of a standardised Hangul name, where the split is clear.

    Two to five syllables: a known two-syllable surname (남궁, 황보, 제갈, 선우, …) is taken
    when at least one syllable follows it, otherwise the first syllable. Names that are not all
    Hangul syllables (Latin-script names, whose order varies) are not split.

    Args:
        name: A name as :func:`~ansim.identity.standardise_name` returns it.

    Returns:
        The parts, or ``None`` if the name cannot be split reliably.

    Example:
        >>> split_name("김민준"), split_name("남궁민")
        (NameParts(surname='김', given='민준'), NameParts(surname='남궁', given='민'))
        >>> split_name("nguyenvanan") is None, split_name("김") is None
        (True, True)
    """
    if not 2 <= len(name) <= 5 or not all(_is_syllable(ch) for ch in name):  # noqa: PLR2004
        return None
    if len(name) >= 3 and name[:2] in _COMPOUND_SURNAMES:  # noqa: PLR2004
        return NameParts(name[:2], name[2:])
    return NameParts(name[:1], name[1:])
