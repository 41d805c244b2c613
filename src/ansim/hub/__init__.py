"""The hub (결합전문기관): joins content parts through the link map into a linked dataset.

It never sees identifiers or tokens: its inputs are content parts (serial + attributes) and the
link map; its store holds person ids and attributes only (serials are dropped after the join).
"""

from __future__ import annotations

from ansim.hub._combine import LinkedDataset, combine, linked_table_name
from ansim.hub._linkage_rates import linkage_rates
from ansim.hub._service import combine_files

__all__ = ["LinkedDataset", "combine", "combine_files", "linkage_rates", "linked_table_name"]
