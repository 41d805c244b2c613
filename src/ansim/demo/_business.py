"""The small-business scenario: a KOSTAT business register extract and Gyeonggi support records.

Everything here is synthetic. KOSTAT's extract (통계청 사업자 등록부 발췌) lists Gyeonggi's
firms once each: business registration number (사업자등록번호, with its National Tax Service
check digit), KSIC section of the main activity, si/gun of the place of business, the
representative's sex and the last year's turnover in KRW. Gyeonggi's records of COVID-19
small-business support (경기도 소상공인 재난지원금) list payments: the number as the applicant
wrote it, the si/gun the application came from and the amount paid.

Realistic overlap and errors: about 55 % of the register's firms received support (more in
the sectors the distancing rules closed), some firms twice (a second round), and a few
percent of payments went to firms outside the extract (registered after it was drawn);
numbers are written with or without hyphens, some in full-width digits, about 1 % with a
mistyped digit (the check digit catches nine in ten of them; a mistyped number that still
checks names another, usually non-existent, firm), and a few percent of applications give
another si/gun than the register (the firm moved).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from ansim.errors import InvalidSpecError
from ansim.regions import GYEONGGI_SIGUNGU

__all__ = ["SECTORS", "BusinessWorld", "generate_business_world"]

SECTORS: dict[str, tuple[str, str]] = {
    "C": ("제조업", "Manufacturing"),
    "F": ("건설업", "Construction"),
    "G": ("도매 및 소매업", "Wholesale and retail trade"),
    "H": ("운수 및 창고업", "Transportation and storage"),
    "I": ("숙박 및 음식점업", "Accommodation and food service"),
    "P": ("교육 서비스업", "Education"),
    "R": ("예술, 스포츠 및 여가관련 서비스업", "Arts, sports and recreation"),
    "S": ("협회 및 단체, 수리 및 기타 개인 서비스업", "Repair and other personal services"),
}
"""KSIC (10th revision) sections of the demo's small businesses: code → (Korean, English)."""

# (share of firms, median turnover in million KRW, share supported)
_SECTOR_MIX: dict[str, tuple[float, float, float]] = {
    "C": (0.10, 420.0, 0.35), "F": (0.08, 380.0, 0.30), "G": (0.30, 180.0, 0.55),
    "H": (0.09, 90.0, 0.50), "I": (0.22, 110.0, 0.85), "P": (0.07, 70.0, 0.70),
    "R": (0.04, 60.0, 0.80), "S": (0.10, 50.0, 0.60),
}  # fmt: skip
_TAX_OFFICES = np.array([124, 125, 126, 127, 128, 129, 130, 131, 132, 133, 134, 135, 137, 138,
                         140, 141, 142, 143, 144, 145, 146, 147, 149])  # fmt: skip
_FEMALE_SHARE = 0.38  # of representatives of small businesses
_SECOND_ROUND = 0.15  # supported firms paid twice
_OUTSIDE_SHARE = 0.03  # payments to firms not in the extract
_TYPO_SHARE = 0.01
_MOVED_SHARE = 0.03
_NO_HYPHEN, _FULL_WIDTH = 0.30, 0.02
_BASE_SUPPORT_KRW = (1_000_000, 2_000_000, 3_000_000)
_MIN_FIRMS, _MAX_FIRMS = 100, 2_000_000  # 18 million numbers to draw from
_WEIGHTS = (1, 3, 7, 1, 3, 7, 1, 3, 5)  # the NTS weights (encrypted/_brn.py)
_FULL = str.maketrans("0123456789", "０１２３４５６７８９")


@dataclass(frozen=True, eq=False)
class BusinessWorld:
    """The two custodians' files of the small-business scenario (in memory).

    Attributes:
        register: KOSTAT's extract: ``brn`` (``123-45-67890``), ``sector``, ``sigungu_code``,
            ``representative_sex`` (``M``/``F``), ``turnover_krw``.
        support: Gyeonggi's payments: ``brn`` (as written), ``sigungu_code``, ``round``
            (1 or 2), ``support_krw``.
        truth: Per support row, the register row it belongs to (-1: none; evaluation only).
    """

    register: pa.Table
    support: pa.Table
    truth: npt.NDArray[np.int64]


