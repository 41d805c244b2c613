"""A project's DP release goes through the project's one release path, like every other.

:func:`dp_candidate` turns one paid-for DP table into a
:class:`~ansim.release.Candidate`: the table's CSV (cell columns, ``estimate``, ``ci_low``,
``ci_high``), its JSON (ρ, ε, δ, privacy unit, mechanism, the spend that paid for it) and a
``portal.json`` :class:`~ansim.portal.PublishedTable` whose cells carry the mechanism's 95%
intervals. :func:`submit_dp_release` submits one candidate per table to the project's
:class:`~ansim.release.ReleaseService`; nothing is published until two output checkers, neither
the author, approve it and one of them releases it.

A DP table adds no exact count to the release ledger (its candidate lists no cells): the noise
and the project's privacy budget, charged once when the data were read, are its protection.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow.csv as pacsv

from ansim.errors import InvalidSpecError
from ansim.privacy._release import DPRelease, release_dp
from ansim.privacy._spec import ReleaseSpec
from ansim.privacy._statistics import DPTable

if TYPE_CHECKING:
    from collections.abc import Callable

    from ibis.expr.types import Table

    from ansim.engine import Engine
    from ansim.governance import Governance
    from ansim.release import Candidate, ReleaseService, Submission

__all__ = [
    "PortalFacts",
    "dp_candidate",
    "portal_facts",
    "portal_table_id",
    "release_for_review",
    "review_hint",
    "submit_dp_release",
]

_VALUES = ("estimate", "ci_low", "ci_high")
_ID_PART = re.compile(r"[^a-z0-9]+")
_SLUG = 60  # the portal's ids have at most 64 characters, "dp-" first
DP_THRESHOLD = 1
"""A DP candidate's ledger threshold: it lists no cells, so the attacker LP has nothing of it."""


@dataclass(frozen=True)
class PortalFacts:
    """What a DP table's portal entry says of where it comes from.

    Args:
        custodians: The custodians whose data it uses.
        purpose: The project's purpose.
        reference_period: The period shown (``YYYY-MM-DD – YYYY-MM-DD``).
        period: The KOSIS period code (``PRD_DE``, e.g. ``2022``).
        org_id: The publishing organisation code (KOSIS ``ORG_ID``).

    Example:
        >>> PortalFacts((), "statistics", "2020-01-01 – 2020-12-31", "2020")
        Traceback (most recent call last):
        ...
        ansim.errors.InvalidSpecError: a DP table names the custodians whose data it uses
    """

    custodians: tuple[str, ...]
    purpose: str
    reference_period: str
    period: str
    org_id: str = "ANSIM"

    def __post_init__(self) -> None:
        """Check that the custodians are named."""
        if not self.custodians:
            raise InvalidSpecError("a DP table names the custodians whose data it uses")


HUB_PERSON = "person_id"
"""The column of every hub table that names the platform's person (from the link map)."""


def portal_facts(governance: Governance, project: str) -> PortalFacts:
    """The project's custodians, purpose and processing period, from its governance record.

    The portal's reference period is the project's processing period: a release spec does
    not state the period its data cover.

    Raises:
        InvalidSpecError: No such project.
    """
    record = governance.project(project)
    custodians = tuple(sorted({str(d["custodian"]) for d in record["datasets"]}))
    start, end = str(record["period_start"]), str(record["period_end"])
    return PortalFacts(
        custodians=custodians, purpose=str(record["purpose"]),
        reference_period=f"{start} – {end}", period=end[:4],
    )  # fmt: skip


def portal_table_id(release: str, table: str) -> str:
    """The portal id of a release's DP table (lower-case letters, digits, hyphens; ≤ 64).

    Example:
        >>> portal_table_id("Confirmed cases", "by_week")
        'dp-confirmed-cases-by-week'
        >>> portal_table_id("확진", "n")
        'dp-n'
    """
    slug = _ID_PART.sub("-", f"{release}-{table}".lower()).strip("-")
    if not slug or len(slug) > _SLUG:
        digest = hashlib.sha256(f"{release}\0{table}".encode()).hexdigest()[:8]
        slug = f"{slug[: _SLUG - 9]}-{digest}".strip("-")
    return f"dp-{slug}"


def _csv(table: DPTable) -> bytes:
    buffer = io.BytesIO()
    pacsv.write_csv(table.table, buffer)
    return buffer.getvalue()


