"""Treatment course: individual plans, their signed versions and titration proposals with decisions (issue 16).

Revision ID: 0014_plan_plans
Revises: 0014_therapy_notes
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

import ketacare.store.tables.base

revision = "0014_plan_plans"
down_revision = "0014_therapy_notes"
branch_labels = None
depends_on = None

UTC = ketacare.store.tables.base.UTCDateTime(timezone=True)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=f"fk_{table}_{column}_{target}")


def upgrade() -> None:
    op.create_table(
        "treatment_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("template_id", sa.String(length=64), nullable=False),
        sa.Column("template_version", sa.String(length=16), nullable=False),
        sa.Column("indication", sa.String(length=32), nullable=False),
        sa.Column("route", sa.String(length=16), nullable=False),
        sa.Column("protocol_id", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("current_version", sa.Integer(), nullable=False),
        sa.Column("stop_kind", sa.String(length=24), nullable=True),
        sa.Column("stop_reason", sa.Text(), nullable=True),
        sa.Column("stopped_at", UTC, nullable=True),
        sa.Column("stopped_by", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        _fk("treatment_plans", "patient_id", "patients"),
        _fk("treatment_plans", "stopped_by", "users"),
        _fk("treatment_plans", "created_by", "users"),
        sa.PrimaryKeyConstraint("id", name="pk_treatment_plans"),
    )
    op.create_index("ix_treatment_plans_patient_id", "treatment_plans", ["patient_id"], unique=False)
    op.create_table(
        "plan_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("signed_by", sa.Integer(), nullable=True),
        sa.Column("signed_by_name", sa.String(length=200), nullable=False),
        sa.Column("signed_at", UTC, nullable=False),
        sa.Column("signed_meaning", sa.String(length=16), nullable=False),
        sa.Column("reauthenticated_by", sa.String(length=16), nullable=False),
        _fk("plan_versions", "plan_id", "treatment_plans"),
        _fk("plan_versions", "signed_by", "users"),
        sa.PrimaryKeyConstraint("id", name="pk_plan_versions"),
        sa.UniqueConstraint("plan_id", "number", name="uq_plan_versions_plan_number"),
    )
    op.create_table(
        "titration_proposals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("sessions_used", sa.Integer(), nullable=False),
        sa.Column("inputs", sa.JSON(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("dose_mg_per_kg", sa.Float(), nullable=True),
        sa.Column("interval_days", sa.Float(), nullable=True),
        sa.Column("response", sa.String(length=16), nullable=False),
        sa.Column("change_pct", sa.Float(), nullable=True),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("cautions", sa.JSON(), nullable=False),
        sa.Column("evidence_note", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("decided_by_name", sa.String(length=200), nullable=True),
        sa.Column("decided_at", UTC, nullable=True),
        sa.Column("decided_meaning", sa.String(length=16), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("decided_dose_mg_per_kg", sa.Float(), nullable=True),
        sa.Column("decided_interval_days", sa.Float(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        _fk("titration_proposals", "plan_id", "treatment_plans"),
        _fk("titration_proposals", "patient_id", "patients"),
        _fk("titration_proposals", "created_by", "users"),
        _fk("titration_proposals", "decided_by", "users"),
        sa.PrimaryKeyConstraint("id", name="pk_titration_proposals"),
    )
    op.create_index(
        "ix_titration_proposals_plan", "titration_proposals", ["plan_id", "created_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_titration_proposals_plan", table_name="titration_proposals")
    op.drop_table("titration_proposals")
    op.drop_table("plan_versions")
    op.drop_index("ix_treatment_plans_patient_id", table_name="treatment_plans")
    op.drop_table("treatment_plans")
