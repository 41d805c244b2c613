"""Initial governance schema: users, projects, approvals, outputs, keys, files, audit chain.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels = None
depends_on = None

_ID = 63
_TS = 40


def upgrade() -> None:
    """Create every table."""
    op.create_table(
        "users",
        sa.Column("id", sa.String(_ID), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("organisation", sa.String(200), nullable=False),
        sa.Column("created_at", sa.String(_TS), nullable=False),
    )
    op.create_table(
        "projects",
        sa.Column("id", sa.String(_ID), primary_key=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("purpose", sa.String(40), nullable=False),
        sa.Column("legal_basis", sa.String(200), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("period_start", sa.Date, nullable=False),
        sa.Column("period_end", sa.Date, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_by", sa.String(_ID), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("created_at", sa.String(_TS), nullable=False),
        sa.Column("destroyed_at", sa.String(_TS), nullable=True),
        sa.Column("retain_record_until", sa.Date, nullable=True),
    )
    op.create_table(
        "project_datasets",
        sa.Column("project_id", sa.String(_ID), sa.ForeignKey("projects.id"), primary_key=True),
        sa.Column("dataset", sa.String(_ID), primary_key=True),
        sa.Column("custodian", sa.String(_ID), nullable=False),
    )
    op.create_table(
        "memberships",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.String(_ID), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("project_id", sa.String(_ID), sa.ForeignKey("projects.id"), nullable=True),
        sa.Column("role", sa.String(40), nullable=False),
        sa.Column("custodian", sa.String(_ID), nullable=True),
        sa.Column("granted_at", sa.String(_TS), nullable=False),
    )
    op.create_table(
        "approvals",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("project_id", sa.String(_ID), sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("dataset", sa.String(_ID), nullable=False),
        sa.Column("custodian", sa.String(_ID), nullable=False),
        sa.Column("officer", sa.String(_ID), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("decision", sa.String(20), nullable=False),
        sa.Column("at", sa.String(_TS), nullable=False),
    )
    op.create_table(
        "outputs",
        sa.Column("id", sa.String(_ID), primary_key=True),
        sa.Column("project_id", sa.String(_ID), sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("author", sa.String(_ID), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("reviewer", sa.String(_ID), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("submitted_at", sa.String(_TS), nullable=False),
        sa.Column("reviewed_at", sa.String(_TS), nullable=True),
    )
    op.create_table(
        "project_keys",
        sa.Column("project_id", sa.String(_ID), sa.ForeignKey("projects.id"), primary_key=True),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("master_key_id", sa.String(64), nullable=False),
        sa.Column("wrapped", sa.LargeBinary, nullable=True),
        sa.Column("created_at", sa.String(_TS), nullable=False),
        sa.Column("destroyed_at", sa.String(_TS), nullable=True),
    )
    op.create_table(
        "project_files",
        sa.Column("project_id", sa.String(_ID), sa.ForeignKey("projects.id"), primary_key=True),
        sa.Column("path", sa.String(1000), primary_key=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("registered_at", sa.String(_TS), nullable=False),
    )
    op.create_table(
        "audit_events",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("at", sa.String(_TS), nullable=False),
        sa.Column("actor", sa.String(_ID), nullable=False),
        sa.Column("role", sa.String(40), nullable=False),
        sa.Column("project_id", sa.String(_ID), nullable=True),
        sa.Column("purpose", sa.String(40), nullable=True),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("objects", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_table(
        "audit_checkpoints",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("signature", sa.String(128), nullable=False),
        sa.Column("key_id", sa.String(64), nullable=False),
    )


def downgrade() -> None:
    """Drop every table (the audit chain with them: only for throwaway stores)."""
    for table in (
        "audit_checkpoints",
        "audit_events",
        "project_files",
        "project_keys",
        "outputs",
        "approvals",
        "memberships",
        "project_datasets",
        "projects",
        "users",
    ):
        op.drop_table(table)
