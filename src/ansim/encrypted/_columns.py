"""Custodian side: numeric attributes encrypted under the project's public keys.

Each chosen attribute becomes up to three encrypted *streams*, each a sequence of batched
ciphertexts (4096 records per ciphertext) in the order of the content part's serials:

- ``sum``: the value in its declared unit (CKKS, or BFV when the attribute is exact);
- ``squares``: the squared value (CKKS), so the hub can bound the largest contributions for
  the dominance and p% rules without seeing any value;
- ``count``: 1 where the value is present, 0 where missing (BFV, exact), so counts and means
  count only the records that have a value.

The ciphertexts travel as a ``ciphertexts`` package (``ansim.packages``): encrypted for the
hub and signed by the custodian, so an altered ciphertext is refused before any use.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ansim.encrypted._schemes import Scheme, SchemeParameters, fingerprint, public_context
from ansim.errors import InvalidSpecError
from ansim.packages import label_part

__all__ = ["CIPHERTEXT_SCHEMA", "EncryptedAttribute", "Statistic", "encrypt_attributes"]

CIPHERTEXT_SCHEMA = pa.schema(
    [
        ("attribute", pa.string()),
        ("statistic", pa.string()),
        ("chunk", pa.int32()),
        ("serials", pa.list_(pa.string())),
        ("ciphertext", pa.large_binary()),
    ]
)
META = "ansim.encrypted"
PACKED_SQUARES_SCALE = 2.0**-20
"""Squares are encrypted times this in the packed layout: near the values' magnitude, so that
the encoder's double-precision error on large squares does not reach the other blocks."""
_LIMIT = 2.0**56  # totals in units stay below this: 2^59 fits the modulus left after the mask


class Statistic(StrEnum):
    """An encrypted stream of an attribute (see the module docstring)."""

    SUM = "sum"
    SQUARES = "squares"
    COUNT = "count"
    PACKED = "packed"


@dataclass(frozen=True)
class EncryptedAttribute:
    """An attribute a custodian encrypts.

    Attributes:
        column: The content part's numeric column.
        unit: Values are encrypted as ``value / unit`` (e.g. 1000 for KRW in thousands), which
            keeps CKKS sums far inside the modulus; results are scaled back.
        exact: Encrypt the sum with BFV (integers, exact): ``value / unit`` must be whole.
        bounds: Also encrypt squares, for the dominance and p% bounds.
        packed: The fast layout: one CKKS stream whose ciphertexts hold, for the same
            records, the values, squares and presence indicators in separate blocks of
            :attr:`block` slots each (counts then come from CKKS, rounded and checked). The
            hub folds every cell's blocks at once, in log2(block) rotations instead of 12
            per statistic; see :mod:`ansim.encrypted._aggregate`.

    Example:
        >>> EncryptedAttribute("turnover_krw", unit=1000).streams
        ('sum', 'squares', 'count')
        >>> a = EncryptedAttribute("turnover_krw", unit=1000, packed=True)
        >>> a.streams, a.blocks, a.block(4096)
        (('packed',), ('sum', 'squares', 'count'), 1024)
    """

    column: str
    unit: float = 1.0
    exact: bool = False
    bounds: bool = True
    packed: bool = False

    def __post_init__(self) -> None:
        """Check the unit."""
        if not self.column:
            raise InvalidSpecError("an encrypted attribute needs a column name")
        if not self.unit > 0:
            raise InvalidSpecError(f"{self.column}: the unit must be positive, not {self.unit}")
        if self.packed and self.exact:
            raise InvalidSpecError(f"{self.column}: the packed layout is CKKS only, not exact")

    @property
    def blocks(self) -> tuple[str, ...]:
        """The statistics encrypted for it (in the packed layout: its blocks, in order)."""
        squares = (Statistic.SQUARES.value,) if self.bounds else ()
        return (Statistic.SUM.value, *squares, Statistic.COUNT.value)

    @property
    def streams(self) -> tuple[str, ...]:
        """The encrypted streams: one per statistic, or the one packed stream."""
        return (Statistic.PACKED.value,) if self.packed else self.blocks

    def block(self, slots: int) -> int:
        """Records per ciphertext in the packed layout: ``slots`` over a power of two ≥ blocks."""
        width = 1 << (len(self.blocks) - 1).bit_length()
        return slots // width

    def scheme(self, statistic: str) -> Scheme:
        """The scheme a stream is encrypted with."""
        if statistic == Statistic.PACKED:
            return Scheme.CKKS
        if statistic == Statistic.COUNT or (statistic == Statistic.SUM and self.exact):
            return Scheme.BFV
        return Scheme.CKKS

    def to_json(self) -> dict[str, Any]:
        """As JSON (travels in the package metadata)."""
        return {"column": self.column, "unit": self.unit, "exact": self.exact,
                "bounds": self.bounds, "packed": self.packed}  # fmt: skip


