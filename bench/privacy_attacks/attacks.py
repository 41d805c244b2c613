"""Attacks on the identity parts the linkage unit receives, by an attacker with public lists.

The attacker's frequency lists (:class:`PublicKnowledge`) come either from the published lists
shipped in ``public_lists/`` (:func:`public_lists.published_knowledge`, the default of the
runs) or, for a stronger attacker, from the demo generator's own distributions sampled with an
independent seed (:func:`public_knowledge`); never from the attacked file. The attacker sees only
what the linkage unit sees: the encoded columns and, from the hub, aggregate linkage feedback
(records per sex group). Success is counted against the attacked file's true standardised
identifiers, which the attacker never sees.

Implemented here:

- frequency alignment on whole encodings (Kuzu et al. 2011; Christen et al. 2017): the i-th
  most frequent encoding is guessed to be the i-th most frequent public value, field level
  (``bf_name`` → full name, ``bf_birth_date`` → birth date) and record level (``clk`` → name,
  birth date and sex);
- inference from a low-cardinality encoding plus hub feedback: a two-valued column (``bf_sex``
  of the old field-level spec; the default has none) splits the records into two classes; the
  hub's per-sex record counts say which class is which sex.

Pattern mining is in ``pattern_mining.py``, graph matching in ``graph_matching.py``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from ansim.demo._people import build_population
from ansim.identity import (
    DEFAULT_ENCODING_SPEC,
    EncodingSpec,
    LinkageSecret,
    encode_bloom,
    standardise_name,
)
from ansim.schema import IdentifierKind

__all__ = [
    "AttackResult",
    "PublicKnowledge",
    "Targets",
    "encode_targets",
    "frequency_alignment",
    "public_knowledge",
    "record_key",
    "sex_from_feedback",
]

_I64 = npt.NDArray[np.int64]


@dataclass(frozen=True)
class PublicKnowledge:
    """The attacker's frequency lists (value → count in a public sample)."""

    full_name: Counter[str]
    surname: Counter[str]
    birth_date: Counter[str]
    sex: Counter[str]
    record: Counter[str]


@dataclass(frozen=True)
class Targets:
    """The attacked records' true identifiers and what the linkage unit receives of them."""

    name: list[str | None]
    birth_date: list[str | None]
    sex: list[str | None]
    columns: dict[str, pa.Array]


@dataclass(frozen=True)
class AttackResult:
    """How many records an attack re-identified on one identifier."""

    attack: str
    column: str
    target: str
    recovered: int
    records: int

    @property
    def share(self) -> float:
        """Share of the attacked records recovered."""
        return self.recovered / max(self.records, 1)


def record_key(name: str | None, birth: str | None, sex: str | None) -> str:
    return f"{name}\x1f{birth}\x1f{sex}"


def public_knowledge(people: int, seed: int) -> PublicKnowledge:
    """Frequency lists from an independent sample of the demo's published distributions.

    Example:
        >>> public_knowledge(2000, 1).surname.most_common(1)[0][0]
        '김'
    """
    pop = build_population(np.random.default_rng(seed), people)
    names = [standardise_name(n) for n in pop.name.to_pylist()]
    births = [str(d) for d in pop.birth.astype("datetime64[D]")]
    sexes = ["M" if s == 0 else "F" for s in pop.sex.tolist()]
    return PublicKnowledge(
        full_name=Counter(n for n in names if n),
        surname=Counter(n[0] for n in names if n),
        birth_date=Counter(births),
        sex=Counter(sexes),
        record=Counter(record_key(*r) for r in zip(names, births, sexes, strict=True)),
    )


def encode_targets(
    name: Sequence[str | None],
    birth_date: Sequence[str | None],
    sex: Sequence[str | None],
    spec: EncodingSpec = DEFAULT_ENCODING_SPEC,
    secret: LinkageSecret | None = None,
) -> Targets:
    """Encode standardised identifiers as a custodian's ``prepare`` does (same functions).

    Args:
        name: Standardised names.
        birth_date: ISO birth dates.
        sex: ``M`` or ``F``.
        spec: Encoding spec under attack (default: the project's default encoding).
        secret: Project secret (default: a fresh random one, unknown to the attacker).

    Returns:
        The targets with their encoded columns.
    """
    key = secret or LinkageSecret.generate()
    values = {
        IdentifierKind.KOREAN_NAME: list(name),
        IdentifierKind.BIRTH_DATE: list(birth_date),
        IdentifierKind.SEX: list(sex),
    }
    return Targets(list(name), list(birth_date), list(sex), encode_bloom(spec, values, key))


