"""Who a governed custodian, linkage or hub command acts for: the one place that says so.

The party services (:mod:`ansim.services`) take the acting user from their caller. Today the
CLI names it as the other governed commands do (``--as`` / ``$ANSIM_USER``, see
``ansim.cli._hub.ActorOpt``); when the CLI authenticates through a login, this module is the
one to change for ``custodian prepare/send`` and ``linkage match``.
"""

from __future__ import annotations

from ansim.cli._hub import ActorOpt
from ansim.errors import InvalidSpecError

__all__ = ["ActorOpt", "require_actor"]


def require_actor(actor: str | None) -> str:
    """The acting user, or a clear error when none is given.

    Example:
        >>> require_actor("officer.kostat")
        'officer.kostat'
    """
    if not actor:
        raise InvalidSpecError("say who is acting: --as USER (or ANSIM_USER)")
    return actor
