"""Governance vocabulary: roles, purposes, operations and the project application."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from enum import StrEnum

from ansim.errors import InvalidSpecError

__all__ = ["DatasetRequest", "Operation", "ProjectApplication", "Purpose", "Role"]

_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,62}$")


def checked_name(kind: str, value: str) -> str:
    """Return ``value`` if it is a valid identifier for ``kind`` (lower case, no spaces)."""
    if not _NAME.match(value):
        raise InvalidSpecError(
            f"{kind} must be 1-63 lower-case letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return value


class Role(StrEnum):
    """Project-scoped roles (administrator is held globally, public by everyone)."""

    CUSTODIAN_OFFICER = "custodian_officer"
    LINKAGE_UNIT_OPERATOR = "linkage_unit_operator"
    HUB_OPERATOR = "hub_operator"
    ANALYST = "analyst"
    OUTPUT_CHECKER = "output_checker"
    ADMINISTRATOR = "administrator"
    PUBLIC = "public"


class Purpose(StrEnum):
    """Lawful purposes for processing pseudonymised data.

    The first three are PIPA article 28-2 (statistics, scientific research, archiving in the
    public interest); the last is a duty under the Data-Based Administration Act
    (데이터기반행정 활성화에 관한 법률).
    """

    STATISTICS = "statistics"
    SCIENTIFIC_RESEARCH = "scientific_research"
    PUBLIC_INTEREST_ARCHIVING = "public_interest_archiving"
    DATA_BASED_ADMINISTRATION = "data_based_administration"

    @property
    def legal_basis(self) -> str:
        """The provision the purpose rests on.

        Example:
            >>> Purpose.STATISTICS.legal_basis
            'PIPA art. 28-2(1): statistics'
        """
        if self is Purpose.DATA_BASED_ADMINISTRATION:
            return "Data-Based Administration Act: inter-agency data sharing for administration"
        return f"PIPA art. 28-2(1): {self.value.replace('_', ' ')}"


class Operation(StrEnum):
    """Every service operation that the role check guards."""

    REGISTER_USER = "register_user"
    CREATE_PROJECT = "create_project"
    ADD_MEMBER = "add_member"
    APPROVE_DATASET = "approve_dataset"
    REVOKE_DATASET = "revoke_dataset"
    ISSUE_KEY = "issue_key"
    VIEW_DATASET = "view_dataset"
    SUBMIT_PARTS = "submit_parts"
    RUN_LINKAGE = "run_linkage"
    COMBINE = "combine"
    QUERY = "query"
    SUBMIT_OUTPUT = "submit_output"
    REVIEW_OUTPUT = "review_output"
    RELEASE_OUTPUT = "release_output"
    READ_RELEASED = "read_released"
    EXPORT_RECORDS = "export_records"
    DESTROY_PROJECT = "destroy_project"


@dataclass(frozen=True)
class DatasetRequest:
    """A dataset a project asks for, and the custodian who must approve its use.

    Example:
        >>> DatasetRequest("kostat_register", "kostat").custodian
        'kostat'
    """

    dataset: str
    custodian: str

    def __post_init__(self) -> None:
        checked_name("dataset", self.dataset)
        checked_name("custodian", self.custodian)


@dataclass(frozen=True)
class ProjectApplication:
    """What a project applies for: purpose, datasets and processing period.

    Args:
        project: Project identifier.
        title: Short title.
        purpose: Lawful purpose.
        description: What the project will do with the data.
        datasets: The datasets requested (each custodian must approve).
        period_start: First day of processing.
        period_end: Last day of processing; the data is destroyed after it.

    Example:
        >>> import datetime as dt
        >>> ProjectApplication(
        ...     "p1", "t", Purpose.STATISTICS, "d", (DatasetRequest("a", "x"),),
        ...     dt.date(2026, 1, 1), dt.date(2025, 1, 1))
        Traceback (most recent call last):
        ...
        ansim.errors.InvalidSpecError: period_end must not be before period_start
    """

    project: str
    title: str
    purpose: Purpose
    description: str
    datasets: tuple[DatasetRequest, ...]
    period_start: dt.date
    period_end: dt.date

    def __post_init__(self) -> None:
        checked_name("project", self.project)
        if not self.title.strip():
            raise InvalidSpecError("a project needs a title")
        if not isinstance(self.purpose, Purpose):
            raise InvalidSpecError(f"purpose must be one of {[p.value for p in Purpose]}")
        if not self.description.strip():
            raise InvalidSpecError("a project needs a description of its processing")
        if not self.datasets:
            raise InvalidSpecError("a project must request at least one dataset")
        names = [d.dataset for d in self.datasets]
        if len(set(names)) != len(names):
            raise InvalidSpecError("each dataset may be requested once")
        if self.period_end < self.period_start:
            raise InvalidSpecError("period_end must not be before period_start")
