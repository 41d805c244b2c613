"""A governed project with an encrypted hub store of linked register and cases, for releases."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from ansim.governance import DatasetRequest, Governance, ProjectApplication, Purpose, Role

PROJECT = "p1"
MEMBERS = {
    "officer": (Role.CUSTODIAN_OFFICER, "gyeonggi"),
    "officer_b": (Role.CUSTODIAN_OFFICER, "kostat"),
    "hubop": (Role.HUB_OPERATOR, None),
    "analyst": (Role.ANALYST, None),
    "checker": (Role.OUTPUT_CHECKER, None),
    "checker2": (Role.OUTPUT_CHECKER, None),
}
PEOPLE = 4000


def register(seed: int = 3) -> tuple[pa.Table, pa.Table]:
    """Register (si/gun, age, sex) and the persons with a confirmed case."""
    rng = np.random.default_rng(seed)
    ids = [f"p{i:05d}" for i in range(PEOPLE)]
    people = pa.table(
        {
            "person_id": ids,
            "sigungu_code": rng.choice(["41110", "41610", "41830"], PEOPLE).tolist(),
            "age": rng.integers(0, 90, PEOPLE),
            "sex": rng.choice(["M", "F"], PEOPLE).tolist(),
        }
    )
    cases = pa.table({"person_id": [i for i in ids if rng.random() < 0.3]})
    return people, cases


@dataclass
class Project:
    """What a release test needs."""

    gov: Governance
    home: Path  # the governance home
    store: Path  # the hub store; the ledger is in store.parent / "workspace"
    tmp: Path

    @property
    def workspace(self) -> Path:
        return self.store.parent / "workspace"


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    home = tmp_path / "gov"
    gov = Governance(home)
    gov.bootstrap("admin", "Administrator", "KOSTAT")
    for user in MEMBERS:
        gov.register_user("admin", user, user.title(), "org")
    today = gov.today()
    gov.create_project(
        "admin",
        ProjectApplication(
            PROJECT, "Cases per 100,000", Purpose.STATISTICS, "Case rates by si/gun",
            (DatasetRequest("gyeonggi_cases", "gyeonggi"),
             DatasetRequest("kostat_register", "kostat")),
            today - dt.timedelta(days=1), today + dt.timedelta(days=300),
        ),
    )  # fmt: skip
    for user, (role, custodian) in MEMBERS.items():
        gov.add_member("admin", PROJECT, user, role, custodian=custodian)
    gov.issue_key("admin", PROJECT)
    gov.approve("officer", PROJECT, "gyeonggi_cases")
    gov.approve("officer_b", PROJECT, "kostat_register")
    store = tmp_path / "hub" / "hub.duckdb"
    store.parent.mkdir()
    people, cases = register()
    with gov.open_hub_store("hubop", PROJECT, store, write=True) as engine:
        engine.create_table("linked_kostat_register", people)
        engine.create_table("linked_gyeonggi_cases", cases)
    yield Project(gov, home, store, tmp_path)
    gov.close()
