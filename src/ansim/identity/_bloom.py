"""Keyed Bloom-filter encodings of identifiers: field-level filters and the record-level CLK.

Every q-gram is hashed with HMAC-SHA256 under the project secret's ``bloom`` key (HKDF), so
nobody without the secret can compute, or test guesses against, a filter. Work is done once per
distinct value and once per distinct q-gram (names, dates and addresses repeat a lot); records
then gather their distinct value's filter. Bit ``p`` of a filter is bit ``p % 8`` of byte
``p // 8`` (least significant first).
"""

from __future__ import annotations

import hmac
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from ansim.errors import InvalidSpecError
from ansim.identity._bloom_kernels import (
    assemble_clk,
    diffuse,
    factorize,
    gram_keys_utf8,
    set_bits,
)
from ansim.identity._encoding import Alphabet, EncodingSpec, FieldEncoding, Hardening
from ansim.identity._secret import LinkageSecret
from ansim.schema import IdentifierKind

__all__ = ["BloomEncoding", "FieldFill", "encode_bloom", "encode_bloom_detailed"]

_U64 = npt.NDArray[np.uint64]
_I64 = npt.NDArray[np.int64]
_START, _END = "\x02", "\x03"  # padding marks: never part of a standardised value
_CODE_BITS = 21  # a Unicode code point fits in 21 bits, so three fit in one 64-bit key
_BALANCED = (Hardening.BALANCE, Hardening.DIFFUSION)  # diffusion mixes a balanced filter


@dataclass(frozen=True)
class FieldFill:
    """How full one encoding's filters are (no identifier in it).

    Attributes:
        column: ``bf_<field>`` or ``clk``.
        bits: Size of the stored (hardened) filter.
        encoded: Records with a filter (the others are null).
        mean_qgrams: Mean number of distinct q-grams per encoded value.
        fill: Mean share of bits set before hardening (the Bloom filter's own fill; aim at 0.5).
        stored_fill: Mean share of bits set in the stored filter (exactly 0.5 when balanced).
        suggested_hashes: Hash count that would bring ``fill`` near 0.5 for these values
            (field-level filters only; 0 for the CLK, whose weights are set per field).
    """

    column: str
    bits: int
    encoded: int
    mean_qgrams: float
    fill: float
    stored_fill: float
    suggested_hashes: int


@dataclass(frozen=True)
class BloomEncoding:
    """Encoded columns and their fill statistics."""

    columns: dict[str, pa.Array]
    fill: dict[str, FieldFill]


def _permutation(key: bytes, label: str, size: int) -> _I64:
    """A keyed permutation of ``range(size)`` (Fisher–Yates on HMAC-SHA256 output).

    Built from HMAC only, so every custodian gets the same permutation whatever their NumPy.
    """
    perm = np.arange(size, dtype=np.int64)
    stream = b""
    block = 0
    for i in range(size - 1, 0, -1):
        if len(stream) < 8:  # noqa: PLR2004
            stream += hmac.digest(key, f"perm\x1f{label}\x1f{block}".encode(), "sha256")
            block += 1
        j = int.from_bytes(stream[:8], "little") % (i + 1)
        stream = stream[8:]
        perm[i], perm[j] = perm[j], perm[i]
    return perm


def _field_text(field: FieldEncoding, values: Sequence[str | None]) -> pa.Array:
    """The text a field's q-grams are cut from (one per record; null where missing)."""
    text = pa.array(values, pa.string())
    if field.kind is IdentifierKind.BIRTH_DATE:
        text = pc.replace_substring(text, "-", "")
    elif field.kind is IdentifierKind.ADDRESS:
        text = pc.replace_substring(text, " ", "")
    if field.alphabet is Alphabet.JAMO:
        text = pc.utf8_normalize(text, "NFD")  # Hangul syllables → conjoining jamo
    return text


