"""The clinic's rescue formulary in the database; side-effect resolution; rescue doses linked to a side effect.

Revision ID: 0011_rescue_formulary
Revises: 0010_rems_fields
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

import ketacare.store.tables.base

revision = "0011_rescue_formulary"
down_revision = "0010_rems_fields"
branch_labels = None
depends_on = None

UTC = ketacare.store.tables.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "rescue_formulary_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("drug", sa.String(length=100), nullable=False),
        sa.Column("route", sa.String(length=16), nullable=False),
        sa.Column("indications", sa.JSON(), nullable=False),
        sa.Column("dose_unit", sa.String(length=16), nullable=False),
        sa.Column("min_dose_mg", sa.Float(), nullable=False),
        sa.Column("max_dose_mg", sa.Float(), nullable=False),
        sa.Column("max_doses_per_session", sa.Integer(), nullable=False),
        sa.Column("max_total_mg_per_session", sa.Float(), nullable=True),
        sa.Column("approved_by", sa.String(length=200), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("retired_at", UTC, nullable=True),
        sa.Column("retired_by_name", sa.String(length=100), nullable=True),
        sa.Column("retire_reason", sa.Text(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_by_name", sa.String(length=100), nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_rescue_formulary_entries_created_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rescue_formulary_entries")),
    )
    with op.batch_alter_table("side_effects", schema=None) as batch_op:
        batch_op.add_column(sa.Column("resolution", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("resolved_by", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_side_effects_resolved_by_users"), "users", ["resolved_by"], ["id"]
        )
    with op.batch_alter_table("rescue_given", schema=None) as batch_op:
        batch_op.add_column(sa.Column("side_effect_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_rescue_given_side_effect_id_side_effects"), "side_effects", ["side_effect_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("rescue_given", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_rescue_given_side_effect_id_side_effects"), type_="foreignkey")
        batch_op.drop_column("side_effect_id")
    with op.batch_alter_table("side_effects", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_side_effects_resolved_by_users"), type_="foreignkey")
        batch_op.drop_column("resolved_by")
        batch_op.drop_column("resolution")
    op.drop_table("rescue_formulary_entries")
