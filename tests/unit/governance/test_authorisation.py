"""The authorisation matrix (every role × every operation) and separation of duties."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from ansim.errors import AccessDenied
from ansim.governance import Governance, Operation, Role
from tests.unit.governance.conftest import APPLICATION, PROJECT, populated

# the acting user for each role ("outsider" is registered but holds no role: the public)
ACTOR = {
    Role.ADMINISTRATOR: "admin",
    Role.CUSTODIAN_OFFICER: "officer",
    Role.LINKAGE_UNIT_OPERATOR: "linker",
    Role.HUB_OPERATOR: "hubop",
    Role.ANALYST: "analyst",
    Role.OUTPUT_CHECKER: "checker",
    Role.PUBLIC: "outsider",
}
# written out by hand, not derived from ansim.governance.PERMISSIONS, so a wrong table fails
ALLOWED: dict[Operation, set[Role]] = {
    Operation.REGISTER_USER: {Role.ADMINISTRATOR},
    Operation.CREATE_PROJECT: {Role.ADMINISTRATOR},
    Operation.ADD_MEMBER: {Role.ADMINISTRATOR},
    Operation.APPROVE_DATASET: {Role.CUSTODIAN_OFFICER},
    Operation.REVOKE_DATASET: {Role.CUSTODIAN_OFFICER},
    Operation.ISSUE_KEY: {Role.ADMINISTRATOR},
    Operation.VIEW_DATASET: {Role.CUSTODIAN_OFFICER},
    Operation.SUBMIT_PARTS: {Role.CUSTODIAN_OFFICER},
    Operation.RUN_LINKAGE: {Role.LINKAGE_UNIT_OPERATOR},
    Operation.COMBINE: {Role.HUB_OPERATOR},
    Operation.QUERY: {Role.ANALYST},
    Operation.SUBMIT_OUTPUT: {Role.ANALYST},
    Operation.REVIEW_OUTPUT: {Role.OUTPUT_CHECKER},
    Operation.RELEASE_OUTPUT: {Role.OUTPUT_CHECKER},
    Operation.READ_RELEASED: set(Role),
    Operation.EXPORT_RECORDS: {Role.ADMINISTRATOR},
    Operation.DESTROY_PROJECT: {Role.ADMINISTRATOR},
}
Action = Callable[[Governance, str, Path], object]


def _store(tmp: Path) -> Path:
    return tmp / "hub.duckdb"


ACTIONS: dict[Operation, Action] = {
    Operation.REGISTER_USER: lambda g, a, t: g.register_user(a, f"new_{a}", "New", "org"),
    Operation.CREATE_PROJECT: lambda g, a, t: g.create_project(
        a, dataclasses.replace(APPLICATION, project=f"p_{a}")
    ),
    Operation.ADD_MEMBER: lambda g, a, t: g.add_member(a, PROJECT, "outsider", Role.ANALYST),
    Operation.APPROVE_DATASET: lambda g, a, t: g.approve(a, PROJECT, "cases"),
    Operation.REVOKE_DATASET: lambda g, a, t: g.revoke(a, PROJECT, "cases"),
    Operation.ISSUE_KEY: lambda g, a, t: g.issue_key(a, PROJECT),
    Operation.VIEW_DATASET: lambda g, a, t: g.authorize(
        a, PROJECT, Operation.VIEW_DATASET, dataset="cases"
    ),
    Operation.SUBMIT_PARTS: lambda g, a, t: g.authorize(
        a, PROJECT, Operation.SUBMIT_PARTS, dataset="cases"
    ),
    Operation.RUN_LINKAGE: lambda g, a, t: g.authorize(a, PROJECT, Operation.RUN_LINKAGE),
    Operation.COMBINE: lambda g, a, t: g.open_hub_store(a, PROJECT, _store(t), write=True).close(),
    Operation.QUERY: lambda g, a, t: g.open_hub_store(a, PROJECT, _store(t)).close(),
    Operation.SUBMIT_OUTPUT: lambda g, a, t: g.submit_output(a, PROJECT, f"out_{a}", b"table"),
    Operation.REVIEW_OUTPUT: lambda g, a, t: g.review_output(a, PROJECT, "held", approve=True),
    Operation.RELEASE_OUTPUT: lambda g, a, t: g.release_output(a, PROJECT, "approved"),
    Operation.READ_RELEASED: lambda g, a, t: g.authorize(a, PROJECT, Operation.READ_RELEASED),
    Operation.EXPORT_RECORDS: lambda g, a, t: g.export_records(a, PROJECT, t / "records"),
    Operation.DESTROY_PROJECT: lambda g, a, t: g.destroy(a, PROJECT, "on request"),
}


def test_every_operation_is_in_the_matrix() -> None:
    assert set(ALLOWED) == set(Operation) == set(ACTIONS)


@pytest.mark.parametrize("operation", list(Operation), ids=lambda o: o.value)
def test_authorisation_matrix(operation: Operation, tmp_path: Path, store_url: str) -> None:
    gov = populated(tmp_path / "home", store_url, key=operation is not Operation.ISSUE_KEY)
    if operation is not Operation.ISSUE_KEY:
        gov.open_hub_store("hubop", PROJECT, _store(tmp_path), write=True).close()
    gov.submit_output("analyst", PROJECT, "held", b"a table")
    gov.submit_output("analyst", PROJECT, "approved", b"another table")
    gov.review_output("checker", PROJECT, "approved", approve=True)
    # the administrator goes last: some of its operations (destroy) end the project
    order = sorted(Role, key=lambda r: r is Role.ADMINISTRATOR)
    outcome = {}
    for role in order:
        try:
            ACTIONS[operation](gov, ACTOR[role], tmp_path)
            outcome[role] = True
        except AccessDenied:
            outcome[role] = False
    gov.close()
    assert outcome == {r: r in ALLOWED[operation] for r in Role}


def test_refusals_are_audited(gov: Governance) -> None:
    with pytest.raises(AccessDenied):
        gov.authorize("analyst", PROJECT, Operation.RUN_LINKAGE)
    last = gov.audit.events()[-1]
    assert (last.actor, last.action) == ("analyst", "access_denied")
    assert last.objects["operation"] == "run_linkage"
    assert gov.verify_audit().ok


def test_linkage_unit_and_hub_roles_need_different_people(gov: Governance) -> None:
    with pytest.raises(AccessDenied, match="separation of duties"):
        gov.add_member("admin", PROJECT, "linker", Role.HUB_OPERATOR)
    with pytest.raises(AccessDenied, match="separation of duties"):
        gov.add_member("admin", PROJECT, "hubop", Role.LINKAGE_UNIT_OPERATOR)
    # in another project the same person may hold the other role
    gov.create_project("admin", dataclasses.replace(APPLICATION, project="p2"))
    gov.add_member("admin", "p2", "linker", Role.HUB_OPERATOR)


def test_nobody_approves_their_own_output(gov: Governance) -> None:
    # analyst + checker in one project needs a second administrator's approval
    gov.register_user("admin", "admin2", "Second administrator", "KOSTAT")
    gov.add_administrator("admin", "admin2")
    gov.approve_grant("admin2", PROJECT, "analyst", Role.OUTPUT_CHECKER)
    gov.add_member("admin", PROJECT, "analyst", Role.OUTPUT_CHECKER)
    gov.submit_output("analyst", PROJECT, "mine", b"table")
    with pytest.raises(AccessDenied, match="own output"):
        gov.review_output("analyst", PROJECT, "mine", approve=True)
    gov.review_output("checker", PROJECT, "mine", approve=True)
    with pytest.raises(AccessDenied, match="own output"):
        gov.release_output("analyst", PROJECT, "mine")
    gov.release_output("checker", PROJECT, "mine")
    assert gov.project(PROJECT)["outputs"][0]["status"] == "released"


def test_custodians_act_on_their_own_datasets_only(gov: Governance) -> None:
    for operation in (Operation.VIEW_DATASET, Operation.SUBMIT_PARTS):
        gov.authorize("officer", PROJECT, operation, dataset="cases")
        with pytest.raises(AccessDenied, match="own datasets"):
            gov.authorize("officer", PROJECT, operation, dataset="register")
    with pytest.raises(AccessDenied, match="own datasets"):
        gov.revoke("officer", PROJECT, "register")
    with pytest.raises(AccessDenied, match="did not request"):
        gov.authorize("officer", PROJECT, Operation.VIEW_DATASET, dataset="elsewhere")


def test_roles_do_not_carry_over_to_other_projects(gov: Governance) -> None:
    gov.create_project("admin", dataclasses.replace(APPLICATION, project="p2"))
    with pytest.raises(AccessDenied):
        gov.authorize("linker", "p2", Operation.RUN_LINKAGE)


def test_no_data_until_every_custodian_approves(tmp_path: Path, store_url: str) -> None:
    gov = populated(tmp_path / "home", store_url, approve=False)
    with pytest.raises(AccessDenied, match="every custodian approves"):
        gov.authorize("linker", PROJECT, Operation.RUN_LINKAGE)
    gov.approve("officer", PROJECT, "cases")
    with pytest.raises(AccessDenied, match="register"):
        gov.open_hub_store("hubop", PROJECT, tmp_path / "hub.duckdb", write=True)
    gov.approve("officer_b", PROJECT, "register")
    gov.authorize("linker", PROJECT, Operation.RUN_LINKAGE)
    assert gov.approval_state(PROJECT) == {"cases": "approved", "register": "approved"}
    gov.close()


def test_revocation_blocks_further_use_and_is_audited(gov: Governance, tmp_path: Path) -> None:
    gov.open_hub_store("hubop", PROJECT, tmp_path / "hub.duckdb", write=True).close()
    gov.revoke("officer_b", PROJECT, "register")
    assert gov.approval_state(PROJECT)["register"] == "revoked"
    for operation in (Operation.RUN_LINKAGE, Operation.SUBMIT_PARTS):
        with pytest.raises(AccessDenied, match="revoked"):
            gov.authorize("linker" if operation is Operation.RUN_LINKAGE else "officer",
                          PROJECT, operation, dataset=None if operation is Operation.RUN_LINKAGE
                          else "cases")  # fmt: skip
    with pytest.raises(AccessDenied, match="revoked"):
        gov.open_hub_store("analyst", PROJECT, tmp_path / "hub.duckdb")
    actions = [e.action for e in gov.audit.events(PROJECT)]
    assert "revoke_dataset" in actions
    assert gov.verify_audit().ok


def test_no_data_outside_the_processing_period(tmp_path: Path, store_url: str) -> None:
    gov = populated(tmp_path / "home", store_url)
    gov.close()
    late = Governance(tmp_path / "home", url=store_url, today=APPLICATION.period_end.replace(
        year=APPLICATION.period_end.year + 1))  # fmt: skip
    with pytest.raises(AccessDenied, match="may process data from"):
        late.authorize("linker", PROJECT, Operation.RUN_LINKAGE)
    late.close()


def test_every_event_names_actor_role_project_and_purpose(gov: Governance) -> None:
    gov.authorize("linker", PROJECT, Operation.RUN_LINKAGE, objects={"linkmap": "ab" * 32})
    event = gov.audit.events()[-1]
    assert (event.actor, event.role, event.project, event.purpose) == (
        "linker", "linkage_unit_operator", PROJECT, "statistics",
    )  # fmt: skip
    assert event.objects["linkmap"] == "ab" * 32
    with gov.store.engine.connect() as c:
        assert c.execute(sa.text("select count(*) from audit_checkpoints")).scalar() == event.seq


def test_login_is_audited_for_registered_users_only(gov: Governance) -> None:
    gov.login("analyst")
    assert (gov.audit.events()[-1].actor, gov.audit.events()[-1].action) == ("analyst", "login")
    with pytest.raises(AccessDenied, match="not a registered user"):
        gov.login("stranger")


def test_received_files_are_recorded_and_destroyed(gov: Governance, tmp_path: Path) -> None:
    part = tmp_path / "content.parquet"
    part.write_bytes(b"content part")
    with pytest.raises(AccessDenied):
        gov.receive_files("analyst", PROJECT, [part])
    gov.receive_files("hubop", PROJECT, [part])
    event = gov.audit.events()[-1]
    assert event.action == "combine"
    assert (
        event.objects["received"]["content.parquet"] == hashlib.sha256(b"content part").hexdigest()
    )
    gov.destroy("admin", PROJECT, "on request")
    assert not part.exists()
