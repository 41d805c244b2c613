"""Ansim's one exception tree.

Every error Ansim raises on purpose derives from :class:`AnsimError`; the ones that are also
a kind of built-in error inherit from it too, so callers can catch either::

    AnsimError
    ├── InvalidSpecError(ValueError)      a spec or config file is wrong
    ├── IngestError                       a whole input file cannot be read
    │   └── OversizedInputError           the file is larger than the configured limit
    ├── InvalidIdentifierError(ValueError) a value cannot be standardised as its kind
    ├── IdentifierInContentError          a content part would carry an identifier-shaped value
    ├── LinkageError                      linkage inputs are inconsistent
    ├── HubError                          the hub cannot combine or store parts
    ├── DisclosureCheckFailed             an output fails a disclosure rule
    ├── BudgetExhaustedError              a privacy budget would be overspent
    ├── AccessDenied(PermissionError)     an actor may not perform an operation
    │   ├── AuthenticationFailed          unknown user, wrong password, bad or expired token
    │   └── RateLimited                   too many failed logins: wait and try again
    ├── NotFoundError(LookupError)        no such object (or not one the caller may know of)
    ├── IntegrityError                    a package, log or file was tampered with
    ├── EngineError                       the query engine failed
    └── ServerError                       the hub's server cannot be reached or failed

Messages name the dataset, column and row number involved and say what to do next; they never
contain record values, identifiers or secrets.
"""

from __future__ import annotations

__all__ = [
    "AccessDenied",
    "AnsimError",
    "AuthenticationFailed",
    "BudgetExhaustedError",
    "DisclosureCheckFailed",
    "EngineError",
    "HubError",
    "IdentifierInContentError",
    "IngestError",
    "IntegrityError",
    "InvalidIdentifierError",
    "InvalidSpecError",
    "LinkageError",
    "NotFoundError",
    "OversizedInputError",
    "RateLimited",
    "ServerError",
]


class AnsimError(Exception):
    """Base of every error Ansim raises on purpose."""


class InvalidSpecError(AnsimError, ValueError):
    """A dataset spec, linkage config or release policy is invalid."""


class IngestError(AnsimError):
    """An input file as a whole cannot be ingested (rows with problems are quarantined instead)."""


class OversizedInputError(IngestError):
    """An input file is larger than the configured upload limit."""


class InvalidIdentifierError(AnsimError, ValueError):
    """A value cannot be standardised as the identifier kind it is declared to be."""


class LinkageError(AnsimError):
    """Identity parts cannot be linked as asked."""


class HubError(AnsimError):
    """The hub cannot combine, store or serve project data as asked."""


class DisclosureCheckFailed(AnsimError):
    """An output does not pass a statistical disclosure check."""


class BudgetExhaustedError(AnsimError):
    """A differential-privacy query would overspend its budget."""


class AccessDenied(AnsimError, PermissionError):
    """The actor's role does not allow the operation."""


class AuthenticationFailed(AccessDenied):
    """The caller could not be authenticated (the message never says which part was wrong)."""


class RateLimited(AccessDenied):
    """Too many failed logins for a user or an address within the window."""


class NotFoundError(AnsimError, LookupError):
    """No such object, or none the caller may know of (a server answers 404 either way)."""


class IntegrityError(AnsimError):
    """A package, log or stored file failed an integrity check."""


class EngineError(AnsimError):
    """The query engine failed to execute a plan."""


class ServerError(AnsimError):
    """The hub's server cannot be reached, or failed to answer a client's request."""


class IdentifierInContentError(AnsimError):
    """A content part would carry a value shaped like a direct identifier (RRN, phone, name)."""
