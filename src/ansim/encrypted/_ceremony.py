"""The decryption ceremony: k named holders hand in their shares; final aggregates only.

Every step is authorised and recorded by governance: each holder's contribution is checked
against their project role (a custodian officer for their own dataset, or an output checker)
and appended to the audit chain with the key id, the share index and the fingerprint of the
aggregates to be decrypted; the decryption itself is a further audit event naming the holders.
The reconstructed key lives only inside :meth:`DecryptionCeremony.decrypt`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ansim.encrypted._aggregate import EncryptedAggregates, load_ciphertext, resized
from ansim.encrypted._columns import PACKED_SQUARES_SCALE, EncryptedAttribute, Statistic
from ansim.encrypted._escrow import KeyEscrow, KeyShare
from ansim.encrypted._schemes import Scheme, tenseal
from ansim.errors import AccessDenied, IntegrityError
from ansim.governance import Governance, Operation, Role

__all__ = ["AggregateTable", "DecryptionCeremony"]

CEREMONY = "decrypt_aggregates"


@dataclass(frozen=True, eq=False)
class AggregateTable:
    """Decrypted totals of one attribute per cell.

    Attributes:
        dimensions: The classifying columns.
        cells: The cells (every category combination).
        attribute: The attribute's column.
        count: Records with a value, per cell (exact).
        sum: Sum of the values per cell (in the attribute's own unit, e.g. KRW).
        sum_squares: Sum of squared values per cell (for the dominance and p% bounds), or
            None when not encrypted.
    """

    dimensions: tuple[str, ...]
    cells: tuple[tuple[str, ...], ...]
    attribute: str
    count: np.ndarray
    sum: np.ndarray
    sum_squares: np.ndarray | None

    def mean(self) -> np.ndarray:
        """Mean per cell (NaN where no record has a value)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.count > 0, self.sum / np.maximum(self.count, 1), np.nan)


@dataclass
class DecryptionCeremony:
    """Collect k holders' shares under governance, then decrypt final aggregates.

    Args:
        governance: The project's governance service.
        project: The project.
        escrow: The escrowed keys.
        aggregates: What will be decrypted (its fingerprint goes into every audit event).

    Example:
        See ``tests/unit/encrypted/test_ceremony.py``; the demo's ``--encrypted`` run holds one
        ceremony per published table.
    """

    governance: Governance
    project: str
    escrow: KeyEscrow
    aggregates: EncryptedAggregates
    _shares: dict[int, KeyShare] = field(default_factory=dict, repr=False)
    _holders: list[str] = field(default_factory=list)

    def contribute(self, user: str, share: KeyShare) -> None:
        """``user`` hands in their share; their role is checked and the step audited.

        Raises:
            AccessDenied: ``user`` holds no share, hands in another's, or lacks the role.
            IntegrityError: The share is for other keys.
        """
        index, holder = self.escrow.holder(user)
        if share.holder != user or share.index != index:
            raise AccessDenied(f"{user!r} may hand in only their own share")
        if share.key_id != self.escrow.key_id:
            raise IntegrityError("the share belongs to other keys")
        operation = Operation.VIEW_DATASET if holder.dataset else Operation.REVIEW_OUTPUT
        self.governance.authorize(
            user, self.project, operation, dataset=holder.dataset,
            objects={"ceremony": CEREMONY, "key_id": self.escrow.key_id, "share_index": index,
                     "aggregates": self.aggregates.digest()},
        )  # fmt: skip
        self._shares[index] = share
        if user not in self._holders:
            self._holders.append(user)

    def decrypt(self) -> list[AggregateTable]:
        """Reconstruct the key from the shares handed in and decrypt the cell totals.

        Returns:
            One table per encrypted attribute.

        Raises:
            AccessDenied: Fewer than k holders contributed.
            IntegrityError: A share is wrong, or a ciphertext holds more than one value
                (only final aggregates are ever decrypted).
        """
        if len(self._shares) < self.escrow.threshold:
            raise AccessDenied(
                f"the decryption needs {self.escrow.threshold} key holders; "
                f"{len(self._shares)} contributed"
            )
        secret = self.escrow.open(list(self._shares.values()))
        ts = tenseal()
        contexts = {s: ts.context_from(secret[s.value]) for s in Scheme}
        tables = [_decrypt_attribute(self.aggregates, a.column, a.unit, contexts)
                  for a in self.aggregates.attributes]  # fmt: skip
        del secret, contexts
        self.governance.audit.append(
            actor="+".join(self._holders), role=Role.PUBLIC.value, action=CEREMONY,
            project=self.project,
            objects={"key_id": self.escrow.key_id, "holders": self._holders,
                     "aggregates": self.aggregates.digest(), "cells": len(self.aggregates.cells),
                     "attributes": [a.column for a in self.aggregates.attributes]},
        )  # fmt: skip
        self._shares.clear()
        return tables


