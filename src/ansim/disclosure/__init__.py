"""Statistical disclosure control: anonymised microdata and protected tables.

Microdata: generalisation hierarchies (ARX's CSV format and built-in Korean ones), privacy
models (k-anonymity, l-diversity, t-closeness) with a record-suppression limit, and a globally
optimal lattice search under ARX's Loss metric (or entropy, discernibility, AECS); risk
measures before and after. Tables: primary suppression rules, secondary suppression (heuristic
and optimal) and an audit that solves the attacker's LP for every suppressed cell.
"""

from __future__ import annotations

from ansim.disclosure._audit import AuditResult, audit_suppression
from ansim.disclosure._builtin import (
    age_hierarchy,
    band_hierarchy,
    date_hierarchy,
    sigungu_hierarchy,
)
from ansim.disclosure._hierarchy import Hierarchy, load_hierarchies, read_hierarchy
from ansim.disclosure._metrics import QualityModel
from ansim.disclosure._microdata import (
    SUPPRESSED,
    Anonymisation,
    anonymise,
    output_columns,
    read_microdata,
    write_anonymisation,
)
from ansim.disclosure._models import (
    DistinctLDiversity,
    EntropyLDiversity,
    KAnonymity,
    PrivacyModel,
    RecursiveCLDiversity,
    TCloseness,
)
from ansim.disclosure._primary import (
    DominanceRule,
    PPercentRule,
    PrimarySuppression,
    SuppressionRule,
    ThresholdRule,
    primary_rules,
    primary_suppression,
)
from ansim.disclosure._protect import (
    SUPPRESSED_SYMBOL,
    ProtectedTable,
    protect_cells,
    protect_table,
    protected_table_files,
    write_protected_table,
    write_rounded_table,
)
from ansim.disclosure._records import QUARANTINE_FILE, Records, read_records
from ansim.disclosure._risk import RiskProfile, risk_profile, risk_report
from ansim.disclosure._rounding import RoundedTable, controlled_rounding
from ansim.disclosure._scaled import anonymise_on, encode_on, outliers_on
from ansim.disclosure._search import SearchResult
from ansim.disclosure._secondary import (
    SecondaryMethod,
    SecondarySuppression,
    secondary_suppression,
)
from ansim.disclosure._table import TOTAL, Additivity, TableCells, link_tables, tabulate

__all__ = [
    "QUARANTINE_FILE",
    "SUPPRESSED",
    "SUPPRESSED_SYMBOL",
    "TOTAL",
    "Additivity",
    "Anonymisation",
    "AuditResult",
    "DistinctLDiversity",
    "DominanceRule",
    "EntropyLDiversity",
    "Hierarchy",
    "KAnonymity",
    "PPercentRule",
    "PrimarySuppression",
    "PrivacyModel",
    "ProtectedTable",
    "QualityModel",
    "Records",
    "RecursiveCLDiversity",
    "RiskProfile",
    "RoundedTable",
    "SearchResult",
    "SecondaryMethod",
    "SecondarySuppression",
    "SuppressionRule",
    "TCloseness",
    "TableCells",
    "ThresholdRule",
    "age_hierarchy",
    "anonymise",
    "anonymise_on",
    "audit_suppression",
    "band_hierarchy",
    "controlled_rounding",
    "date_hierarchy",
    "encode_on",
    "link_tables",
    "load_hierarchies",
    "outliers_on",
    "output_columns",
    "primary_rules",
    "primary_suppression",
    "protect_cells",
    "protect_table",
    "protected_table_files",
    "read_hierarchy",
    "read_microdata",
    "read_records",
    "risk_profile",
    "risk_report",
    "secondary_suppression",
    "sigungu_hierarchy",
    "tabulate",
    "write_anonymisation",
    "write_protected_table",
    "write_rounded_table",
]