def _codes(column: pa.Array) -> _I64:
    encoded = pc.dictionary_encode(column.cast(pa.binary()))
    return np.asarray(encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False), np.int64)


def frequency_alignment(
    column: pa.Array, public: Mapping[str, int], truth: Sequence[str | None], *, min_count: int = 2
) -> list[str | None]:
    """Guess each record's value by aligning encoding frequencies with public frequencies.

    Only encodings seen at least ``min_count`` times are aligned (singletons carry no rank).

    Returns:
        The guess per record (``None``: no guess); ``truth`` only fixes the length.
    """
    codes = _codes(column)
    counts = np.bincount(codes[codes >= 0]) if (codes >= 0).any() else np.zeros(0, np.int64)
    order = np.argsort(-counts, kind="stable")
    ranked = [v for v, _ in Counter(public).most_common()]
    guess_of: dict[int, str] = {}
    for rank, code in enumerate(order):
        if counts[code] < min_count or rank >= len(ranked):
            break
        guess_of[int(code)] = ranked[rank]
    assert len(codes) == len(truth)  # noqa: S101 -- bench invariant, not validation
    return [guess_of.get(int(c)) for c in codes]


def sex_from_feedback(column: pa.Array, feedback_records: Mapping[str, int]) -> list[str | None]:
    """Label each record's sex from a two-valued encoding and the hub's per-sex record counts.

    The class whose size is nearer a sex's published record count gets that sex.
    """
    codes = _codes(column)
    present = codes[codes >= 0]
    sizes = np.bincount(present) if present.size else np.zeros(0, np.int64)
    if sizes.size != 2 or len(feedback_records) != 2:  # noqa: PLR2004
        return [None] * len(codes)
    (a, na), (b, nb) = sorted(feedback_records.items(), key=lambda kv: kv[1])
    small, big = (0, 1) if sizes[0] <= sizes[1] else (1, 0)
    label = {small: a, big: b} if na != nb else {}
    return [label.get(int(c)) for c in codes]


def score(
    attack: str, column: str, target: str, guess: Sequence[str | None], truth: Sequence[str | None]
) -> AttackResult:
    """Count records whose guess equals their true value."""
    hits = sum(1 for g, t in zip(guess, truth, strict=True) if g is not None and g == t)
    return AttackResult(attack, column, target, hits, len(truth))


def run_attacks(targets: Targets, public: PublicKnowledge) -> list[AttackResult]:
    """Every implemented attack against the columns the targets carry."""
    out: list[AttackResult] = []
    cols = targets.columns
    if "bf_name" in cols:
        guess = frequency_alignment(cols["bf_name"], public.full_name, targets.name)
        out.append(score("frequency", "bf_name", "full_name", guess, targets.name))
    if "bf_birth_date" in cols:
        guess = frequency_alignment(cols["bf_birth_date"], public.birth_date, targets.birth_date)
        out.append(score("frequency", "bf_birth_date", "birth_date", guess, targets.birth_date))
    if "clk" in cols:
        truth = [
            record_key(*r) for r in zip(targets.name, targets.birth_date, targets.sex, strict=True)
        ]
        guess = frequency_alignment(cols["clk"], public.record, truth)
        out.append(score("frequency", "clk", "record", guess, truth))
    feedback = Counter(s for s in targets.sex if s)  # the hub's by-sex 'records' column
    for column in (c for c in cols if c.startswith("bf_")):
        if len(pc.unique(cols[column].drop_null())) == 2:  # noqa: PLR2004
            guess = sex_from_feedback(cols[column], feedback)
            out.append(score("low-cardinality + feedback", column, "sex", guess, targets.sex))
    return out
