"""infusion sessions, transitions, pump events, vitals, alerts, side effects, rescue, signatures, addenda

Revision ID: 0005_sessions
Revises: 0001
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

import ketacare.store.tables.base

revision = "0005_sessions"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "infusion_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("chair", sa.String(length=40), nullable=False),
        sa.Column("product", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=24), nullable=False),
        sa.Column("scheduled_at", ketacare.store.tables.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("checked_in_at", ketacare.store.tables.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "prechecks_passed_at", ketacare.store.tables.base.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column(
            "infusion_started_at", ketacare.store.tables.base.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("infusion_ended_at", ketacare.store.tables.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("discharged_at", ketacare.store.tables.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("aborted_at", ketacare.store.tables.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("abort_reason", sa.Text(), nullable=True),
        sa.Column("dose_order_id", sa.Integer(), nullable=True),
        sa.Column("planned_dose_mg", sa.Float(), nullable=True),
        sa.Column("planned_duration_min", sa.Float(), nullable=True),
        sa.Column("concentration_mg_per_ml", sa.Float(), nullable=True),
        sa.Column("weight_kg", sa.Float(), nullable=True),
        sa.Column("consent_confirmed", sa.Boolean(), nullable=False),
        sa.Column("last_food_at", ketacare.store.tables.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_liquid_at", ketacare.store.tables.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("escort_confirmed", sa.Boolean(), nullable=False),
        sa.Column("escort_present", sa.Boolean(), nullable=False),
        sa.Column("pregnancy_test_applicable", sa.Boolean(), nullable=True),
        sa.Column("pregnancy_test_negative", sa.Boolean(), nullable=True),
        sa.Column("aldrete_score", sa.Integer(), nullable=True),
        sa.Column("dissociation_occurred", sa.Boolean(), nullable=True),
        sa.Column("dissociation_resolved", sa.Boolean(), nullable=False),
        sa.Column("sedation_occurred", sa.Boolean(), nullable=True),
        sa.Column("sedation_resolved", sa.Boolean(), nullable=False),
        sa.Column("respiratory_depression_occurred", sa.Boolean(), nullable=True),
        sa.Column("respiratory_depression_resolved", sa.Boolean(), nullable=True),
        sa.Column("lot_number", sa.String(length=64), nullable=True),
        sa.Column("could_have_left_min", sa.Float(), nullable=True),
        sa.Column("overrides", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", ketacare.store.tables.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", ketacare.store.tables.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_infusion_sessions_created_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_infusion_sessions_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_infusion_sessions")),
    )
    with op.batch_alter_table("infusion_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_infusion_sessions_patient_id"), ["patient_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_infusion_sessions_state"), ["state"], unique=False)

    op.create_table(
        "infusion_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("at", ketacare.store.tables.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("rate_ml_per_h", sa.Float(), nullable=True),
        sa.Column("rate_mg_per_min", sa.Float(), nullable=True),
        sa.Column("concentration_mg_per_ml", sa.Float(), nullable=True),
        sa.Column("bolus_mg", sa.Float(), nullable=True),
        sa.Column("bolus_ml", sa.Float(), nullable=True),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.Column("created_at", ketacare.store.tables.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["users.id"], name=op.f("fk_infusion_events_recorded_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["infusion_sessions.id"],
            name=op.f("fk_infusion_events_session_id_infusion_sessions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_infusion_events")),
    )
    with op.batch_alter_table("infusion_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_infusion_events_session_id"), ["session_id"], unique=False)

    op.create_table(
        "rescue_given",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.String(length=64), nullable=False),
        sa.Column("drug", sa.String(length=100), nullable=False),
        sa.Column("dose_mg", sa.Float(), nullable=False),
        sa.Column("route", sa.String(length=16), nullable=False),
        sa.Column("indication", sa.String(length=32), nullable=False),
        sa.Column("given_at", ketacare.store.tables.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("given_by", sa.Integer(), nullable=True),
        sa.Column("given_by_name", sa.String(length=100), nullable=False),
        sa.Column("created_at", ketacare.store.tables.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["given_by"], ["users.id"], name=op.f("fk_rescue_given_given_by_users")),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["infusion_sessions.id"],
            name=op.f("fk_rescue_given_session_id_infusion_sessions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rescue_given")),
    )
    with op.batch_alter_table("rescue_given", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rescue_given_session_id"), ["session_id"], unique=False)

    op.create_table(
        "session_addenda",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("author_name", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=24), nullable=False),
        sa.Column("prev_digest", sa.String(length=64), nullable=False),
        sa.Column("digest_sha256", sa.String(length=64), nullable=False),
        sa.Column("at", ketacare.store.tables.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"], name=op.f("fk_session_addenda_author_id_users")),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["infusion_sessions.id"],
            name=op.f("fk_session_addenda_session_id_infusion_sessions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_session_addenda")),
    )
    with op.batch_alter_table("session_addenda", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_session_addenda_session_id"), ["session_id"], unique=False)

    op.create_table(
        "session_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.String(length=64), nullable=False),
        sa.Column("group", sa.String(length=64), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("priority", sa.String(length=8), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("advice", sa.Text(), nullable=False),
        sa.Column("actions", sa.JSON(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("trigger", sa.Text(), nullable=False),
        sa.Column("raised_at", ketacare.store.tables.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_by", sa.Integer(), nullable=True),
        sa.Column("acknowledged_by_name", sa.String(length=100), nullable=True),
        sa.Column("acknowledged_at", ketacare.store.tables.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("action_taken", sa.Text(), nullable=True),
        sa.Column("resolved_at", ketacare.store.tables.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["acknowledged_by"], ["users.id"], name=op.f("fk_session_alerts_acknowledged_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["infusion_sessions.id"],
            name=op.f("fk_session_alerts_session_id_infusion_sessions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_session_alerts")),
    )
    with op.batch_alter_table("session_alerts", schema=None) as batch_op:
        batch_op.create_index("ix_session_alerts_open", ["session_id", "resolved_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_session_alerts_session_id"), ["session_id"], unique=False)

    op.create_table(
        "session_signatures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=24), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("digest_sha256", sa.String(length=64), nullable=False),
        sa.Column("canonical", sa.Text(), nullable=False),
        sa.Column("signed_at", ketacare.store.tables.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["infusion_sessions.id"],
            name=op.f("fk_session_signatures_session_id_infusion_sessions"),
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_session_signatures_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_session_signatures")),
        sa.UniqueConstraint("session_id", "role", name="uq_session_signatures_session_role"),
    )
    with op.batch_alter_table("session_signatures", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_session_signatures_session_id"), ["session_id"], unique=False)

    op.create_table(
        "session_transitions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("from_state", sa.String(length=24), nullable=False),
        sa.Column("to_state", sa.String(length=24), nullable=False),
        sa.Column("allowed", sa.Boolean(), nullable=False),
        sa.Column("failed_guards", sa.JSON(), nullable=False),
        sa.Column("overrides", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("by_user_id", sa.Integer(), nullable=True),
        sa.Column("by_username", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=24), nullable=False),
        sa.Column("at", ketacare.store.tables.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["by_user_id"], ["users.id"], name=op.f("fk_session_transitions_by_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["infusion_sessions.id"],
            name=op.f("fk_session_transitions_session_id_infusion_sessions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_session_transitions")),
    )
    with op.batch_alter_table("session_transitions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_session_transitions_session_id"), ["session_id"], unique=False)

    op.create_table(
        "side_effects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("grade", sa.Integer(), nullable=False),
        sa.Column("onset_at", ketacare.store.tables.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", ketacare.store.tables.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.Column("created_at", ketacare.store.tables.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["users.id"], name=op.f("fk_side_effects_recorded_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["infusion_sessions.id"],
            name=op.f("fk_side_effects_session_id_infusion_sessions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_side_effects")),
    )
    with op.batch_alter_table("side_effects", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_side_effects_session_id"), ["session_id"], unique=False)

    op.create_table(
        "vital_signs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("measured_at", ketacare.store.tables.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("received_at", ketacare.store.tables.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sbp_mmhg", sa.Float(), nullable=True),
        sa.Column("dbp_mmhg", sa.Float(), nullable=True),
        sa.Column("hr_per_min", sa.Float(), nullable=True),
        sa.Column("spo2_pct", sa.Float(), nullable=True),
        sa.Column("rr_per_min", sa.Float(), nullable=True),
        sa.Column("temp_c", sa.Float(), nullable=True),
        sa.Column("context", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("client_id", sa.String(length=100), nullable=True),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_vital_signs_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(["recorded_by"], ["users.id"], name=op.f("fk_vital_signs_recorded_by_users")),
        sa.ForeignKeyConstraint(
            ["session_id"], ["infusion_sessions.id"], name=op.f("fk_vital_signs_session_id_infusion_sessions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vital_signs")),
        sa.UniqueConstraint("source", "client_id", name="uq_vital_signs_source_client_id"),
    )
    with op.batch_alter_table("vital_signs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_vital_signs_patient_context", ["patient_id", "context", "measured_at"], unique=False
        )
        batch_op.create_index("ix_vital_signs_session_measured", ["session_id", "measured_at"], unique=False)


def downgrade() -> None:
    op.drop_table("vital_signs")
    op.drop_table("side_effects")
    op.drop_table("session_transitions")
    op.drop_table("session_signatures")
    op.drop_table("session_alerts")
    op.drop_table("session_addenda")
    op.drop_table("rescue_given")
    op.drop_table("infusion_events")
    op.drop_table("infusion_sessions")
