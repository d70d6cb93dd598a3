"""Quarantine: environments the runtime audit caught paying for known-wrong answers.

One row per caught environment (the environment is also retired): the reason and the evidence
(instance seed and difficulty, the wrong answer, the score it paid, where it was caught).
A new table only, so the same DDL serves SQLite and PostgreSQL.

Revision ID: 0004_quarantine
Revises: 0003
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004_quarantine"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "quarantines",
        sa.Column("env_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("evidence", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["env_id"], ["environments.id"], ondelete="CASCADE",
                                name=op.f("fk_quarantines_env_id_environments")),
        sa.PrimaryKeyConstraint("env_id", name=op.f("pk_quarantines")),
    )


def downgrade() -> None:
    op.drop_table("quarantines")
