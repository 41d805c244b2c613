"""Server-rendered pages (Jinja2, plain HTML without JavaScript; Korean, with an English switch).

So far the public transparency register: the approved projects (purpose, legal basis,
custodians, period) and every release (what, when, by whom), read from governance and the audit
log, with the signed audit head to keep.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from ansim.server._auth import DeploymentDep

__all__ = ["router"]

router = APIRouter()
_TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
)
_TEXT = {
    "ko": {
        "title": "투명성 등록부", "language": "언어",
        "intro": "승인된 과제와 반출된 결과: 무엇을, 언제, 누가 반출했는지.",
        "projects": "승인된 과제", "project": "과제", "purpose": "목적", "custodians": "제공기관",
        "period": "처리 기간", "status": "상태", "releases": "반출 기록", "when": "일시",
        "what": "반출 결과", "by": "반출자", "none": "없음", "head": "서명된 감사 기록 헤드",
    },
    "en": {
        "title": "Transparency register", "language": "Language",
        "intro": "Approved projects and released outputs: what went out, when, by whom.",
        "projects": "Approved projects", "project": "Project", "purpose": "Purpose",
        "custodians": "Custodians", "period": "Processing period", "status": "Status",
        "releases": "Releases", "when": "When", "what": "What was released", "by": "Released by",
        "none": "none", "head": "Signed audit head",
    },
}  # fmt: skip
_RELEASES = frozenset({"release_output"})


@router.get("/register", response_class=HTMLResponse, summary="The transparency register")
async def register(
    request: Request,
    found: DeploymentDep,
    lang: Annotated[str, Query(pattern="^(ko|en)$")] = "ko",
) -> HTMLResponse:
    """Approved projects and every release, public (no login)."""
    gov = found.governance
    events = gov.audit.events()
    shown = []
    for project in found.accounts.visible_projects_public():
        record = gov.project(project)
        if all(state == "approved" for state in record["approvals"].values()):
            shown.append({**record, "custodians": sorted({d["custodian"] for d in
                                                           record["datasets"]})})  # fmt: skip
    releases = [
        {"at": e.at[:19].replace("T", " "), "project": e.project,
         "what": e.objects.get("outputs") or e.objects.get("output", ""), "by": e.actor}
        for e in events if e.action in _RELEASES
    ]  # fmt: skip
    head = gov.audit.signer.read_head() or {}
    page = _TEMPLATES.get_template("register.html").render(
        lang=lang, t=_TEXT[lang], projects=shown, releases=releases,
        head=f"{head.get('seq', '-')} {head.get('hash', '')}",
    )  # fmt: skip
    return HTMLResponse(page)
