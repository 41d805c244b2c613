"""The portal's public routes: catalogue, table pages, downloads, the map and the open APIs.

Every response is built from the published tables alone (``<home>/release/public``) and kept
as a rendering per folder state: a publish changes the folder, so the next request renders
afresh. Handlers are coroutines: they run on the event loop's thread one at a time, so the
cache and the rate limiter need no lock.
"""

from __future__ import annotations

import json
import os
import re
from collections import OrderedDict
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Annotated, TypeVar

import plotly  # type: ignore[import-untyped]
from fastapi import APIRouter, FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.routing import APIRoute

from ansim.portal._formats import plain_rows, safe_csv, xlsx_bytes
from ansim.portal._geo import gyeonggi_geojson
from ansim.portal._limits import BucketStore, RateLimit, TokenBuckets
from ansim.portal._openapi import open_api_router
from ansim.portal._pages import LANGUAGES, CatalogueFilter, catalogue_page, matches, table_page
from ansim.portal._published import PublishedTable, load_published, public_dir
from ansim.portal._rendering import Rendering

__all__ = ["Catalogue", "answer_head", "create_app", "public_router"]

_PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
_PORTAL_JS = Path(__file__).parent / "data" / "portal.js"
_LANG_COOKIE = "ansim_lang"
_STATIC_CACHE = {"Cache-Control": "public, max-age=86400"}
_TOPOJSON_NAME = re.compile(r"^[a-z-]{2,20}_(110|50)m$")
_EMPTY_TOPOLOGY = json.dumps({
    "type": "Topology", "arcs": [],
    "objects": {layer: {"type": "GeometryCollection", "geometries": []} for layer in
                ("coastlines", "land", "ocean", "lakes", "rivers", "countries", "subunits")},
}).encode()  # fmt: skip
T = TypeVar("T")
_NO_TABLE = "공개된 통계표가 없습니다 (no published table with this id): see /public/tables"
_TOO_MANY = ("요청이 너무 많습니다. 잠시 후 다시 시도하거나 API 키를 쓰십시오 "
             "(too many requests: wait and retry, or use an API key)")  # fmt: skip
MAX_RENDERINGS = 2048
"""Renderings kept at most (catalogue searches and API queries are unbounded in number)."""


class Catalogue:
    """The published tables of a home and their renderings, both kept until the folder changes.

    Example:
        >>> import tempfile
        >>> catalogue = Catalogue(Path(tempfile.mkdtemp()))
        >>> catalogue.tables(), catalogue.rendered(("x",), lambda: "built"), catalogue.version
        ({}, 'built', '1')
    """

    def __init__(self, home: Path) -> None:
        self.home = home
        self._state: tuple[tuple[str, int, int, int], ...] | None = None
        self._tables: dict[str, PublishedTable] = {}
        self._rendered: OrderedDict[tuple[str, ...], object] = OrderedDict()
        self._loads = 0

    def _folder_state(self) -> tuple[tuple[str, int, int, int], ...]:
        try:  # os.scandir: this runs on every request, pathlib's glob costs several times more
            with os.scandir(public_dir(self.home)) as entries:
                stats = [(e.name, e.stat()) for e in entries if e.name.endswith(".json")]
        except (FileNotFoundError, NotADirectoryError):
            return ()
        return tuple(sorted((n, st.st_ino, st.st_mtime_ns, st.st_size) for n, st in stats))

    def tables(self) -> dict[str, PublishedTable]:
        """The published tables by id (reloaded, renderings dropped, when the folder changes)."""
        state = self._folder_state()
        if state != self._state:
            self._tables, self._state = load_published(self.home), state
            self._rendered = OrderedDict()
            self._loads += 1
        return self._tables

    @property
    def version(self) -> str:
        """A counter of folder changes seen (part of the pages' ETag)."""
        return str(self._loads)

    def rendered(self, key: tuple[str, ...], build: Callable[[], T]) -> T:
        """The cached rendering under ``key``, built by ``build`` on first use since a change."""
        self.tables()
        if key in self._rendered:
            self._rendered.move_to_end(key)
        else:
            self._rendered[key] = build()
            while len(self._rendered) > MAX_RENDERINGS:  # queries are many; keep the recent
                self._rendered.popitem(last=False)
        return self._rendered[key]  # type: ignore[return-value]  # stored by this same key

    def get(self, table_id: str) -> PublishedTable:
        """One table, or HTTP 404."""
        table = self.tables().get(table_id)
        if table is None:
            raise HTTPException(
                status_code=404,
                detail=_NO_TABLE,
            )
        return table


