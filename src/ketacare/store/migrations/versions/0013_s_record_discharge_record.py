"""The complete signed record (issue 12 point 8): who answered each pre-check and discharge question and when
(session_confirmations), whether written discharge instructions were given, and the discharge checklist as it
stood at discharge.

Revision ID: 0013_s_record_discharge_record
Revises: 0013_audit_chain_guard
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

import ketacare.store.tables.base

revision = "0013_s_record_discharge_record"
down_revision = "0013_audit_chain_guard"
branch_labels = None
depends_on = None

UTC = ketacare.store.tables.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "session_confirmations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=64), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("by_user_id", sa.Integer(), nullable=True),
        sa.Column("by_username", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=24), nullable=False),
        sa.Column("at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["infusion_sessions.id"],
            name=op.f("fk_session_confirmations_session_id_infusion_sessions"),
        ),
        sa.ForeignKeyConstraint(
            ["by_user_id"], ["users.id"], name=op.f("fk_session_confirmations_by_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_session_confirmations")),
    )
    op.create_index(
        op.f("ix_session_confirmations_session_id"), "session_confirmations", ["session_id"], unique=False
    )
    with op.batch_alter_table("infusion_sessions") as batch:
        batch.add_column(sa.Column("discharge_instructions_given", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("discharge_checklist", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("infusion_sessions") as batch:
        batch.drop_column("discharge_checklist")
        batch.drop_column("discharge_instructions_given")
    op.drop_index(op.f("ix_session_confirmations_session_id"), table_name="session_confirmations")
    op.drop_table("session_confirmations")
