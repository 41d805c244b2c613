"""Release: statistics that leave the hub, protected before they do.

A rate table with threshold suppression, and the project's one release path: every published
number is submitted to :class:`ReleaseService`, approved by two checkers other than its author,
and released only if the ledger's attacker LP (:func:`audit_ledger`) over everything the project
has released finds no small group bounded too tightly.
"""

from __future__ import annotations

from ansim.release._ledger import AtomExposure, LedgerAudit, ReleasedCells, audit_ledger
from ansim.release._path import (
    PORTAL_FILE,
    Candidate,
    ProjectLedger,
    Published,
    ReleaseKind,
    ReleaseService,
    ReleaseStatus,
    Submission,
)
from ansim.release._rates import (
    SUPPRESSED_SYMBOL,
    RateTableSpec,
    ReleasedTable,
    cell_name,
    rate_table,
    release_files,
    write_release,
)
from ansim.release._withhold import vet_rate_table, withhold_exposing

__all__ = [
    "PORTAL_FILE",
    "SUPPRESSED_SYMBOL",
    "AtomExposure",
    "Candidate",
    "LedgerAudit",
    "ProjectLedger",
    "Published",
    "RateTableSpec",
    "ReleaseKind",
    "ReleaseService",
    "ReleaseStatus",
    "ReleasedCells",
    "ReleasedTable",
    "Submission",
    "audit_ledger",
    "cell_name",
    "rate_table",
    "release_files",
    "vet_rate_table",
    "withhold_exposing",
    "write_release",
]
