"""Sign-in and signatures: throttling per account and address with its kind, TOTP replay step, account email,
failed-login notices, and the meaning recorded with each signature (authored, reviewed, approved).

Revision ID: 0013_s_sign_security
Revises: 0013_s_record_discharge_record
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

import ketacare.store.tables.base

revision = "0013_s_sign_security"
down_revision = "0013_s_record_discharge_record"
branch_labels = None
depends_on = None

UTC = ketacare.store.tables.base.UTCDateTime(timezone=True)
_MEANINGS = (
    ("dose_orders", "signed_meaning"),
    ("dose_orders", "double_checked_meaning"),
    ("session_signatures", "meaning"),
    ("eligibility_evaluations", "review_meaning"),
)


def upgrade() -> None:
    # Old counters were keyed per account and per address alone; they are transient and do not carry over.
    op.execute(sa.text("DELETE FROM login_throttle"))
    with op.batch_alter_table("login_throttle") as batch:
        batch.add_column(sa.Column("kind", sa.String(length=16), server_default="pair", nullable=False))
        batch.add_column(sa.Column("username", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("address", sa.String(length=64), nullable=True))
        batch.create_index("ix_login_throttle_username", ["username"], unique=False)
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("totp_last_step", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("email", sa.String(length=254), nullable=True))
    op.create_table(
        "login_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("first_failure_at", UTC, nullable=False),
        sa.Column("last_failure_at", UTC, nullable=False),
        sa.Column("addresses", sa.JSON(), nullable=False),
        sa.Column("delivered_at", UTC, nullable=True),
        sa.Column("emailed_at", UTC, nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_login_notices_user_id_users"),
        sa.PrimaryKeyConstraint("id", name="pk_login_notices"),
    )
    op.create_index("ix_login_notices_user_id", "login_notices", ["user_id"], unique=False)
    for table, column in _MEANINGS:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column(column, sa.String(length=16), nullable=True))


def downgrade() -> None:
    for table, column in reversed(_MEANINGS):
        with op.batch_alter_table(table) as batch:
            batch.drop_column(column)
    op.drop_index("ix_login_notices_user_id", table_name="login_notices")
    op.drop_table("login_notices")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("email")
        batch.drop_column("totp_last_step")
    with op.batch_alter_table("login_throttle") as batch:
        batch.drop_index("ix_login_throttle_username")
        batch.drop_column("address")
        batch.drop_column("username")
        batch.drop_column("kind")
