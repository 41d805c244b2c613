"""Release: statistics that leave the hub, protected before they do.

This first release is a rate table with threshold suppression; review, secondary suppression,
differential privacy and the release ledger come with the disclosure-control and workspace work.
"""

from __future__ import annotations

from ansim.release._ledger import AtomExposure, LedgerAudit, ReleasedCells, audit_ledger
from ansim.release._rates import (
    SUPPRESSED_SYMBOL,
    RateTableSpec,
    ReleasedTable,
    cell_name,
    rate_table,
    write_release,
)

__all__ = [
    "SUPPRESSED_SYMBOL",
    "AtomExposure",
    "LedgerAudit",
    "RateTableSpec",
    "ReleasedCells",
    "ReleasedTable",
    "audit_ledger",
    "cell_name",
    "rate_table",
    "write_release",
]