def _salts(
    spec: EncodingSpec, standardised: Mapping[IdentifierKind, Sequence[str | None]], n: int
) -> pa.Array:
    needed = {"birth_year": IdentifierKind.BIRTH_DATE, "sex": IdentifierKind.SEX}.get(
        spec.salt or ""
    )
    if needed is not None and needed not in standardised:
        raise InvalidSpecError(
            f"encoding {spec.name!r} is salted with {spec.salt}, but the dataset has no "
            f"{needed.value} column: its filters could never match the other custodians'"
        )
    if spec.salt == "birth_year" and IdentifierKind.BIRTH_DATE in standardised:
        return pc.fill_null(
            pc.utf8_slice_codeunits(
                pa.array(standardised[IdentifierKind.BIRTH_DATE], pa.string()), 0, 4
            ),
            "",
        )
    if spec.salt == "sex" and IdentifierKind.SEX in standardised:
        return pc.fill_null(pa.array(standardised[IdentifierKind.SEX], pa.string()), "")
    return pa.nulls(n, pa.string()).fill_null("")


@dataclass(frozen=True)
class _Distinct:
    """Distinct (salt, text) values of one field and each record's index into them (-1: null)."""

    index: _I64
    texts: pa.Array
    salts: pa.Array | None

    def __len__(self) -> int:
        return len(self.texts)


def _distinct(text: pa.Array, salt: pa.Array, salted: bool) -> _Distinct:
    key = pc.binary_join_element_wise(salt, text, "\x1e") if salted else text
    encoded = pc.dictionary_encode(key)
    index = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    words = encoded.dictionary.cast(pa.string())
    if not salted:
        return _Distinct(index, words, None)
    parts = pc.split_pattern(words, "\x1e", max_splits=1)
    return _Distinct(index, pc.list_element(parts, 1), pc.list_element(parts, 0))


def _utf8_buffers(text: pa.Array) -> tuple[_I64, npt.NDArray[np.uint8]]:
    """Offsets and bytes of a string array (as the compiled loops read them)."""
    text = text.cast(pa.large_string())  # 64-bit offsets
    _, offsets, data = text.buffers()
    starts = np.frombuffer(offsets, dtype=np.int64)[text.offset : text.offset + len(text) + 1]
    raw = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
    return starts, raw


def _gram_text(key: int, q: int) -> str:
    mask = (1 << _CODE_BITS) - 1
    return "".join(chr((key >> (_CODE_BITS * (q - 1 - j))) & mask) for j in range(q))


@dataclass(frozen=True)
class _Grams:
    """Per distinct value, ids of its distinct (salt, q-gram) pairs; per id, its HMAC digest."""

    ids: _I64
    counts: npt.NDArray[np.int64]
    digests: npt.NDArray[np.uint64]


