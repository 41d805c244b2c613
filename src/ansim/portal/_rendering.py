"""A cached rendering: a response's body, built once per state of the public folder."""

from __future__ import annotations

import gzip
import hashlib
import json
from dataclasses import dataclass
from functools import cached_property

from fastapi import Request
from fastapi.responses import Response

__all__ = ["PAGE_HEADERS", "Rendering"]

_GZIP_FROM = 1024  # bytes; below this compression gains nothing

PAGE_HEADERS = (
    # scripts only from the portal itself (plotly.min.js, portal.js): no inline script, no CDN;
    # Plotly sets inline styles and draws some images as data: URLs
    ("Content-Security-Policy", "default-src 'self'; script-src 'self'; "
     "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; "
     "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
)  # fmt: skip
"""Headers of every portal page."""


@dataclass(frozen=True)
class Rendering:
    """A response's body kept in the cache; each request gets a fresh response from it."""

    body: bytes
    media_type: str
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def json(cls, value: object) -> Rendering:
        """JSON of ``value`` (UTF-8, not ASCII-escaped)."""
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        return cls(text.encode("utf-8"), "application/json")

    @classmethod
    def html(cls, text: str) -> Rendering:
        """An HTML page."""
        return cls(text.encode("utf-8"), "text/html; charset=utf-8", PAGE_HEADERS)

    @cached_property
    def etag(self) -> str:
        """A strong validator of the body (so a browser revisiting gets 304, not the bytes)."""
        return '"' + hashlib.sha256(self.body).hexdigest()[:32] + '"'

    @cached_property
    def gzipped(self) -> bytes | None:
        """The body compressed once (None when too small to gain)."""
        if len(self.body) < _GZIP_FROM:
            return None
        return gzip.compress(self.body, compresslevel=6, mtime=0)

    def response(self, status_code: int = 200, *, request: Request | None = None) -> Response:
        """A new response carrying this rendering; 304 when ``request`` already holds it.

        A client that accepts gzip gets the body compressed once and kept (pages of large
        tables shrink about tenfold). A ``HEAD`` request gets the same headers (its
        ``Content-Length`` that of the body a ``GET`` gets) and no body.
        """
        response = self._response(status_code, request)
        if request is not None and request.method == "HEAD":
            response.body = b""  # the headers, Content-Length included, stay those of the GET
        return response

    def _response(self, status_code: int, request: Request | None) -> Response:
        if request is None or status_code != 200:  # noqa: PLR2004 - only a 200 is validated
            return Response(self.body, status_code, dict(self.headers), self.media_type)
        packed = self.gzipped if "gzip" in request.headers.get("accept-encoding", "") else None
        etag = self.etag[:-1] + '-gz"' if packed else self.etag
        headers = {"Cache-Control": "no-cache", **dict(self.headers), "ETag": etag,
                   "Vary": "Accept-Encoding"}  # fmt: skip
        if not self.media_type.startswith("text/html"):  # open data: any site's script may read it
            headers["Access-Control-Allow-Origin"] = "*"
        if etag in request.headers.get("if-none-match", ""):
            return Response(status_code=304, headers=headers)
        if packed is None:
            return Response(self.body, status_code, headers, self.media_type)
        return Response(
            packed, status_code, headers | {"Content-Encoding": "gzip"}, self.media_type
        )
