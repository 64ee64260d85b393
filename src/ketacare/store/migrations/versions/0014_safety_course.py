"""Course safety (issue 16 point 7): pregnancy-test applicability and results, urine toxicology, misuse checks.

Revision ID: 0014_safety_course
Revises: 0014_sched_scheduling
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

import ketacare.store.tables.base

revision = "0014_safety_course"
down_revision = "0014_sched_scheduling"
branch_labels = None
depends_on = None

UTC = ketacare.store.tables.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "course_safety_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("taken_at", UTC, nullable=False),
        sa.Column("result", sa.String(length=16), nullable=True),
        sa.Column("method", sa.String(length=32), nullable=True),
        sa.Column("applicable", sa.Boolean(), nullable=True),
        sa.Column("signs", sa.JSON(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.Column("recorded_by_name", sa.String(length=100), nullable=False),
        sa.Column("recorded_at", UTC, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_course_safety_records_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["users.id"], name=op.f("fk_course_safety_records_recorded_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_course_safety_records")),
    )
    with op.batch_alter_table("course_safety_records") as batch:
        batch.create_index(
            "ix_course_safety_records_patient_kind", ["patient_id", "kind", "taken_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("course_safety_records") as batch:
        batch.drop_index("ix_course_safety_records_patient_kind")
    op.drop_table("course_safety_records")
