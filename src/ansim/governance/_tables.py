"""The metadata store's tables (SQLAlchemy Core); ``migrations/`` creates them in this shape.

Timestamps are ISO 8601 UTC strings so that audit hashes are identical on every backend.
"""

from __future__ import annotations

import sqlalchemy as sa

__all__ = [
    "api_tokens",
    "approvals",
    "audit_checkpoints",
    "audit_events",
    "credentials",
    "grant_approvals",
    "login_failures",
    "memberships",
    "metadata",
    "outputs",
    "project_datasets",
    "project_files",
    "project_keys",
    "projects",
    "sessions",
    "users",
]

metadata = sa.MetaData()

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.String(63), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("organisation", sa.String(200), nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
)

projects = sa.Table(
    "projects",
    metadata,
    sa.Column("id", sa.String(63), primary_key=True),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("purpose", sa.String(40), nullable=False),
    sa.Column("legal_basis", sa.String(200), nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("period_start", sa.Date, nullable=False),
    sa.Column("period_end", sa.Date, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("created_by", sa.String(63), sa.ForeignKey("users.id"), nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("destroyed_at", sa.String(40), nullable=True),
    sa.Column("retain_record_until", sa.Date, nullable=True),
)

project_datasets = sa.Table(
    "project_datasets",
    metadata,
    sa.Column("project_id", sa.String(63), sa.ForeignKey("projects.id"), primary_key=True),
    sa.Column("dataset", sa.String(63), primary_key=True),
    sa.Column("custodian", sa.String(63), nullable=False),
)

memberships = sa.Table(
    "memberships",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("user_id", sa.String(63), sa.ForeignKey("users.id"), nullable=False),
    sa.Column("project_id", sa.String(63), sa.ForeignKey("projects.id"), nullable=True),
    sa.Column("role", sa.String(40), nullable=False),
    sa.Column("custodian", sa.String(63), nullable=True),
    sa.Column("granted_at", sa.String(40), nullable=False),
)

approvals = sa.Table(
    "approvals",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("project_id", sa.String(63), sa.ForeignKey("projects.id"), nullable=False),
    sa.Column("dataset", sa.String(63), nullable=False),
    sa.Column("custodian", sa.String(63), nullable=False),
    sa.Column("officer", sa.String(63), sa.ForeignKey("users.id"), nullable=False),
    sa.Column("decision", sa.String(20), nullable=False),
    sa.Column("at", sa.String(40), nullable=False),
)

outputs = sa.Table(
    "outputs",
    metadata,
    sa.Column("id", sa.String(63), primary_key=True),
    sa.Column("project_id", sa.String(63), sa.ForeignKey("projects.id"), nullable=False),
    sa.Column("author", sa.String(63), sa.ForeignKey("users.id"), nullable=False),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("reviewer", sa.String(63), sa.ForeignKey("users.id"), nullable=True),
    sa.Column("submitted_at", sa.String(40), nullable=False),
    sa.Column("reviewed_at", sa.String(40), nullable=True),
)

project_keys = sa.Table(
    "project_keys",
    metadata,
    sa.Column("project_id", sa.String(63), sa.ForeignKey("projects.id"), primary_key=True),
    sa.Column("key_id", sa.String(64), nullable=False),
    sa.Column("master_key_id", sa.String(64), nullable=False),
    sa.Column("wrapped", sa.LargeBinary, nullable=True),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("destroyed_at", sa.String(40), nullable=True),
)

project_files = sa.Table(
    "project_files",
    metadata,
    sa.Column("project_id", sa.String(63), sa.ForeignKey("projects.id"), primary_key=True),
    sa.Column("path", sa.String(1000), primary_key=True),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("registered_at", sa.String(40), nullable=False),
)

audit_events = sa.Table(
    "audit_events",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("at", sa.String(40), nullable=False),
    sa.Column("actor", sa.String(63), nullable=False),
    sa.Column("role", sa.String(40), nullable=False),
    sa.Column("project_id", sa.String(63), nullable=True),
    sa.Column("purpose", sa.String(40), nullable=True),
    sa.Column("action", sa.String(40), nullable=False),
    sa.Column("objects", sa.Text, nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)

audit_checkpoints = sa.Table(
    "audit_checkpoints",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Column("signature", sa.String(128), nullable=False),
    sa.Column("key_id", sa.String(64), nullable=False),
)

# -- accounts (migration 0004): secrets only as argon2id hashes, digests or ciphertext ---------
credentials = sa.Table(
    "credentials",
    metadata,
    sa.Column("user_id", sa.String(63), sa.ForeignKey("users.id"), primary_key=True),
    sa.Column("password_hash", sa.String(200), nullable=False),
    sa.Column("must_change", sa.Boolean, nullable=False),
    sa.Column("set_by", sa.String(63), nullable=False),
    sa.Column("set_at", sa.String(40), nullable=False),
    sa.Column("totp_sealed", sa.LargeBinary, nullable=True),
    sa.Column("totp_confirmed", sa.Boolean, nullable=False),
    sa.Column("totp_last_step", sa.BigInteger, nullable=True),
)

sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("digest", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.String(63), sa.ForeignKey("users.id"), nullable=False),
    sa.Column("csrf_digest", sa.String(64), nullable=False),
    sa.Column("second_factor", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("expires_at", sa.String(40), nullable=False),
)

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("digest", sa.String(64), nullable=False, unique=True),
    sa.Column("user_id", sa.String(63), sa.ForeignKey("users.id"), nullable=False),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("project_id", sa.String(63), nullable=True),
    sa.Column("role", sa.String(40), nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("expires_at", sa.String(40), nullable=False),
    sa.Column("revoked_at", sa.String(40), nullable=True),
)

login_failures = sa.Table(
    "login_failures",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("user_key", sa.String(64), nullable=False),
    sa.Column("address", sa.String(64), nullable=False),
    sa.Column("at", sa.String(40), nullable=False),
    sa.Index("login_failures_user", "user_key", "at"),
    sa.Index("login_failures_address", "address", "at"),
)

grant_approvals = sa.Table(
    "grant_approvals",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("project_id", sa.String(63), nullable=True),
    sa.Column("user_id", sa.String(63), sa.ForeignKey("users.id"), nullable=False),
    sa.Column("role", sa.String(40), nullable=False),
    sa.Column("approved_by", sa.String(63), sa.ForeignKey("users.id"), nullable=False),
    sa.Column("approved_at", sa.String(40), nullable=False),
    sa.Column("used_by", sa.String(63), nullable=True),
    sa.Column("used_at", sa.String(40), nullable=True),
)
