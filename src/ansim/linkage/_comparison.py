"""Comparison levels of record pairs on encoded fields.

A Bloom-filter field (``bf_*``) is compared by Dice similarity, cut into bands: level 0 is an
exact match (Dice 1), then one level per lower band, the last level is everything below the
last band. A token field (``token_*``), and a filter field with few distinct values (sex), has
two levels: equal (0) and different (1). A pair with the field missing on either side gets
level ``-1`` and adds no evidence. Levels are ordinal (a lower level is more similar), so the
model keeps their weights non-increasing (see :func:`ansim.linkage.monotone_m`).
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from ansim.errors import InvalidSpecError
from ansim.linkage._dice import dice_pairs

__all__ = [
    "DEFAULT_DICE_BANDS",
    "EncodedRecords",
    "FieldComparison",
    "comparison_levels",
    "diffused_bands",
    "diffused_dice",
    "diffusion_conflicts",
    "diffusion_taps",
    "reached_levels",
]

IntArray = npt.NDArray[np.int64]
LevelArray = npt.NDArray[np.int8]
DEFAULT_DICE_BANDS = (1.0, 0.95, 0.9, 0.85, 0.8, 0.75, 0.7, 0.6)
"""Dice bands of a Bloom-filter comparison: exact, then ≥ 0.95 … ≥ 0.6, else (balanced filters
of unrelated values sit near 0.5, typos near 0.85, so the bands are finest above 0.7)."""


@dataclass(frozen=True)
class FieldComparison:
    """How one encoded field is compared.

    Attributes:
        column: ``bf_<field>`` (Dice bands) or ``token_<name>`` (equality).
        bands: Descending Dice lower bounds, the first 1.0 (exact); ``(1.0,)`` is equal or
            not. Empty (the default, in Python and in YAML alike) means the field's default:
            :data:`DEFAULT_DICE_BANDS` for a filter, ``(1.0,)`` for a token.
        term_frequency: Adjust the exact level's weight by how common the value is.

    Example:
        >>> FieldComparison("bf_name").levels, FieldComparison("token_rrn").levels
        (9, 2)
        >>> FieldComparison("bf_name", (1.0, 0.8)).level_names
        ('exact', 'dice>=0.8', 'else')
    """

    column: str
    bands: tuple[float, ...] = ()
    term_frequency: bool = True

    def __post_init__(self) -> None:
        if not self.column.startswith(("bf_", "token_")):
            raise InvalidSpecError(
                f"comparison column {self.column!r} must be a bf_* or token_* column"
            )
        if not self.bands:
            default = (1.0,) if self.is_token else DEFAULT_DICE_BANDS
            object.__setattr__(self, "bands", default)
        object.__setattr__(self, "bands", tuple(float(b) for b in self.bands))
        bands = self.bands
        if not bands or bands[0] != 1.0 or any(b <= c for b, c in itertools.pairwise(bands)):
            raise InvalidSpecError(
                f"Dice bands of {self.column} must start at 1.0 and strictly decrease"
            )
        if bands[-1] <= 0.0:
            raise InvalidSpecError(f"Dice bands of {self.column} must stay above 0")
        if self.is_token and len(bands) != 1:
            raise InvalidSpecError(f"token comparison {self.column} has one band: (1.0,)")

    @property
    def is_token(self) -> bool:
        """Whether the field is an exact token (else a Bloom filter)."""
        return self.column.startswith("token_")

    @property
    def levels(self) -> int:
        """Number of levels a present field can take."""
        return len(self.bands) + 1

    @property
    def field(self) -> str:
        """The field's name without its encoding prefix (``bf_name`` → ``name``)."""
        return self.column.removeprefix("bf_").removeprefix("token_")

    @property
    def level_names(self) -> tuple[str, ...]:
        """A name per level, most similar first."""
        if len(self.bands) == 1:
            return ("equal", "different")
        return ("exact", *(f"dice>={b:g}" for b in self.bands[1:]), "else")

    def without_bands(self, dropped: set[int]) -> FieldComparison:
        """The same comparison with the bands of levels ``dropped`` removed (merged lower).

        Level 0 (exact) and the last level (else) always stay.
        """
        keep = tuple(b for k, b in enumerate(self.bands) if k == 0 or k not in dropped)
        return FieldComparison(self.column, keep, self.term_frequency)


