"""The hub's server: accounts, sessions and tokens in front of every governed operation.

``create_app(home)`` builds the FastAPI app for a deployment home: the JSON API under ``/api/``
(everything there needs a session cookie with its CSRF token, or an API token) and the public
portal outside it. ``ansim serve --home DIR`` runs it.
"""

from __future__ import annotations

from ansim.server._app import DEFAULT_MAX_UPLOAD_BYTES, create_app
from ansim.server._auth import COOKIE, CSRF_HEADER, Caller
from ansim.server._deployment import Deployment

__all__ = [
    "COOKIE",
    "CSRF_HEADER",
    "DEFAULT_MAX_UPLOAD_BYTES",
    "Caller",
    "Deployment",
    "create_app",
]
