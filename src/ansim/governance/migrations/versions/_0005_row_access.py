"""Row access: each project's policy on what rows a workspace query shows.

Revision ID: 0005_row_access
Revises: 0004_accounts

A project without a row is at the default, ``none`` (queries run on a dummy twin of each view).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_row_access"
down_revision: str | None = "0004_accounts"
branch_labels = None
depends_on = None

_ID = 63
_TS = 40


def upgrade() -> None:
    """Create the row-access table."""
    op.create_table(
        "row_access",
        sa.Column("project_id", sa.String(_ID), sa.ForeignKey("projects.id"), primary_key=True),
        sa.Column("mode", sa.String(20), nullable=False),
        sa.Column("workstation", sa.String(_ID), nullable=True),
        sa.Column("set_by", sa.String(_ID), nullable=False),
        sa.Column("set_at", sa.String(_TS), nullable=False),
    )


def downgrade() -> None:
    """Drop the table (every project falls back to ``none``, the strictest mode)."""
    op.drop_table("row_access")
