"""The Bloom-filter encoding spec: one versioned file shared by all custodians of a project.

The spec says which identifier fields are encoded, how each is cut into q-grams, how many bits
and hash functions each uses, whether it joins the record-level filter (CLK) and with what
weight, and how the filters are hardened. It holds no secret: the keys come from the project's
linkage secret, so the spec may travel with the identity part (``ansim.encoding`` metadata).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml

from ansim._specfile import parse_yaml, read_spec_text
from ansim.errors import InvalidSpecError
from ansim.schema import IdentifierKind

__all__ = [
    "DEFAULT_DIFFUSION_TAPS",
    "DEFAULT_ENCODING_SPEC",
    "ENCODING_FIELDS",
    "ENCODING_FORMAT",
    "HARDENED_ENCODING_SPEC",
    "LEGACY_FIELD_LEVEL_SPEC",
    "Alphabet",
    "EncodingSpec",
    "FieldEncoding",
    "Hardening",
]

ENCODING_FORMAT = 1
"""Version of the spec format (and of the encoding algorithm) this code writes and reads."""

ENCODING_FIELDS: dict[str, IdentifierKind] = {
    "name": IdentifierKind.KOREAN_NAME,
    "birth_date": IdentifierKind.BIRTH_DATE,
    "sex": IdentifierKind.SEX,
    "phone": IdentifierKind.PHONE,
    "rrn": IdentifierKind.RRN,
    "address": IdentifierKind.ADDRESS,
}
"""Fields an encoding may use, and the identifier kind each is read from."""

_SALTS = ("birth_year", "sex")
_MAX_Q = 3  # q-grams are packed into one 64-bit key: 3 code points of 21 bits


class Alphabet(StrEnum):
    """The units q-grams are made of: Hangul syllables as written, or their jamo."""

    SYLLABLE = "syllable"
    JAMO = "jamo"


class Hardening(StrEnum):
    """Protection of filters against frequency and pattern-mining attacks.

    ``balance``: each filter is joined with its complement and the bits permuted with a
    project key (twice the size, exactly half the bits set, so bit frequencies say nothing).
    ``xor_fold``: the two halves are XOR-ed (half the size; bit patterns of q-grams are broken).
    ``diffusion``: the filter is balanced as above (exactly half its bits set), then each stored
    bit is the XOR of ``taps`` bits of the balanced filter chosen with a project key (Armknecht,
    Heng and Schnell, *Strengthening privacy-preserving record linkage using diffusion*, PoPETs
    2023): no q-gram forces any stored bit, or shifts a stored bit's frequency, so the bit
    patterns of frequent q-grams are gone, while similar filters stay similar (twice the size).
    ``none``: plain keyed Bloom filters (for comparison only).
    """

    BALANCE = "balance"
    XOR_FOLD = "xor_fold"
    DIFFUSION = "diffusion"
    NONE = "none"


DEFAULT_DIFFUSION_TAPS = 4
"""Filter bits XOR-ed into each stored bit under ``diffusion`` hardening (``taps`` in a spec)."""
_MAX_TAPS = 16


@dataclass(frozen=True)
class FieldEncoding:
    """How one identifier field is encoded.

    Args:
        field: One of :data:`ENCODING_FIELDS` (``name``, ``birth_date``, ``sex``, ``phone``,
            ``rrn``, ``address``).
        q: Length of q-grams (1 to 3); each value is padded with ``q - 1`` marks at both ends.
        alphabet: For Hangul text, q-grams over syllables or over jamo (typo-tolerant).
        bits: Size of the field-level filter before hardening (a multiple of 128); 0 means no
            field-level filter (the field then only joins the CLK).
        hashes: Hash functions per q-gram in the field-level filter.
        clk_weight: Hash functions per q-gram in the record-level filter (the field's bit
            weight); 0 keeps the field out of the CLK.
        taps: Under ``diffusion`` hardening, filter bits XOR-ed into each stored bit of this
            field-level filter (1 to 16); ``None`` takes the spec's ``taps``. Fields of few
            q-grams over a small alphabet (birth dates, phones) need more (docs/privacy.md).

    Example:
        >>> FieldEncoding("name", alphabet=Alphabet.JAMO).column
        'bf_name'
    """

    field: str
    q: int = 2
    alphabet: Alphabet = Alphabet.SYLLABLE
    bits: int = 512
    hashes: int = 20
    clk_weight: int = 10
    taps: int | None = None

    def __post_init__(self) -> None:
        where = f"encoding field {self.field!r}"
        if self.field not in ENCODING_FIELDS:
            raise InvalidSpecError(f"{where}: not one of {sorted(ENCODING_FIELDS)}")
        if not 1 <= self.q <= _MAX_Q:
            raise InvalidSpecError(f"{where}: q must be 1, 2 or 3")
        if self.bits < 0 or self.bits % 128:
            raise InvalidSpecError(f"{where}: bits must be a non-negative multiple of 128")
        if self.bits and not 1 <= self.hashes <= self.bits // 2:
            raise InvalidSpecError(f"{where}: hashes must be between 1 and bits/2")
        if self.clk_weight < 0:
            raise InvalidSpecError(f"{where}: clk_weight must not be negative")
        if not self.bits and not self.clk_weight:
            raise InvalidSpecError(f"{where}: give it field-level bits, a clk_weight, or both")
        if self.taps is not None and not 1 <= self.taps <= _MAX_TAPS:
            raise InvalidSpecError(f"{where}: taps must be between 1 and {_MAX_TAPS}")

    @property
    def kind(self) -> IdentifierKind:
        """The identifier kind the field is read from."""
        return ENCODING_FIELDS[self.field]

    @property
    def column(self) -> str:
        """Column of the field-level filter in an identity part."""
        return f"bf_{self.field}"

    def to_dict(self) -> dict[str, Any]:
        """Mapping form (for YAML and JSON); ``taps`` only when set."""
        out: dict[str, Any] = {
            "field": self.field,
            "q": self.q,
            "alphabet": self.alphabet.value,
            "bits": self.bits,
            "hashes": self.hashes,
            "clk_weight": self.clk_weight,
        }
        if self.taps is not None:
            out["taps"] = self.taps
        return out


@dataclass(frozen=True)
class EncodingSpec:
    """A project's Bloom-filter encoding: shared by its custodians, versioned, no secrets.

    Args:
        name: Name of the encoding (for reports and metadata).
        version: The project's revision of this spec; bump it whenever anything changes, as
            filters made under different revisions must never be compared.
        fields: Field encodings, each field at most once.
        clk_bits: Size of the record-level filter (CLK) before hardening (multiple of 128);
            0 means no CLK.
        hardening: How filters are hardened (see :class:`Hardening`).
        salt: Optional stable attribute mixed into every hash (``birth_year`` or ``sex``):
            records with different salts can never match, which defeats cross-record pattern
            mining but loses pairs whose salt attribute is wrong.
        format: Spec format version (:data:`ENCODING_FORMAT`).
        taps: Under ``diffusion`` hardening, filter bits XOR-ed into each stored bit (1 to 16;
            written to the spec file only with that hardening; 4 by measurement, docs/privacy.md).

    Example:
        >>> spec = EncodingSpec.from_yaml_text(DEFAULT_ENCODING_SPEC.to_yaml())
        >>> spec == DEFAULT_ENCODING_SPEC, spec.output_bits(spec.clk_bits)
        (True, 2048)
    """

    name: str
    version: int
    fields: tuple[FieldEncoding, ...]
    clk_bits: int = 1024
    hardening: Hardening = Hardening.BALANCE
    salt: str | None = None
    format: int = ENCODING_FORMAT
    taps: int = DEFAULT_DIFFUSION_TAPS
    _by_name: dict[str, FieldEncoding] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise InvalidSpecError("an encoding spec needs a name")
        if self.version < 1:
            raise InvalidSpecError("encoding spec version must be 1 or more")
        if self.format != ENCODING_FORMAT:
            raise InvalidSpecError(
                f"encoding spec format {self.format} is not supported (this Ansim reads "
                f"format {ENCODING_FORMAT}): re-issue the spec with this version"
            )
        names = [f.field for f in self.fields]
        if not names or len(set(names)) != len(names):
            raise InvalidSpecError("an encoding spec needs at least one field, each field once")
        if self.clk_bits < 0 or self.clk_bits % 128:
            raise InvalidSpecError("clk_bits must be a non-negative multiple of 128")
        if self.clk_bits and not any(f.clk_weight for f in self.fields):
            raise InvalidSpecError("clk_bits is set but no field has a clk_weight")
        if self.salt is not None and self.salt not in _SALTS:
            raise InvalidSpecError(f"salt must be one of {list(_SALTS)} or absent")
        if not 1 <= self.taps <= _MAX_TAPS:
            raise InvalidSpecError(f"taps must be between 1 and {_MAX_TAPS}")
        tapped = [f.field for f in self.fields if f.taps is not None]
        if self.hardening is not Hardening.DIFFUSION and tapped:
            raise InvalidSpecError(
                f"encoding fields {tapped} have taps, which need hardening: diffusion "
                "(set it, or drop their taps)"
            )
        object.__setattr__(self, "_by_name", {f.field: f for f in self.fields})

    def taps_of(self, field: FieldEncoding | None) -> int:
        """Taps of a field-level filter (its own, else the spec's) or of the CLK (``None``).

        Example:
            >>> H = HARDENED_ENCODING_SPEC
            >>> H.taps_of(H.field("birth_date")), H.taps_of(None)
            (6, 8)
        """
        if field is None or field.taps is None:
            return self.taps
        return field.taps

    def output_bits(self, bits: int) -> int:
        """Size of a ``bits``-bit filter once hardened (balance, diffusion: x2; xor_fold: /2)."""
        if self.hardening in {Hardening.BALANCE, Hardening.DIFFUSION}:
            return 2 * bits
        if self.hardening is Hardening.XOR_FOLD:
            return bits // 2
        return bits

    def field(self, name: str) -> FieldEncoding:
        """The encoding of field ``name``."""
        try:
            return self._by_name[name]
        except KeyError:
            raise InvalidSpecError(f"the encoding spec has no field {name!r}") from None

    def for_kinds(self, kinds: set[IdentifierKind]) -> EncodingSpec:
        """The same spec restricted to the fields a dataset has (same name and version).

        Filters stay comparable across datasets: a field's keys and sizes do not depend on
        which other fields are present. The CLK of a dataset lacking a field differs from the
        CLK of one that has it, so CLKs should be compared between datasets with equal fields.
        """
        kept = tuple(f for f in self.fields if f.kind in kinds)
        if not kept:
            raise InvalidSpecError(
                f"encoding {self.name!r}: the dataset has none of its fields "
                f"({', '.join(f.field for f in self.fields)})"
            )
        clk = self.clk_bits if any(f.clk_weight for f in kept) else 0
        return EncodingSpec(
            self.name, self.version, kept, clk, self.hardening, self.salt, taps=self.taps
        )

    # -- files -----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Mapping form (inverse of :meth:`from_dict`)."""
        out: dict[str, Any] = {
            "format": self.format,
            "name": self.name,
            "version": self.version,
            "clk_bits": self.clk_bits,
            "hardening": self.hardening.value,
            "salt": self.salt,
        }
        if self.hardening is Hardening.DIFFUSION:
            out["taps"] = self.taps
        out["fields"] = [f.to_dict() for f in self.fields]
        return out

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> EncodingSpec:
        """Build a spec from its mapping form (YAML or JSON)."""
        if not isinstance(raw, Mapping):
            raise InvalidSpecError("an encoding spec must be a mapping with name, version, fields")
        known = {"format", "name", "version", "clk_bits", "hardening", "salt", "taps", "fields"}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise InvalidSpecError(
                f"encoding spec: unknown keys {unknown}; allowed {sorted(known)}"
            )
        for key in ("name", "version", "fields"):
            if key not in raw:
                raise InvalidSpecError(f"encoding spec: '{key}' is missing")
        fields = raw["fields"]
        if not isinstance(fields, list) or not all(isinstance(f, Mapping) for f in fields):
            raise InvalidSpecError("encoding spec: 'fields' must be a list of mappings")
        try:
            return cls(
                name=str(raw["name"]),
                version=int(raw["version"]),
                fields=tuple(_field_from_dict(f) for f in fields),
                clk_bits=int(raw.get("clk_bits", 1024)),
                hardening=Hardening(str(raw.get("hardening", Hardening.BALANCE.value))),
                salt=None if raw.get("salt") is None else str(raw["salt"]),
                format=int(raw.get("format", ENCODING_FORMAT)),
                taps=int(raw.get("taps", DEFAULT_DIFFUSION_TAPS)),
            )
        except (TypeError, ValueError) as e:
            if isinstance(e, InvalidSpecError):
                raise
            raise InvalidSpecError(f"encoding spec: {e}") from None

    def to_yaml(self) -> str:
        """YAML text of this spec."""
        return yaml.safe_dump(self.to_dict(), allow_unicode=True, sort_keys=False)

    def to_json(self) -> str:
        """Compact JSON of this spec (as stored in an identity part's metadata)."""
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_yaml_text(cls, text: str) -> EncodingSpec:
        """Parse a spec from YAML (or JSON) text."""
        return cls.from_dict(parse_yaml(text, "the encoding spec"))

    @classmethod
    def from_yaml(cls, path: Path) -> EncodingSpec:
        """Load a spec file."""
        return cls.from_yaml_text(read_spec_text(path, "encoding spec"))


def _field_from_dict(raw: Mapping[str, Any]) -> FieldEncoding:
    known = {"field", "q", "alphabet", "bits", "hashes", "clk_weight", "taps"}
    unknown = sorted(set(raw) - known)
    if unknown or "field" not in raw:
        raise InvalidSpecError(f"encoding field: needs 'field'; allowed keys {sorted(known)}")
    return FieldEncoding(
        field=str(raw["field"]),
        q=int(raw.get("q", 2)),
        alphabet=Alphabet(str(raw.get("alphabet", Alphabet.SYLLABLE.value))),
        bits=int(raw.get("bits", 512)),
        hashes=int(raw.get("hashes", 20)),
        clk_weight=int(raw.get("clk_weight", 10)),
        taps=None if raw.get("taps") is None else int(raw["taps"]),
    )


# Hash counts aim at about half the bits set before hardening: k ≈ bits · ln 2 / q-grams.
LEGACY_FIELD_LEVEL_SPEC = EncodingSpec(
    name="ansim-field-level",
    version=1,
    fields=(
        # a jamo-bigram name: about 9 q-grams; a typo in one jamo changes two of them
        FieldEncoding("name", q=2, alphabet=Alphabet.JAMO, bits=512, hashes=40, clk_weight=20),
        FieldEncoding("birth_date", q=2, bits=512, hashes=36, clk_weight=12),  # 9 digit bigrams
        FieldEncoding("sex", q=1, bits=128, hashes=64, clk_weight=8),
        FieldEncoding("phone", q=2, bits=512, hashes=28, clk_weight=10),  # 12 digit bigrams
        FieldEncoding("rrn", q=2, bits=512, hashes=24, clk_weight=12),  # 14 digit bigrams
        FieldEncoding("address", q=2, bits=512, hashes=22, clk_weight=4),  # ~16 bigrams
    ),
    clk_bits=1024,
    hardening=Hardening.BALANCE,
)
"""The default encoding until issue 18, **vulnerable**, kept only as an explicit opt-out.

Balanced field-level filters for every identifier field and a CLK of them all. The linkage
unit can label every record's sex with it (``bf_sex`` has two values; the hub reports linkage
by sex), mine surnames from ``bf_name`` above the attacker's prior, and re-identify about 15 %
of names by graph matching (docs/privacy.md). Use it only to show the attacks are real, or
to link with parts prepared before the default changed (``ansim custodian encoding
--field-level``)."""

DEFAULT_ENCODING_SPEC = EncodingSpec(
    name="ansim-hardened",
    version=1,
    fields=(
        # 6 taps: graph matching 0.3 % on average (5: 0.5-0.6 %, 4: 0.9 %), no F1 lost at 100k
        FieldEncoding(
            "name", q=2, alphabet=Alphabet.JAMO, bits=512, hashes=40, clk_weight=20, taps=6
        ),
        # digits: few distinct q-grams, each in many records: more taps (docs/privacy.md)
        FieldEncoding("birth_date", q=2, bits=512, hashes=36, clk_weight=12, taps=6),
        # two values: never a filter of its own (the hub's by-sex feedback would label it)
        FieldEncoding("sex", q=1, bits=0, clk_weight=8),
        FieldEncoding("phone", q=2, bits=512, hashes=28, clk_weight=10, taps=6),
        FieldEncoding("rrn", q=2, bits=512, hashes=24, clk_weight=12, taps=6),
        FieldEncoding("address", q=2, bits=512, hashes=22, clk_weight=4, taps=4),
    ),
    clk_bits=1024,
    hardening=Hardening.DIFFUSION,
    taps=8,  # the CLK: compared by the fuzzy method only, attacked by graph matching
)
"""The default encoding (issue 18), against pattern-mining, graph-matching and low-cardinality
attacks: the fields and sizes of :data:`LEGACY_FIELD_LEVEL_SPEC`, sex only inside the CLK
(no two-valued column for the hub's by-sex feedback to label), every filter balanced then
diffused with a keyed layer (Armknecht, Heng and Schnell 2023): 6 taps on names, 4 on
addresses, 6 on the digit fields, 8 on the CLK. Measured in docs/privacy.md."""

HARDENED_ENCODING_SPEC = DEFAULT_ENCODING_SPEC
"""The same spec as :data:`DEFAULT_ENCODING_SPEC` (its name while it was opt-in)."""
