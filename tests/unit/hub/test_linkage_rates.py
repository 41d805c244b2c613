import datetime as dt

import pyarrow as pa
import pytest

from ansim.engine import Engine
from ansim.errors import HubError
from ansim.hub import linkage_rates


def _engine() -> Engine:
    engine = Engine()
    # 30 women in their 30s (20 also in the register), 12 men born 1950 (all 12 in the register)
    ids = [f"w{i}" for i in range(30)] + [f"m{i}" for i in range(12)]
    engine.create_table(
        "linked_cases",
        pa.table(
            {
                "person_id": ids,
                "sex": ["F"] * 30 + ["M"] * 12,
                "birth_date": [dt.date(1988, 1, 1)] * 30 + [dt.date(1950, 6, 1)] * 12,
            }
        ),
    )
    register = [f"w{i}" for i in range(20)] + [f"m{i}" for i in range(12)] + ["x"]
    engine.create_table("linked_register", pa.table({"person_id": register}))
    return engine


def test_rates_by_group_with_small_groups_withheld() -> None:
    with _engine() as engine:
        rows = linkage_rates(engine, "cases", "register", by=("sex", "age_band")).to_pylist()
    by = {(r["column"], r["group"]): r for r in rows}
    assert by[("sex", "F")] == {
        "column": "sex", "group": "F", "records": 30, "linked": 20, "rate": 0.6667
    }  # fmt: skip
    # all 12 men linked: 0 unlinked would reveal that every one is in the register
    assert by[("sex", "M")]["rate"] is None and by[("sex", "M")]["records"] is None
    assert by[("age_band", "30s")]["linked"] == 20
    assert by[("age_band", "70s")]["records"] is None


def test_missing_columns_and_datasets_are_clear_errors() -> None:
    with _engine() as engine:
        with pytest.raises(HubError, match="no column"):
            linkage_rates(engine, "cases", "register", by=("income",))
        with pytest.raises(HubError, match="no linked dataset"):
            linkage_rates(engine, "cases", "nowhere")
