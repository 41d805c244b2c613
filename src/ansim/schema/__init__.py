"""Dataset specs: the columns of a custodian's dataset, their types, roles and identifier kinds.

A spec is data (YAML or JSON) and round-trips, so every run is reproducible from its files.
"""

from __future__ import annotations

from ansim.schema._spec import ColumnSpec, ColumnType, DatasetSpec, IdentifierKind, Role

__all__ = ["ColumnSpec", "ColumnType", "DatasetSpec", "IdentifierKind", "Role"]
