"""Table protection end to end: tabulate, primary rules, secondary suppression, audit, write."""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from ansim._atomic import write_bytes_atomic
from ansim._safecsv import write_table_csv
from ansim.disclosure._audit import AuditResult, audit_suppression
from ansim.disclosure._hierarchy import Hierarchy
from ansim.disclosure._primary import PrimarySuppression, SuppressionRule, primary_suppression
from ansim.disclosure._rounding import RoundedTable
from ansim.disclosure._secondary import (
    SecondaryMethod,
    SecondarySuppression,
    secondary_suppression,
)
from ansim.disclosure._table import TableCells, tabulate
from ansim.errors import DisclosureCheckFailed

__all__ = [
    "SUPPRESSED_SYMBOL",
    "ProtectedTable",
    "protect_cells",
    "protect_table",
    "protected_table_files",
    "write_protected_table",
    "write_rounded_table",
]

SUPPRESSED_SYMBOL = "x"
"""What ``table.csv`` shows for every withheld cell, whatever the reason."""


@dataclass(frozen=True, eq=False)
class ProtectedTable:
    """A table with its suppression pattern and the audit that proves it.

    Attributes:
        cells: the table.
        primary: sensitive cells and their protection levels.
        suppression: the cells withheld.
        audit: the attacker-LP intervals of every withheld cell.
        rules: the primary rules, described.
    """

    cells: TableCells
    primary: PrimarySuppression
    suppression: SecondarySuppression
    audit: AuditResult
    rules: tuple[str, ...]

    def status(self) -> list[str]:
        """Per cell: ``published``, ``primary`` or ``secondary``."""
        return [
            "primary" if p else "secondary" if s else "published"
            for p, s in zip(self.primary.sensitive, self.suppression.suppressed, strict=True)
        ]

    def summary(self) -> dict[str, Any]:
        """Counts and the audit verdict (no cell values)."""
        widths = self.audit.upper - self.audit.lower
        return {
            "cells": self.cells.cells,
            "equations": len(self.cells.equations),
            "primary": int(self.primary.sensitive.sum()),
            "secondary": int(self.suppression.secondary.sum()),
            "method": self.suppression.method.value,
            "proven_optimal": self.suppression.proven_optimal,
            "secondary_value": self.suppression.cost,
            "rules": list(self.rules),
            "audit_passed": self.audit.passed,
            "audited_cells": len(self.audit.cells),
            "narrowest_interval": float(widths.min()) if len(widths) else None,
        }


def protect_table(
    table: pa.Table,
    dimensions: Sequence[str],
    rules: Sequence[SuppressionRule],
    *,
    value: str | None = None,
    contributor: str | None = None,
    hierarchies: Mapping[str, Hierarchy] | None = None,
    method: SecondaryMethod = SecondaryMethod.HEURISTIC,
) -> ProtectedTable:
    """Tabulate ``table`` and protect it; refuse to return a pattern the audit rejects.

    Raises:
        InvalidSpecError: bad columns, values or rules.
        DisclosureCheckFailed: the audit found a sensitive cell the pattern does not protect.

    Example:
        >>> from ansim.disclosure import ThresholdRule
        >>> t = pa.table({"si": ["A"] * 5 + ["B"] + ["C"] * 6})
        >>> protect_table(t, ["si"], [ThresholdRule(3)]).status()
        ['secondary', 'primary', 'published', 'published']
    """
    cells = tabulate(
        table, dimensions, value=value, hierarchies=hierarchies, contributor=contributor
    )
    return protect_cells(cells, rules, method=method)


def protect_cells(
    cells: TableCells,
    rules: Sequence[SuppressionRule],
    *,
    method: SecondaryMethod = SecondaryMethod.HEURISTIC,
) -> ProtectedTable:
    """Protect prepared cells (one table, or linked tables from :func:`link_tables`).

    Raises:
        InvalidSpecError: no rules, or the optimal method on too large a table.
        DisclosureCheckFailed: the audit found a sensitive cell the pattern does not protect.
    """
    primary = primary_suppression(cells, rules)
    suppression = secondary_suppression(cells, primary, method)
    audit = audit_suppression(cells, suppression.suppressed, primary)
    if not audit.passed:
        raise DisclosureCheckFailed(
            f"{len(audit.failing())} sensitive cell(s) can be recovered too closely; "
            "do not release this table"
        )
    return ProtectedTable(cells, primary, suppression, audit, tuple(repr(r) for r in rules))


