"""Outcomes dashboard digests as numpy columns, one row (issue 18): a new process reads one blob, not 100,000 rows.

Revision ID: 0017_dash_frames
Revises: 0016_chain_stripes
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0017_dash_frames"
down_revision = "0016_chain_stripes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outcome_digest_frames",
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("settings", sa.String(length=64), nullable=False),
        sa.Column("mark", sa.Text(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_outcome_digest_frames")),
    )
    if op.get_bind().dialect.name == "postgresql":  # stored as is: compressing 50 MB on every write and read costs
        op.execute("ALTER TABLE outcome_digest_frames ALTER COLUMN body SET STORAGE EXTERNAL")  # more than it saves


def downgrade() -> None:
    op.drop_table("outcome_digest_frames")
