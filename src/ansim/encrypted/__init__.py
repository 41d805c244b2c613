"""The encrypted mode: aggregation on ciphertexts and linkage by private set intersection.

Custodians encrypt chosen numeric attributes under the project's public keys (CKKS for amounts,
BFV for exact counts; TenSEAL over Microsoft SEAL, batched 4096 values per ciphertext)
(:func:`encrypt_attributes`) and send them as signed, encrypted ``ciphertexts`` packages. The
hub joins them through its linked records and computes every cell's total on ciphertexts
(:func:`aggregate_encrypted`). The decryption key is escrowed, its escrow key split k-of-n
among named holders with Shamir's secret sharing (:func:`split_key`); k holders hand in their
shares in an audited :class:`DecryptionCeremony` that decrypts final aggregates only, and the
results go through the disclosure checks (:func:`protect_aggregates`). For exact keys
(business registration numbers, :func:`standardise_brn`) two custodians link without a linkage
unit by private set intersection (:func:`overlap_size`, :func:`joined_serials`).
"""

from __future__ import annotations

from ansim.encrypted._aggregate import EncryptedAggregates, aggregate_encrypted
from ansim.encrypted._brn import brn_check_digit, standardise_brn
from ansim.encrypted._ceremony import AggregateTable, DecryptionCeremony
from ansim.encrypted._columns import (
    CIPHERTEXT_SCHEMA,
    EncryptedAttribute,
    Statistic,
    encrypt_attributes,
)
from ansim.encrypted._escrow import (
    KeyEscrow,
    KeyHolder,
    KeyShare,
    open_share,
    seal_shares,
    split_key,
)
from ansim.encrypted._keys import ProjectEncryption
from ansim.encrypted._protect import (
    DEFAULT_RULES,
    PublishedTable,
    compare_tables,
    plaintext_aggregates,
    protect_aggregates,
)
from ansim.encrypted._psi import PsiTranscript, joined_serials, overlap_size
from ansim.encrypted._schemes import BFV, CKKS, ProjectCipherKeys, Scheme, SchemeParameters

__all__ = [
    "BFV",
    "CIPHERTEXT_SCHEMA",
    "CKKS",
    "DEFAULT_RULES",
    "AggregateTable",
    "DecryptionCeremony",
    "EncryptedAggregates",
    "EncryptedAttribute",
    "KeyEscrow",
    "KeyHolder",
    "KeyShare",
    "ProjectCipherKeys",
    "ProjectEncryption",
    "PsiTranscript",
    "PublishedTable",
    "Scheme",
    "SchemeParameters",
    "Statistic",
    "aggregate_encrypted",
    "brn_check_digit",
    "compare_tables",
    "encrypt_attributes",
    "joined_serials",
    "open_share",
    "overlap_size",
    "plaintext_aggregates",
    "protect_aggregates",
    "seal_shares",
    "split_key",
    "standardise_brn",
]
