"""The HTTP session to the hub's server: bearer token, timeouts, server errors as Ansim errors."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from ansim._closing import Closing
from ansim.client._credentials import Credentials, normalise_server
from ansim.errors import (
    AccessDenied,
    AnsimError,
    AuthenticationFailed,
    InvalidSpecError,
    NotFoundError,
    RateLimited,
    ServerError,
)

__all__ = ["Transport", "error_for"]

JSON = dict[str, Any]
_TIMEOUT = httpx.Timeout(10.0, read=300.0)  # analyses on a large hub store take a while


def error_for(status: int, message: str) -> AnsimError:
    """The Ansim error a server answer stands for (the server's message kept, nothing added).

    Example:
        >>> type(error_for(403, "not an analyst")).__name__
        'AccessDenied'
        >>> type(error_for(401, "log in")).__name__
        'AuthenticationFailed'
        >>> type(error_for(422, "sql: one SELECT only")).__name__
        'InvalidSpecError'
        >>> type(error_for(502, "bad gateway")).__name__
        'ServerError'
    """
    if status == 401:  # noqa: PLR2004
        return AuthenticationFailed(message)
    if status == 429:  # noqa: PLR2004
        return RateLimited(message)
    if status == 403:  # noqa: PLR2004
        return AccessDenied(message)
    if status == 404:  # noqa: PLR2004  # not found, or not yours: the server does not say which
        return NotFoundError(message)
    if 400 <= status < 500:  # noqa: PLR2004
        return InvalidSpecError(message)
    return ServerError(message)


def _message(response: httpx.Response) -> str:
    """The server's ``{"error": …}`` (or FastAPI's ``detail``) without any submitted values."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        if isinstance(body.get("error"), str):
            return str(body["error"])
        detail = body.get("detail")
        if isinstance(detail, str):
            return detail
        if isinstance(detail, list):  # request validation: field locations and reasons only
            return "; ".join(
                ".".join(str(p) for p in d.get("loc", ()) if p != "body") + f": {d.get('msg')}"
                for d in detail
                if isinstance(d, dict)
            )
    return f"the server answered HTTP {response.status_code} {response.reason_phrase}"


class Transport(Closing):
    """One HTTP connection pool to a server, authenticated by a bearer token or a login cookie.

    Args:
        server: The server's base URL (HTTPS, or HTTP on this machine).
        token: The API token to send as ``Authorization: Bearer`` (``None`` before login).
        transport: An httpx transport (tests pass one over the ASGI app); default: the network.

    Example:
        >>> t = Transport("http://127.0.0.1:9")
        >>> t.server
        'http://127.0.0.1:9'
        >>> t.close()
    """

    def __init__(
        self,
        server: str,
        token: str | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.server = normalise_server(server)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(
            base_url=self.server, headers=headers, timeout=_TIMEOUT, transport=transport
        )
        self._csrf: str | None = None
        self._has_token = token is not None

    @classmethod
    def from_credentials(
        cls, path: Path | None = None, *, transport: httpx.BaseTransport | None = None
    ) -> Transport:
        """A transport with the stored token (see ``ansim login``)."""
        stored = Credentials.load(path)
        return cls(stored.server, stored.token, transport=transport)

    def close(self) -> None:
        """Close the connections."""
        self._http.close()

    def set_csrf(self, token: str | None) -> None:
        """Send this CSRF token with every non-GET request of the cookie session."""
        self._csrf = token

    def request(
        self,
        method: str,
        path: str,
        *,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, str | int] | None = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> Any:
        """Send one request and return its JSON answer (``None`` for an empty one).

        Raises:
            AuthenticationFailed: 401 (bad credentials, or the token expired or was revoked).
            RateLimited: 429, too many failed logins.
            AccessDenied: 403 (with the server's message).
            NotFoundError: 404, no such object or none the caller may know of.
            InvalidSpecError: Any other 4xx.
            ServerError: The server cannot be reached, or answered 5xx.
        """
        headers = {"X-CSRF-Token": self._csrf} if self._csrf and method != "GET" else {}
        try:
            response = self._http.request(
                method,
                path,
                json=body,
                params=params,
                files=files,
                data=data,
                headers=headers,
            )
        except httpx.HTTPError as e:
            raise ServerError(
                f"cannot reach the server at {self.server} ({type(e).__name__}): is "
                "'ansim serve' running there?"
            ) from e
        if response.status_code >= 400:  # noqa: PLR2004
            message = _message(response)
            if response.status_code == 401 and self._has_token:  # noqa: PLR2004
                message += ": the stored token was refused (expired or revoked); run 'ansim login'"
            raise error_for(response.status_code, message)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError as e:
            raise ServerError(f"the server at {self.server} answered with no JSON") from e

    def get_bytes(self, path: str) -> bytes:
        """A raw answer (file downloads), errors as in :meth:`request`."""
        try:
            response = self._http.get(path)
        except httpx.HTTPError as e:
            raise ServerError(f"cannot reach the server at {self.server}") from e
        if response.status_code >= 400:  # noqa: PLR2004
            raise error_for(response.status_code, _message(response))
        return response.content
