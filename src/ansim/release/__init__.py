"""Release: statistics that leave the hub, protected before they do.

This first release is a rate table with threshold suppression; review, secondary suppression,
differential privacy and the release ledger come with the disclosure-control and workspace work.
"""

from __future__ import annotations

from ansim.release._rates import RateTableSpec, ReleasedTable, rate_table, write_release

__all__ = ["RateTableSpec", "ReleasedTable", "rate_table", "write_release"]
