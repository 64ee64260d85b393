"""Corrections without losing history and care teams: record_revisions (each edit, stop, dose change or
"entered in error" with its reason and the entry before and after), entered-in-error marks on clinical entries,
vitals and questionnaire responses, versions on allergies and body measurements, "prefer not to answer" on
safety items, and care_team_members.

Revision ID: 0013_records_corrections
Revises: 0013_clinic_settings
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

import ketacare.store.tables.base

revision = "0013_records_corrections"
down_revision = "0013_clinic_settings"
branch_labels = None
depends_on = None

UTC = ketacare.store.tables.base.UTCDateTime(timezone=True)

_ERROR_MARKS = ("body_measurements", "medications", "treatment_trials", "vital_signs", "questionnaire_responses")


def _flag(name: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.Boolean(), server_default=sa.false(), nullable=False)


def upgrade() -> None:
    op.create_table(
        "record_revisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("entity", sa.String(length=32), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=24), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("before", sa.JSON(), nullable=False),
        sa.Column("after", sa.JSON(), nullable=False),
        sa.Column("changed_by", sa.Integer(), nullable=True),
        sa.Column("changed_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"], name="fk_record_revisions_patient_id_patients"),
        sa.ForeignKeyConstraint(["changed_by"], ["users.id"], name="fk_record_revisions_changed_by_users"),
        sa.PrimaryKeyConstraint("id", name="pk_record_revisions"),
    )
    op.create_index("ix_record_revisions_entity", "record_revisions", ["entity", "entity_id", "changed_at"])
    op.create_table(
        "care_team_members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("team_role", sa.String(length=16), nullable=False),
        sa.Column("added_by", sa.Integer(), nullable=True),
        sa.Column("added_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"], name="fk_care_team_members_patient_id_patients"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_care_team_members_user_id_users"),
        sa.ForeignKeyConstraint(["added_by"], ["users.id"], name="fk_care_team_members_added_by_users"),
        sa.PrimaryKeyConstraint("id", name="pk_care_team_members"),
        sa.UniqueConstraint("patient_id", "user_id", "team_role", name="uq_care_team_members_member"),
    )
    op.create_index("ix_care_team_members_patient_id", "care_team_members", ["patient_id"])
    op.create_index("ix_care_team_members_user_id", "care_team_members", ["user_id"])
    for table in _ERROR_MARKS:
        with op.batch_alter_table(table) as batch:
            batch.add_column(_flag("entered_in_error"))
    for table in ("body_measurements", "allergies"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("version", sa.Integer(), server_default="1", nullable=False))
    with op.batch_alter_table("allergies") as batch:
        batch.add_column(sa.Column("status", sa.String(length=16), server_default="active", nullable=False))
    with op.batch_alter_table("questionnaire_item_answers") as batch:
        batch.add_column(_flag("declined"))


def downgrade() -> None:
    with op.batch_alter_table("questionnaire_item_answers") as batch:
        batch.drop_column("declined")
    with op.batch_alter_table("allergies") as batch:
        batch.drop_column("status")
    for table in ("body_measurements", "allergies"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("version")
    for table in _ERROR_MARKS:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("entered_in_error")
    op.drop_index("ix_care_team_members_user_id", table_name="care_team_members")
    op.drop_index("ix_care_team_members_patient_id", table_name="care_team_members")
    op.drop_table("care_team_members")
    op.drop_index("ix_record_revisions_entity", table_name="record_revisions")
    op.drop_table("record_revisions")
