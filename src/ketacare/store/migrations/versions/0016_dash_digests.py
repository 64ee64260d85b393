"""Outcomes dashboard digests in the database (issue 18): every process reads them instead of digesting everyone.

Revision ID: 0016_dash_digests
Revises: 0015_portal_requests
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0016_dash_digests"
down_revision = "0015_portal_requests"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outcome_digests",
        sa.Column("patient_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("patient_id", name=op.f("pk_outcome_digests")),
    )
    op.create_table(
        "outcome_digest_marks",
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("settings", sa.String(length=64), nullable=False),
        sa.Column("mark", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_outcome_digest_marks")),
    )
    op.create_table(
        "outcome_model_fits",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("fit", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_outcome_model_fits")),
    )


def downgrade() -> None:
    op.drop_table("outcome_model_fits")
    op.drop_table("outcome_digest_marks")
    op.drop_table("outcome_digests")
