"""Files that travel between parties: parts, sealed for their recipient and signed by their sender.

A part is a Parquet file whose metadata names its dataset, kind of part and project; this
package alone knows that format (:func:`label_part`, :func:`part_label`, :func:`read_part`). Between
parties it travels as a sealed package (:func:`seal_table`, :func:`open_package`): encrypted for
the recipient (X25519 + AES-256-GCM), signed by the sender (Ed25519), refused if altered,
replayed, misaddressed or from an untrusted party. Keys live in per-party key stores
(:class:`PartyKeyStore`).
"""

from __future__ import annotations

from ansim.packages._exchange import (
    introduce,
    packages_in,
    receive_inbox,
    receive_packages,
    seal_part,
)
from ansim.packages._keys import PartyKeyStore, PartyPublicKeys
from ansim.packages._parts import (
    ENCODING_METADATA_KEY,
    Part,
    PartInfo,
    PartLabel,
    inspect_part,
    label_part,
    part_extra,
    part_label,
    read_part,
)
from ansim.packages._seal import (
    PACKAGE_SUFFIX,
    PackageHeader,
    SealedPackage,
    open_package,
    read_package_header,
    seal_table,
)

__all__ = [
    "ENCODING_METADATA_KEY",
    "PACKAGE_SUFFIX",
    "PackageHeader",
    "Part",
    "PartInfo",
    "PartLabel",
    "PartyKeyStore",
    "PartyPublicKeys",
    "SealedPackage",
    "inspect_part",
    "introduce",
    "label_part",
    "open_package",
    "packages_in",
    "part_extra",
    "part_label",
    "read_package_header",
    "read_part",
    "receive_inbox",
    "receive_packages",
    "seal_part",
    "seal_table",
]
