"""Integration therapy: notes linked to infusions (private or shared), their addenda, goals and goal progress.

Revision ID: 0014_therapy_notes
Revises: 0013_s_order_tristate
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

import ketacare.store.tables.base

revision = "0014_therapy_notes"
down_revision = "0013_s_order_tristate"
branch_labels = None
depends_on = None

UTC = ketacare.store.tables.base.UTCDateTime(timezone=True)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"))


def upgrade() -> None:
    op.create_table(
        "therapy_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("author_name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("visit_at", UTC, nullable=False),
        sa.Column("modality", sa.String(length=24), nullable=True),
        sa.Column("themes", sa.Text(), nullable=True),
        sa.Column("insights", sa.Text(), nullable=True),
        sa.Column("coping_skills", sa.Text(), nullable=True),
        sa.Column("homework", sa.Text(), nullable=True),
        sa.Column("intentions", sa.Text(), nullable=True),
        sa.Column("expectations", sa.Text(), nullable=True),
        sa.Column("set_and_setting", sa.Text(), nullable=True),
        sa.Column("safety_plan", sa.Text(), nullable=True),
        sa.Column("narrative", sa.Text(), nullable=True),
        sa.Column("risk", sa.JSON(), nullable=False),
        sa.Column("escalated", sa.Boolean(), nullable=False),
        sa.Column("sharing", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("signed_at", UTC, nullable=True),
        sa.Column("signed_meaning", sa.String(length=16), nullable=True),
        sa.Column("digest_sha256", sa.String(length=64), nullable=True),
        sa.Column("canonical", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        _fk("therapy_notes", "patient_id", "patients"),
        _fk("therapy_notes", "author_id", "users"),
        _fk("therapy_notes", "session_id", "infusion_sessions"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_therapy_notes")),
    )
    with op.batch_alter_table("therapy_notes", schema=None) as batch_op:
        for column in ("patient_id", "author_id", "session_id"):
            batch_op.create_index(batch_op.f(f"ix_therapy_notes_{column}"), [column], unique=False)
    op.create_table(
        "therapy_note_addenda",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("note_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("author_name", sa.String(length=100), nullable=False),
        sa.Column("prev_digest", sa.String(length=64), nullable=False),
        sa.Column("digest_sha256", sa.String(length=64), nullable=False),
        sa.Column("at", UTC, nullable=False),
        _fk("therapy_note_addenda", "note_id", "therapy_notes"),
        _fk("therapy_note_addenda", "author_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_therapy_note_addenda")),
    )
    with op.batch_alter_table("therapy_note_addenda", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_therapy_note_addenda_note_id"), ["note_id"], unique=False)
    op.create_table(
        "therapy_goals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("goal", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        _fk("therapy_goals", "patient_id", "patients"),
        _fk("therapy_goals", "created_by", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_therapy_goals")),
    )
    with op.batch_alter_table("therapy_goals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_therapy_goals_patient_id"), ["patient_id"], unique=False)
    op.create_table(
        "therapy_goal_progress",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("goal_id", sa.Integer(), nullable=False),
        sa.Column("note_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("progress", sa.Text(), nullable=True),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("at", UTC, nullable=False),
        _fk("therapy_goal_progress", "goal_id", "therapy_goals"),
        _fk("therapy_goal_progress", "note_id", "therapy_notes"),
        _fk("therapy_goal_progress", "author_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_therapy_goal_progress")),
    )
    with op.batch_alter_table("therapy_goal_progress", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_therapy_goal_progress_goal_id"), ["goal_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_therapy_goal_progress_note_id"), ["note_id"], unique=False)


def downgrade() -> None:
    op.drop_table("therapy_goal_progress")
    op.drop_table("therapy_goals")
    op.drop_table("therapy_note_addenda")
    op.drop_table("therapy_notes")
