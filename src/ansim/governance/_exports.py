"""Exports of the governance record: PIPA processing records and a Five Safes summary."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ansim._atomic import write_text_atomic
from ansim.governance._audit import AuditEvent, AuditReport
from ansim.governance._model import Role

__all__ = ["five_safes_summary", "write_processing_record"]

_CSV_COLUMNS = ("seq", "at", "actor", "role", "action", "purpose", "objects", "hash")


def write_processing_record(
    project: dict[str, Any], events: Sequence[AuditEvent], out: Path
) -> tuple[Path, Path]:
    """Write the project's processing record (PIPA art. 28-4) as CSV and JSON.

    Args:
        project: The project's record (see ``Governance.project``).
        events: The project's audit events.
        out: Directory to write ``<project>_processing_record.{csv,json}`` into.

    Returns:
        The CSV and JSON paths.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(_CSV_COLUMNS)
    for e in events:
        objects = json.dumps(dict(e.objects), ensure_ascii=False, sort_keys=True)
        writer.writerow([e.seq, e.at, e.actor, e.role, e.action, e.purpose or "", objects, e.hash])
    name = f"{project['id']}_processing_record"
    csv_path = write_text_atomic(buffer.getvalue(), out / f"{name}.csv", encoding="utf-8-sig")
    document = {
        "record": "processing of pseudonymised information (PIPA art. 28-4)",
        "project": _jsonable(project),
        "events": [
            {c: getattr(e, c) for c in _CSV_COLUMNS if c != "objects"} | {"objects": e.objects}
            for e in events
        ],
    }
    json_path = write_text_atomic(
        json.dumps(document, ensure_ascii=False, indent=2, default=str), out / f"{name}.json"
    )
    return csv_path, json_path


def five_safes_summary(
    project: dict[str, Any], events: Sequence[AuditEvent], audit: AuditReport
) -> dict[str, Any]:
    """Summarise a project along the Five Safes (projects, people, settings, data, outputs).

    Args:
        project: The project's record (see ``Governance.project``).
        events: The project's audit events.
        audit: The result of verifying the whole chain.

    Returns:
        A JSON-serialisable summary with counts and states only.
    """
    members = project["members"]
    by_user: dict[str, set[str]] = {}
    for m in members:
        by_user.setdefault(m["user"], set()).add(m["role"])
    exclusive = {Role.LINKAGE_UNIT_OPERATOR.value, Role.HUB_OPERATOR.value}
    overlaps = sorted(u for u, roles in by_user.items() if exclusive <= roles)
    out_status = Counter(o["status"] for o in project["outputs"])
    self_reviewed = [o["output"] for o in project["outputs"] if o["reviewer"] == o["author"]]
    actions = Counter(e.action for e in events)
    return {
        "project": project["id"],
        "safe_projects": {
            "purpose": project["purpose"],
            "legal_basis": project["legal_basis"],
            "description": project["description"],
            "processing_period": f"{project['period_start']}/{project['period_end']}",
            "status": project["status"],
            "approvals": project["approvals"],
            "all_custodians_approved": all(s == "approved" for s in project["approvals"].values()),
        },
        "safe_people": {
            "members_by_role": dict(Counter(m["role"] for m in members)),
            "linkage_and_hub_roles_held_by_one_person": overlaps,
            "access_denied_events": actions.get("access_denied", 0),
        },
        "safe_settings": {
            "hub_store": "encrypted DuckDB (AES-GCM) under the project's data key",
            "data_key": project["key"],
            "roles_enforced_in": "the service layer (ansim.governance.Governance)",
            "audit_chain_verified": audit.ok,
            "audit_events": len(events),
        },
        "safe_data": {
            "datasets": {d["dataset"]: d["custodian"] for d in project["datasets"]},
            "hub_receives": "content parts (attributes + serials) and the link map; no "
            "direct identifiers, tokens or linkage secrets",
        },
        "safe_outputs": {
            "outputs_by_status": dict(out_status),
            "reviewed_by_their_author": self_reviewed,
            "released": out_status.get("released", 0),
        },
    }


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))
