"""Outputs held in the hub: validation and a faithful round trip through the store."""

from __future__ import annotations

from pathlib import Path

import pytest

from ansim.errors import InvalidSpecError
from ansim.workspace import (
    CheckPolicy,
    Output,
    OutputStatus,
    OutputStore,
    ReviewDecision,
    check_model,
)


def _output(**changes: object) -> Output:
    fields: dict[str, object] = {
        "id": "out-0001", "project": "p1", "author": "analyst", "method": "ols",
        "statistic": "model", "command": "ols('y ~ x')", "columns": ("term", "estimate"),
        "rows": (("Intercept", 1.5), ("x", None)), "report": check_model(40, CheckPolicy()),
    }  # fmt: skip
    fields.update(changes)
    return Output(**fields)  # type: ignore[arg-type]


def test_round_trip_and_ids(tmp_path: Path) -> None:
    store = OutputStore(tmp_path)
    assert store.next_id() == "out-0001"
    reviewed = _output(
        status=OutputStatus.APPROVED,
        reviews=(ReviewDecision("checker", True, "", "2026-06-01T00:00:00+00:00"),),
    )
    store.save(reviewed, {"x=1": ["7", "8"]})
    assert store.get("out-0001") == reviewed
    assert store.cells("out-0001") == {"x=1": frozenset({"7", "8"})}
    assert store.next_id() == "out-0002"
    assert reviewed.table().column_names == ["term", "estimate"]
    assert reviewed.approvals == ("checker",)


def test_validation(tmp_path: Path) -> None:
    with pytest.raises(InvalidSpecError, match="out-0001"):
        _output(id="../etc/passwd")
    with pytest.raises(InvalidSpecError, match="rows differ"):
        _output(rows=(("Intercept",),))
    with pytest.raises(InvalidSpecError, match="rejection needs a comment"):
        ReviewDecision("checker", False, " ", "2026-06-01")
    with pytest.raises(InvalidSpecError, match="no output"):
        OutputStore(tmp_path).get("out-0009")
    with pytest.raises(InvalidSpecError, match="out-0001"):
        OutputStore(tmp_path).get("../../x")
