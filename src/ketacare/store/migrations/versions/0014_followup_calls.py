"""Follow-up and discharge instructions (issue 16, points 5 and 6): next-day calls, the clinic's versioned
discharge instructions and their acknowledgements at discharge.

Revision ID: 0014_followup_calls
Revises: 0014_therapy_notes
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

import ketacare.store.tables.base

revision = "0014_followup_calls"
down_revision = "0014_plan_plans"
branch_labels = None
depends_on = None

UTC = ketacare.store.tables.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "followup_calls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("form_version", sa.String(length=16), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("risk_items", sa.JSON(), nullable=False),
        sa.Column("concern_items", sa.JSON(), nullable=False),
        sa.Column("safety_alert_id", sa.Integer(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("by_user_id", sa.Integer(), nullable=True),
        sa.Column("by_username", sa.String(length=64), nullable=False),
        sa.Column("called_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["infusion_sessions.id"],
                                name="fk_followup_calls_session_id_infusion_sessions"),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"], name="fk_followup_calls_patient_id_patients"),
        sa.ForeignKeyConstraint(["safety_alert_id"], ["safety_alerts.id"],
                                name="fk_followup_calls_safety_alert_id_safety_alerts"),
        sa.ForeignKeyConstraint(["by_user_id"], ["users.id"], name="fk_followup_calls_by_user_id_users"),
        sa.PrimaryKeyConstraint("id", name="pk_followup_calls"),
    )
    op.create_index("ix_followup_calls_session_id", "followup_calls", ["session_id"])
    op.create_index("ix_followup_calls_patient_id", "followup_calls", ["patient_id"])
    op.create_table(
        "discharge_instruction_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("changed_by", sa.Integer(), nullable=True),
        sa.Column("changed_by_name", sa.String(length=200), nullable=False),
        sa.Column("changed_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(["changed_by"], ["users.id"],
                                name="fk_discharge_instruction_versions_changed_by_users"),
        sa.PrimaryKeyConstraint("id", name="pk_discharge_instruction_versions"),
        sa.UniqueConstraint("version", name="uq_discharge_instruction_versions_version"),
    )
    op.create_table(
        "discharge_acknowledgements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("party", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("instructions_version", sa.Integer(), nullable=False),
        sa.Column("acknowledged_at", UTC, nullable=False),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.Column("recorded_by_username", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["infusion_sessions.id"],
                                name="fk_discharge_acknowledgements_session_id_infusion_sessions"),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"],
                                name="fk_discharge_acknowledgements_patient_id_patients"),
        sa.ForeignKeyConstraint(["recorded_by"], ["users.id"],
                                name="fk_discharge_acknowledgements_recorded_by_users"),
        sa.PrimaryKeyConstraint("id", name="pk_discharge_acknowledgements"),
        sa.UniqueConstraint("session_id", "party", name="uq_discharge_acknowledgements_session_party"),
    )
    op.create_index("ix_discharge_acknowledgements_session_id", "discharge_acknowledgements", ["session_id"])


def downgrade() -> None:
    op.drop_table("discharge_acknowledgements")
    op.drop_table("discharge_instruction_versions")
    op.drop_table("followup_calls")
