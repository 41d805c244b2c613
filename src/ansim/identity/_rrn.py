"""What a resident (or foreign) registration number says: kind, birth date, sex, check digit.

The seventh digit gives sex and century: 9/0 for Koreans born in the 1800s, 1/2 in the 1900s,
3/4 from 2000; 5/6 and 7/8 for registered foreigners born in the 1900s and from 2000 (odd: male).
Numbers issued before October 2020 end with a check digit (weights 2–9, 2–5 over the first twelve
digits; ``(11 − s mod 11) mod 10`` for residents, ``(13 − s mod 11) mod 10`` for foreigners);
numbers issued since then have six random digits after the seventh and no check digit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from ansim.identity._standardise import standardise_rrn

__all__ = ["CheckDigit", "RegistrationKind", "RrnFacts", "rrn_check_digit", "rrn_facts"]

_WEIGHTS = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
_NO_CHECK_DIGIT_FROM = dt.date(2020, 10, 1)
# seventh digit → (century, sex, foreign)
_SEVENTH: dict[str, tuple[int, str, bool]] = {
    "9": (1800, "M", False), "0": (1800, "F", False),
    "1": (1900, "M", False), "2": (1900, "F", False),
    "3": (2000, "M", False), "4": (2000, "F", False),
    "5": (1900, "M", True), "6": (1900, "F", True),
    "7": (2000, "M", True), "8": (2000, "F", True),
}  # fmt: skip


class RegistrationKind(StrEnum):
    """Resident (주민등록번호) or foreign (외국인등록번호) registration number."""

    RESIDENT = "resident"
    FOREIGN = "foreign"


class CheckDigit(StrEnum):
    """The check digit's verdict: ``valid``, ``invalid``, or ``absent`` (issued from Oct 2020)."""

    VALID = "valid"
    INVALID = "invalid"
    ABSENT = "absent"


@dataclass(frozen=True)
class RrnFacts:
    """What a registration number says about its holder.

    Attributes:
        kind: Resident or foreign registration number.
        century: 1800, 1900 or 2000.
        sex: ``M`` or ``F``.
        birth_date: The birth date, or ``None`` if the first six digits are no calendar day.
        check: The check digit's verdict.
    """

    kind: RegistrationKind
    century: int
    sex: str
    birth_date: dt.date | None
    check: CheckDigit


def rrn_check_digit(first12: str, kind: RegistrationKind = RegistrationKind.RESIDENT) -> int:
    """The check digit of a number issued before October 2020, from its first twelve digits.

    Example:
        >>> rrn_check_digit("800522123456")
        4
    """
    total = sum(int(d) * w for d, w in zip(first12, _WEIGHTS, strict=True))
    offset = 13 if kind is RegistrationKind.FOREIGN else 11
    return (offset - total % 11) % 10


def rrn_facts(value: str | None) -> RrnFacts | None:
    """Kind, century, sex, birth date and check-digit verdict of a registration number.

    The check digit is judged only where it exists: numbers of people born on or after
    1 October 2020 were issued under the new scheme and are ``absent``, never ``invalid``.
    (Older people re-issued a new-scheme number cannot be told apart; their numbers show as
    ``invalid``, which is why a failing check digit is reported, not rejected.)

    Args:
        value: The number in any form :func:`~ansim.identity.standardise_rrn` accepts.

    Returns:
        The facts, or ``None`` if blank.

    Raises:
        InvalidIdentifierError: The number is malformed.

    Example:
        >>> facts = rrn_facts("800522-1234564")
        >>> facts.kind.value, facts.birth_date, facts.sex, facts.check.value
        ('resident', datetime.date(1980, 5, 22), 'M', 'valid')
        >>> rrn_facts("2110157654321").check.value  # born 2021: new scheme, no check digit
        'absent'
        >>> foreign = rrn_facts("0102287123451")
        >>> foreign.kind.value, foreign.century, foreign.sex, foreign.check.value
        ('foreign', 2000, 'M', 'valid')
    """
    digits = standardise_rrn(value)
    if digits is None:
        return None
    century, sex, foreign = _SEVENTH[digits[6]]
    kind = RegistrationKind.FOREIGN if foreign else RegistrationKind.RESIDENT
    try:
        born: dt.date | None = dt.date(
            century + int(digits[0:2]), int(digits[2:4]), int(digits[4:6])
        )
    except ValueError:
        born = None
    if born is not None and born >= _NO_CHECK_DIGIT_FROM:
        check = CheckDigit.ABSENT
    elif rrn_check_digit(digits[:12], kind) == int(digits[12]):
        check = CheckDigit.VALID
    else:
        check = CheckDigit.INVALID
    return RrnFacts(kind, century, sex, born, check)
