"""Incompatible role grants are refused unless a second administrator approved them, audited."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansim.errors import AccessDenied, InvalidSpecError
from ansim.governance import PROJECT_ROLES, Governance, Role, role_conflicts
from tests.unit.governance.conftest import PROJECT

INCOMPATIBLE = {
    frozenset({Role.OUTPUT_CHECKER, Role.ANALYST}),
    frozenset({Role.LINKAGE_UNIT_OPERATOR, Role.HUB_OPERATOR}),
}


@settings(max_examples=40, deadline=None)
@given(st.sets(st.sampled_from(sorted(Role))), st.sampled_from(sorted(Role)))
def test_conflicts_are_symmetric_and_exactly_the_listed_pairs(held: set[Role], role: Role) -> None:
    held = held - {Role.PUBLIC}
    expected = any(
        frozenset({h, role}) in INCOMPATIBLE
        or (Role.ADMINISTRATOR in {h, role} and {h, role} & PROJECT_ROLES)
        for h in held
    )
    assert bool(role_conflicts(held, role)) == expected
    for h in held:  # granting in the other order clashes the same way
        assert bool(role_conflicts({role}, h)) == bool(role_conflicts({h}, role))


@pytest.mark.parametrize(
    ("user", "role"),
    [
        ("analyst", Role.OUTPUT_CHECKER),
        ("checker", Role.ANALYST),
        ("linker", Role.HUB_OPERATOR),
        ("admin", Role.ANALYST),
        ("admin", Role.CUSTODIAN_OFFICER),
    ],
)
def test_incompatible_grants_are_refused_with_a_reason(
    gov: Governance, user: str, role: Role
) -> None:
    custodian = "gyeonggi" if role is Role.CUSTODIAN_OFFICER else None
    with pytest.raises(AccessDenied, match="separation of duties"):
        gov.add_member("admin", PROJECT, user, role, custodian=custodian)
    last = gov.audit.events()[-1]
    assert (last.action, last.objects["operation"]) == ("access_denied", "add_member")


def test_a_second_administrator_approves_an_exception_once(gov: Governance) -> None:
    gov.register_user("admin", "admin2", "Second", "KOSTAT")
    gov.add_administrator("admin", "admin2")
    # an administrator cannot approve their own exception
    gov.approve_grant("admin", PROJECT, "analyst", Role.OUTPUT_CHECKER)
    with pytest.raises(AccessDenied, match="second administrator"):
        gov.add_member("admin", PROJECT, "analyst", Role.OUTPUT_CHECKER)
    gov.approve_grant("admin2", PROJECT, "analyst", Role.OUTPUT_CHECKER)
    gov.add_member("admin", PROJECT, "analyst", Role.OUTPUT_CHECKER)
    grant = [e for e in gov.audit.events() if e.action == "add_member"][-1]
    assert grant.objects["approved_by"] == "admin2"
    # the approval is used up, and applies to that grant only
    gov.register_user("admin", "analyst2", "A2", "SNU")
    gov.add_member("admin", PROJECT, "analyst2", Role.ANALYST)
    with pytest.raises(AccessDenied):
        gov.add_member("admin", PROJECT, "analyst2", Role.OUTPUT_CHECKER)
    assert gov.verify_audit().ok


def test_administrators_hold_no_data_role(gov: Governance) -> None:
    with pytest.raises(AccessDenied, match="holds no data role"):
        gov.add_administrator("admin", "analyst")
    with pytest.raises(AccessDenied):  # only administrators make administrators
        gov.add_administrator("analyst", "outsider")
    gov.add_administrator("admin", "outsider")
    with pytest.raises(InvalidSpecError, match="already"):
        gov.add_administrator("admin", "outsider")
    with pytest.raises(AccessDenied, match="holds no data role"):
        gov.add_member("admin", PROJECT, "outsider", Role.ANALYST)


def test_grants_name_existing_users_and_projects(gov: Governance) -> None:
    with pytest.raises(InvalidSpecError, match="no user"):
        gov.add_member("admin", PROJECT, "ghost", Role.ANALYST)
    with pytest.raises(InvalidSpecError, match="no project"):
        gov.add_member("admin", "nope", "outsider", Role.ANALYST)
    with pytest.raises(InvalidSpecError, match="already registered"):
        gov.register_user("admin", "outsider", "again", "org")
