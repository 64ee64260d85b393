"""Portal appointment requests (issue 17 point 5): a patient asks to move or cancel an appointment.

Revision ID: 0015_portal_requests
Revises: 0015_sched_indexes
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

import ketacare.store.tables.base

revision = "0015_portal_requests"
down_revision = "0015_sched_indexes"
branch_labels = None
depends_on = None

UTC = ketacare.store.tables.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "appointment_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("preferred_days", sa.JSON(), nullable=False),
        sa.Column("preferred_times", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("requested_by", sa.Integer(), nullable=True),
        sa.Column("requested_at", UTC, nullable=False),
        sa.Column("handled_by", sa.Integer(), nullable=True),
        sa.Column("handled_at", UTC, nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["appointment_id"], ["appointments.id"], name=op.f("fk_appointment_requests_appointment_id_appointments")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_appointment_requests_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["requested_by"], ["users.id"], name=op.f("fk_appointment_requests_requested_by_users")
        ),
        sa.ForeignKeyConstraint(["handled_by"], ["users.id"], name=op.f("fk_appointment_requests_handled_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointment_requests")),
    )
    for col in ("appointment_id", "patient_id", "status"):
        op.create_index(op.f(f"ix_appointment_requests_{col}"), "appointment_requests", [col])


def downgrade() -> None:
    for col in ("appointment_id", "patient_id", "status"):
        op.drop_index(op.f(f"ix_appointment_requests_{col}"), table_name="appointment_requests")
    op.drop_table("appointment_requests")