def _brn_numbers(rng: np.random.Generator, count: int) -> npt.NDArray[np.int64]:
    """``count`` distinct valid ten-digit numbers (as integers), mostly individual businesses.

    The check digit is the one of :func:`ansim.encrypted.brn_check_digit`, computed for all
    numbers at once (a test checks the two agree).
    """
    found = np.zeros(0, dtype=np.int64)
    while len(found) < count:
        need = 2 * (count - len(found)) + 16
        office = rng.choice(_TAX_OFFICES, need)
        kind = np.where(rng.random(need) < 0.9, rng.integers(1, 80, need),  # noqa: PLR2004
                        rng.choice([81, 86, 87], need))  # fmt: skip
        nine = office * 1_000_000 + kind * 10_000 + rng.integers(0, 10_000, need)
        digits = (nine[:, None] // 10 ** np.arange(8, -1, -1)) % 10
        total = digits @ np.array(_WEIGHTS) + digits[:, 8] * 5 // 10
        numbers = nine * 10 + (10 - total % 10) % 10
        merged = np.concatenate([found, numbers])
        _, first = np.unique(merged, return_index=True)
        found = merged[np.sort(first)]
    return found[:count]


def _written(digits: list[str], rng: np.random.Generator) -> list[str]:
    """Numbers as applicants write them: hyphenated, plain, or in full-width digits."""
    style = rng.random(len(digits))
    out = []
    for d, s in zip(digits, style.tolist(), strict=True):
        text = d if s < _NO_HYPHEN else f"{d[:3]}-{d[3:5]}-{d[5:]}"
        out.append(text.translate(_FULL) if s > 1 - _FULL_WIDTH else text)
    return out


def _mistype(digits: str, rng: np.random.Generator) -> str:
    position = int(rng.integers(0, 10))
    wrong = (int(digits[position]) + int(rng.integers(1, 10))) % 10
    return digits[:position] + str(wrong) + digits[position + 1 :]


def generate_business_world(firms: int, seed: int) -> BusinessWorld:
    """The register extract of ``firms`` Gyeonggi firms and the support paid to them.

    Args:
        firms: Firms in KOSTAT's extract (100 to 2 million).
        seed: Random seed (same seed, same files).

    Returns:
        Both files and the true links.

    Raises:
        InvalidSpecError: ``firms`` is out of range.

    Example:
        >>> world = generate_business_world(1000, 7)
        >>> world.register.num_rows, world.register.column_names[:2]
        (1000, ['brn', 'sector'])
        >>> 400 < world.support.num_rows < 900
        True
    """
    if not _MIN_FIRMS <= firms <= _MAX_FIRMS:
        raise InvalidSpecError(f"firms must be {_MIN_FIRMS:,} to {_MAX_FIRMS:,}, not {firms:,}")
    rng = np.random.default_rng(seed)
    codes = np.array(list(GYEONGGI_SIGUNGU))
    weight = np.array([s.population_thousands for s in GYEONGGI_SIGUNGU.values()], float)
    sigungu = rng.choice(codes, firms, p=weight / weight.sum())
    letters = np.array(list(_SECTOR_MIX))
    mix = np.array([m[0] for m in _SECTOR_MIX.values()])
    sector_index = rng.choice(len(letters), firms, p=mix / mix.sum())
    median = np.array([m[1] for m in _SECTOR_MIX.values()])[sector_index] * 1e6
    turnover = np.round(median * rng.lognormal(0.0, 0.9, firms), -3)
    sex = np.where(rng.random(firms) < _FEMALE_SHARE, "F", "M")
    numbers = _brn_numbers(rng, firms + int(firms * _OUTSIDE_SHARE) + 1)
    digits = [f"{n:010d}" for n in numbers.tolist()]
    register = pa.table({
        "brn": [f"{d[:3]}-{d[3:5]}-{d[5:]}" for d in digits[:firms]],
        "sector": letters[sector_index],
        "sigungu_code": sigungu,
        "representative_sex": sex,
        "turnover_krw": turnover,
    })  # fmt: skip
    supported_share = np.array([m[2] for m in _SECTOR_MIX.values()])[sector_index]
    paid = np.flatnonzero(rng.random(firms) < supported_share)
    second = paid[rng.random(len(paid)) < _SECOND_ROUND]
    rounds = np.concatenate([np.ones(len(paid), np.int64), np.full(len(second), 2, np.int64)])
    paid = np.concatenate([paid, second])
    outside = np.arange(firms, firms + int(len(paid) * _OUTSIDE_SHARE))
    truth = np.concatenate([paid, np.full(len(outside), -1)])
    rows = np.concatenate([paid, outside])
    order = rng.permutation(len(rows))
    truth, rows = truth[order], rows[order]
    rounds = np.concatenate([rounds, np.ones(len(outside), dtype=np.int64)])[order]
    written = [digits[r] for r in rows.tolist()]
    typo = rng.random(len(written)) < _TYPO_SHARE
    written = [_mistype(d, rng) if t else d for d, t in zip(written, typo.tolist(), strict=True)]
    moved = rng.random(len(rows)) < _MOVED_SHARE
    place = np.where(truth >= 0, sigungu[np.maximum(truth, 0)], rng.choice(codes, len(rows)))
    place = np.where(moved, rng.choice(codes, len(rows)), place)
    base = rng.choice(_BASE_SUPPORT_KRW, len(rows), p=[0.5, 0.3, 0.2])
    known = np.where(truth >= 0, turnover[np.maximum(truth, 0)], 1e8)
    loss = known * rng.uniform(0, 0.02, len(rows))  # loss compensation: up to 2 % of turnover
    support = base + np.round(loss, -4)
    table = pa.table({
        "brn": _written(written, rng),
        "sigungu_code": place,
        "round": rounds,
        "support_krw": support.astype(np.float64),
    })  # fmt: skip
    return BusinessWorld(register, table, truth.astype(np.int64))
