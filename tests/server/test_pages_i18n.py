"""The pages' message catalogues: every text translated into Korean, Korean by default."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract
from babel.messages.pofile import read_po

from ansim.server import _html
from ansim.server.locale import LANGUAGES, catalogue_path, language, translations
from tests.server.conftest import Site
from tests.server.pages_support import form_login

SERVER = Path(_html.__file__).parent


def _messages() -> set[str]:
    """Every message the page templates and the page code mark for translation."""
    found: set[str] = set()
    for template in sorted((SERVER / "templates").glob("*.html")):
        if template.name.startswith("public_"):  # the portal's own pages
            continue
        with template.open("rb") as source:
            found |= {m[1] for m in extract("jinja2.ext:babel_extract", source,
                                            options={"extensions": "jinja2.ext.i18n"})}  # fmt: skip
    with (SERVER / "_html.py").open("rb") as source:
        found |= {m[1] for m in extract("python", source, keywords={"N_": None})}
    return found


def test_every_page_text_has_a_korean_translation() -> None:
    with catalogue_path("ko").open("rb") as source:
        korean = {m.id: m.string for m in read_po(source) if m.id}
    messages = _messages()
    assert len(messages) > 100
    assert sorted(messages - set(korean)) == []
    assert sorted(m for m in messages if not korean[m]) == []
    with catalogue_path("en").open("rb") as source:
        english = {m.id for m in read_po(source) if m.id}
    assert sorted(messages - english) == []


def test_the_catalogues_load_from_po_files() -> None:
    assert language(None) == "ko" and LANGUAGES == ("ko", "en")
    assert translations("ko").gettext("Review queue") == "심사 대기열"
    assert translations("en").gettext("Review queue") == "Review queue"
    assert translations("en").gettext("output_checker") == "Output checker"
    with pytest.raises(ValueError, match="unknown language"):
        language("fr")


def test_pages_are_korean_by_default_and_switch_to_english(site: Site) -> None:
    client = site.anonymous()
    korean = client.get("/login")
    assert 'lang="ko"' in korean.text and "로그인" in korean.text
    english = client.get("/login", params={"lang": "en"})
    assert 'lang="en"' in english.text and "Log in" in english.text
    assert '<html lang="en">' in client.get("/login").text  # the choice is remembered
    assert '<html lang="ko">' in client.get("/login", params={"lang": "ko"}).text
    assert client.get("/login", params={"lang": "xx"}).status_code == 422


def test_a_role_page_speaks_both_languages(site: Site) -> None:
    client = form_login(site, "checker")
    assert "심사 대기열" in client.get("/projects/p1/checker").text
    assert "Review queue" in client.get("/projects/p1/checker", params={"lang": "en"}).text
