"""Privacy budget ledger: one zCDP budget per project and every spend against it.

Revision ID: 0003_privacy_budget
Revises: 0001

Amounts are integers (ρ in units of 1e-12, δ in units of 1e-18) so that the overspend check is
exact on every backend; the check itself is one conditional ``UPDATE`` (see
``ansim.governance._budget``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_privacy_budget"
down_revision: str | None = "0001"
branch_labels = None
depends_on = None

_ID = 63
_TS = 40


def upgrade() -> None:
    """Create the budget and spend tables."""
    op.create_table(
        "privacy_budgets",
        sa.Column("project_id", sa.String(_ID), sa.ForeignKey("projects.id"), primary_key=True),
        sa.Column("rho_total", sa.BigInteger, nullable=False),
        sa.Column("rho_spent", sa.BigInteger, nullable=False),
        sa.Column("delta_total", sa.BigInteger, nullable=False),
        sa.Column("delta_spent", sa.BigInteger, nullable=False),
        sa.Column("conversion_delta", sa.Float, nullable=False),
        sa.Column("privacy_unit", sa.String(200), nullable=False),
        sa.Column("set_by", sa.String(_ID), nullable=False),
        sa.Column("set_at", sa.String(_TS), nullable=False),
        sa.CheckConstraint("rho_spent >= 0 AND rho_spent <= rho_total", name="rho_within"),
        sa.CheckConstraint("delta_spent >= 0 AND delta_spent <= delta_total", name="delta_within"),
    )
    op.create_table(
        "privacy_spends",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("project_id", sa.String(_ID), sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("release", sa.String(200), nullable=False),
        sa.Column("mechanism", sa.String(200), nullable=False),
        sa.Column("rho", sa.BigInteger, nullable=False),
        sa.Column("delta", sa.BigInteger, nullable=False),
        sa.Column("actor", sa.String(_ID), nullable=False),
        sa.Column("at", sa.String(_TS), nullable=False),
        sa.Column("audit_seq", sa.Integer, nullable=False),
    )
    op.create_index("privacy_spends_project", "privacy_spends", ["project_id"])


def downgrade() -> None:
    """Drop the ledger (only for throwaway stores: spends are part of the processing record)."""
    op.drop_index("privacy_spends_project", "privacy_spends")
    op.drop_table("privacy_spends")
    op.drop_table("privacy_budgets")
