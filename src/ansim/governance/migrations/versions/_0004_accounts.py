"""Accounts: password hashes, sessions, API tokens, login failures, approved role grants.

Revision ID: 0004_accounts
Revises: 0003_privacy_budget

No secret is stored in the clear: passwords as argon2id hashes, session ids, CSRF tokens and API
tokens as SHA-256 digests, TOTP secrets as AES-256-GCM ciphertext under a key derived from the
installation's master key, and failed logins by a digest of the name tried.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_accounts"
down_revision: str | None = "0003_privacy_budget"
branch_labels = None
depends_on = None

_ID = 63
_TS = 40


def upgrade() -> None:
    """Create the account tables."""
    op.create_table(
        "credentials",
        sa.Column("user_id", sa.String(_ID), sa.ForeignKey("users.id"), primary_key=True),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("must_change", sa.Boolean, nullable=False),
        sa.Column("set_by", sa.String(_ID), nullable=False),
        sa.Column("set_at", sa.String(_TS), nullable=False),
        sa.Column("totp_sealed", sa.LargeBinary, nullable=True),
        sa.Column("totp_confirmed", sa.Boolean, nullable=False),
        sa.Column("totp_last_step", sa.BigInteger, nullable=True),
    )
    op.create_table(
        "sessions",
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.String(_ID), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("csrf_digest", sa.String(64), nullable=False),
        sa.Column("second_factor", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.String(_TS), nullable=False),
        sa.Column("expires_at", sa.String(_TS), nullable=False),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("digest", sa.String(64), nullable=False, unique=True),
        sa.Column("user_id", sa.String(_ID), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("project_id", sa.String(_ID), nullable=True),
        sa.Column("role", sa.String(40), nullable=False),
        sa.Column("created_at", sa.String(_TS), nullable=False),
        sa.Column("expires_at", sa.String(_TS), nullable=False),
        sa.Column("revoked_at", sa.String(_TS), nullable=True),
    )
    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("user_key", sa.String(64), nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("at", sa.String(_TS), nullable=False),
    )
    op.create_index("login_failures_user", "login_failures", ["user_key", "at"])
    op.create_index("login_failures_address", "login_failures", ["address", "at"])
    op.create_table(
        "grant_approvals",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("project_id", sa.String(_ID), nullable=True),
        sa.Column("user_id", sa.String(_ID), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("role", sa.String(40), nullable=False),
        sa.Column("approved_by", sa.String(_ID), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("approved_at", sa.String(_TS), nullable=False),
        sa.Column("used_by", sa.String(_ID), nullable=True),
        sa.Column("used_at", sa.String(_TS), nullable=True),
    )


def downgrade() -> None:
    """Drop the account tables (every session and token ends; passwords must be set again)."""
    op.drop_table("grant_approvals")
    op.drop_index("login_failures_address", "login_failures")
    op.drop_index("login_failures_user", "login_failures")
    op.drop_table("login_failures")
    op.drop_table("api_tokens")
    op.drop_table("sessions")
    op.drop_table("credentials")
