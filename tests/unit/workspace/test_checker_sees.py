"""Issue 11, Found 6: the checker sees the SQL, view versions, counts; the audit keeps the SQL."""

from __future__ import annotations

import json
from pathlib import Path

from ansim.workspace import write_bundle
from tests.unit.workspace.conftest import Env

SQL = "SELECT person_id, sex FROM register UNION ALL SELECT person_id, sex FROM register"


def test_an_output_keeps_its_sql_view_versions_and_counts(env: Env, tmp_path: Path) -> None:
    with env.workspace() as ws:
        out = ws.crosstab(SQL, ["sex"])
    kept = env.review().outputs.get(out.id)
    assert "UNION ALL" in kept.sql
    assert set(kept.views) == {"register"} and len(kept.views["register"]) == 64
    assert (kept.row_count, kept.person_count) == (1200, 600)
    write_bundle([kept], tmp_path / "bundle")
    record = json.loads((tmp_path / "bundle" / "results.json").read_text())["results"][out.id]
    assert record["properties"]["sql"] == kept.sql
    assert record["properties"]["person_count"] == 600
    events = env.gov.audit.events("p1")
    assert any(e.objects.get("sql") == kept.sql for e in events)
    assert any(e.action == "query_result" and e.objects.get("rows") == 1200 for e in events)
