"""The demo's accounts: a one-time password for every person of the demo project.

Written to ``<demo>/demo-accounts.json`` (mode 0600) as a list of ``{"user", "role",
"password"}``, so that whoever runs the demo can log in as each role (``ansim login``, the
pages of ``ansim serve``). The passwords are set through the accounts service, stored as
argon2id hashes only, and must be changed at first login.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ansim._atomic import write_bytes_atomic
from ansim.demo._run import ADMIN, PROJECT
from ansim.governance import Accounts, Governance

__all__ = ["ACCOUNTS_FILE", "DemoAccount", "issue_demo_accounts"]

ACCOUNTS_FILE = "demo-accounts.json"


@dataclass(frozen=True)
class DemoAccount:
    """One demo person and their one-time password.

    Attributes:
        user: The account.
        role: Their role (``administrator`` or their role in the demo project).
        password: The one-time password (``repr`` hides it).

    Example:
        >>> DemoAccount("analyst.snu", "analyst", "s3cret-one-time")
        DemoAccount(user='analyst.snu', role='analyst', password=<hidden>)
    """

    user: str
    role: str
    password: str

    def __repr__(self) -> str:
        return f"DemoAccount(user={self.user!r}, role={self.role!r}, password=<hidden>)"


def issue_demo_accounts(governance: Path, out: Path) -> list[DemoAccount]:
    """Give every person of the demo project a one-time password; write them to ``out``.

    The administrator sets them all (its own first), as any administrator would; each is
    audited. Users holding several roles are listed once, with their roles joined by ``,``.

    Args:
        governance: The demo's governance home.
        out: The demo directory (``out/demo-accounts.json`` is written, mode 0600).

    Returns:
        The accounts, administrator first.
    """
    gov = Governance(governance)
    try:
        accounts = Accounts(gov)
        roles: dict[str, list[str]] = {ADMIN: ["administrator"]}
        for member in gov.project(PROJECT)["members"]:
            held = roles.setdefault(str(member["user"]), [])
            if member["role"] not in held:
                held.append(str(member["role"]))
        issued = [
            DemoAccount(user, ",".join(held), accounts.set_password(ADMIN, user))
            for user, held in roles.items()
        ]
    finally:
        gov.close()
    body = [{"user": a.user, "role": a.role, "password": a.password} for a in issued]
    write_bytes_atomic(json.dumps(body, indent=2).encode(), out / ACCOUNTS_FILE, mode=0o600)
    return issued
