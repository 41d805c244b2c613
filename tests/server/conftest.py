"""A small deployment for the server tests: two projects, a person in every role, linked data.

``p1`` and ``p2`` request the same two datasets; each project's hub store holds linked synthetic
tables. Analysts and checkers belong to one project each, so every cross-project request has
someone to make it. Every account's password is :data:`PASSWORD`.
"""

from __future__ import annotations

import datetime as dt
import shutil
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from ansim.governance import (
    AccountPolicy,
    Accounts,
    DatasetRequest,
    Governance,
    PasswordPolicy,
    ProjectApplication,
    Purpose,
    Role,
)
from ansim.server import CSRF_HEADER, create_app

with warnings.catch_warnings():  # starlette asks for httpx2, which is not installed here
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

PASSWORD = "server test password"  # noqa: S105  # the test accounts' password
TODAY = dt.date(2026, 6, 1)
P1, P2 = "p1", "p2"
PEOPLE = 300
# user → {project: (role, custodian)}
MEMBERS: dict[str, dict[str, tuple[Role, str | None]]] = {
    "officer": {P1: (Role.CUSTODIAN_OFFICER, "gyeonggi"), P2: (Role.CUSTODIAN_OFFICER, "gyeonggi")},
    "officer_b": {P1: (Role.CUSTODIAN_OFFICER, "kostat"), P2: (Role.CUSTODIAN_OFFICER, "kostat")},
    "linker": {P1: (Role.LINKAGE_UNIT_OPERATOR, None), P2: (Role.LINKAGE_UNIT_OPERATOR, None)},
    "hubop": {P1: (Role.HUB_OPERATOR, None), P2: (Role.HUB_OPERATOR, None)},
    "analyst": {P1: (Role.ANALYST, None)},
    "analyst_b": {P1: (Role.ANALYST, None)},
    "checker": {P1: (Role.OUTPUT_CHECKER, None)},
    "checker2": {P1: (Role.OUTPUT_CHECKER, None)},
    "analyst_p2": {P2: (Role.ANALYST, None)},
    "checker_p2": {P2: (Role.OUTPUT_CHECKER, None)},
}
USERS = ["admin", "admin2", *MEMBERS, "outsider"]
# a light argon2id profile keeps logins quick in tests; the hashes are still argon2id
POLICY = AccountPolicy(password=PasswordPolicy(time_cost=1, memory_kib=8192, parallelism=1))


def _application(project: str) -> ProjectApplication:
    return ProjectApplication(
        project, f"COVID-19 cases ({project})", Purpose.STATISTICS,
        "Case rates by income band and sex",
        (DatasetRequest("cases", "gyeonggi"), DatasetRequest("register", "kostat")),
        dt.date(2026, 1, 1), dt.date(2026, 12, 31),
    )  # fmt: skip


def linked_tables(seed: int) -> dict[str, pa.Table]:
    """Register (everyone) and cases (a third), linked by person_id."""
    rng = np.random.default_rng(seed)
    ids = np.arange(PEOPLE)
    register = pa.table(
        {
            "person_id": ids,
            "age": rng.integers(0, 90, PEOPLE),
            "sex": rng.choice(["M", "F"], PEOPLE).tolist(),
            "income_band": rng.choice(["Q1", "Q2", "Q3"], PEOPLE).tolist(),
            "income": rng.gamma(2.0, 1500.0, PEOPLE).round(0),
        }
    )
    cased = ids[rng.random(PEOPLE) < 0.35]
    cases = pa.table({"person_id": cased, "days_isolated": rng.integers(1, 15, len(cased))})
    return {"linked_register": register, "linked_cases": cases}


def build_deployment(home: Path) -> None:
    """Write a deployment home with both projects, every role, approvals, keys and hub data."""
    gov = Governance(home, today=TODAY)
    try:
        gov.bootstrap("admin", "Administrator", "KOSTAT")
        for user in USERS[1:]:
            gov.register_user("admin", user, user.title(), "org")
        gov.add_administrator("admin", "admin2")
        accounts = Accounts(gov, policy=POLICY)
        for user in USERS:
            accounts.set_password("admin", user, PASSWORD)
        for seed, project in enumerate((P1, P2)):
            gov.create_project("admin", _application(project))
            for user, grants in MEMBERS.items():
                if project in grants:
                    role, custodian = grants[project]
                    gov.add_member("admin", project, user, role, custodian=custodian)
            gov.issue_key("admin", project)
            gov.approve("officer", project, "cases")
            gov.approve("officer_b", project, "register")
            store = home / "hub" / project / "hub.duckdb"
            store.parent.mkdir(parents=True, exist_ok=True)
            with gov.open_hub_store("hubop", project, store, write=True) as engine:
                for name, table in linked_tables(seed).items():
                    engine.create_table(name, table)
    finally:
        gov.close()


@pytest.fixture(scope="session")
def template_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A built deployment, copied by each test that changes things."""
    home = tmp_path_factory.mktemp("deployment") / "home"
    build_deployment(home)
    return home


@dataclass
class Site:
    """A running app over a deployment home, and logged-in clients per user."""

    home: Path
    app: object
    clients: dict[str, TestClient]

    def anonymous(self) -> TestClient:
        return TestClient(self.app, raise_server_exceptions=True)  # type: ignore[arg-type]

    def login(self, user: str) -> TestClient:
        """A client with ``user``'s session cookie and CSRF header."""
        if user not in self.clients:
            client = self.anonymous()
            answer = client.post("/api/session", json={"user": user, "password": PASSWORD})
            assert answer.status_code == 200, answer.text
            client.headers[CSRF_HEADER] = answer.json()["csrf_token"]
            self.clients[user] = client
        return self.clients[user]

    def token(self, user: str, **scope: object) -> TestClient:
        """A client sending one of ``user``'s API tokens (no cookie)."""
        issued = self.login(user).post("/api/tokens", json={"name": "test", **scope})
        assert issued.status_code == 201, issued.text
        client = self.anonymous()
        client.headers["Authorization"] = f"Bearer {issued.json()['token']}"
        return client


def _site(home: Path) -> Site:
    app = create_app(home, secure_cookies=False, today=TODAY, policy=POLICY)
    return Site(home, app, {})


@pytest.fixture(scope="module")
def site(template_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """One app for a module's read-mostly tests (a copy of the template)."""
    home = tmp_path_factory.mktemp("site") / "home"
    shutil.copytree(template_home, home)
    yield _site(home)


@pytest.fixture
def fresh(template_home: Path, tmp_path: Path) -> Callable[[], Site]:
    """A factory of apps over fresh copies of the deployment, for tests that change it."""

    def make() -> Site:
        home = tmp_path / f"home{len(list(tmp_path.iterdir()))}"
        shutil.copytree(template_home, home)
        return _site(home)

    return make