@dataclass(frozen=True)
class EncodedRecords:
    """Encoded columns of all records of a linkage run, in part order.

    Attributes:
        source: Index of each record's dataset.
        codes: Per column, a value code per record (equal values, equal codes; ``-1`` null).
        filters: Per Bloom-filter column, the bit matrix and validity.
        popcounts: Per Bloom-filter column, set bits per record.
        taps: Per Bloom-filter column stored through a diffusion layer, its taps (from the
            parts' public encoding spec, :func:`diffusion_taps`); empty otherwise.
    """

    source: IntArray
    codes: Mapping[str, IntArray]
    filters: Mapping[str, tuple[npt.NDArray[np.uint64], npt.NDArray[np.bool_]]]
    popcounts: Mapping[str, npt.NDArray[np.int32]]
    taps: Mapping[str, int] = field(default_factory=dict)

    @property
    def size(self) -> int:
        """Number of records."""
        return int(self.source.size)


DIFFUSED_NOISE = 0.55
"""Diffused filters of unrelated values have Dice 0.5 ± 0.02 (1,024 bits): bands are kept above
this, so no level is made of noise."""


def diffused_bands(bands: Sequence[float], taps: int) -> tuple[float, ...]:
    """Dice bands for filters stored through a diffusion layer of ``taps`` taps.

    Two balanced filters of Dice ``d`` differ in a share ``1 - d`` of their bits; a stored
    bit XORs ``taps`` of them, so it differs with probability ``(1 - (2d - 1)^taps) / 2``
    (Armknecht, Heng and Schnell 2023, section 4): band ``d`` becomes
    ``(1 + (2d - 1)^taps) / 2``. Bands that fall below :data:`DIFFUSED_NOISE` or within 0.01
    of the band above are dropped (their levels could not be told apart).

    Example:
        >>> diffused_bands(DEFAULT_DICE_BANDS, 1) == DEFAULT_DICE_BANDS
        True
        >>> diffused_bands(DEFAULT_DICE_BANDS, 4)
        (1.0, 0.828, 0.7048, 0.62, 0.5648)
    """
    out = [1.0]
    for band in bands[1:]:
        mapped = round((1 + (2 * band - 1) ** taps) / 2, 4)
        if DIFFUSED_NOISE <= mapped < out[-1] - 0.01:
            out.append(mapped)
    return tuple(out)


def diffused_dice(dice: float, taps: int) -> float:
    """A Dice threshold of balanced filters mapped through a diffusion layer of ``taps`` taps.

    The mapping of :func:`diffused_bands` for one value, ``(1 + (2d - 1)^taps) / 2``, with the
    sign of ``2d - 1`` kept so that it stays increasing below 0.5 too (Armknecht, Heng and
    Schnell 2023, section 4). One tap (no diffusion) leaves ``dice`` as it is.

    Args:
        dice: A Dice similarity of the filters before diffusion, in ``[0, 1]``.
        taps: Bits XOR-ed into each stored bit (1 or more).

    Returns:
        The Dice the diffused filters of such a pair have on average.

    Example:
        >>> diffused_dice(0.85, 1), diffused_dice(0.85, 8), diffused_dice(1.0, 8)
        (0.85, 0.5288, 1.0)
    """
    if taps <= 1:
        return dice
    centred = 2 * dice - 1
    return round((1 + math.copysign(abs(centred) ** taps, centred)) / 2, 4)


def diffusion_conflicts(specs: Sequence[str | None], columns: Sequence[str]) -> list[str]:
    """Columns of ``columns`` that some parts store diffused and others differently.

    A filter diffused with ``t`` taps in one part and with other taps (or none) in another
    cannot be compared between them on any one scale of Dice.

    Args:
        specs: Each part's public encoding spec (JSON metadata, ``None`` when absent).
        columns: Filter columns compared.

    Returns:
        The columns whose taps differ between parts, in the order of ``columns``.

    Example:
        >>> spec = '{"hardening": "diffusion", "taps": 4, "fields": []}'
        >>> diffusion_conflicts([spec, None], ["clk"]), diffusion_conflicts([spec, spec], ["clk"])
        (['clk'], [])
    """
    each = [diffusion_taps([text]) for text in specs]
    return [c for c in columns if len({taps.get(c, 1) for taps in each}) > 1]


