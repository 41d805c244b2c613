"""Hub side: sums, counts and cross-tabulations computed on ciphertexts.

The hub holds each record's classification (si/gun, age band, sex, sector: plaintext columns
of its linked data) and, for an encrypted attribute, batched ciphertexts in the order of the
custodian's serials. For every cell of the table it multiplies each ciphertext by the cell's
0/1 mask (a plaintext) and adds the products, then sums the slots (rotations with Galois keys):
one ciphertext per cell and statistic, holding one number. Only these are ever decrypted
(:class:`~ansim.encrypted.DecryptionCeremony` refuses any ciphertext of more than one value).
"""

from __future__ import annotations

import itertools
import json
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ansim.encrypted._columns import META, EncryptedAttribute, Statistic
from ansim.encrypted._schemes import Scheme, fingerprint, public_context, tenseal
from ansim.errors import IntegrityError, InvalidSpecError
from ansim.packages import part_label

__all__ = ["AGGREGATE_SCHEMA", "EncryptedAggregates", "aggregate_encrypted", "load_ciphertext"]

AGGREGATE_SCHEMA = pa.schema(
    [
        ("attribute", pa.string()),
        ("statistic", pa.string()),
        ("cell", pa.int32()),
        ("ciphertext", pa.large_binary()),
        ("imaginary", pa.bool_()),  # packed: the cell's totals are the imaginary parts
    ]
)


def load_ciphertext(ctx: Any, scheme: Scheme, data: bytes) -> Any:
    """Deserialise a ciphertext under ``ctx``.

    Raises:
        IntegrityError: The bytes are not a ciphertext for these keys.
    """
    ts = tenseal()
    try:
        if scheme is Scheme.CKKS:
            return ts.ckks_vector_from(ctx, data)
        return ts.bfv_vector_from(ctx, data)
    except (ValueError, RuntimeError, TypeError) as e:
        raise IntegrityError("a ciphertext does not load under the project's keys") from e


@dataclass(frozen=True, eq=False)
class EncryptedAggregates:
    """Encrypted cell totals of one table, ready for the decryption ceremony.

    Attributes:
        dimensions: The classifying columns.
        cells: Every combination of their categories (zeros included), in order.
        records: Per cell, how many of the dataset's linked records it holds (plaintext: the
            hub knows which records it joined).
        attributes: The encrypted attributes.
        dataset: The dataset whose attributes they are.
        ciphertexts: One row per cell, attribute and statistic (:data:`AGGREGATE_SCHEMA`);
            empty cells have none (their totals are zero).
    """

    dimensions: tuple[str, ...]
    cells: tuple[tuple[str, ...], ...]
    records: tuple[int, ...]
    attributes: tuple[EncryptedAttribute, ...]
    dataset: str
    ciphertexts: pa.Table

    def digest(self) -> str:
        """SHA-256 fingerprint of the ciphertexts (names them in the audit log)."""
        imaginary = self.ciphertexts.column("imaginary").to_pylist()
        blob = json.dumps([self.dimensions, self.cells, self.dataset, imaginary]).encode()
        for data in self.ciphertexts.column("ciphertext").to_pylist():
            blob += fingerprint(data).encode()
        return fingerprint(blob)


def _grid(groups: pa.Table, dimensions: Sequence[str],
          categories: Mapping[str, Sequence[str]] | None) -> list[tuple[str, ...]]:  # fmt: skip
    values = []
    for d in dimensions:
        if d not in groups.column_names:
            raise InvalidSpecError(f"column {d!r} is not in the hub's linked data")
        given = (categories or {}).get(d)
        seen = pc.unique(groups.column(d).cast(pa.string())).drop_null().to_pylist()
        values.append(sorted(given) if given is not None else sorted(seen))
    return list(itertools.product(*values))


