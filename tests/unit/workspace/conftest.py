"""A governed project with an encrypted hub store of linked synthetic tables, for the workspace."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from ansim.governance import DatasetRequest, Governance, ProjectApplication, Purpose, Role
from ansim.workspace import Review, Workspace

PROJECT = "p1"
OTHER = "p2"
MEMBERS = {
    "officer": (Role.CUSTODIAN_OFFICER, "gyeonggi"),
    "officer_b": (Role.CUSTODIAN_OFFICER, "kostat"),
    "hubop": (Role.HUB_OPERATOR, None),
    "analyst": (Role.ANALYST, None),
    "checker": (Role.OUTPUT_CHECKER, None),
    "checker2": (Role.OUTPUT_CHECKER, None),
    "checker3": (Role.OUTPUT_CHECKER, None),
    "dual": (Role.ANALYST, None),
}
PEOPLE = 600


def _application(project: str) -> ProjectApplication:
    return ProjectApplication(
        project,
        "COVID-19 cases by income and vaccination",
        Purpose.STATISTICS,
        "Case rates by income band and vaccination",
        (DatasetRequest("cases", "gyeonggi"), DatasetRequest("register", "kostat")),
        dt.date(2026, 1, 1),
        dt.date(2026, 12, 31),
    )


def linked_tables(seed: int = 7) -> dict[str, pa.Table]:
    """Register (everyone) and cases (a third of them), linked by person_id."""
    rng = np.random.default_rng(seed)
    ids = np.arange(PEOPLE)
    ages = rng.integers(0, 90, PEOPLE)
    register = pa.table(
        {
            "person_id": ids,
            "age": ages,
            "sex": rng.choice(["M", "F"], PEOPLE).tolist(),
            "income_band": rng.choice(["Q1", "Q2", "Q3", "Q4", "Q5"], PEOPLE).tolist(),
            "vaccinated": rng.choice(["Y", "N"], PEOPLE, p=[0.7, 0.3]).tolist(),
            "income": rng.gamma(2.0, 1500.0, PEOPLE).round(0),
        }
    )
    cased = ids[rng.random(PEOPLE) < 0.35]
    cases = pa.table(
        {
            "person_id": cased,
            "isolation_support_krw": rng.integers(100, 1000, len(cased)) * 1000,
            "days_isolated": rng.integers(1, 15, len(cased)),
        }
    )
    return {"linked_register": register, "linked_cases": cases}


@dataclass
class Env:
    """What a workspace test needs."""

    gov: Governance
    store: Path
    other_store: Path
    home: Path
    tmp: Path

    def workspace(self, actor: str = "analyst", **settings: object) -> Workspace:
        return Workspace(self.gov, actor, PROJECT, self.store, self.home, **settings)  # type: ignore[arg-type]

    def review(self) -> Review:
        return Review(self.gov, PROJECT, self.home)


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    gov = Governance(tmp_path / "gov", today=dt.date(2026, 6, 1))
    gov.bootstrap("admin", "Administrator", "KOSTAT")
    for user in [*MEMBERS, "outsider", "admin2"]:
        gov.register_user("admin", user, user.title(), "org")
    gov.add_administrator("admin", "admin2")  # approves the "dual" analyst-checker grants
    stores = {}
    for project in (PROJECT, OTHER):
        gov.create_project("admin", _application(project))
        for user, (role, custodian) in MEMBERS.items():
            gov.add_member("admin", project, user, role, custodian=custodian)
        gov.approve_grant("admin2", project, "dual", Role.OUTPUT_CHECKER)
        gov.add_member("admin", project, "dual", Role.OUTPUT_CHECKER)
        gov.issue_key("admin", project)
        gov.approve("officer", project, "cases")
        gov.approve("officer_b", project, "register")
        stores[project] = tmp_path / project / "hub.duckdb"
        with gov.open_hub_store("hubop", project, stores[project], write=True) as engine:
            tables = (
                # a table that is not a linked dataset must not become a view
                linked_tables() | {"hub_internal": pa.table({"person_id": [1]})}
                if project == PROJECT
                else {"linked_secret": pa.table({"person_id": [1], "x": [1]})}
            )
            for name, table in tables.items():
                engine.create_table(name, table)
    yield Env(gov, stores[PROJECT], stores[OTHER], tmp_path / PROJECT / "workspace", tmp_path)
    gov.close()
