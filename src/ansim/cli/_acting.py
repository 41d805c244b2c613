"""Who a governed custodian or linkage command acts for: the user the hub's server vouches for.

The party services (:mod:`ansim.services`) take the acting user from their caller. The CLI
never takes a user name for it: the acting user is the one whose API token ``ansim login``
stored, as the server answers ``GET /api/me`` for that token. A missing, expired or revoked
login is an error; there is no option or environment variable naming a user.
"""

from __future__ import annotations

from ansim.errors import AuthenticationFailed

__all__ = ["acting_user"]


def acting_user() -> str:
    """The user proven by the stored login (``ansim login``), as the server names them.

    Raises:
        AuthenticationFailed: No login is stored, or the server refuses its token.
        ServerError: The server cannot be reached.
    """
    from ansim.client import Client

    with Client.stored() as client:
        user = client.me().user
    if not user:
        raise AuthenticationFailed("the server named no user for this login: ansim login again")
    return user