def _cell_of_rows(
    groups: pa.Table, dimensions: Sequence[str], grid: Sequence[tuple[str, ...]]
) -> np.ndarray:
    """Per row of ``groups``, the index of its cell (-1 when a label is missing or unknown)."""
    position = {cell: i for i, cell in enumerate(grid)}
    keys = zip(*(groups.column(d).cast(pa.string()).to_pylist() for d in dimensions), strict=True)
    return np.fromiter((position.get(k, -1) for k in keys), dtype=np.int64, count=groups.num_rows)


def _check_keys(ciphertexts: pa.Table, public: Mapping[Scheme, bytes]) -> dict[str, Any]:
    raw = (ciphertexts.schema.metadata or {}).get(META.encode())
    if raw is None:
        raise IntegrityError("the ciphertexts carry no description of their encryption")
    meta: dict[str, Any] = json.loads(raw)
    for scheme, data in public.items():
        if meta["public"].get(scheme.value) != fingerprint(data):
            raise IntegrityError(
                f"the ciphertexts were encrypted under other {scheme.value} keys than the "
                "project's: ask the custodian to encrypt again with the project's public keys"
            )
    return meta


def aggregate_encrypted(
    ciphertexts: pa.Table,
    groups: pa.Table,
    dimensions: Sequence[str],
    public: Mapping[Scheme, bytes],
    *,
    categories: Mapping[str, Sequence[str]] | None = None,
) -> EncryptedAggregates:
    """Encrypted totals per cell of ``dimensions`` over the records the hub linked.

    Args:
        ciphertexts: A custodian's opened ``ciphertexts`` package.
        groups: The hub's linked records: ``serial`` (the custodian's) and the dimension
            columns; records not in it, or with a missing label, count in no cell.
        dimensions: The classifying columns.
        public: Scheme → the project's public context.
        categories: Per dimension, its full list of categories (else those present).

    Returns:
        The encrypted cell totals.

    Raises:
        IntegrityError: The ciphertexts are for other keys or do not load.
        InvalidSpecError: A dimension is missing.
    """
    meta = _check_keys(ciphertexts, public)
    attributes = tuple(EncryptedAttribute(**a) for a in meta["attributes"])
    grid = _grid(groups, dimensions, categories)
    cell_of_row = _cell_of_rows(groups, dimensions, grid)
    contexts = {s: public_context(public[s]) for s in Scheme}
    # No rescaling after the mask product: a rescale divides by a prime near 2^40, not 2^40,
    # which TenSEAL's scale tracking turns into a bias of about 1e-7 of every total. Unrescaled
    # (scale 2^80), 120 bits of modulus remain: room enough, and the totals are unbiased.
    contexts[Scheme.CKKS].auto_rescale = False
    rows: dict[str, list[Any]] = {name: [] for name in AGGREGATE_SCHEMA.names}
    records = np.zeros(len(grid), dtype=np.int64)
    for attribute, statistic in ((a, s) for a in attributes for s in a.streams):
        part = ciphertexts.filter(
            pc.and_(
                pc.equal(ciphertexts.column("attribute"), attribute.column),
                pc.equal(ciphertexts.column("statistic"), statistic),
            )
        ).sort_by("chunk")
        serials = pc.list_flatten(part.column("serials"))
        row = pc.index_in(serials, value_set=groups.column("serial").cast(pa.string()))
        cells = np.where(row.is_null().to_numpy(zero_copy_only=False), -1,
                         np.append(cell_of_row, -1)[row.fill_null(-1).to_numpy()])  # fmt: skip
        if statistic in {Statistic.COUNT, Statistic.PACKED}:
            records = np.bincount(cells[cells >= 0], minlength=len(grid))
        if statistic == Statistic.PACKED:
            totals = _packed_totals(part, cells, attribute, contexts[Scheme.CKKS], len(grid))
        else:
            totals = {c: (bytes(v.serialize()), False) for c, v in _cell_totals(
                part, cells, attribute.scheme(statistic), contexts, len(grid)).items()}  # fmt: skip
        for cell, (data, imaginary) in totals.items():
            rows["attribute"].append(attribute.column)
            rows["statistic"].append(statistic)
            rows["cell"].append(cell)
            rows["imaginary"].append(imaginary)
            rows["ciphertext"].append(data)
    dataset = part_label(ciphertexts.schema).dataset
    return EncryptedAggregates(
        tuple(dimensions), tuple(grid), tuple(int(r) for r in records), attributes, dataset,
        pa.table(rows, schema=AGGREGATE_SCHEMA),
    )  # fmt: skip


