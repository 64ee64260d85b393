"""Clinic settings with version history (issue 13).

Revision ID: 0013_clinic_settings
Revises: 0013_s_sign_security
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

import ketacare.store.tables.base

revision = "0013_clinic_settings"
down_revision = "0013_s_sign_security"
branch_labels = None
depends_on = None

UTC = ketacare.store.tables.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "clinic_settings_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("changed_by", sa.Integer(), nullable=True),
        sa.Column("changed_by_name", sa.String(length=200), nullable=False),
        sa.Column("changed_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["changed_by"], ["users.id"], name=op.f("fk_clinic_settings_versions_changed_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clinic_settings_versions")),
        sa.UniqueConstraint("version", name=op.f("uq_clinic_settings_versions_version")),
    )


def downgrade() -> None:
    op.drop_table("clinic_settings_versions")
