"""The ``month`` derived key: ``YYYY-MM`` of a date in the engine, every month as public keys."""

from __future__ import annotations

import datetime as dt

import ibis
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansim.engine import Engine
from ansim.errors import InvalidSpecError
from ansim.privacy import parse_release_spec
from ansim.privacy._bounding import derive_keys


def _spec(keys: dict[str, object]) -> dict[str, object]:
    return {
        "name": "r", "rho": 1, "derive": {"month": {"from": "day", "kind": "month"}},
        "keys": keys, "queries": [{"name": "n", "statistic": "count", "by": ["month"]}],
    }  # fmt: skip


def test_month_keys_cover_every_month_from_to_both_included() -> None:
    spec = parse_release_spec(_spec({"month": {"from": "2020-01-20", "to": "2022-12-31"}}))
    months = spec.keys["month"]
    assert len(months) == 36
    assert months[:2] == ("2020-01", "2020-02")
    assert months[-1] == "2022-12"
    assert "2021-12" in months


def test_month_keys_refuse_to_before_from() -> None:
    with pytest.raises(InvalidSpecError, match="before"):
        parse_release_spec(_spec({"month": {"from": "2021-03-02", "to": "2021-03-01"}}))


def test_a_week_range_on_a_non_month_column_still_gives_weeks() -> None:
    range_ = {"from": "2020-01-20", "to": "2020-02-02"}
    spec = parse_release_spec(_spec({"month": range_, "week": range_}))
    assert spec.keys["week"] == ("2020-01-20", "2020-01-27")


def test_an_unknown_kind_is_refused() -> None:
    bad = _spec({})
    bad["derive"] = {"month": {"from": "day", "kind": "quarter"}}
    with pytest.raises(InvalidSpecError, match="week, month or band"):
        parse_release_spec(bad)


@given(
    st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2040, 12, 31)),
    st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2040, 12, 31)),
)
def test_month_keys_are_consecutive_and_span_the_range(a: dt.date, b: dt.date) -> None:
    start, end = min(a, b), max(a, b)
    spec = parse_release_spec(_spec({"month": {"from": start.isoformat(), "to": end.isoformat()}}))
    months = spec.keys["month"]
    assert months[0] == start.strftime("%Y-%m")
    assert months[-1] == end.strftime("%Y-%m")
    assert list(months) == sorted(set(months))
    assert len(months) == (end.year - start.year) * 12 + end.month - start.month + 1


def test_month_is_derived_in_the_engine_as_yyyy_mm() -> None:
    days = [dt.date(2020, 1, 1), dt.date(2020, 1, 31), dt.date(2022, 12, 31), None]
    spec = parse_release_spec(_spec({"month": {"from": "2020-01-01", "to": "2022-12-31"}}))
    with Engine() as e:
        t = ibis.memtable({"day": days}, schema={"day": "date"})
        got = e.to_pyarrow(derive_keys(t, spec).select("month")).column("month").to_pylist()
    assert got == ["2020-01", "2020-01", "2022-12", None]
    assert all(m in spec.keys["month"] for m in got if m is not None)
