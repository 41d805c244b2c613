"""Business registration numbers (사업자등록번호): standardisation and the official check digit.

A number has ten digits, written ``123-45-67890``: a three-digit tax-office code, a two-digit
type code, four serial digits and a check digit. The National Tax Service's check: weights
1,3,7,1,3,7,1,3,5 on the first nine digits, plus the tens digit of 5 × the ninth; the check digit
makes the total a multiple of ten.
"""

from __future__ import annotations

import re

from ansim.errors import InvalidIdentifierError

__all__ = ["brn_check_digit", "standardise_brn"]

_WEIGHTS = (1, 3, 7, 1, 3, 7, 1, 3, 5)
_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015\uff0d.]")


def brn_check_digit(first_nine: str) -> int:
    """The check digit of the first nine digits of a business registration number.

    Example:
        >>> brn_check_digit("123456789")
        1
    """
    if len(first_nine) != len(_WEIGHTS) or not first_nine.isascii() or not first_nine.isdigit():
        raise InvalidIdentifierError("a business registration number needs nine digits here")
    digits = [int(c) for c in first_nine]
    total = sum(d * w for d, w in zip(digits, _WEIGHTS, strict=True)) + digits[8] * 5 // 10
    return (10 - total % 10) % 10


def standardise_brn(text: str) -> str:
    """Ten digits without separators, the check digit verified.

    Raises:
        InvalidIdentifierError: Not ten digits, or a wrong check digit (the record belongs in
            quarantine; the message never repeats the number).

    Example:
        >>> standardise_brn("123-45-67891")
        '1234567891'
    """
    digits = _SEPARATORS.sub("", text.translate(_FULL_WIDTH))
    if len(digits) != 10 or not digits.isascii() or not digits.isdigit():  # noqa: PLR2004
        raise InvalidIdentifierError("a business registration number has ten digits")
    if brn_check_digit(digits[:9]) != int(digits[9]):
        raise InvalidIdentifierError("the business registration number's check digit is wrong")
    return digits


_FULL_WIDTH = str.maketrans("０１２３４５６７８９", "0123456789")
