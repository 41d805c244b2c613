"""The hub's web server: the JSON API under ``/api/`` (login needed) and the public pages.

``create_app(home)`` serves one deployment home; ``ansim serve`` runs it under Uvicorn.
Requests are handled one at a time (every handler runs on the event loop's thread), so the
governance store sees no concurrent writers from this process.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from fastapi import FastAPI

from ansim.governance import AccountPolicy
from ansim.portal import public_router
from ansim.server._accounts_api import router as accounts_router
from ansim.server._deployment import Deployment
from ansim.server._errors import install_error_handlers
from ansim.server._keys_api import router as keys_router
from ansim.server._limits import BodyLimit
from ansim.server._pages import router as pages_router
from ansim.server._parties_api import router as parties_router
from ansim.server._projects_api import router as projects_router
from ansim.server._releases_api import router as releases_router
from ansim.server._submissions_api import router as submissions_router

__all__ = ["DEFAULT_MAX_UPLOAD_BYTES", "create_app"]

DEFAULT_MAX_UPLOAD_BYTES = 512 * 1024 * 1024
"""The largest package upload accepted (bytes)."""


def create_app(
    home: Path,
    *,
    url: str | None = None,
    policy: AccountPolicy | None = None,
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
    secure_cookies: bool | None = None,
    require_password_change: bool = False,
    today: dt.date | None = None,
) -> FastAPI:
    """The server app for a deployment home.

    Args:
        home: The deployment home (``ansim project bootstrap`` or ``ansim demo --out``).
        url: Metadata store URL (default: SQLite in the governance home).
        policy: Account limits (rate limits, session lifetime, second-factor roles).
        max_upload_bytes: The upload size limit (larger uploads get 413).
        secure_cookies: Mark the session cookie ``Secure`` (default: unless the request's
            host is the loopback address).
        require_password_change: Refuse everything but a password change to a session whose
            password is a one-time password.
        today: Clock for processing periods (tests pass their own day).

    Returns:
        The FastAPI app; closing the deployment is left to process exit.

    Raises:
        InvalidSpecError: No deployment there, or its keys are missing.
    """
    deployment = Deployment(home, url=url, policy=policy, today=today)
    app = FastAPI(
        title="Ansim hub",
        summary="Governed linkage, analysis and release: every operation for every role.",
        version="1",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.deployment = deployment
    app.state.max_upload_bytes = max_upload_bytes
    app.state.secure_cookies = secure_cookies
    app.state.require_password_change = require_password_change
    install_error_handlers(app)
    app.add_middleware(BodyLimit, max_upload_bytes=max_upload_bytes)
    app.include_router(accounts_router)
    app.include_router(projects_router)
    app.include_router(releases_router)
    app.include_router(submissions_router)
    app.include_router(keys_router)
    app.include_router(parties_router)
    app.include_router(pages_router)
    app.include_router(public_router(home))
    return app
