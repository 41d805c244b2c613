"""Twin kind: each project's option on what the workspace's dummy twin is built from.

Revision ID: 0006_twin_kind
Revises: 0005_row_access

A project without a row is at the default, ``domains`` (the twin reads no real value).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_twin_kind"
down_revision: str | None = "0005_row_access"
branch_labels = None
depends_on = None

_ID = 63
_TS = 40


def upgrade() -> None:
    """Create the twin-option table."""
    op.create_table(
        "twin_options",
        sa.Column("project_id", sa.String(_ID), sa.ForeignKey("projects.id"), primary_key=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("rho", sa.Float, nullable=True),
        sa.Column("conversion_delta", sa.Float, nullable=True),
        sa.Column("set_by", sa.String(_ID), nullable=False),
        sa.Column("set_at", sa.String(_TS), nullable=False),
    )


def downgrade() -> None:
    """Drop the table (every project falls back to ``domains``, which reads no real value)."""
    op.drop_table("twin_options")
