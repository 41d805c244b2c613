"""Who may do what: the permission table and the separation-of-duties rules."""

from __future__ import annotations

from types import MappingProxyType

from ansim.governance._model import Operation, Role

__all__ = [
    "DATA_OPERATIONS",
    "INCOMPATIBLE_ROLES",
    "PERMISSIONS",
    "allowed_roles",
    "role_conflicts",
]

_R = Role
PERMISSIONS: MappingProxyType[Operation, frozenset[Role]] = MappingProxyType(
    {
        Operation.REGISTER_USER: frozenset({_R.ADMINISTRATOR}),
        Operation.CREATE_PROJECT: frozenset({_R.ADMINISTRATOR}),
        Operation.ADD_MEMBER: frozenset({_R.ADMINISTRATOR}),
        Operation.APPROVE_DATASET: frozenset({_R.CUSTODIAN_OFFICER}),
        Operation.REVOKE_DATASET: frozenset({_R.CUSTODIAN_OFFICER}),
        Operation.ISSUE_KEY: frozenset({_R.ADMINISTRATOR}),
        Operation.VIEW_DATASET: frozenset({_R.CUSTODIAN_OFFICER}),
        Operation.SUBMIT_PARTS: frozenset({_R.CUSTODIAN_OFFICER}),
        Operation.RUN_LINKAGE: frozenset({_R.LINKAGE_UNIT_OPERATOR}),
        Operation.COMBINE: frozenset({_R.HUB_OPERATOR}),
        Operation.QUERY: frozenset({_R.ANALYST}),
        Operation.SUBMIT_OUTPUT: frozenset({_R.ANALYST}),
        Operation.REVIEW_OUTPUT: frozenset({_R.OUTPUT_CHECKER}),
        Operation.RELEASE_OUTPUT: frozenset({_R.OUTPUT_CHECKER}),
        Operation.READ_RELEASED: frozenset(Role),
        Operation.EXPORT_RECORDS: frozenset({_R.ADMINISTRATOR}),
        Operation.DESTROY_PROJECT: frozenset({_R.ADMINISTRATOR}),
    }
)
"""The roles allowed to perform each operation (administrators manage, they never see data)."""

DATA_OPERATIONS = frozenset(
    {
        Operation.SUBMIT_PARTS,
        Operation.RUN_LINKAGE,
        Operation.COMBINE,
        Operation.QUERY,
        Operation.SUBMIT_OUTPUT,
    }
)
"""Operations that move or touch project data: blocked until every custodian has approved, after
any revocation, outside the processing period and after destruction."""

PROJECT_ROLES = frozenset(Role) - {Role.ADMINISTRATOR, Role.PUBLIC}
"""The roles granted per project; every one of them touches or decides on project data."""

INCOMPATIBLE_ROLES: tuple[tuple[frozenset[Role], frozenset[Role], str], ...] = (
    (
        frozenset({Role.ADMINISTRATOR}),
        PROJECT_ROLES,
        "an administrator manages users and keys and holds no data role",
    ),
    (
        frozenset({Role.OUTPUT_CHECKER}),
        frozenset({Role.ANALYST}),
        "an output checker does not check outputs of a project they analyse",
    ),
    (
        frozenset({Role.LINKAGE_UNIT_OPERATOR}),
        frozenset({Role.HUB_OPERATOR}),
        "linkage-unit and hub roles need different people",
    ),
)
"""Pairs of role sets one person may not hold together (in one project; administrator is
global), each with the reason. A second administrator may approve an exception, recorded."""


def role_conflicts(held: frozenset[Role] | set[Role], role: Role) -> list[str]:
    """Why granting ``role`` to someone holding ``held`` breaks separation of duties.

    Args:
        held: The roles the person already holds (in the project, plus global ones).
        role: The role to grant.

    Returns:
        One reason per rule broken (empty if the grant is compatible).

    Example:
        >>> role_conflicts({Role.ANALYST}, Role.OUTPUT_CHECKER)
        ['an output checker does not check outputs of a project they analyse']
        >>> role_conflicts({Role.ANALYST, Role.PUBLIC}, Role.CUSTODIAN_OFFICER)
        []
    """
    reasons = []
    for one, other, reason in INCOMPATIBLE_ROLES:
        if (role in one and held & other) or (role in other and held & one):
            reasons.append(reason)
    return reasons


def allowed_roles(operation: Operation) -> frozenset[Role]:
    """The roles that may perform ``operation``.

    Example:
        >>> sorted(allowed_roles(Operation.COMBINE))
        [<Role.HUB_OPERATOR: 'hub_operator'>]
    """
    return PERMISSIONS[operation]
