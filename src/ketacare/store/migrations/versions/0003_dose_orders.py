"""dose orders: computed ketamine dose orders, signature and independent double check (issue #6)

Revision ID: 0003_dose_orders
Revises: 0001
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

import ketacare.store.tables.base

revision = "0003_dose_orders"
down_revision = "0001"
branch_labels = None
depends_on = None


def _utc() -> ketacare.store.tables.base.UTCDateTime:
    return ketacare.store.tables.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "dose_orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("protocol_id", sa.String(length=40), nullable=False),
        sa.Column("drug", sa.String(length=80), nullable=False),
        sa.Column("route", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("weight_kg", sa.Float(), nullable=True),
        sa.Column("weight_measured_at", _utc(), nullable=True),
        sa.Column("previous_weight_kg", sa.Float(), nullable=True),
        sa.Column("height_cm", sa.Float(), nullable=True),
        sa.Column("sex", sa.String(length=16), nullable=True),
        sa.Column("age_years", sa.Integer(), nullable=True),
        sa.Column("bmi_kg_per_m2", sa.Float(), nullable=True),
        sa.Column("weight_basis", sa.String(length=16), nullable=True),
        sa.Column("policy_weight_basis", sa.String(length=16), nullable=True),
        sa.Column("weight_basis_reason", sa.Text(), nullable=True),
        sa.Column("weight_confirmation", sa.Text(), nullable=True),
        sa.Column("soft_limit_reason", sa.Text(), nullable=True),
        sa.Column("dosing_weight_kg", sa.Float(), nullable=True),
        sa.Column("mg_per_kg", sa.Float(), nullable=True),
        sa.Column("dose_mg", sa.Float(), nullable=False),
        sa.Column("delivered_mg_per_kg", sa.Float(), nullable=True),
        sa.Column("vial_strength_mg_per_ml", sa.Float(), nullable=True),
        sa.Column("draw_volume_ml", sa.Float(), nullable=True),
        sa.Column("diluent", sa.String(length=80), nullable=True),
        sa.Column("diluent_volume_ml", sa.Float(), nullable=True),
        sa.Column("final_volume_ml", sa.Float(), nullable=True),
        sa.Column("final_concentration_mg_per_ml", sa.Float(), nullable=True),
        sa.Column("volume_ml", sa.Float(), nullable=True),
        sa.Column("rate_ml_per_h", sa.Float(), nullable=True),
        sa.Column("duration_min", sa.Float(), nullable=False),
        sa.Column("planned_start", _utc(), nullable=False),
        sa.Column("planned_end", _utc(), nullable=False),
        sa.Column("limit_messages", sa.JSON(), nullable=False),
        sa.Column("order_json", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_by_name", sa.String(length=64), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("signed_by", sa.Integer(), nullable=True),
        sa.Column("signed_by_name", sa.String(length=64), nullable=True),
        sa.Column("signed_at", _utc(), nullable=True),
        sa.Column("double_checked_by", sa.Integer(), nullable=True),
        sa.Column("double_checked_by_name", sa.String(length=64), nullable=True),
        sa.Column("double_checked_at", _utc(), nullable=True),
        sa.Column("double_check_entries", sa.JSON(), nullable=False),
        sa.Column("cancelled_by", sa.Integer(), nullable=True),
        sa.Column("cancelled_at", _utc(), nullable=True),
        sa.Column("cancel_reason", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_dose_orders_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_dose_orders_created_by_users")),
        sa.ForeignKeyConstraint(["signed_by"], ["users.id"], name=op.f("fk_dose_orders_signed_by_users")),
        sa.ForeignKeyConstraint(
            ["double_checked_by"], ["users.id"], name=op.f("fk_dose_orders_double_checked_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["cancelled_by"], ["users.id"], name=op.f("fk_dose_orders_cancelled_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dose_orders")),
    )
    with op.batch_alter_table("dose_orders", schema=None) as batch_op:
        batch_op.create_index(
            "ix_dose_orders_patient_id_created_at", ["patient_id", "created_at"], unique=False
        )
        batch_op.create_index("ix_dose_orders_patient_id_status", ["patient_id", "status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("dose_orders", schema=None) as batch_op:
        batch_op.drop_index("ix_dose_orders_patient_id_status")
        batch_op.drop_index("ix_dose_orders_patient_id_created_at")
    op.drop_table("dose_orders")
