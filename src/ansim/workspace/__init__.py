"""The hub workspace (안심구역): vetted SQL, checked analyses, output review and release.

Analysts query their project's views with read-only SQL (parsed and allow-listed, then run on a
locked-down DuckDB sandbox in a worker process under OS resource limits; what a free query shows
is the project's row-access policy: a dummy twin by default, from declared domains or, as a
project option, DP synthetic data paid from the project's privacy budget) and run checked
analyses — tables, pivot tables, histograms, survival tables, OLS and logit models. Every
result is an :class:`Output` held in the hub with a disclosure-check report (threshold with zeros,
(n,k) dominance, a top-1 share rule, p %, extremes, class disclosure, residual degrees of
freedom, differencing against the release ledger). Output checkers review the queue; approved
outputs are released as a bundle with checksums and an ACRO-compatible ``results.json``.
"""

from __future__ import annotations

from ansim.workspace._analyses import (
    ModelResult,
    TableResult,
    fit_model,
    histogram_table,
    survival_table,
    tabulate,
)
from ansim.workspace._checks import CellStats, CheckReport, CheckResult, check_model, check_table
from ansim.workspace._differencing import TOTAL_CELL, differencing_check
from ansim.workspace._dp_twin import (
    MAX_BANDS,
    OTHER_LABEL,
    TWIN_FOLDER,
    TwinBuild,
    content_version,
    dp_twin,
    twin_label,
    twin_reports,
)
from ansim.workspace._outputs import Output, OutputStatus, OutputStore, ReviewDecision
from ansim.workspace._policy import CheckPolicy, strictest
from ansim.workspace._results import acro_record, write_bundle
from ansim.workspace._review import Release, Review
from ansim.workspace._sql import tables_read, vet_sql
from ansim.workspace._twin import (
    DUMMY_LABEL,
    ColumnDomain,
    domains_from_spec,
    dummy_twin,
    named_default,
)
from ansim.workspace._worker import ResourceLimits, SandboxWorker
from ansim.workspace._workspace import QueryAnswer, Workspace, view_name

__all__ = [
    "DUMMY_LABEL",
    "MAX_BANDS",
    "OTHER_LABEL",
    "TOTAL_CELL",
    "TWIN_FOLDER",
    "CellStats",
    "CheckPolicy",
    "CheckReport",
    "CheckResult",
    "ColumnDomain",
    "ModelResult",
    "Output",
    "OutputStatus",
    "OutputStore",
    "QueryAnswer",
    "Release",
    "ResourceLimits",
    "Review",
    "ReviewDecision",
    "SandboxWorker",
    "TableResult",
    "TwinBuild",
    "Workspace",
    "acro_record",
    "check_model",
    "check_table",
    "content_version",
    "differencing_check",
    "domains_from_spec",
    "dp_twin",
    "dummy_twin",
    "fit_model",
    "histogram_table",
    "named_default",
    "strictest",
    "survival_table",
    "tables_read",
    "tabulate",
    "twin_label",
    "twin_reports",
    "vet_sql",
    "view_name",
    "write_bundle",
]
