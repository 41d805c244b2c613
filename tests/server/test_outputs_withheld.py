"""An unreleased output's cells reach the output checkers only, never an analyst at home.

Under row access ``none`` the analyst's free queries run on a dummy twin; a checked analysis
runs on the real views, so its cells, its row and person counts and a model's measured
figures are exactly what the two reviews guard. The author sees the verdicts and the failing
cells' names; the figures once released, or where the project's policy already shows real rows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.server.conftest import P1, Site

CROSSTAB = {
    "kind": "crosstab",
    "sql": "SELECT person_id, sex, income_band FROM register",
    "by": ["sex", "income_band"],
}
MODEL = {
    "kind": "ols",
    "sql": "SELECT person_id, age, income FROM register",
    "formula": "income ~ age",
}
FIGURES = ("rows", "row_count", "person_count")


def _no_figures(seen: dict[str, Any]) -> None:
    assert seen["rows"] == [] and seen["row_count"] is None and seen["person_count"] is None
    assert "withheld" in seen
    assert all("measured" not in r for r in seen["report"]["results"])


def test_the_author_sees_verdicts_not_cells_until_release(fresh: Callable[[], Site]) -> None:
    site = fresh()
    analyst, other, checker = site.login("analyst"), site.login("analyst_b"), site.login("checker")
    made = analyst.post(f"/api/projects/{P1}/analyses", json=CROSSTAB)
    assert made.status_code == 201, made.text
    _no_figures(made.json())
    assert made.json()["report"]["results"]  # the verdicts and failing cells' names stay
    output = made.json()["id"]
    url = f"/api/projects/{P1}/outputs/{output}"
    for client in (analyst, other):
        _no_figures(client.get(url).json())
        listed = {o["id"]: o for o in client.get(f"/api/projects/{P1}/outputs").json()}
        _no_figures(listed[output])
    seen = checker.get(url).json()
    assert seen["rows"] and seen["person_count"] > 0 and "withheld" not in seen
    submitted = analyst.post(f"{url}/submit").json()
    _no_figures(submitted)
    assert checker.post(
        f"{url}/reviews", json={"decision": "approve", "comment": "fine"}
    ).is_success
    assert "fine" not in str(other.get(url).json())  # another analyst: state only
    assert site.login("checker2").post(f"{url}/reviews", json={"decision": "approve"}).is_success
    assert checker.post(f"{url}/release").status_code == 200
    released = analyst.get(url).json()
    assert released["rows"] == seen["rows"] and released["person_count"] == seen["person_count"]


def test_a_models_measured_figures_are_the_checkers_only(fresh: Callable[[], Site]) -> None:
    site = fresh()
    made = site.login("analyst").post(f"/api/projects/{P1}/analyses", json=MODEL)
    assert made.status_code == 201, made.text
    _no_figures(made.json())
    assert "this model" not in str(made.json())
    full = site.login("checker").get(f"/api/projects/{P1}/outputs/{made.json()['id']}").json()
    assert any("this model" in r.get("measured", "") for r in full["report"]["results"])


def test_a_policy_that_shows_real_rows_shows_the_cells(fresh: Callable[[], Site]) -> None:
    site = fresh()
    admin = site.login("admin")
    assert admin.put(f"/api/projects/{P1}/row-access", json={"mode": "preview"}).status_code == 200
    made = site.login("analyst").post(f"/api/projects/{P1}/analyses", json=CROSSTAB).json()
    assert made["rows"] and made["person_count"] > 0 and "withheld" not in made
