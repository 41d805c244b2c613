"""Files that travel between parties: parts, sealed for their recipient and signed by their sender.

A part is a Parquet file whose metadata names its dataset, kind of part and project. Between
parties it travels as a sealed package (:func:`seal_table`, :func:`open_package`): encrypted for
the recipient (X25519 + AES-256-GCM), signed by the sender (Ed25519), refused if altered,
replayed, misaddressed or from an untrusted party. Keys live in per-party key stores
(:class:`PartyKeyStore`).
"""

from __future__ import annotations

from ansim.packages._exchange import introduce, receive_inbox, receive_packages, seal_part
from ansim.packages._keys import PartyKeyStore, PartyPublicKeys
from ansim.packages._parts import Part, read_part
from ansim.packages._seal import (
    PACKAGE_SUFFIX,
    PackageHeader,
    SealedPackage,
    open_package,
    read_package_header,
    seal_table,
)

__all__ = [
    "PACKAGE_SUFFIX",
    "PackageHeader",
    "Part",
    "PartyKeyStore",
    "PartyPublicKeys",
    "SealedPackage",
    "introduce",
    "open_package",
    "read_package_header",
    "read_part",
    "receive_inbox",
    "receive_packages",
    "seal_part",
    "seal_table",
]
