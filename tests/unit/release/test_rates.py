import csv

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from ansim.engine import Engine
from ansim.release import SUPPRESSED_SYMBOL, RateTableSpec, cell_name, rate_table, write_release

people = st.lists(
    st.tuples(
        st.sampled_from(["41110", "41610", "41830"]),
        st.integers(0, 99),
        st.sampled_from(["M", "F"]),
        st.booleans(),
    ),
    min_size=1,
    max_size=300,
)


def _engine(rows: list[tuple[str, int, str, bool]]) -> Engine:
    engine = Engine()
    ids = [f"p{i}" for i in range(len(rows))]
    engine.create_table(
        "linked_kostat_register",
        pa.table(
            {
                "person_id": ids,
                "sigungu_code": [r[0] for r in rows],
                "age": [r[1] for r in rows],
                "sex": [r[2] for r in rows],
            }
        ),
    )
    cases = [i for i, r in zip(ids, rows, strict=True) if r[3]]
    engine.create_table(
        "linked_gyeonggi_cases", pa.table({"person_id": pa.array(cases, pa.string())})
    )
    return engine


@settings(max_examples=40, deadline=None)
@given(people, st.integers(1, 15))
def test_no_published_cell_is_below_the_threshold(rows, threshold) -> None:
    with _engine(rows) as engine:
        released = rate_table(engine, RateTableSpec(threshold=threshold))
    for cell in released.table.to_pylist():
        if cell["status"] == "published":
            assert cell["cases"] >= threshold
            assert cell["population"] >= threshold
        else:
            assert cell["cases"] is None and cell["population"] is None
            assert cell["rate_per_100k"] is None


def test_rates_and_bands(tmp_path) -> None:
    rows = [("41110", 34, "F", i < 12) for i in range(40)] + [("41110", 85, "M", True)] * 3
    with _engine(rows) as engine:
        released = rate_table(engine)
    cells = {(c["age_band"], c["sex"]): c for c in released.table.to_pylist()}
    assert cells[("30-39", "F")]["rate_per_100k"] == 30000.0
    assert cells[("30-39", "F")]["sigungu_name"] == "수원시"
    assert cells[("80+", "M")]["status"] == "suppressed"
    path = write_release(released, tmp_path / "t.csv")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    published = path.with_suffix(".json").read_text()
    # no total is published beside the table: it would reveal the suppressed cell (3 cases)
    assert released.diagnostics["event_persons_in_population"] == 15
    assert "event_persons" not in published and "15" not in published.split('"spec"')[0]


def test_published_csv_shows_one_symbol_and_no_status(tmp_path) -> None:
    # Issue 11: a status column tells why a cell is withheld; the CSV shows x for every one.
    rows = [("41110", 34, "F", i < 12) for i in range(40)] + [("41110", 85, "M", True)] * 3
    with _engine(rows) as engine:
        released = rate_table(engine)
    path = write_release(released, tmp_path / "t.csv")
    with path.open(encoding="utf-8-sig", newline="") as f:
        cells = list(csv.DictReader(f))
    assert "status" not in cells[0]
    hidden = [c for c in cells if c["cases"] == SUPPRESSED_SYMBOL]
    assert len(hidden) == 1
    assert {hidden[0][k] for k in ("population", "cases", "rate_per_100k")} == {"x"}
    assert "suppressed" not in path.read_text(encoding="utf-8-sig")


def test_members_are_the_persons_behind_each_published_count() -> None:
    rows = [("41110", 34, "F", i < 12) for i in range(40)] + [("41110", 85, "M", True)] * 3
    with _engine(rows) as engine:
        released = rate_table(engine)
    cell = cell_name("41110", "30-39", "F")
    assert released.members[f"population {cell}"] == frozenset(f"p{i}" for i in range(40))
    assert released.members[f"cases {cell}"] == frozenset(f"p{i}" for i in range(12))
    # the suppressed 80+ male cell publishes nothing, so the ledger holds nothing for it
    assert not any("80+" in name for name in released.members)
