"""The transparency register lists the portal's released tables under their project."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable

from ansim.portal import PublishedTable, publish
from tests.server.conftest import P1, Site
from tests.unit.portal.tables import cases_by_sigungu_sex, health_by_vaccination


def _of(table: PublishedTable, project: str, released: str) -> PublishedTable:
    meta = dataclasses.replace(table.metadata, project=project, release_date=released)
    return dataclasses.replace(table, metadata=meta)


def _groups(html: str) -> dict[str, list[str]]:
    """Project id → the table links listed under it, in order."""
    return {
        project: re.findall(r'<a href="([^"]+)"', links)
        for project, links in re.findall(
            r'<ul class="released-tables" data-project="([^"]+)">(.*?)</ul>', html, re.S
        )
    }


def test_register_lists_each_released_table_under_its_project(fresh: Callable[[], Site]) -> None:
    site = fresh()
    public = site.anonymous()
    assert _groups(public.get("/register").text) == {}
    assert "공개된 통계표" in public.get("/register").text
    publish(_of(health_by_vaccination(), P1, "2026-12-03"), site.home)
    publish(_of(cases_by_sigungu_sex(), P1, "2026-12-02"), site.home)
    old = dataclasses.replace(cases_by_sigungu_sex(), id="old-rate")
    publish(_of(old, "closed-study", "2026-11-30"), site.home)
    korean = public.get("/register").text
    assert _groups(korean) == {
        "closed-study": ["/public/tables/old-rate?lang=ko"],
        P1: ["/public/tables/cases-rate?lang=ko", "/public/tables/health-vaccination?lang=ko"],
    }
    assert f"<h3>COVID-19 cases ({P1}) ({P1})</h3>" in korean  # its title, from governance
    assert "<h3>closed-study (closed-study)</h3>" in korean  # a project the register hides
    assert cases_by_sigungu_sex().title_ko in korean and "(공개일 2026-12-02)" in korean
    english = public.get("/register", params={"lang": "en"}).text
    assert cases_by_sigungu_sex().title_en in english and "(released on 2026-12-02)" in english
    assert "/public/tables/cases-rate?lang=en" in english
    for links in _groups(korean).values():
        for link in links:
            assert public.get(link).status_code == 200


def test_register_answers_head_without_a_body(fresh: Callable[[], Site]) -> None:
    public = fresh().anonymous()
    head = public.head("/register")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-type"].startswith("text/html")
    paths = public.get("/openapi.json").json()["paths"]
    assert paths["/register"].keys() == {"get"}
    for path in ("/public", "/public/tables", "/public/geo/gyeonggi-sigungu.geojson"):
        assert public.head(path).status_code == 200, path  # the portal inside the server too
