"""eligibility: stored screening evaluations with prescriber review, and screening answers (issue #5)

Revision ID: 0004_eligibility
Revises: 0001
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

import ketacare.store.tables.base

revision = "0004_eligibility"
down_revision = "0001"
branch_labels = None
depends_on = None


def _utc() -> ketacare.store.tables.base.UTCDateTime:
    return ketacare.store.tables.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "eligibility_evaluations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("evaluated_at", _utc(), nullable=False),
        sa.Column("evaluated_by", sa.Integer(), nullable=True),
        sa.Column("rule_set", sa.String(length=32), nullable=False),
        sa.Column("rule_set_version", sa.String(length=32), nullable=False),
        sa.Column("catalogue_version", sa.String(length=32), nullable=False),
        sa.Column("decision", sa.String(length=32), nullable=False),
        sa.Column("evaluation", sa.JSON(), nullable=False),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.Column("previous_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reviewed_by", sa.Integer(), nullable=True),
        sa.Column("reviewed_at", _utc(), nullable=True),
        sa.Column("override_decision", sa.String(length=32), nullable=True),
        sa.Column("override_reason", sa.Text(), nullable=True),
        sa.Column("superseded_at", _utc(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_eligibility_evaluations_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["evaluated_by"], ["users.id"], name=op.f("fk_eligibility_evaluations_evaluated_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["reviewed_by"], ["users.id"], name=op.f("fk_eligibility_evaluations_reviewed_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["previous_id"],
            ["eligibility_evaluations.id"],
            name=op.f("fk_eligibility_evaluations_previous_id_eligibility_evaluations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_eligibility_evaluations")),
    )
    op.create_index(
        "ix_eligibility_evaluations_patient_at",
        "eligibility_evaluations",
        ["patient_id", "evaluated_at"],
        unique=False,
    )
    op.create_table(
        "screening_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("fact", sa.String(length=48), nullable=False),
        sa.Column("value", sa.String(length=24), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.Column("recorded_at", _utc(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_screening_answers_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["users.id"], name=op.f("fk_screening_answers_recorded_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_screening_answers")),
    )
    op.create_index(
        "ix_screening_answers_patient_fact",
        "screening_answers",
        ["patient_id", "fact", "recorded_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_screening_answers_patient_fact", table_name="screening_answers")
    op.drop_table("screening_answers")
    op.drop_index("ix_eligibility_evaluations_patient_at", table_name="eligibility_evaluations")
    op.drop_table("eligibility_evaluations")