def _cell_totals(
    part: pa.Table, cells: np.ndarray, scheme: Scheme, contexts: Mapping[Scheme, Any], n: int
) -> dict[int, Any]:
    """Per non-empty cell, one ciphertext of the sum of its records' slots."""
    accumulators: dict[int, Any] = {}
    start = 0
    lengths = pc.list_value_length(part.column("serials")).to_pylist()
    for data, length in zip(part.column("ciphertext").to_pylist(), lengths, strict=True):
        vector = load_ciphertext(contexts[scheme], scheme, data)
        size = vector.size()
        if length > size:
            raise IntegrityError("a ciphertext holds fewer values than its serials")
        chunk = np.full(size, -1, dtype=np.int64)
        chunk[:length] = cells[start : start + length]
        start += length
        for cell in np.unique(chunk[chunk >= 0]).tolist():
            mask = (chunk == cell).astype(np.int64 if scheme is Scheme.BFV else np.float64)
            product = vector * mask.tolist()
            if cell in accumulators:
                accumulators[cell] += product
            else:
                accumulators[cell] = product
    if start != len(cells):
        raise IntegrityError("the ciphertexts and their serials disagree in length")
    return {cell: accumulators[cell].sum() for cell in sorted(accumulators) if cell < n}


def _packed_totals(
    part: pa.Table, cells: np.ndarray, attribute: EncryptedAttribute, ctx: Any, n: int
) -> dict[int, tuple[bytes, bool]]:
    """Per non-empty cell, a ciphertext whose block starts hold the cell's totals.

    Each ciphertext of the packed layout holds ``block`` records' values, squares and presence
    indicators in consecutive blocks. CKKS slots are complex numbers, so two cells share one
    product: the mask is 1 for the records of cell 2p and *i* for those of cell 2p+1 (repeated
    for every block), encoded and multiplied with SEAL's encoder and evaluator through
    TenSEAL's binding; the real parts of the product accumulate cell 2p, the imaginary parts
    cell 2p+1. The accumulated product is folded by rotations of block/2, …, 1 slots
    (TenSEAL's ``sum`` of the ciphertext declared as ``block`` values long, see
    :func:`resized`): slot ``k·block`` then holds the totals of block ``k``, the other slots
    sums of ``block`` consecutive slots, which the decryption ceremony never returns.

    Returns:
        Cell → (the serialised folded ciphertext, whether the cell is its imaginary part).
    """
    from tenseal import sealapi  # noqa: PLC0415 - native, lazy

    seal = ctx.data.seal_context()
    encoder, evaluator = sealapi.CKKSEncoder(seal), sealapi.Evaluator(seal)
    slots = encoder.slot_count()
    block = attribute.block(slots)
    width = slots // block
    accumulators: dict[int, Any] = {}
    template = b""
    start = 0
    lengths = pc.list_value_length(part.column("serials")).to_pylist()
    for data, length in zip(part.column("ciphertext").to_pylist(), lengths, strict=True):
        vector = load_ciphertext(ctx, Scheme.CKKS, data)
        if length > block or vector.size() != slots:
            raise IntegrityError("a packed ciphertext does not have the packed layout")
        template = template or data
        (ciphertext,) = vector.ciphertext()
        chunk = np.full(block, -1, dtype=np.int64)
        chunk[:length] = cells[start : start + length]
        start += length
        present = chunk[chunk >= 0]
        for pair in np.unique(present // 2).tolist():
            mask = (chunk == 2 * pair) + 1j * (chunk == 2 * pair + 1)
            plain = sealapi.Plaintext()
            encoder.encode(np.tile(mask, width).tolist(), ciphertext.parms_id(), ctx.global_scale,
                           plain)  # fmt: skip
            product = sealapi.Ciphertext()
            evaluator.multiply_plain(ciphertext, plain, product)
            if pair in accumulators:
                evaluator.add_inplace(accumulators[pair], product)
            else:
                accumulators[pair] = product
    if start != len(cells):
        raise IntegrityError("the ciphertexts and their serials disagree in length")
    nonempty = set(np.unique(cells[cells >= 0]).tolist())
    totals: dict[int, tuple[bytes, bool]] = {}
    with tempfile.TemporaryDirectory() as scratch:  # SEAL's binding saves to files only
        for pair, product in sorted(accumulators.items()):
            path = str(Path(scratch) / "c")
            product.save(path)
            whole = _with_ciphertext(template, Path(path).read_bytes())
            folded = load_ciphertext(ctx, Scheme.CKKS, resized(whole, block)).sum()
            data = bytes(folded.serialize())
            for cell, imaginary in ((2 * pair, False), (2 * pair + 1, True)):
                if cell < n and cell in nonempty:
                    totals[cell] = (data, imaginary)
    return dict(sorted(totals.items()))


def _with_ciphertext(vector: bytes, ciphertext: bytes) -> bytes:
    """A serialised one-ciphertext CKKS vector with its ciphertext (field 2) replaced.

    Raises:
        IntegrityError: ``vector`` is not a serialised one-ciphertext vector.
    """
    if len(vector) < 3 or vector[0] != 0x0A or vector[1] >= 0x80:  # noqa: PLR2004
        raise IntegrityError("not a serialised CKKS vector of one ciphertext")
    at = 2 + vector[1]
    if vector[at] != 0x12:  # noqa: PLR2004 - field 2, length-delimited
        raise IntegrityError("not a serialised CKKS vector of one ciphertext")
    length, shift, at = 0, 0, at + 1
    while True:
        byte = vector[at]
        length |= (byte & 0x7F) << shift
        shift, at = shift + 7, at + 1
        if not byte & 0x80:
            break
    return (
        vector[: 2 + vector[1]]
        + b"\x12"
        + _varint(len(ciphertext))
        + ciphertext
        + vector[at + length :]
    )


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        out.append(low | (0x80 if value else 0))
        if not value:
            return bytes(out)


def resized(data: bytes, size: int) -> bytes:
    """A serialised single-ciphertext CKKS vector declared ``size`` values long.

    TenSEAL's vector message starts with its packed ``sizes`` field (field 1: one entry per
    ciphertext); only that field is rewritten, the ciphertext itself is untouched. ``sum``
    folds a vector's first ``size`` slots, so the hub declares a packed aggregate ``block``
    long to fold all its blocks at once, and the ceremony declares the result a whole
    ciphertext long to read its block starts.

    Raises:
        IntegrityError: The bytes are not a single-ciphertext vector.

    Example:
        >>> resized(bytes([0x0A, 0x02, 0x80, 0x20, 0x12, 0x00]), 1).hex()
        '0a01011200'
    """
    if len(data) < 3 or data[0] != 0x0A or data[1] >= 0x80:  # noqa: PLR2004
        raise IntegrityError("not a serialised CKKS vector of one ciphertext")
    end = 2 + data[1]
    field = data[2:end]
    if not field or field[-1] & 0x80 or any(not b & 0x80 for b in field[:-1]):  # one varint
        raise IntegrityError("not a serialised CKKS vector of one ciphertext")
    encoded = _varint(size)
    return bytes([0x0A, len(encoded)]) + encoded + data[end:]