def dp_candidate(release: DPRelease, table: DPTable, facts: PortalFacts) -> Candidate:
    """One DP table as a candidate for the project's release path.

    Args:
        release: The paid-for release the table is part of.
        table: The table.
        facts: Its provenance for the portal.

    Returns:
        ``<name>.csv``, ``<name>.json`` and ``portal.json`` (cells with ``dp`` protection and
        their 95% intervals); no ledger cells (DP adds no exact count).

    Raises:
        InvalidSpecError: The table lacks its estimate and interval columns.
    """
    from ansim.portal import Cell, PublishedTable, TableMetadata  # noqa: PLC0415 - plotly
    from ansim.release import Candidate, ReleaseKind  # noqa: PLC0415 - the release path

    columns = table.table.column_names
    if list(columns[-3:]) != list(_VALUES):
        raise InvalidSpecError(f"DP table {table.name!r} has no estimate and 95% interval")
    dims = tuple(columns[:-3])
    rows = table.table.to_pylist()
    cells = tuple(
        Cell(tuple(str(r[d]) for d in dims), "estimate", float(r["estimate"]), "dp",
             float(r["ci_low"]), float(r["ci_high"]))
        for r in rows
    )  # fmt: skip
    labels = tuple({c.keys[i]: c.keys[i] for c in cells} for i in range(len(dims)))
    meta = table.metadata
    spec = release.plan.spec
    epsilon = meta.get("epsilon", release.plan.epsilon)
    method = (
        f"differential privacy ({meta.get('mechanism', release.plan.mechanism)}, OpenDP), "
        f"95% intervals, rho {meta.get('rho', release.plan.rho):.4g}, epsilon {epsilon:.3g}; "
        f"privacy unit: {spec.privacy_unit}"
    )
    title = f"{spec.name}: {table.name}"
    portal = PublishedTable(
        id=portal_table_id(spec.name, table.name),
        title_ko=f"{title} (차분 프라이버시, 95% 신뢰구간)",
        title_en=f"{title} (differential privacy, 95% intervals)",
        org_id=facts.org_id, tbl_id=f"DT_DP_{table.name.upper()}"[:40], topic="statistics",
        period=facts.period, period_type="Y", unit="DP estimate (DP 추정치)",
        dimensions=dims, labels=labels, items={"estimate": "DP 추정치"},
        items_en={"estimate": "DP estimate"}, cells=cells,
        metadata=TableMetadata(
            custodians=facts.custodians, project="", purpose=facts.purpose,
            reference_period=facts.reference_period, protection_method=method,
            release_date="1970-01-01", approvers=("pending",),
        ),
    )  # fmt: skip
    text = json.dumps(meta, indent=2, ensure_ascii=False).encode("utf-8")
    files = {f"{table.name}.csv": _csv(table), f"{table.name}.json": text}
    candidate = Candidate(ReleaseKind.DP_TABLE, portal.title_en, files, {}, DP_THRESHOLD)
    return candidate.with_portal(portal)


def submit_dp_release(
    service: ReleaseService,
    actor: str,
    release: DPRelease,
    facts: PortalFacts,
    *,
    tables: Sequence[DPTable] | None = None,
) -> tuple[Submission, ...]:
    """Submit each table of a paid-for release to the project's release path.

    The budget was charged when the release read the data; submitting, reviewing and
    publishing charge nothing more.

    Args:
        service: The project's release service (with a portal home for ``portal.json``).
        actor: The analyst who made the release (authenticated by the caller).
        release: The release.
        facts: Provenance for the portal.
        tables: The tables to submit (default: all of the release's).

    Returns:
        One submission per table, in the release's order.
    """
    chosen = release.tables if tables is None else tuple(tables)
    candidates = [dp_candidate(release, t, facts) for t in chosen]  # all valid before any submit
    return tuple(service.submit(actor, c) for c in candidates)


def release_for_review(
    service: ReleaseService,
    actor: str,
    spec: ReleaseSpec,
    *,
    engine: Engine,
    table: str | Callable[[], Table],
) -> tuple[DPRelease, tuple[Submission, ...]]:
    """A project's DP release: checked, paid once from its budget, measured, submitted.

    Everything that can be checked without the data is checked before the budget is charged:
    the project's portal facts, that no other project's portal table has a table's id, and
    (for a named table) that the table and the spec's columns exist. Then
    :func:`~ansim.privacy.release_dp` charges the project's ledger and measures, and each
    table is submitted to ``service`` for review.

    Args:
        service: The project's release service (with a portal home).
        actor: The analyst (authenticated by the caller).
        spec: The release.
        engine: The engine holding the project's data.
        table: The hub table, or a function opening it (called after payment).

    Returns:
        The release and its submissions.

    Raises:
        BudgetExhaustedError: The project's budget cannot pay; nothing is read or submitted.
        InvalidSpecError: A check before payment failed (nothing is charged).
    """
    if spec.person != HUB_PERSON:
        # The privacy unit of a project's release is the platform's person (the link map's
        # person_id in every hub table), not a column the analyst picks: bounding rows per
        # ``sex`` would state the budget's person-level guarantee without giving it. (The unit
        # stated on the release is the budget's, set by the administrator: see release_dp.)
        raise InvalidSpecError(
            f"a project's DP release bounds each person of the linked project: its spec must "
            f"keep person: {HUB_PERSON}"
        )
    facts = portal_facts(service.governance, service.project)
    for q in spec.queries:
        service.check_portal_id(portal_table_id(spec.name, q.name))
    release = release_dp(service.governance, actor, service.project, spec, engine=engine,
                         table=table)  # fmt: skip
    return release, submit_dp_release(service, actor, release, facts)


def review_hint(submissions: Sequence[Submission], where: Mapping[str, Any]) -> str:
    """How the checkers review and publish the submissions (for the CLI's message)."""
    flags = " ".join(f"--{k} {v}" for k, v in where.items())
    first = submissions[0].id if submissions else "rel-…"
    return (
        f"Two output checkers (not the author) approve each: 'ansim release review {first} "
        f"{flags}'; one of them publishes it: 'ansim release publish {first} {flags} --out DIR'"
    )
