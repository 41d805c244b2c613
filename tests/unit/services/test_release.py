"""The release service's table requests (uploaded records are read by ``read_records``)."""

from __future__ import annotations

import pytest

from ansim.errors import InvalidSpecError
from ansim.services import TableRequest


def test_a_table_request_says_what_is_wrong() -> None:
    with pytest.raises(InvalidSpecError, match="contributor"):
        TableRequest((("sex",),), "")
    with pytest.raises(InvalidSpecError, match="heuristic or optimal"):
        TableRequest((("sex",),), "person", method="fast")
    with pytest.raises(InvalidSpecError, match="at least 1"):
        TableRequest((("sex",),), "person", threshold=0)
    rules = TableRequest((("sex",),), "person", dominance=(1, 80.0), p_percent=10).rules()
    assert [type(r).__name__ for r in rules] == ["ThresholdRule", "DominanceRule", "PPercentRule"]