def _hash_grams(key: bytes, field: FieldEncoding, values: _Distinct) -> _Grams:
    """Each distinct (salt, q-gram) hashed once with HMAC-SHA256 under the bloom key."""
    offsets, data = _utf8_buffers(values.texts)
    keys, counts = gram_keys_utf8(offsets, data, field.q, ord(_START), ord(_END))
    ids, grams = factorize(keys)
    salt_names: list[str] = [""]
    pairs: list[tuple[int, int]] = [(0, int(g)) for g in grams]
    if values.salts is not None:
        salt_codes = pc.dictionary_encode(values.salts)
        salt_names = salt_codes.dictionary.to_pylist()
        salt_of = salt_codes.indices.to_numpy(zero_copy_only=False).astype(np.int64)
        combined = np.where(ids >= 0, salt_of[:, None] * len(grams) + ids, -1)
        ids, unique = factorize(combined)
        pairs = [(int(c) // len(grams), int(grams[int(c) % len(grams)])) for c in unique]
    base = hmac.new(key, f"{field.field}\x1f{field.q}\x1f{field.alphabet}\x1f".encode(), "sha256")
    digests = np.zeros((len(pairs), 4), dtype=np.uint64)
    for row, (salt, gram) in enumerate(pairs):
        mac = base.copy()
        mac.update(f"{salt_names[salt]}\x1f{_gram_text(gram, field.q)}".encode())
        digests[row] = np.frombuffer(mac.digest(), dtype="<u8")
    return _Grams(ids, counts, digests)


def _positions(
    digests: npt.NDArray[np.uint64], lanes: tuple[int, int], count: int, bits: int
) -> _I64:
    """``count`` positions in ``range(bits)`` per q-gram by double hashing of two digest lanes."""
    h1 = digests[:, lanes[0]][:, None]
    h2 = digests[:, lanes[1]][:, None] | np.uint64(1)
    steps = np.arange(count, dtype=np.uint64)[None, :]
    return ((h1 + steps * h2) % np.uint64(bits)).astype(np.int64)


@dataclass(frozen=True)
class _Layout:
    """Where a filter's bits go once hardened: set positions, cleared positions, start bits."""

    bits: int
    hardening: Hardening
    perm: _I64 | None

    @property
    def words(self) -> int:
        return (2 * self.bits if self.hardening in _BALANCED else self.bits) // 64

    def template(self) -> _U64:
        out = np.zeros(self.words, dtype=np.uint64)
        if self.perm is not None:
            for p in self.perm[self.bits :]:
                out[p >> 6] |= np.uint64(1) << np.uint64(p & 63)
        return out

    def mapped(self, positions: _I64) -> tuple[_I64, _I64]:
        if self.perm is None:
            return positions, np.zeros((positions.shape[0], 0), dtype=np.int64)
        return self.perm[positions], self.perm[positions + self.bits]


def _layout(key: bytes, label: str, bits: int, hardening: Hardening) -> _Layout:
    perm = _permutation(key, f"{label}\x1f{bits}", 2 * bits) if hardening in _BALANCED else None
    return _Layout(bits, hardening, perm)


def _taps(key: bytes, label: str, bits: int, taps: int) -> _I64:
    """The keyed tap sets of the diffusion layer: ``taps`` distinct filter bits per stored bit.

    Drawn from HMAC-SHA256 output only (as :func:`_permutation`), so every custodian of the
    project gets the same sets.
    """
    out = np.empty((bits, taps), dtype=np.int64)
    for j in range(bits):
        stream = hmac.digest(key, f"taps\x1f{label}\x1f{bits}\x1f{j}".encode(), "sha256")
        chosen: list[int] = []
        block = 0
        while len(chosen) < taps:
            if len(stream) < 4:  # noqa: PLR2004
                block += 1
                stream += hmac.digest(
                    key, f"taps\x1f{label}\x1f{bits}\x1f{j}\x1f{block}".encode(), "sha256"
                )
            pick = int.from_bytes(stream[:4], "little") % bits
            stream = stream[4:]
            if pick not in chosen:
                chosen.append(pick)
        out[j] = chosen
    return out


def _diffuse(words: _U64, taps: _I64) -> _U64:
    """Each stored bit ``j``: the XOR of the filter bits ``taps[j]`` (Armknecht et al. 2023)."""
    out = np.empty_like(words)
    diffuse(np.ascontiguousarray(words), taps, out)
    return out


def _harden(words: _U64, spec: EncodingSpec, key: bytes, label: str, taps: int) -> _U64:
    """The stored form of plain (or balanced) filters: folded or diffused as the spec says."""
    if spec.hardening is Hardening.XOR_FOLD:
        half = words.shape[1] // 2
        return np.bitwise_xor(words[:, :half], words[:, half:])
    if spec.hardening is Hardening.DIFFUSION:
        return _diffuse(words, _taps(key, label, 64 * words.shape[1], taps))
    return words


def _to_arrow(words: _U64, valid: npt.NDArray[np.bool_]) -> pa.Array:
    n, width = words.shape
    data = pa.py_buffer(np.ascontiguousarray(words.astype("<u8", copy=False)))  # no copy
    nulls = int(n - valid.sum())
    bitmap = pa.py_buffer(np.packbits(valid, bitorder="little").tobytes()) if nulls else None
    return pa.FixedSizeBinaryArray.from_buffers(pa.binary(8 * width), n, [bitmap, data], nulls)


def _popcount_share(words: _U64, bits: int) -> npt.NDArray[np.float64]:
    share: npt.NDArray[np.float64] = np.bitwise_count(words).sum(axis=1, dtype=np.int64) / bits
    return share


def encode_bloom(
    spec: EncodingSpec,
    standardised: Mapping[IdentifierKind, Sequence[str | None]],
    secret: LinkageSecret,
) -> dict[str, pa.Array]:
    """Bloom-filter encodings of standardised identifiers, keyed by the project secret.

    Args:
        spec: The project's encoding spec (fields whose kind is not in ``standardised`` are
            skipped).
        standardised: Standardised values by identifier kind, one per record (birth dates as
            ISO ``YYYY-MM-DD``), as :func:`~ansim.identity.standardise_columns` gives them.
        secret: The project's linkage secret (its ``bloom`` key is used).

    Returns:
        ``bf_<field>`` per field-level encoding and ``clk`` if the spec has one: fixed-size
        binary arrays, null where the field (for the CLK: every field) is blank.

    Raises:
        InvalidSpecError: The spec is salted with an attribute the records lack.

    Example:
        >>> secret = LinkageSecret(bytes(32))
        >>> from ansim.identity import DEFAULT_ENCODING_SPEC
        >>> names = {IdentifierKind.KOREAN_NAME: ["김민준", None]}
        >>> cols = encode_bloom(DEFAULT_ENCODING_SPEC, names, secret)
        >>> sorted(cols), cols["bf_name"].type.byte_width, cols["bf_name"].null_count
        (['bf_name', 'clk'], 128, 1)
    """
    return encode_bloom_detailed(spec, standardised, secret).columns


def encode_bloom_detailed(
    spec: EncodingSpec,
    standardised: Mapping[IdentifierKind, Sequence[str | None]],
    secret: LinkageSecret,
) -> BloomEncoding:
    """Like :func:`encode_bloom`, with each encoding's fill statistics (for the report).

    Args:
        spec: The project's encoding spec.
        standardised: Standardised values by identifier kind.
        secret: The project's linkage secret.

    Returns:
        The columns and a :class:`FieldFill` per column.
    """
    key = secret.derive("bloom")
    fields = [f for f in spec.fields if f.kind in standardised]
    n = len(standardised[fields[0].kind]) if fields else 0
    salt = _salts(spec, standardised, n)
    columns: dict[str, pa.Array] = {}
    fill: dict[str, FieldFill] = {}
    clk_layout = _layout(key, "clk", spec.clk_bits, spec.hardening) if spec.clk_bits else None
    clk_parts: list[tuple[FieldEncoding, _Distinct, _Grams]] = []
    for field in fields:
        text = _field_text(field, standardised[field.kind])
        values = _distinct(text, salt, spec.salt is not None)
        grams = _hash_grams(key, field, values)
        present = values.index >= 0
        weights = np.bincount(values.index[present], minlength=len(values))
        mean_grams = float(np.dot(weights, grams.counts) / max(int(present.sum()), 1))
        if field.bits:
            columns[field.column], fill[field.column] = _field_filter(
                key, spec, field=field, values=values, grams=grams, usage=(weights, mean_grams)
            )
        if clk_layout is not None and field.clk_weight:
            clk_parts.append((field, values, grams))
    if clk_layout is not None and clk_parts:
        columns["clk"], fill["clk"] = _assemble_clk(key, spec, clk_layout, clk_parts, n)
    return BloomEncoding(columns, fill)


def _field_filter(
    key: bytes,
    spec: EncodingSpec,
    *,
    field: FieldEncoding,
    values: _Distinct,
    grams: _Grams,
    usage: tuple[npt.NDArray[np.int64], float],
) -> tuple[pa.Array, FieldFill]:
    """One field-level filter per record, and its fill statistics."""
    weights, mean_grams = usage
    layout = _layout(key, field.field, field.bits, spec.hardening)
    setp, clearp = layout.mapped(_positions(grams.digests, (0, 1), field.hashes, field.bits))
    template = layout.template()
    distinct = np.zeros((len(values), layout.words), dtype=np.uint64)
    set_bits(grams.ids, setp, clearp, template, distinct)
    stored = _harden(distinct, spec, key, field.field, spec.taps_of(field))
    out_bits = spec.output_bits(field.bits)
    present = values.index >= 0
    encoded = int(present.sum())
    records = stored[np.where(present, values.index, 0)] if len(values) else None
    if records is None:
        records = np.zeros((values.index.size, out_bits // 64), np.uint64)
    plain = _popcount_share(distinct & ~template[None, :], field.bits)
    stats = FieldFill(
        column=field.column,
        bits=out_bits,
        encoded=encoded,
        mean_qgrams=mean_grams,
        fill=float(np.dot(weights, plain)) / max(encoded, 1),
        stored_fill=float(np.dot(weights, _popcount_share(stored, out_bits))) / max(encoded, 1),
        suggested_hashes=max(1, round(field.bits * math.log(2) / max(mean_grams, 1.0))),
    )
    return _to_arrow(records, present), stats


def _assemble_clk(
    key: bytes,
    spec: EncodingSpec,
    layout: _Layout,
    parts: list[tuple[FieldEncoding, _Distinct, _Grams]],
    n: int,
) -> tuple[pa.Array, FieldFill]:
    """The record-level filter: every field's contribution gathered per record (compiled).

    Each distinct field value's contribution (bits it sets, and with balancing the bits it
    clears) is built once into one table; records then OR their fields' rows over a template.
    """
    sizes = [len(values) for _, values, _ in parts]
    base = np.cumsum([0, *sizes])
    on = np.zeros((base[-1], layout.words), dtype=np.uint64)
    off = np.zeros((base[-1] if layout.perm is not None else 0, layout.words), dtype=np.uint64)
    zero = np.zeros(layout.words, np.uint64)
    for (field, _, grams), start, stop in zip(parts, base[:-1], base[1:], strict=True):
        setp, clearp = layout.mapped(
            _positions(grams.digests, (2, 3), field.clk_weight, spec.clk_bits)
        )
        none = np.zeros((setp.shape[0], 0), np.int64)
        set_bits(grams.ids, setp, none, zero, on[start:stop])
        if layout.perm is not None:
            set_bits(grams.ids, clearp, none, zero, off[start:stop])
    rows = np.stack(
        [np.where(v.index >= 0, v.index + b, -1) for (_, v, _), b in zip(parts, base, strict=False)]
    )
    words = np.empty((n, layout.words), dtype=np.uint64)
    set_counts = assemble_clk(rows, on, off, layout.template(), layout.perm is not None, words)
    valid = set_counts >= 0
    records = _harden(words, spec, key, "clk", spec.taps_of(None))
    out_bits = spec.output_bits(spec.clk_bits)
    encoded = int(valid.sum())
    stored_bits = np.bitwise_count(records).sum(axis=1, dtype=np.int64)
    stored = float(stored_bits[valid].sum()) / max(encoded, 1) / out_bits
    stats = FieldFill(
        column="clk",
        bits=out_bits,
        encoded=encoded,
        mean_qgrams=0.0,
        fill=float(set_counts[valid].sum()) / max(encoded, 1) / spec.clk_bits,
        stored_fill=stored,
        suggested_hashes=0,
    )
    return _to_arrow(records, valid), stats
