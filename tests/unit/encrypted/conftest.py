import datetime as dt
from pathlib import Path

import pytest

from ansim.encrypted import BFV, CKKS, ProjectCipherKeys, Scheme, SchemeParameters
from ansim.governance import DatasetRequest, Governance, ProjectApplication, Purpose, Role

PARAMETERS: dict[Scheme, SchemeParameters] = {Scheme.CKKS: CKKS, Scheme.BFV: BFV}
PROJECT = "enc-test"


@pytest.fixture(scope="session")
def keys() -> dict[Scheme, ProjectCipherKeys]:
    """One set of project keys for the whole session (generation takes about a second)."""
    return {s: ProjectCipherKeys.generate(p) for s, p in PARAMETERS.items()}


@pytest.fixture(scope="session")
def public(keys: dict[Scheme, ProjectCipherKeys]) -> dict[Scheme, bytes]:
    return {s: k.public for s, k in keys.items()}


@pytest.fixture
def governance(tmp_path: Path) -> Governance:
    """A project with two custodians' officers, an output checker, a hub operator, an analyst."""
    gov = Governance(tmp_path / "gov")
    gov.bootstrap("admin", "Admin", "KOSTAT")
    team = {
        "officer.kostat": (Role.CUSTODIAN_OFFICER, "kostat"),
        "officer.gyeonggi": (Role.CUSTODIAN_OFFICER, "gyeonggi"),
        "checker": (Role.OUTPUT_CHECKER, None),
        "hub": (Role.HUB_OPERATOR, None),
        "analyst": (Role.ANALYST, None),
    }
    for user in team:
        gov.register_user("admin", user, user, "X")
    today = gov.today()
    gov.create_project(
        "admin",
        ProjectApplication(
            PROJECT,
            "test",
            Purpose.STATISTICS,
            "encrypted totals",
            (DatasetRequest("register", "kostat"), DatasetRequest("support", "gyeonggi")),
            today,
            today + dt.timedelta(days=30),
        ),
    )
    for user, (role, custodian) in team.items():
        gov.add_member("admin", PROJECT, user, role, custodian=custodian)
    gov.approve("officer.kostat", PROJECT, "register")
    gov.approve("officer.gyeonggi", PROJECT, "support")
    yield gov
    gov.close()