def _decrypt_attribute(
    aggregates: EncryptedAggregates, column: str, unit: float, contexts: dict[Scheme, Any]
) -> AggregateTable:
    n = len(aggregates.cells)
    totals = {s: np.zeros(n) for s in ("sum", "squares", "count")}
    attribute = next(a for a in aggregates.attributes if a.column == column)
    for row in aggregates.ciphertexts.to_pylist():
        if row["attribute"] != column:
            continue
        scheme = attribute.scheme(row["statistic"])
        if row["statistic"] == Statistic.PACKED:
            slots = contexts[scheme].data.seal_context().key_context_data().parms()
            data = resized(row["ciphertext"], slots.poly_modulus_degree() // 2)
            vector = load_ciphertext(contexts[scheme], scheme, data)
            for name, value in _block_totals(
                vector, attribute, row["imaginary"], contexts[scheme]
            ).items():
                totals[name][row["cell"]] = value
            continue
        vector = load_ciphertext(contexts[scheme], scheme, row["ciphertext"])
        if vector.size() != 1:
            raise IntegrityError(
                "refused: a ciphertext to decrypt holds more than one value; only final "
                "aggregates are decrypted"
            )
        totals[row["statistic"]][row["cell"]] = float(vector.decrypt()[0])
    count = np.rint(totals["count"]).astype(np.int64)
    # Counts are exact (BFV). CKKS sums carry approximation noise even for a cell with no
    # records (tens of units on squares near 1e12); an empty cell's sums are exactly zero, and
    # a sum of squares is never negative: both are facts, not estimates.
    empty = count == 0
    total = np.where(empty, 0.0, totals["sum"] * unit)
    squares = np.where(empty, 0.0, np.maximum(totals["squares"], 0.0) * unit**2)
    return AggregateTable(
        aggregates.dimensions,
        aggregates.cells,
        column,
        count,
        total,
        squares if attribute.bounds else None,
    )


_WHOLE = 0.05  # a packed count further than this from a whole number is refused


def _block_totals(
    vector: Any, attribute: EncryptedAttribute, imaginary: bool, ctx: Any
) -> dict[str, float]:
    """The totals at the block starts of a folded packed aggregate (nothing else leaves here).

    ``vector`` is loaded under the secret context ``ctx``; its slots are decoded as complex numbers
    (two cells share a ciphertext: see :func:`ansim.encrypted._aggregate._packed_totals`) and
    the real or imaginary part of each block start is the cell's total.

    Raises:
        IntegrityError: The vector does not have the packed layout, or its count is not a
            whole number (it is not a folded aggregate of 0/1 indicators).
    """
    from tenseal import sealapi  # noqa: PLC0415 - native, lazy

    slots = vector.size()
    block = attribute.block(slots)
    if slots < block * len(attribute.blocks) or block < 1:
        raise IntegrityError("refused: a packed aggregate does not have the packed layout")
    seal = ctx.data.seal_context()
    plain = sealapi.Plaintext()
    sealapi.Decryptor(seal, ctx.data.secret_key()).decrypt(vector.ciphertext()[0], plain)
    values = sealapi.CKKSEncoder(seal).decode_complex(plain)
    starts = [complex(values[k * block]) for k in range(len(attribute.blocks))]
    totals = {name: z.imag if imaginary else z.real
              for name, z in zip(attribute.blocks, starts, strict=True)}  # fmt: skip
    del values, plain, starts
    if Statistic.SQUARES.value in totals:
        totals[Statistic.SQUARES.value] /= PACKED_SQUARES_SCALE
    count = totals[Statistic.COUNT.value]
    if abs(count - round(count)) > _WHOLE:
        raise IntegrityError("refused: a packed count is not a whole number (not an aggregate)")
    return totals
