"""The dummy twin: the views' schema, declared domains, and nothing of the real values."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansim.errors import InvalidSpecError
from ansim.schema import DatasetSpec
from ansim.workspace import ColumnDomain, domains_from_spec, dummy_twin

_TEXT = st.text(min_size=1, max_size=12).filter(lambda s: not s.startswith("DUMMY-"))


@st.composite
def real_views(draw: st.DrawFn) -> pa.Table:
    """A real view: platform person ids (numbers or ``p…`` text), rare text, amounts, dates."""
    rows = draw(st.integers(1, 40))
    textual = draw(st.booleans())
    numbers = draw(st.lists(st.integers(0, 10**9), min_size=rows, max_size=rows, unique=True))
    ids = pa.array([f"p{n:08d}" for n in numbers]) if textual else pa.array(numbers, pa.int64())

    def column(values: st.SearchStrategy[object]) -> list[object]:
        return draw(st.lists(values, min_size=rows, max_size=rows))

    return pa.table(
        {
            "person_id": ids,
            "diagnosis": column(_TEXT),
            "payment": column(st.integers(-(10**12), 10**12)),
            "visit_date": column(st.dates(dt.date(1900, 1, 1), dt.date(2100, 1, 1))),
            "flag": column(st.booleans()),
        }
    )


@settings(max_examples=60, deadline=None)
@given(real=real_views(), seed=st.integers(0, 2**31))
def test_twin_has_the_schema_and_no_real_identifier_or_text(real: pa.Table, seed: int) -> None:
    twin = dummy_twin({"v": real.schema}, persons=50, seed=seed)["v"]
    assert twin.schema == real.schema and twin.num_rows == 40
    ids = set(twin.column("person_id").to_pylist())
    assert not ids & set(real.column("person_id").to_pylist())
    text = set(twin.column("diagnosis").to_pylist()) - {None}
    assert not text & set(real.column("diagnosis").to_pylist())
    assert all(t.startswith("DUMMY-diagnosis-") for t in text)


def test_declared_domains_are_respected_and_seeds_differ() -> None:
    schema = pa.schema([("person_id", pa.int64()), ("band", pa.string()), ("age", pa.int32()),
                        ("onset", pa.date32()), ("amount", pa.float64())])  # fmt: skip
    domains = {"v": {
        "band": ColumnDomain(values=("Q1", "Q2")),
        "age": ColumnDomain(low=20, high=29),
        "onset": ColumnDomain(start=dt.date(2021, 3, 1), end=dt.date(2021, 3, 31)),
        "amount": ColumnDomain(low=5, high=6),
    }}  # fmt: skip
    twin = dummy_twin({"v": schema}, domains, persons=200, seed=1)["v"]
    assert set(twin.column("band").to_pylist()) - {None} == {"Q1", "Q2"}
    ages = [a for a in twin.column("age").to_pylist() if a is not None]
    assert min(ages) >= 20 and max(ages) <= 29
    onsets = [d for d in twin.column("onset").to_pylist() if d is not None]
    assert min(onsets) >= dt.date(2021, 3, 1) and max(onsets) <= dt.date(2021, 3, 31)
    assert all(5 <= a <= 6 for a in twin.column("amount").to_pylist() if a is not None)
    assert 0 < twin.column("age").null_count < twin.num_rows // 10  # missing, as real data are
    assert twin.column("person_id").null_count == 0
    assert dummy_twin({"v": schema}, domains, seed=1) == dummy_twin({"v": schema}, domains, seed=1)
    assert dummy_twin({"v": schema}, domains, seed=1) != dummy_twin({"v": schema}, domains, seed=2)


def test_views_share_one_pool_of_dummy_persons() -> None:
    schema = pa.schema([("person_id", pa.string()), ("x", pa.int64())])
    twin = dummy_twin({"a": schema, "b": schema}, persons=100)
    a, b = (set(twin[v].column("person_id").to_pylist()) for v in ("a", "b"))
    assert a & b and a != b and all(p.startswith("dummy-") for p in a | b)


def test_domains_come_from_the_custodians_specs() -> None:
    spec = DatasetSpec.from_yaml_text(
        "dataset: register\ncustodian: kostat\nrecord_id: rid\ncolumns:\n"
        "  sex: {type: category, role: quasi_identifier, values: [M, F]}\n"
        "  age: {type: integer, role: quasi_identifier, min: 0, max: 120}\n"
        "  sigungu_code: {type: category, role: quasi_identifier, kind: sigungu_code}\n"
        "  note: {type: string, role: attribute}\n"
    )
    domains = domains_from_spec(spec)
    assert domains["sex"].values == ("M", "F")
    assert (domains["age"].low, domains["age"].high) == (0, 120)
    assert "41110" in (domains["sigungu_code"].values or ())
    assert "note" not in domains


def test_domains_are_validated() -> None:
    with pytest.raises(InvalidSpecError):
        ColumnDomain(values=())
    with pytest.raises(InvalidSpecError):
        ColumnDomain(start=dt.date(2021, 1, 2), end=dt.date(2021, 1, 1))
    with pytest.raises(InvalidSpecError, match="unknown keys"):
        ColumnDomain.from_dict({"min": 1})
    with pytest.raises(InvalidSpecError):
        ColumnDomain.from_dict({"start": "yesterday"})
    with pytest.raises(InvalidSpecError):
        dummy_twin({}, persons=0)
