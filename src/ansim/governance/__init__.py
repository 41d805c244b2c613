"""Governance: projects, custodian approvals, roles, keys, destruction and the audit chain.

Every service operation goes through :class:`Governance`, which checks the actor's
project-scoped roles (and separation of duties) before acting and appends a hash-chained,
signed audit event after. A project receives no data until every custodian whose dataset it
requests has approved; a revocation stops further use. Each project's hub store is an encrypted
DuckDB file under a data key wrapped by a master key (:class:`KeyStore`); destroying the project
shreds the key, removes the files and writes a signed :class:`DestructionCertificate`.
"""

from __future__ import annotations

from ansim.governance._accounts import (
    ALL_ROLES,
    AccountPolicy,
    Accounts,
    ApiToken,
    IssuedApiToken,
    IssuedSession,
    Session,
)
from ansim.governance._audit import (
    AuditEvent,
    AuditLog,
    AuditReport,
    AuditSigner,
    load_public_key,
    object_hash,
    read_head_file,
)
from ansim.governance._budget import BudgetBalance, PrivacyLedger, PrivacySpend
from ansim.governance._credentials import (
    IssuedToken,
    PasswordPolicy,
    issue_token,
    token_digest,
    totp_secret,
)
from ansim.governance._exports import five_safes_summary, write_processing_record
from ansim.governance._keyprovider import (
    DEMO_PASSPHRASE_FILE,
    KEY_FILE,
    EnvKeyProvider,
    KeyProvider,
    PassphraseKeyFile,
    default_key_provider,
)
from ansim.governance._keys import EnvKeyStore, FileKeyStore, KeyStore, MasterKeyStore, ProjectKey
from ansim.governance._model import DatasetRequest, Operation, ProjectApplication, Purpose, Role
from ansim.governance._rbac import (
    DATA_OPERATIONS,
    INCOMPATIBLE_ROLES,
    PERMISSIONS,
    PROJECT_ROLES,
    allowed_roles,
    role_conflicts,
)
from ansim.governance._retention import RECORD_RETENTION_YEARS, DestructionCertificate
from ansim.governance._row_access import (
    PREVIEW_ROWS,
    RowAccess,
    RowAccessMode,
    RowAccessRegister,
)
from ansim.governance._service import Governance
from ansim.governance._store import MetadataStore
from ansim.governance._twin_option import TwinKind, TwinOption, TwinOptionRegister

__all__ = [
    "ALL_ROLES",
    "DATA_OPERATIONS",
    "DEMO_PASSPHRASE_FILE",
    "INCOMPATIBLE_ROLES",
    "KEY_FILE",
    "PERMISSIONS",
    "PREVIEW_ROWS",
    "PROJECT_ROLES",
    "RECORD_RETENTION_YEARS",
    "AccountPolicy",
    "Accounts",
    "ApiToken",
    "AuditEvent",
    "AuditLog",
    "AuditReport",
    "AuditSigner",
    "BudgetBalance",
    "DatasetRequest",
    "DestructionCertificate",
    "EnvKeyProvider",
    "EnvKeyStore",
    "FileKeyStore",
    "Governance",
    "IssuedApiToken",
    "IssuedSession",
    "IssuedToken",
    "KeyProvider",
    "KeyStore",
    "MasterKeyStore",
    "MetadataStore",
    "Operation",
    "PassphraseKeyFile",
    "PasswordPolicy",
    "PrivacyLedger",
    "PrivacySpend",
    "ProjectApplication",
    "ProjectKey",
    "Purpose",
    "Role",
    "RowAccess",
    "RowAccessMode",
    "RowAccessRegister",
    "Session",
    "TwinKind",
    "TwinOption",
    "TwinOptionRegister",
    "allowed_roles",
    "default_key_provider",
    "five_safes_summary",
    "issue_token",
    "load_public_key",
    "object_hash",
    "read_head_file",
    "role_conflicts",
    "token_digest",
    "totp_secret",
    "write_processing_record",
]
