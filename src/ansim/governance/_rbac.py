"""Who may do what: the permission table and the separation-of-duties rules."""

from __future__ import annotations

from types import MappingProxyType

from ansim.governance._model import Operation, Role

__all__ = ["DATA_OPERATIONS", "PERMISSIONS", "allowed_roles"]

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

# A person may not hold both sides of the separation in one project.
EXCLUSIVE_ROLES = frozenset({Role.LINKAGE_UNIT_OPERATOR, Role.HUB_OPERATOR})


def allowed_roles(operation: Operation) -> frozenset[Role]:
    """The roles that may perform ``operation``.

    Example:
        >>> sorted(allowed_roles(Operation.COMBINE))
        [<Role.HUB_OPERATOR: 'hub_operator'>]
    """
    return PERMISSIONS[operation]
