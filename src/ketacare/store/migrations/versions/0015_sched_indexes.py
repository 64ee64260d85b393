"""Scheduling at clinic scale (issue 17): appointments linked to the patient's individual plan, with the index
that finds a plan's booked sessions in time order (the series and reschedule checks).

Revision ID: 0015_sched_indexes
Revises: 0015_remind_messages
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0015_sched_indexes"
down_revision = "0015_remind_messages"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("appointments") as t:
        t.add_column(sa.Column("plan_id", sa.Integer(), nullable=True))
        t.create_foreign_key(
            op.f("fk_appointments_plan_id_treatment_plans"), "treatment_plans", ["plan_id"], ["id"]
        )
    op.create_index("ix_appointments_plan_time", "appointments", ["plan_id", "starts_at"])


def downgrade() -> None:
    op.drop_index("ix_appointments_plan_time", table_name="appointments")
    with op.batch_alter_table("appointments") as t:
        t.drop_constraint(op.f("fk_appointments_plan_id_treatment_plans"), type_="foreignkey")
        t.drop_column("plan_id")