def diffusion_taps(specs: Sequence[str | None]) -> dict[str, int]:
    """Taps per filter column of parts whose encoding spec (JSON metadata) says diffusion.

    Read from the public spec each identity part carries (``ansim.encoding``); columns get a
    value only when every part's spec agrees on it (so no part is compared on wrong bands).

    Example:
        >>> spec = '{"hardening": "diffusion", "taps": 4, "fields": [{"field": "name", '
        >>> spec += '"bits": 512}, {"field": "birth_date", "bits": 512, "taps": 10}]}'
        >>> diffusion_taps([spec, spec])
        {'bf_name': 4, 'bf_birth_date': 10, 'clk': 4}
    """
    found: list[dict[str, int]] = []
    for text in specs:
        if text is None:
            return {}
        raw = json.loads(text)
        if raw.get("hardening") != "diffusion":
            return {}
        base = int(raw.get("taps", 4))
        taps = {
            f"bf_{f['field']}": int(f.get("taps") or base)
            for f in raw.get("fields", [])
            if int(f.get("bits", 512))
        }
        taps["clk"] = base
        found.append(taps)
    if not found:
        return {}
    return {c: t for c, t in found[0].items() if all(other.get(c) == t for other in found)}


def comparison_levels(
    records: EncodedRecords,
    comparisons: Sequence[FieldComparison],
    first: IntArray,
    second: IntArray,
) -> LevelArray:
    """Level of every pair on every compared field.

    Args:
        records: The encoded records.
        comparisons: The fields compared.
        first: First record of each pair.
        second: Second record of each pair.

    Returns:
        ``(pairs, fields)`` levels, ``-1`` where the field is missing on either side.

    Raises:
        InvalidSpecError: A compared column is not among the records' columns.
    """
    levels = np.empty((first.size, len(comparisons)), np.int8)
    for f, comparison in enumerate(comparisons):
        column = comparison.column
        if column not in records.codes:
            raise InvalidSpecError(f"compared column {column} is not in every part")
        codes = records.codes[column]
        a, b = codes[first], codes[second]
        missing = (a < 0) | (b < 0)
        if len(comparison.bands) == 1:  # equal or not: value codes decide
            level = np.where(a == b, 0, 1).astype(np.int8)
        else:
            bits, _ = records.filters[column]
            count = records.popcounts[column]
            dice = dice_pairs(bits, bits, first, second, counts=(count, count))
            # value codes decide exactness (Dice can reach 1 by a hash collision)
            level = np.full(first.size, len(comparison.bands), np.int8)
            for k in range(len(comparison.bands) - 1, 0, -1):
                level[dice >= np.float32(comparison.bands[k])] = k
            level[a == b] = 0
        level[missing] = -1
        levels[:, f] = level
    return levels


def reached_levels(
    comparisons: Sequence[FieldComparison], levels: LevelArray
) -> tuple[tuple[FieldComparison, ...], LevelArray]:
    """Drop the Dice bands no pair reached, so the model has no level that cannot occur.

    A level with no pair among ``levels`` is merged into the next lower one (its band is
    removed); levels of the pairs are renumbered to match.

    Args:
        comparisons: The fields compared.
        levels: Levels of the pairs ``(pairs, fields)``.

    Returns:
        The comparisons without empty bands, and the renumbered levels.

    Example:
        >>> c = (FieldComparison("bf_sex", (1.0, 0.9, 0.8)),)
        >>> pruned, new = reached_levels(c, np.array([[0], [3], [3], [-1]], np.int8))
        >>> pruned[0].bands, new.ravel().tolist()
        ((1.0,), [0, 1, 1, -1])
    """
    out = []
    renumbered = levels.copy()
    for f, comparison in enumerate(comparisons):
        column = levels[:, f]
        counts = np.bincount(column[column >= 0], minlength=comparison.levels)
        empty = {k for k in range(1, comparison.levels - 1) if counts[k] == 0}
        if not empty:
            out.append(comparison)
            continue
        # an emptied level k merges into k + 1: pairs at later levels move up by one each
        kept = np.array([k not in empty for k in range(comparison.levels)])
        mapping = (np.cumsum(kept) - 1).astype(np.int8)
        present = column >= 0
        renumbered[present, f] = mapping[column[present]]
        out.append(comparison.without_bands(empty))
    return tuple(out), renumbered
