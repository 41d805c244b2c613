"""Errors as JSON ``{"error": …}``: Ansim's exception tree mapped to 4xx, never a traceback.

Client input never causes a 5xx: every refusal Ansim raises on purpose has its status here; an
unexpected exception answers 500 with a generic message (the tests make sure none occurs).
"""

from __future__ import annotations

import logging
import math
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from ansim.errors import (
    AccessDenied,
    AnsimError,
    AuthenticationFailed,
    BudgetExhaustedError,
    DisclosureCheckFailed,
    NotFoundError,
    OversizedInputError,
    RateLimited,
)

__all__ = ["JsonResponse", "install_error_handlers", "plain"]

_LOG = logging.getLogger("ansim.server")
# most specific first: the first class an error is an instance of decides its status
_STATUS: tuple[tuple[type[AnsimError], int], ...] = (
    (AuthenticationFailed, 401),
    (RateLimited, 429),
    (AccessDenied, 403),
    (NotFoundError, 404),
    (OversizedInputError, 413),
    (DisclosureCheckFailed, 409),
    (BudgetExhaustedError, 409),
    (AnsimError, 422),
)


def plain(value: Any) -> Any:
    """JSON-safe data: non-finite numbers become ``null``, other objects their text."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, str | int | bool):
        return value
    return str(value)


class JsonResponse(JSONResponse):
    """A JSON response that never fails on NaN, dates or paths."""

    def render(self, content: Any) -> bytes:
        return super().render(plain(content))


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JsonResponse:
    return JsonResponse({"error": message}, status_code=status, headers=headers)


def status_of(error: AnsimError) -> int:
    """The HTTP status of an Ansim error."""
    return next(status for kind, status in _STATUS if isinstance(error, kind))


def install_error_handlers(app: FastAPI) -> None:
    """Answer every error as ``{"error": message}`` with its 4xx status."""

    @app.exception_handler(AnsimError)
    async def ansim_error(_request: Request, error: AnsimError) -> JsonResponse:
        status = status_of(error)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None  # noqa: PLR2004
        if status == 429:  # noqa: PLR2004
            headers = {"Retry-After": "900"}
        return _error(status, str(error), headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, error: RequestValidationError) -> JsonResponse:
        problems = [
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', 'invalid')}"
            for e in error.errors()[:5]
        ]  # the locations and reasons only: never the values sent
        return _error(422, "invalid request: " + "; ".join(problems))

    @app.exception_handler(HTTPException)
    async def http_error(_request: Request, error: HTTPException) -> JsonResponse:
        return _error(error.status_code, str(error.detail), getattr(error, "headers", None))

    @app.exception_handler(sa.exc.IntegrityError)
    async def conflict(_request: Request, _error_: sa.exc.IntegrityError) -> JsonResponse:
        return _error(409, "this conflicts with an existing record")

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, error: Exception) -> JsonResponse:
        _LOG.error("unexpected %s while serving a request", type(error).__name__)
        return _error(500, "internal error: the request was not completed")