def _language(request: Request, lang: str | None) -> str:
    if lang in LANGUAGES:
        return lang
    cookie = request.cookies.get(_LANG_COOKIE)
    return cookie if cookie in LANGUAGES else "ko"


def _html(page: Rendering, request: Request, lang: str | None) -> Response:
    response = page.response(request=request)
    if lang in LANGUAGES and request.cookies.get(_LANG_COOKIE) != lang:
        response.set_cookie(_LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax")
    return response


def _too_many(retry_after: float) -> Response:
    headers = {"Retry-After": str(max(1, round(retry_after)))}
    return JSONResponse({"error": _TOO_MANY}, status_code=429, headers=headers)


def _listing(table: PublishedTable) -> dict[str, str]:
    return {
        "id": table.id, "title": table.title_ko, "title_en": table.title_en,
        "org_id": table.org_id, "tbl_id": table.tbl_id, "topic": table.topic,
        "period": table.period, "project": table.metadata.project,
        "release_date": table.metadata.release_date, "url": f"/public/tables/{table.id}",
    }  # fmt: skip


def public_router(
    home: Path, limit: RateLimit | None = None, store: BucketStore | None = None
) -> APIRouter:
    """The portal's public routes over the published tables of ``home`` (no login).

    Args:
        home: The deployment home whose ``release/public`` folder is published.
        limit: Per-client request limits (default: :class:`RateLimit` with the home's API keys).
        store: Where the token buckets live (default: ``<home>/portal/rate-limits.sqlite``,
            shared by every worker process serving the home).
    """
    catalogue = Catalogue(home)
    limit = limit if limit is not None else RateLimit.for_home(home)
    buckets = (
        TokenBuckets.for_home(home, limit) if store is None else TokenBuckets(limit, store=store)
    )
    router = APIRouter(tags=["portal"])

    @router.get("/public/tables", summary="Released tables (JSON: id, title, org_id, tbl_id …)")
    async def list_tables(request: Request) -> Response:
        if (wait := buckets.take(request)) is not None:
            return _too_many(wait)
        listing = catalogue.rendered(
            ("list",), lambda: Rendering.json([_listing(t) for t in catalogue.tables().values()])
        )
        return listing.response(request=request)

    @router.get("/public/tables/{table_id}/data", summary="A table's cells as JSON, CSV or XLSX")
    async def table_data(
        request: Request,
        table_id: str,
        format: Annotated[str, Query(pattern="^(json|csv|xlsx)$")] = "json",
        lang: Annotated[str, Query(pattern="^(ko|en)$")] = "ko",
    ) -> Response:
        if (wait := buckets.take(request)) is not None:
            return _too_many(wait)
        return catalogue.rendered(
            ("data", table_id, format, lang),
            lambda: _download(catalogue.get(table_id), format, lang),
        ).response(request=request)

    _page_routes(router, catalogue, buckets)
    answer_head(router)
    api = open_api_router(catalogue, buckets)
    answer_head(api)
    router.include_router(_ASSETS)
    router.include_router(api)
    return router


def answer_head(router: APIRouter) -> None:
    """Answer ``HEAD`` on each ``GET`` route of ``router`` like ``GET`` (the body is dropped).

    The twins stay out of the OpenAPI schema: it lists the ``GET`` operations only.

    Example:
        >>> demo = APIRouter()
        >>> @demo.get("/hello")
        ... async def hello() -> dict[str, str]:
        ...     return {"hello": "world"}
        >>> answer_head(demo)
        >>> [(r.path, sorted(r.methods)) for r in demo.routes if isinstance(r, APIRoute)]
        [('/hello', ['GET']), ('/hello', ['HEAD'])]
    """
    for route in list(router.routes):
        methods = (route.methods or set()) if isinstance(route, APIRoute) else set()
        if isinstance(route, APIRoute) and "GET" in methods and "HEAD" not in methods:
            router.add_api_route(
                route.path, route.endpoint, methods=["HEAD"], include_in_schema=False,
                response_class=route.response_class, name=f"{route.name}_head",
            )  # fmt: skip


@cache
def _asset(path: Path, media_type: str) -> Rendering:
    """A static file of the package, read and compressed once (plotly.min.js is 4.6 MB)."""
    return Rendering(path.read_bytes(), media_type, tuple(_STATIC_CACHE.items()))


@cache
def _geojson() -> Rendering:
    return Rendering(gyeonggi_geojson(), "application/geo+json", tuple(_STATIC_CACHE.items()))


def _page_routes(router: APIRouter, catalogue: Catalogue, buckets: TokenBuckets) -> None:
    """The HTML pages: the catalogue and a page per table."""

    @router.get("/public", response_class=HTMLResponse, summary="The catalogue page")
    async def catalogue_html(
        request: Request,
        *,
        q: Annotated[str, Query(max_length=200)] = "",
        topic: Annotated[str, Query(max_length=100)] = "",
        sigungu: Annotated[str, Query(max_length=10)] = "",
        period: Annotated[str, Query(max_length=20)] = "",
        project: Annotated[str, Query(max_length=100)] = "",
        lang: Annotated[str | None, Query(max_length=5)] = None,
    ) -> Response:
        if (wait := buckets.take(request)) is not None:
            return _too_many(wait)
        shown = _language(request, lang)
        want = CatalogueFilter(q=q, topic=topic, sigungu=sigungu, period=period, project=project)

        def build() -> Rendering:
            tables = list(catalogue.tables().values())
            return Rendering.html(
                catalogue_page(tables, [t for t in tables if matches(t, want)], want, shown)
            )

        key = ("catalogue", shown, q, topic, sigungu, period, project)
        return _html(catalogue.rendered(key, build), request, lang)

    @router.get("/public/tables/{table_id}", response_class=HTMLResponse, summary="A table's page")
    async def table_html(
        request: Request, table_id: str, lang: Annotated[str | None, Query(max_length=5)] = None
    ) -> Response:
        if (wait := buckets.take(request)) is not None:
            return _too_many(wait)
        shown = _language(request, lang)
        page = catalogue.rendered(  # an unknown id raises 404 in the build: nothing is kept
            ("page", table_id, shown),
            lambda: Rendering.html(table_page(catalogue.get(table_id), shown)),
        )
        return _html(page, request, lang)


_ASSETS = APIRouter(tags=["portal"])
"""The map and the scripts: package files, the same for every home."""


@_ASSETS.get("/public/geo/gyeonggi-sigungu.geojson", summary="Gyeonggi's 31 si/gun")
async def geojson(request: Request) -> Response:
    return _geojson().response(request=request)


@_ASSETS.get("/public/static/plotly.min.js", include_in_schema=False)
async def plotly_js(request: Request) -> Response:
    return _asset(_PLOTLY_JS, "text/javascript; charset=utf-8").response(request=request)


@_ASSETS.get("/public/static/topojson/{name}.json", include_in_schema=False)
async def base_map(name: str) -> Response:
    """An empty world for Plotly's geo layer: the map draws only Gyeonggi, and no CDN."""
    if not _TOPOJSON_NAME.match(name):
        raise HTTPException(status_code=404, detail="no such base map")
    return Response(_EMPTY_TOPOLOGY, media_type="application/json", headers=_STATIC_CACHE)


@_ASSETS.get("/public/static/portal.js", include_in_schema=False)
async def portal_js(request: Request) -> Response:
    return _asset(_PORTAL_JS, "text/javascript; charset=utf-8").response(request=request)


answer_head(_ASSETS)


def _download(table: PublishedTable, format: str, lang: str = "ko") -> Rendering:
    rows = plain_rows(table, lang=lang)
    attachment = (("Content-Disposition", f'attachment; filename="{table.id}.{format}"'),)
    if format == "csv":  # with a byte-order mark, so spreadsheet programs read it as UTF-8
        body = ("\ufeff" + safe_csv(rows)).encode("utf-8")
        return Rendering(body, "text/csv; charset=utf-8", attachment)
    if format == "xlsx":
        media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        return Rendering(xlsx_bytes(rows), media, attachment)
    return Rendering.json(rows)


def create_app(
    home: Path, limit: RateLimit | None = None, store: BucketStore | None = None
) -> FastAPI:
    """A standalone portal app over ``home`` (tests, local use; see :func:`public_router`)."""
    app = FastAPI(title="Ansim open statistics portal")
    app.include_router(public_router(home, limit, store))
    return app
