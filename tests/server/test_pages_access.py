"""Accessible pages: every form control has a label, every table a caption and column headers,
the language is declared, and there is no script."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from tests.server.conftest import P1, Site
from tests.server.pages_support import form_login

PAGES = {
    "admin": ["/home", "/admin", "/password"],
    "officer": [f"/projects/{P1}/custodian"],
    "linker": [f"/projects/{P1}/linkage"],
    "hubop": [f"/projects/{P1}/hub"],
    "analyst": [f"/projects/{P1}/analyst"],
    "checker": [f"/projects/{P1}/checker", "/totp"],
}


class _Audit(HTMLParser):
    """Collects form controls, labels, tables and scripts of one page."""

    def __init__(self) -> None:
        super().__init__()
        self.controls: list[str] = []
        self.labels: set[str] = set()
        self.tables = self.captions = self.headers = self.scripts = self.forms = 0
        self.lang: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "html":
            self.lang = found.get("lang")
        elif tag in {"input", "select", "textarea"} and found.get("type") not in {"hidden"}:
            self.controls.append(found.get("id") or "")
        elif tag == "label" and found.get("for"):
            self.labels.add(str(found["for"]))
        elif tag == "form":
            self.forms += 1
        elif tag == "table":
            self.tables += 1
        elif tag == "caption":
            self.captions += 1
        elif tag == "th" and found.get("scope") in {"col", "row"}:
            self.headers += 1
        elif tag == "script":
            self.scripts += 1


@pytest.mark.parametrize("user", sorted(PAGES))
def test_pages_are_labelled_captioned_and_script_free(site: Site, user: str) -> None:
    client = form_login(site, user)
    forms = 0
    for path in PAGES[user]:
        answer = client.get(path)
        assert answer.status_code == 200, (path, answer.text[:200])
        audit = _Audit()
        audit.feed(answer.text)
        assert audit.lang == "ko", path
        assert all(c and c in audit.labels for c in audit.controls), (path, audit.controls)
        assert audit.tables == audit.captions, path
        assert audit.headers >= audit.tables, path
        assert audit.scripts == 0, path
        assert answer.headers["content-security-policy"].startswith("default-src 'self'")
        forms += audit.forms
    assert forms > 1  # every role's pages have forms (logout, and its own)
