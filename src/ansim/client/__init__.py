"""The client of the hub's server: what the CLI's hub-side and governance commands call.

``ansim login`` opens a session with a password (and TOTP code), asks for an API token and
stores only the token with the server's address (:class:`Credentials`, mode 0600). Every
client call then sends ``Authorization: Bearer``; the server, not the caller, says who acts.
Server answers map onto the one exception tree: 401 → ``AuthenticationFailed``, 403 →
``AccessDenied``, 404 → ``NotFoundError``, 429 → ``RateLimited``, other 4xx →
``InvalidSpecError``, 5xx and unreachable servers → ``ServerError``.
"""

from __future__ import annotations

from ansim.client._api import (
    Administration,
    Audit,
    Client,
    Custodian,
    HubClient,
    Identity,
    LinkageClient,
    ReleaseClient,
    WorkspaceClient,
)
from ansim.client._credentials import Credentials, credentials_path, normalise_server
from ansim.client._http import Transport, error_for

__all__ = [
    "Administration",
    "Audit",
    "Client",
    "Credentials",
    "Custodian",
    "HubClient",
    "Identity",
    "LinkageClient",
    "ReleaseClient",
    "Transport",
    "WorkspaceClient",
    "credentials_path",
    "error_for",
    "normalise_server",
]
