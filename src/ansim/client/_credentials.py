"""The CLI's stored credentials: the server's address and one API token, readable by its owner only.

The file is ``$ANSIM_CONFIG_DIR/credentials.json`` or ``~/.config/ansim/credentials.json``
(directory mode 0700, file mode 0600). It never holds a password; the token is never printed.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from ansim._atomic import write_bytes_atomic
from ansim.errors import AccessDenied, InvalidSpecError

__all__ = ["Credentials", "credentials_path", "normalise_server"]

_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
_TOKEN_PREFIX = "ansim_"  # noqa: S105  # the public prefix of every API token, no secret


def credentials_path() -> Path:
    """Where the CLI keeps its credentials (``$ANSIM_CONFIG_DIR`` or ``~/.config/ansim``).

    Example:
        >>> import os
        >>> os.environ["ANSIM_CONFIG_DIR"] = "/tmp/ansim-doc"
        >>> credentials_path().as_posix()
        '/tmp/ansim-doc/credentials.json'
        >>> del os.environ["ANSIM_CONFIG_DIR"]
    """
    configured = os.environ.get("ANSIM_CONFIG_DIR")
    base = Path(configured) if configured else Path.home() / ".config" / "ansim"
    return base / "credentials.json"


def normalise_server(url: str) -> str:
    """The server's base URL without a trailing slash; plain HTTP only on the loopback.

    A bearer token sent over plain HTTP to another machine could be read on the way, so a
    remote server must be reached over HTTPS.

    Example:
        >>> normalise_server("http://127.0.0.1:8000/")
        'http://127.0.0.1:8000'
        >>> normalise_server("http://hub.example.org")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ansim.errors.InvalidSpecError: use https:// for a server that is not on this machine ...
    """
    parts = urlsplit(url.strip())
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise InvalidSpecError("--server must be a URL such as https://hub.example.org")
    if parts.scheme == "http" and parts.hostname not in _LOOPBACK:
        raise InvalidSpecError(
            f"use https:// for a server that is not on this machine ({parts.hostname})"
        )
    if parts.query or parts.fragment:
        raise InvalidSpecError("--server takes the server's address only, no query")
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


@dataclass(frozen=True)
class Credentials:
    """A server and the API token the CLI acts with there.

    Attributes:
        server: The server's base URL.
        token: The bearer token (secret: never printed; ``repr`` hides it).
        token_id: The token's id on the server, so that ``ansim logout`` can revoke it.
        user: Who the token belongs to, as the server said at login (display only: the server
            takes the identity from the token, never from this field).

    Example:
        >>> c = Credentials("http://127.0.0.1:8000", "ansim_" + "x" * 43, "tok-1", "admin")
        >>> "x" * 10 in repr(c)
        False
    """

    server: str
    token: str
    token_id: str | None = None
    user: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "server", normalise_server(self.server))
        if not self.token.startswith(_TOKEN_PREFIX):
            raise InvalidSpecError("the stored token is not an Ansim API token: log in again")

    def __repr__(self) -> str:
        return f"Credentials(server={self.server!r}, token=<hidden>, user={self.user!r})"

    def save(self, path: Path | None = None) -> Path:
        """Write the credentials (directory 0700, file 0600), replacing earlier ones."""
        path = path or credentials_path()
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        path.parent.chmod(0o700)
        body = {"server": self.server, "token": self.token, "token_id": self.token_id}
        body["user"] = self.user
        return write_bytes_atomic(json.dumps(body, indent=2).encode(), path, mode=0o600)

    @classmethod
    def load(cls, path: Path | None = None) -> Credentials:
        """The stored credentials.

        Raises:
            AccessDenied: None are stored (log in first), or others than the owner may read
                the file (it is refused, not used).
            InvalidSpecError: The file is not a credentials file.
        """
        path = path or credentials_path()
        try:
            mode = path.stat().st_mode
        except FileNotFoundError:
            raise AccessDenied(
                "not logged in: run 'ansim login --server URL --user USER' first"
            ) from None
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise AccessDenied(f"{path} may be read by others: delete it, then log in again")
        try:
            body = json.loads(path.read_text(encoding="utf-8"))
            return cls(
                str(body["server"]), str(body["token"]), body.get("token_id"), body.get("user")
            )
        except (ValueError, KeyError, TypeError) as e:
            if isinstance(e, InvalidSpecError):
                raise
            raise InvalidSpecError(f"{path} is not a credentials file: log in again") from e

    @staticmethod
    def delete(path: Path | None = None) -> bool:
        """Remove the stored credentials; whether there were any."""
        path = path or credentials_path()
        existed = path.exists()
        path.unlink(missing_ok=True)
        return existed
