"""Event rates per population (e.g. confirmed cases per 100,000) with small cells suppressed."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import ibis
import pyarrow as pa

from ansim._atomic import write_bytes_atomic
from ansim._safecsv import safe_csv_text
from ansim.engine import QueryEngine
from ansim.errors import HubError, InvalidSpecError
from ansim.hub import linked_table_name
from ansim.regions import GYEONGGI_SIGUNGU

__all__ = [
    "SUPPRESSED_SYMBOL",
    "RateTableSpec",
    "ReleasedTable",
    "cell_name",
    "rate_table",
    "release_files",
    "write_release",
]

SUPPRESSED_SYMBOL = "x"
"""What the published CSV shows for a withheld count or rate (as τ-ARGUS and KOSIS do)."""


@dataclass(frozen=True)
class RateTableSpec:
    """Which rate table to release, and how it is protected.

    Args:
        events: Dataset whose persons count as events (e.g. confirmed cases).
        population: Dataset that defines the population and its groups (the register).
        region: Population column with the si/gun code.
        age: Population column with age in years.
        sex: Population column with sex.
        band_width: Years per age band.
        top_band: Lowest age of the open top band (``80`` gives ``80+``).
        per: Rate base (100,000 gives cases per 100,000).
        threshold: Cells with fewer events or fewer people than this are suppressed.

    Example:
        >>> RateTableSpec(threshold=0)
        Traceback (most recent call last):
        ...
        ansim.errors.InvalidSpecError: threshold must be at least 1, got 0
    """

    events: str = "gyeonggi_cases"
    population: str = "kostat_register"
    region: str = "sigungu_code"
    age: str = "age"
    sex: str = "sex"
    band_width: int = 10
    top_band: int = 80
    per: int = 100_000
    threshold: int = 10

    def __post_init__(self) -> None:
        if self.threshold < 1:
            raise InvalidSpecError(f"threshold must be at least 1, got {self.threshold}")
        if self.band_width < 1 or self.top_band < self.band_width:
            raise InvalidSpecError("band_width must be ≥ 1 and top_band ≥ band_width")
        if self.per < 1:
            raise InvalidSpecError("per must be a positive rate base such as 100000")


@dataclass(frozen=True)
class ReleasedTable:
    """A protected table ready to publish.

    Attributes:
        table: One row per cell; suppressed cells have no counts or rate. Its ``status``
            column is for the hub: the published CSV shows ``x`` instead.
        summary: What was released and how it was protected (published with the table).
        diagnostics: Totals for the hub's own checks; never published (they would let a
            reader recover suppressed cells by subtraction).
        members: Per published number (``population <cell>`` and ``cases <cell>``), the
            person ids it counts: what the project's release ledger audits. Never published.
    """

    table: pa.Table
    summary: dict[str, Any]
    diagnostics: dict[str, int] = field(default_factory=dict)
    members: dict[str, frozenset[str]] = field(default_factory=dict)


def _age_band(age: ibis.Value, spec: RateTableSpec) -> ibis.Value:
    low = (age // spec.band_width) * spec.band_width
    label = low.cast("string").concat("-", (low + spec.band_width - 1).cast("string"))
    return ibis.ifelse(age >= spec.top_band, f"{spec.top_band}+", label)


def rate_table(engine: QueryEngine, spec: RateTableSpec | None = None) -> ReleasedTable:
    """Events per ``per`` persons by si/gun × age band × sex, small cells suppressed.

    Each population person counts once (duplicates in the register share a person id); a person
    is an event if any record of the events dataset is linked to them. Cells with fewer than
    ``threshold`` events or persons are suppressed: counts and rate are withheld.

    Args:
        engine: The hub's store holding the linked dataset.
        spec: The table to make (default: confirmed cases per 100,000 in the register).

    Returns:
        The protected table and its summary.

    Raises:
        HubError: The linked dataset lacks the tables or columns named by the spec.
    """
    spec = spec or RateTableSpec()
    stored = set(engine.list_tables())
    for dataset in (spec.events, spec.population):
        if linked_table_name(dataset) not in stored:
            raise HubError(f"the hub has no linked dataset {dataset!r}: run 'ansim hub combine'")
    pop = engine.table(linked_table_name(spec.population))
    missing = [c for c in (spec.region, spec.age, spec.sex) if c not in pop.columns]
    if missing:
        raise HubError(f"{spec.population!r} has no columns {missing}")
    people = pop.group_by("person_id").agg(
        region=pop[spec.region].arbitrary(), age=pop[spec.age].max(), sex=pop[spec.sex].arbitrary()
    )
    ev = engine.table(linked_table_name(spec.events))
    event_persons = ev.select("person_id").distinct().mutate(event=ibis.literal(1))
    joined = people.left_join(event_persons, "person_id")
    banded = joined.mutate(age_band=_age_band(joined.age, spec))
    cells = (
        banded.group_by(["region", "age_band", "sex"])
        .agg(population=banded.count(), events=banded.event.sum().fill_null(0))
        .order_by(["region", "age_band", "sex"])
    )
    rows = engine.to_pyarrow(cells).to_pylist()
    events_total = engine.count(ev.select("person_id").distinct())
    linked_events = engine.count(joined.filter(joined.event == 1))
    released = _protect(rows, spec, events_total, linked_events)
    persons = engine.to_pyarrow(banded.select("person_id", "region", "age_band", "sex", "event"))
    return replace(released, members=_members(persons, released))


def cell_name(region: object, age_band: object, sex: object) -> str:
    """The name of a rate-table cell, as the release ledger records it.

    Example:
        >>> cell_name("41110", "30-39", "F")
        '41110/30-39/F'
    """
    return f"{region}/{age_band}/{sex}"


def _members(persons: pa.Table, released: ReleasedTable) -> dict[str, frozenset[str]]:
    """The person ids behind each published count (population and cases of each cell)."""
    shown = {
        cell_name(r["sigungu_code"], r["age_band"], r["sex"])
        for r in released.table.to_pylist()
        if r["status"] == "published"
    }
    groups: dict[str, set[str]] = {}
    for p in persons.to_pylist():
        cell = cell_name(p["region"], p["age_band"], p["sex"])
        if cell not in shown:
            continue
        groups.setdefault(f"population {cell}", set()).add(str(p["person_id"]))
        if p["event"] == 1:
            groups.setdefault(f"cases {cell}", set()).add(str(p["person_id"]))
    return {name: frozenset(ids) for name, ids in sorted(groups.items())}


def _protect(
    rows: list[dict[str, Any]], spec: RateTableSpec, events_total: int, linked_events: int
) -> ReleasedTable:
    out: dict[str, list[Any]] = {
        k: []
        for k in (
            "sigungu_code", "sigungu_name", "age_band", "sex",
            "population", "cases", "rate_per_100k", "status",
        )
    }  # fmt: skip
    suppressed = 0
    for row in rows:
        small = row["events"] < spec.threshold or row["population"] < spec.threshold
        suppressed += small
        region = GYEONGGI_SIGUNGU.get(str(row["region"]))
        out["sigungu_code"].append(row["region"])
        out["sigungu_name"].append(region.name_ko if region else None)
        out["age_band"].append(row["age_band"])
        out["sex"].append(row["sex"])
        out["population"].append(None if small else row["population"])
        out["cases"].append(None if small else row["events"])
        rate = round(row["events"] / row["population"] * spec.per, 1)
        out["rate_per_100k"].append(None if small else rate)
        out["status"].append("suppressed" if small else "published")
    summary = {
        "table": f"{spec.events} per {spec.per:,} {spec.population} persons",
        "spec": asdict(spec),
        "cells": len(rows),
        "cells_suppressed": suppressed,
        "protection": f"threshold: cells with fewer than {spec.threshold} events or persons "
        "suppressed; no totals or margins are published, so no suppressed cell can be "
        "recovered by subtraction within this table; released through the project's release "
        "service, the ledger audits it against everything the project has released",
    }
    # Totals would let anyone subtract the published cells and recover a suppressed one: they
    # stay in the hub as diagnostics and are never written beside the table.
    diagnostics = {"event_persons": events_total, "event_persons_in_population": linked_events}
    return ReleasedTable(pa.table(out), summary, diagnostics)


def release_files(released: ReleasedTable, name: str) -> dict[str, bytes]:
    """The files :func:`write_release` writes, as bytes: ``<name>.csv`` and ``<name>.json``.

    Every withheld number is ``x`` and the CSV has no status column: one symbol for every
    suppressed cell, whatever the reason, so a reader learns nothing from how it was withheld.
    """
    published = released.table.drop_columns(["status"])
    withheld = dict.fromkeys(("population", "cases", "rate_per_100k"), SUPPRESSED_SYMBOL)
    rows = [
        list((row | withheld if status != "published" else row).values())
        for row, status in zip(
            published.to_pylist(), released.table.column("status").to_pylist(), strict=True
        )
    ]
    text = safe_csv_text(published.column_names, rows)  # safe to open: labels neutralised
    summary = json.dumps(released.summary, ensure_ascii=False, indent=2)
    # UTF-8 with BOM, so spreadsheet programs read Hangul.
    return {
        f"{name}.csv": text.encode("utf-8-sig"),
        f"{name}.json": summary.encode("utf-8"),
    }


def write_release(released: ReleasedTable, path: Path) -> Path:
    """Write the table as UTF-8 CSV (with BOM) and its summary beside it.

    Args:
        released: The protected table.
        path: CSV destination; the summary goes beside it as ``<name>.json``.

    Returns:
        The CSV path.
    """
    files = release_files(released, path.stem)
    write_bytes_atomic(files[f"{path.stem}.csv"], path)
    write_bytes_atomic(files[f"{path.stem}.json"], path.with_suffix(".json"))
    return path
