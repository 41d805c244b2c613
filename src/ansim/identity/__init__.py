"""Custodian side: standardise identifiers, make linkage tokens and Bloom-filter encodings, split.

Only identity parts (random serials, keyed tokens and keyed Bloom-filter encodings) go to the
linkage unit; only content parts (serials and non-identifying columns) go to the hub; the serial
map stays with the custodian. Tokens and Bloom filters use separate keys derived (HKDF) from one
project :class:`LinkageSecret`; the encoding itself is described by a shared, versioned
:class:`EncodingSpec` that holds no secret.
"""

from __future__ import annotations

from ansim.identity._address import (
    AddressFacts,
    AddressForm,
    address_facts,
    bulk_sigungu_of_common,
    bulk_standardise_common,
    sigungu_matches,
    standardise_address,
)
from ansim.identity._bloom import BloomEncoding, FieldFill, encode_bloom, encode_bloom_detailed
from ansim.identity._checks import check_identifiers
from ansim.identity._columns import StandardisedColumn, standardise_array
from ansim.identity._content_scan import IDENTIFIER_PATTERNS, find_identifier_shapes, scan_content
from ansim.identity._encoding import (
    DEFAULT_DIFFUSION_TAPS,
    DEFAULT_ENCODING_SPEC,
    ENCODING_FIELDS,
    ENCODING_FORMAT,
    HARDENED_ENCODING_SPEC,
    LEGACY_FIELD_LEVEL_SPEC,
    Alphabet,
    EncodingSpec,
    FieldEncoding,
    Hardening,
)
from ansim.identity._names import NameParts, decompose_jamo, split_name
from ansim.identity._prepare import (
    DEFAULT_CHUNK_ROWS,
    ENCODING_METADATA_KEY,
    PreparedParts,
    new_serials,
    prepare,
    standardise_columns,
)
from ansim.identity._prepare_engine import prepare_on_engine
from ansim.identity._quality import QualityProblem, identifier_quality, usable_rrn, valid_kr_phone
from ansim.identity._rrn import CheckDigit, RegistrationKind, RrnFacts, rrn_check_digit, rrn_facts
from ansim.identity._secret import LinkageSecret
from ansim.identity._standardise import (
    parse_date,
    standardise_name,
    standardise_phone,
    standardise_rrn,
    standardise_sex,
)
from ansim.identity._tokens import DEFAULT_RECIPES, TokenRecipe, make_tokens

__all__ = [
    "DEFAULT_CHUNK_ROWS",
    "DEFAULT_DIFFUSION_TAPS",
    "DEFAULT_ENCODING_SPEC",
    "DEFAULT_RECIPES",
    "ENCODING_FIELDS",
    "ENCODING_FORMAT",
    "ENCODING_METADATA_KEY",
    "HARDENED_ENCODING_SPEC",
    "IDENTIFIER_PATTERNS",
    "LEGACY_FIELD_LEVEL_SPEC",
    "AddressFacts",
    "AddressForm",
    "Alphabet",
    "BloomEncoding",
    "CheckDigit",
    "EncodingSpec",
    "FieldEncoding",
    "FieldFill",
    "Hardening",
    "LinkageSecret",
    "NameParts",
    "PreparedParts",
    "QualityProblem",
    "RegistrationKind",
    "RrnFacts",
    "StandardisedColumn",
    "TokenRecipe",
    "address_facts",
    "bulk_sigungu_of_common",
    "bulk_standardise_common",
    "check_identifiers",
    "decompose_jamo",
    "encode_bloom",
    "encode_bloom_detailed",
    "find_identifier_shapes",
    "identifier_quality",
    "make_tokens",
    "new_serials",
    "parse_date",
    "prepare",
    "prepare_on_engine",
    "rrn_check_digit",
    "rrn_facts",
    "scan_content",
    "sigungu_matches",
    "split_name",
    "standardise_address",
    "standardise_array",
    "standardise_columns",
    "standardise_name",
    "standardise_phone",
    "standardise_rrn",
    "standardise_sex",
    "usable_rrn",
    "valid_kr_phone",
]
