"""Account administration: user profile (credentials, licence), forced password change, deactivation time,
one-time password links, account changes awaiting a second administrator, break-glass access.

Revision ID: 0013_people_accounts
Revises: 0013_records_corrections
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

import ketacare.store.tables.base

revision = "0013_people_accounts"
down_revision = "0013_records_corrections"
branch_labels = None
depends_on = None

UTC = ketacare.store.tables.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("credentials", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("licence_number", sa.String(length=64), nullable=True))
        batch.add_column(
            sa.Column("must_change_password", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch.add_column(sa.Column("deactivated_at", UTC, nullable=True))
    op.create_table(
        "password_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("expires_at", UTC, nullable=False),
        sa.Column("used_at", UTC, nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_password_links_user_id_users"),
        sa.PrimaryKeyConstraint("id", name="pk_password_links"),
        sa.UniqueConstraint("token_hash", name="uq_password_links_token_hash"),
    )
    op.create_index("ix_password_links_user_id", "password_links", ["user_id"])
    op.create_table(
        "account_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=True),
        sa.Column("requested_by", sa.String(length=80), nullable=False),
        sa.Column("requested_at", UTC, nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_by", sa.String(length=80), nullable=True),
        sa.Column("decided_at", UTC, nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["requested_by_id"], ["users.id"], name="fk_account_changes_requested_by_id_users"
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["users.id"], name="fk_account_changes_decided_by_id_users"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_account_changes"),
    )
    op.create_index("ix_account_changes_username", "account_changes", ["username"])
    op.create_index("ix_account_changes_status", "account_changes", ["status"])
    op.create_table(
        "break_glass",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("started_at", UTC, nullable=False),
        sa.Column("expires_at", UTC, nullable=False),
        sa.Column("ended_at", UTC, nullable=True),
        sa.Column("reviewed_by", sa.String(length=80), nullable=True),
        sa.Column("reviewed_at", UTC, nullable=True),
        sa.Column("review_note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_break_glass_user_id_users"),
        sa.PrimaryKeyConstraint("id", name="pk_break_glass"),
    )
    op.create_index("ix_break_glass_user_id", "break_glass", ["user_id"])


def downgrade() -> None:
    op.drop_table("break_glass")
    op.drop_table("account_changes")
    op.drop_table("password_links")
    with op.batch_alter_table("users") as batch:
        for name in ("deactivated_at", "must_change_password", "licence_number", "credentials"):
            batch.drop_column(name)
