"""Built-in hierarchies for Korean data: age bands, dates, si/gun → province, income bands."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Sequence

from ansim.disclosure._hierarchy import Hierarchy
from ansim.errors import InvalidSpecError
from ansim.regions import GYEONGGI_GU, GYEONGGI_SIGUNGU, PROVINCE_CODES, sigungu_of

__all__ = ["age_hierarchy", "band_hierarchy", "date_hierarchy", "sigungu_hierarchy"]


def _band(value: int, width: int, top: int | None, unit: str) -> str:
    if top is not None and value >= top:
        return f"{top}{unit}+"
    low = value - value % width
    return f"{low}-{low + width - 1}{unit}" if width > 1 else f"{value}{unit}"


def band_hierarchy(
    attribute: str,
    low: int,
    high: int,
    widths: Sequence[int],
    *,
    top_code: int | None = None,
    unit: str = "",
) -> Hierarchy:
    """Integer values ``low..high`` banded by increasing ``widths``, optionally top-coded.

    Each width must divide the next (so bands nest); values at or above ``top_code`` become
    one ``"{top_code}+"`` band at every level. The last level is ``*``.

    Args:
        attribute: the attribute name.
        low: smallest value.
        high: largest value (inclusive).
        widths: band widths per level, e.g. ``(5, 10, 20)``.
        top_code: values from here on are one band (must be a multiple of every width).
        unit: text appended to band bounds (e.g. ``"만원"``).

    Returns:
        The hierarchy.

    Raises:
        InvalidSpecError: the range, widths or top code do not nest.

    Example:
        >>> h = band_hierarchy("age", 0, 99, (5, 10), top_code=80)
        >>> [h.label("37", lv) for lv in range(h.height)]
        ['37', '35-39', '30-39', '*']
        >>> h.label("85", 1)
        '80+'
    """
    if high < low:
        raise InvalidSpecError(f"{attribute}: high ({high}) is below low ({low})")
    if any(w < 1 for w in widths) or any(b % a for a, b in itertools.pairwise(widths)):
        raise InvalidSpecError(f"{attribute}: each band width must divide the next: {widths}")
    if top_code is not None and any(top_code % w for w in widths):
        raise InvalidSpecError(f"{attribute}: the top code must be a multiple of every width")
    rows = [
        (str(v), *(_band(v, w, top_code, unit) for w in widths), "*") for v in range(low, high + 1)
    ]
    return Hierarchy.from_rows(attribute, rows)


def age_hierarchy(
    attribute: str = "age",
    *,
    widths: Sequence[int] = (5, 10, 20),
    top_code: int | None = 80,
    max_age: int = 120,
) -> Hierarchy:
    """Age in years → 5-, 10-, 20-year bands (top-coded at 80 by default) → ``*``.

    Example:
        >>> age_hierarchy(widths=(1, 10)).label("83", 2)
        '80+'
    """
    return band_hierarchy(attribute, 0, max_age, widths, top_code=top_code)


def date_hierarchy(attribute: str, start: dt.date, end: dt.date) -> Hierarchy:
    """ISO days from ``start`` to ``end`` → month → quarter → year → ``*``.

    Example:
        >>> h = date_hierarchy("onset", dt.date(2021, 3, 30), dt.date(2021, 4, 2))
        >>> [h.label("2021-04-01", lv) for lv in range(h.height)]
        ['2021-04-01', '2021-04', '2021-Q2', '2021', '*']
    """
    if end < start:
        raise InvalidSpecError(f"{attribute}: the end date is before the start date")
    rows = []
    day = start
    while day <= end:
        quarter = (day.month - 1) // 3 + 1
        rows.append((day.isoformat(), f"{day:%Y-%m}", f"{day.year}-Q{quarter}", str(day.year), "*"))
        day += dt.timedelta(days=1)
    return Hierarchy.from_rows(attribute, rows)


def sigungu_hierarchy(
    attribute: str = "sigungu_code", codes: Iterable[str] | None = None
) -> Hierarchy:
    """MOIS si/gun/gu codes → si/gun code (a gu goes to its city) → province (시도) → ``*``.

    Args:
        attribute: the attribute name.
        codes: the codes to cover; by default Gyeonggi's si/gun and autonomous gu.

    Raises:
        InvalidSpecError: a code is not five digits or its province prefix is unknown.

    Example:
        >>> h = sigungu_hierarchy()
        >>> [h.label("41135", lv) for lv in range(h.height)]
        ['41135', '41130', '경기도', '*']
    """
    chosen = sorted(set(codes) if codes is not None else {*GYEONGGI_SIGUNGU, *GYEONGGI_GU})
    rows = []
    for number, code in enumerate(chosen, start=1):
        if len(code) != 5 or not code.isdigit() or code[:2] not in PROVINCE_CODES:  # noqa: PLR2004
            raise InvalidSpecError(
                f"{attribute}: code number {number} is not a five-digit MOIS code with a known "
                "province prefix"
            )
        rows.append((code, sigungu_of(code), PROVINCE_CODES[code[:2]], "*"))
    return Hierarchy.from_rows(attribute, rows)
