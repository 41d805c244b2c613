"""Custodian side: standardise identifiers, make linkage tokens, split records into parts.

Only identity parts (random serials and keyed tokens) go to the linkage unit; only content parts
(serials and non-identifying columns) go to the hub; the serial map stays with the custodian.
"""

from __future__ import annotations

from ansim.identity._prepare import (
    PART_METADATA_KEYS,
    PreparedParts,
    new_serials,
    prepare,
    standardise_columns,
)
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
    "DEFAULT_RECIPES",
    "PART_METADATA_KEYS",
    "LinkageSecret",
    "PreparedParts",
    "TokenRecipe",
    "make_tokens",
    "new_serials",
    "parse_date",
    "prepare",
    "standardise_columns",
    "standardise_name",
    "standardise_phone",
    "standardise_rrn",
    "standardise_sex",
]
