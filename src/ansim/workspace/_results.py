"""Release bundles: each output as CSV, a results file in ACRO's ``results.json`` layout, checksums.

The results file follows ACRO's ``finalise_json`` record layout (``version``, ``results`` keyed
by output id with ``uid``, ``status``, ``type``, ``properties``, ``files[].sdc`` with ACRO's
``summary`` and ``cells`` keys, ``outcome``, ``command``, ``summary``, ``timestamp``,
``comments``, ``exception``); Ansim's extra rules (top-1 share, extremes, differencing, residual
degrees of freedom) are added under ``sdc.ansim``. Checksums are written both as ACRO does
(``checksums/<file>.txt``) and as one ``SHA256SUMS`` file.
"""

from __future__ import annotations

import hashlib
import json
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from ansim._atomic import write_text_atomic
from ansim._safecsv import safe_csv_text
from ansim.workspace._checks import CheckResult
from ansim.workspace._outputs import Output

__all__ = ["acro_record", "write_bundle"]

# Ansim rule → ACRO's name for it (ACRO has no top-1, extremes, class, dof or differencing key).
_ACRO_NAMES = {
    "threshold": "MinimumThresholdCheck",
    "p_percent": "PPercentCheck",
    "dominance": "NKCheck",
    "same_values": "all-values-are-same",
}
ACRO_FORMAT_VERSION = "1.0.2"
"""The ACRO release whose ``results.json`` layout the bundle follows (ACRO's loader checks it)."""


def _positions(output: Output, result: CheckResult) -> list[list[int]]:
    dims = output.columns[:-1]
    names = {
        "; ".join(f"{d}={v}" for d, v in zip(dims, row[:-1], strict=True)): i
        for i, row in enumerate(output.rows)
    }
    value_column = len(output.columns) - 1
    return [[names[c], value_column] for c in result.failing if c in names]


def _sdc(output: Output) -> dict[str, Any]:
    by_rule = {r.rule: r for r in output.report.results}
    summary: dict[str, Any] = {"suppressed": False, "negative": 0, "missing": 0}
    cells: dict[str, Any] = {"negative": [], "missing": []}
    for ours, theirs in _ACRO_NAMES.items():
        result = by_rule.get(ours)
        positions = _positions(output, result) if result else []
        summary[theirs] = len(result.failing) if result else 0
        cells[theirs] = positions
    extra = {
        r.rule: {"passed": r.passed, "failing": list(r.failing)}
        for r in output.report.results
        if r.rule not in _ACRO_NAMES
    }
    return {"summary": summary, "cells": cells, "ansim": extra}


def _summary(output: Output) -> str:
    if output.report.passed:
        return "pass"
    parts = [
        f"{r.rule}: {len(r.failing)} cells may need suppressing"
        for r in output.report.results
        if not r.passed
    ]
    return "fail; " + "; ".join(parts) + "; "


def acro_record(output: Output, file_name: str) -> dict[str, Any]:
    """One output as an ACRO ``results.json`` record.

    Args:
        output: The output.
        file_name: Its CSV file's name in the bundle.

    Returns:
        The record.
    """
    failing = {c for r in output.report.results for c in r.failing}
    dims = output.columns[:-1]
    outcome = {
        output.columns[-1]: {
            str(i): "; ".join(
                r.rule for r in output.report.results
                if "; ".join(f"{d}={v}" for d, v in zip(dims, row[:-1], strict=True)) in r.failing
            ) or "ok"
            for i, row in enumerate(output.rows)
        }
    } if failing else {}  # fmt: skip
    kind = "regression" if output.statistic == "model" else "table"
    properties: dict[str, Any] = {
        "method": output.method,
        "sql": output.sql,
        "views": output.views,
        "row_count": output.row_count,
        "person_count": output.person_count,
    }
    return {
        "uid": output.id,
        "status": "pass" if output.report.passed else "fail",
        "type": kind,
        "properties": properties,
        "files": [{"name": file_name, "sdc": _sdc(output)}],
        "outcome": outcome,
        "command": output.command,
        "summary": _summary(output),
        "timestamp": output.created,
        "comments": [f"{r.reviewer}: {r.comment}" for r in output.reviews if r.comment],
        "exception": output.exception,
        "fair": {},  # ACRO's FAIR-metadata block: nothing to declare yet
    }


def _csv(output: Output) -> str:
    """The output as CSV for people: formula-like labels neutralised, numbers as numbers."""
    return safe_csv_text(output.columns, output.rows)


def _tool() -> dict[str, str]:
    try:
        ansim_version = version("ansim")
    except PackageNotFoundError:  # running from a source tree
        ansim_version = "unknown"
    return {"@type": "SoftwareApplication", "name": "Ansim", "version": ansim_version}


def write_bundle(outputs: list[Output], directory: Path) -> dict[str, str]:
    """Write a release bundle: ``<id>.csv`` per output, ``results.json`` and checksums.

    Args:
        outputs: The released outputs.
        directory: The bundle's directory (created).

    Returns:
        File name → SHA-256 of every file in the bundle (checksum files excepted).
    """
    texts = {f"{o.id}.csv": _csv(o) for o in outputs}
    results = {
        # ACRO's loader accepts only its own version: the file states the layout it follows
        # and names Ansim as the tool, as ACRO's own files name ACRO.
        "version": ACRO_FORMAT_VERSION,
        "tool": _tool(),
        "results": {o.id: acro_record(o, f"{o.id}.csv") for o in outputs},
    }
    texts["results.json"] = json.dumps(results, ensure_ascii=False, indent=4, default=str)
    sums: dict[str, str] = {}
    for name, text in texts.items():
        write_text_atomic(text, directory / name)
        sums[name] = hashlib.sha256(text.encode("utf-8")).hexdigest()
        write_text_atomic(sums[name], directory / "checksums" / f"{name}.txt")
    write_text_atomic(
        "".join(f"{digest}  {name}\n" for name, digest in sorted(sums.items())),
        directory / "SHA256SUMS",
    )
    return sums
