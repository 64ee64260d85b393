"""Patient messages: template versions, the message log and opt-outs (issue 17 point 3).

Revision ID: 0015_remind_messages
Revises: 0014_safety_course
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

import ketacare.store.tables.base

revision = "0015_remind_messages"
down_revision = "0014_safety_course"
branch_labels = None
depends_on = None

UTC = ketacare.store.tables.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "message_template_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("template_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("changed_by", sa.Integer(), nullable=True),
        sa.Column("changed_by_name", sa.String(length=200), nullable=False),
        sa.Column("changed_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["changed_by"], ["users.id"], name=op.f("fk_message_template_versions_changed_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_template_versions")),
        sa.UniqueConstraint("template_id", "version", name=op.f("uq_message_template_versions_template_id")),
    )
    op.create_table(
        "message_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("template_id", sa.String(length=64), nullable=False),
        sa.Column("template_version", sa.Integer(), nullable=True),
        sa.Column("essential", sa.Boolean(), nullable=False),
        sa.Column("due_at", UTC, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("previous_starts_at", UTC, nullable=True),
        sa.Column("to_address", sa.String(length=200), nullable=True),
        sa.Column("subject", sa.String(length=200), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTC, nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("sent_at", UTC, nullable=True),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"], name=op.f("fk_message_log_patient_id_patients")),
        sa.ForeignKeyConstraint(
            ["appointment_id"], ["appointments.id"], name=op.f("fk_message_log_appointment_id_appointments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_log")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_message_log_dedupe_key")),
    )
    op.create_index(op.f("ix_message_log_patient_id"), "message_log", ["patient_id"])
    op.create_index("ix_message_log_status_next", "message_log", ["status", "next_attempt_at"])
    op.create_table(
        "message_preferences",
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("opt_out_non_essential", sa.Boolean(), nullable=False),
        sa.Column("changed_by", sa.Integer(), nullable=True),
        sa.Column("changed_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_message_preferences_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(["changed_by"], ["users.id"], name=op.f("fk_message_preferences_changed_by_users")),
        sa.PrimaryKeyConstraint("patient_id", name=op.f("pk_message_preferences")),
    )


def downgrade() -> None:
    op.drop_table("message_preferences")
    op.drop_index("ix_message_log_status_next", table_name="message_log")
    op.drop_index(op.f("ix_message_log_patient_id"), table_name="message_log")
    op.drop_table("message_log")
    op.drop_table("message_template_versions")