def _values(table: pa.Table, attribute: EncryptedAttribute) -> tuple[np.ndarray, np.ndarray]:
    """Scaled values (0 where missing) and the presence indicator."""
    if attribute.column not in table.column_names:
        raise InvalidSpecError(f"column {attribute.column!r} is not in the content part")
    column = table.column(attribute.column)
    try:
        values = pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
        raise InvalidSpecError(f"column {attribute.column!r} is not numeric") from e
    present = ~np.isnan(values)
    scaled = np.where(present, values, 0.0) / attribute.unit
    if (scaled < 0).any():
        raise InvalidSpecError(f"column {attribute.column!r} has negative values")
    if attribute.exact and not np.array_equal(scaled, np.round(scaled)):
        raise InvalidSpecError(
            f"column {attribute.column!r}: exact encryption needs whole multiples of the unit"
        )
    if float((scaled**2).sum() if attribute.bounds else scaled.sum()) >= _LIMIT:
        raise InvalidSpecError(
            f"column {attribute.column!r}: its totals would overflow the CKKS modulus; "
            "encrypt it in a larger unit (e.g. unit=1000)"
        )
    return scaled, present.astype(np.int64)


def _encrypt(ctx: Any, scheme: Scheme, values: np.ndarray) -> bytes:
    from ansim.encrypted._schemes import tenseal  # noqa: PLC0415 - native, lazy

    ts = tenseal()
    if scheme is Scheme.CKKS:
        return bytes(ts.ckks_vector(ctx, values.astype(np.float64).tolist()).serialize())
    return bytes(ts.bfv_vector(ctx, values.astype(np.int64).tolist()).serialize())


def encrypt_attributes(
    table: pa.Table,
    attributes: Sequence[EncryptedAttribute],
    public: Mapping[Scheme, bytes],
    parameters: Mapping[Scheme, SchemeParameters],
    *,
    project: str,
    dataset: str,
) -> pa.Table:
    """Encrypt ``attributes`` of a content part (``serial`` + columns) for the hub.

    Args:
        table: The content part (or its ``serial`` and attribute columns).
        attributes: What to encrypt.
        public: Scheme → the project's public context (never a secret one).
        parameters: Scheme → its parameters (for the slots per ciphertext).
        project: The project (metadata).
        dataset: The dataset (metadata).

    Returns:
        One row per ciphertext (:data:`CIPHERTEXT_SCHEMA`); metadata names the project,
        dataset, attributes and public-key fingerprints. Seal it as a ``ciphertexts`` package.

    Raises:
        InvalidSpecError: A column is missing, not numeric or negative, or a context is secret.
    """
    if "serial" not in table.column_names:
        raise InvalidSpecError("the content part has no serial column")
    if len({a.column for a in attributes}) != len(attributes) or not attributes:
        raise InvalidSpecError("name each encrypted attribute once")
    contexts = {s: public_context(public[s]) for s in Scheme}
    serials = table.column("serial").cast(pa.string())
    rows: dict[str, list[Any]] = {name: [] for name in CIPHERTEXT_SCHEMA.names}
    for attribute in attributes:
        scaled, present = _values(table, attribute)
        streams = {Statistic.SUM.value: scaled, Statistic.SQUARES.value: scaled**2,
                   Statistic.COUNT.value: present}  # fmt: skip
        for statistic in attribute.streams:
            scheme = attribute.scheme(statistic)
            slots = parameters[scheme].slots
            size = attribute.block(slots) if statistic == Statistic.PACKED else slots
            for chunk, start in enumerate(range(0, table.num_rows, size)):
                rows["attribute"].append(attribute.column)
                rows["statistic"].append(statistic)
                rows["chunk"].append(chunk)
                rows["serials"].append(serials.slice(start, size).to_pylist())
                data = np.zeros(slots)  # padded: every ciphertext holds ``slots`` values
                if statistic == Statistic.PACKED:  # block k: statistic k of the same records
                    for k, name in enumerate(attribute.blocks):
                        factor = PACKED_SQUARES_SCALE if name == Statistic.SQUARES else 1.0
                        part = streams[name][start : start + size] * factor
                        data[k * size : k * size + len(part)] = part
                else:
                    part = streams[statistic][start : start + slots]
                    data[: len(part)] = part
                rows["ciphertext"].append(_encrypt(contexts[scheme], scheme, data))
    meta = {
        META: json.dumps(
            {
                "attributes": [a.to_json() for a in attributes],
                "public": {s.value: fingerprint(public[s]) for s in Scheme},
                "records": table.num_rows,
            }
        ),
    }
    table = pa.table(rows, schema=CIPHERTEXT_SCHEMA)
    return label_part(table, project=project, dataset=dataset, extra=meta)
