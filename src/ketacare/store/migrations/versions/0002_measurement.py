"""measurement-based care: questionnaire responses, item answers, link uses, reminder outbox, safety alerts

Revision ID: 0002_measurement
Revises: 0001
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

import ketacare.store.tables.base

revision = "0002_measurement"
down_revision = "0001"
branch_labels = None
depends_on = None


def _utc() -> ketacare.store.tables.base.UTCDateTime:
    return ketacare.store.tables.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "questionnaire_responses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("instrument_id", sa.String(length=32), nullable=False),
        sa.Column("instrument_version", sa.String(length=16), nullable=False),
        sa.Column("context", sa.String(length=24), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("answered_by_role", sa.String(length=16), nullable=False),
        sa.Column("answered_by_user_id", sa.Integer(), nullable=True),
        sa.Column("via", sa.String(length=16), nullable=False),
        sa.Column("answered_at", _utc(), nullable=False),
        sa.Column("total", sa.Float(), nullable=True),
        sa.Column("severity", sa.String(length=40), nullable=True),
        sa.Column("flags", sa.Text(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.ForeignKeyConstraint(
            ["answered_by_user_id"],
            ["users.id"],
            name=op.f("fk_questionnaire_responses_answered_by_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_questionnaire_responses_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_questionnaire_responses")),
    )
    op.create_index(
        "ix_questionnaire_responses_patient_instrument",
        "questionnaire_responses",
        ["patient_id", "instrument_id", "answered_at"],
    )
    op.create_index(op.f("ix_questionnaire_responses_session_id"), "questionnaire_responses", ["session_id"])
    op.create_table(
        "questionnaire_item_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("response_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.String(length=32), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["response_id"],
            ["questionnaire_responses.id"],
            name=op.f("fk_questionnaire_item_answers_response_id_questionnaire_responses"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_questionnaire_item_answers")),
    )
    op.create_index(
        op.f("ix_questionnaire_item_answers_response_id"), "questionnaire_item_answers", ["response_id"]
    )
    op.create_table(
        "questionnaire_link_uses",
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("instrument_id", sa.String(length=32), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("response_id", sa.Integer(), nullable=True),
        sa.Column("used_at", _utc(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_questionnaire_link_uses_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["response_id"],
            ["questionnaire_responses.id"],
            name=op.f("fk_questionnaire_link_uses_response_id_questionnaire_responses"),
        ),
        sa.PrimaryKeyConstraint("nonce", name=op.f("pk_questionnaire_link_uses")),
    )
    op.create_index(op.f("ix_questionnaire_link_uses_patient_id"), "questionnaire_link_uses", ["patient_id"])
    op.create_table(
        "reminder_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("due_key", sa.String(length=120), nullable=False),
        sa.Column("instrument_id", sa.String(length=32), nullable=False),
        sa.Column("due_at", _utc(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("to_address", sa.String(length=200), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("sent_at", _utc(), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_reminder_outbox_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminder_outbox")),
    )
    op.create_index("ix_reminder_outbox_patient_due", "reminder_outbox", ["patient_id", "due_key"])
    op.create_table(
        "safety_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("response_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("assigned_to", sa.Integer(), nullable=True),
        sa.Column("raised_at", _utc(), nullable=False),
        sa.Column("acknowledged_by", sa.Integer(), nullable=True),
        sa.Column("acknowledged_at", _utc(), nullable=True),
        sa.Column("action_taken", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["acknowledged_by"], ["users.id"], name=op.f("fk_safety_alerts_acknowledged_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["assigned_to"], ["users.id"], name=op.f("fk_safety_alerts_assigned_to_users")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_safety_alerts_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["response_id"],
            ["questionnaire_responses.id"],
            name=op.f("fk_safety_alerts_response_id_questionnaire_responses"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_safety_alerts")),
    )
    op.create_index(op.f("ix_safety_alerts_assigned_to"), "safety_alerts", ["assigned_to"])
    op.create_index(op.f("ix_safety_alerts_patient_id"), "safety_alerts", ["patient_id"])


def downgrade() -> None:
    op.drop_table("safety_alerts")
    op.drop_index("ix_reminder_outbox_patient_due", table_name="reminder_outbox")
    op.drop_table("reminder_outbox")
    op.drop_table("questionnaire_link_uses")
    op.drop_table("questionnaire_item_answers")
    op.drop_table("questionnaire_responses")
