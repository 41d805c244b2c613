"""Metadata-store backends for the governance tests: SQLite, and a real PostgreSQL server.

The PostgreSQL server is started here, once per test session, in a temporary directory on a free
loopback port, and stopped at the end. Its binaries come from ``PATH`` or Debian's
``/usr/lib/postgresql/*/bin`` (``make test`` installs Debian's ``postgresql`` when neither has
``initdb``). PostgreSQL refuses to run as root, so as root the server runs as the ``postgres``
user (or ``nobody``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from ansim.governance import DatasetRequest, Governance, ProjectApplication, Purpose, Role

BACKENDS = ["sqlite", "postgresql"]
_databases = itertools.count()


def _pg_bin(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not candidates:
        pytest.fail(
            f"PostgreSQL's {name} is not installed: run 'make test' (it installs Debian's "
            "postgresql package) or apt-get install postgresql"
        )
    return candidates[-1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _server_user() -> str | None:
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    pytest.fail("running as root without a 'postgres' or 'nobody' user to run PostgreSQL as")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A throwaway PostgreSQL server; yields its base URL (append a database name)."""
    user = _server_user()
    root = Path(tempfile.mkdtemp(prefix="ansim-pg-"))
    data, port = root / "data", _free_port()
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(root, entry.pw_uid, entry.pw_gid)
    options = f"-p {port} -h 127.0.0.1 -k {root} -F"
    try:
        for command in (
            [_pg_bin("initdb"), "-D", str(data), "-U", "ansim", "--auth=trust", "-E", "UTF8",
             "--no-sync"],
            [_pg_bin("pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-o", options,
             "-w", "-t", "60", "start"],
        ):  # fmt: skip
            subprocess.run(command, check=True, capture_output=True, user=user, cwd=root)
    except subprocess.CalledProcessError as e:
        log = root / "log"
        detail = log.read_text() if log.is_file() else e.stderr.decode(errors="replace")
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(f"PostgreSQL did not start: {detail[-2000:]}")
    try:
        yield f"postgresql+psycopg://ansim@127.0.0.1:{port}"
    finally:
        subprocess.run(
            [_pg_bin("pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
            check=False, capture_output=True, user=user, cwd=root,
        )  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)


def fresh_postgres_database(base_url: str) -> str:
    """An empty schema on the test server, as a URL whose search path is that schema.

    A schema, not a database: creating databases copies the template each time and makes the
    data directory large and slow to delete.
    """
    name = f"ansim_test_{os.getpid()}_{next(_databases)}"
    admin = sa.create_engine(f"{base_url}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{name}"'))
    admin.dispose()
    return f"{base_url}/postgres?options=-csearch_path%3D{name}"


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty metadata store URL on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'governance.db'}"
    return fresh_postgres_database(request.getfixturevalue("postgres_server"))


TODAY = dt.date(2026, 6, 1)
PROJECT = "p1"
APPLICATION = ProjectApplication(
    PROJECT,
    "COVID-19 support and outcomes",
    Purpose.STATISTICS,
    "Rates of confirmed cases by si/gun, age band and sex",
    (DatasetRequest("cases", "gyeonggi"), DatasetRequest("register", "kostat")),
    dt.date(2026, 1, 1),
    dt.date(2026, 12, 31),
)
# one person per role; officer_b acts for the other custodian
MEMBERS = {
    "officer": (Role.CUSTODIAN_OFFICER, "gyeonggi"),
    "officer_b": (Role.CUSTODIAN_OFFICER, "kostat"),
    "linker": (Role.LINKAGE_UNIT_OPERATOR, None),
    "hubop": (Role.HUB_OPERATOR, None),
    "analyst": (Role.ANALYST, None),
    "checker": (Role.OUTPUT_CHECKER, None),
}


def populated(
    home: Path, url: str, *, approve: bool = True, key: bool = True, today: dt.date = TODAY
) -> Governance:
    """An installation with one project, one member per role and (optionally) all approvals."""
    gov = Governance(home, url=url, today=today)
    gov.bootstrap("admin", "Administrator", "KOSTAT")
    for user in [*MEMBERS, "outsider"]:
        gov.register_user("admin", user, user.title(), "org")
    gov.create_project("admin", APPLICATION)
    for user, (role, custodian) in MEMBERS.items():
        gov.add_member("admin", PROJECT, user, role, custodian=custodian)
    if key:
        gov.issue_key("admin", PROJECT)
    if approve:
        gov.approve("officer", PROJECT, "cases")
        gov.approve("officer_b", PROJECT, "register")
    return gov


@pytest.fixture
def gov(tmp_path: Path, store_url: str) -> Iterator[Governance]:
    """A populated installation on each backend, every approval given."""
    g = populated(tmp_path / "home", store_url)
    yield g
    g.close()