def _number(value: float) -> str:
    """A cell value as text: integers without a decimal point, others in full."""
    number = float(value)
    return str(int(number)) if number.is_integer() else repr(number)


def _table_files(
    cells: TableCells,
    values: pa.Array | np.ndarray,
    *,
    delimiter: str,
    report: Mapping[str, Any],
) -> dict[str, bytes]:
    """``table.csv`` (one row per cell: its labels and value) and ``report.json``, as bytes."""
    columns: dict[str, Any] = {
        d: [label[i] for label in cells.labels] for i, d in enumerate(cells.dimensions)
    }
    columns["value"] = values
    sink = io.BytesIO()
    # For people: formula-like labels are neutralised; values are numbers or ``x`` as they are.
    write_table_csv(pa.table(columns), sink, delimiter=delimiter)
    text = json.dumps(report, indent=2, ensure_ascii=False) + "\n"
    return {"table.csv": sink.getvalue(), "report.json": text.encode("utf-8")}


def _write_files(files: Mapping[str, bytes], out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        write_bytes_atomic(data, out / name)
    return out / "table.csv"


def protected_table_files(
    protected: ProtectedTable,
    *,
    delimiter: str = ",",
    extra: Mapping[str, Any] | None = None,
) -> dict[str, bytes]:
    """The files :func:`write_protected_table` writes, as bytes (for the release service).

    Example:
        >>> from ansim.disclosure import ThresholdRule
        >>> t = pa.table({"si": ["A"] * 5 + ["B"] + ["C"] * 6})
        >>> files = protected_table_files(protect_table(t, ["si"], [ThresholdRule(3)]))
        >>> files["table.csv"].decode().splitlines()
        ['"si","value"', '"A","x"', '"B","x"', '"C","6"', '"Total","12"']
    """
    cells = protected.cells
    hidden = protected.suppression.suppressed
    values = pa.array(
        [SUPPRESSED_SYMBOL if h else _number(v) for h, v in zip(hidden, cells.values, strict=True)]
    )
    statuses = protected.status()
    report = (
        protected.summary()
        | {
            "suppressed_symbol": SUPPRESSED_SYMBOL,
            "status": [
                {**dict(zip(cells.dimensions, label, strict=True)), "status": status}
                for label, status in zip(cells.labels, statuses, strict=True)
            ],
        }
        | dict(extra or {})
    )
    return _table_files(cells, values, delimiter=delimiter, report=report)


def write_protected_table(
    protected: ProtectedTable,
    out: Path,
    *,
    delimiter: str = ",",
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``table.csv`` (every withheld cell as ``x``) and ``report.json`` (the statuses).

    The published table carries one symbol for every withheld cell, as τ-ARGUS does: telling
    ``primary`` from ``secondary`` would say which cells broke a rule (under a threshold rule,
    1 to n − 1 versus 0 or at least n), and those bounds recover a small table's hidden cells.
    Each cell's status stays in ``report.json``, which the hub keeps.

    Returns:
        The path of the CSV written.
    """
    files = protected_table_files(protected, delimiter=delimiter, extra=extra)
    return _write_files(files, out)


def write_rounded_table(
    rounded: RoundedTable,
    out: Path,
    *,
    delimiter: str = ",",
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Write a controlled-rounded ``table.csv`` and its ``report.json``.

    Returns:
        The path of the CSV written.
    """
    cells = rounded.cells
    report = {
        "cells": cells.cells,
        "equations": len(cells.equations),
        "method": "controlled rounding",
        "base": rounded.base,
        "cells_changed": rounded.changed,
        "total_change": rounded.total_change,
    } | dict(extra or {})
    values = rounded.values.astype(np.int64)
    return _write_files(_table_files(cells, values, delimiter=delimiter, report=report), out)
