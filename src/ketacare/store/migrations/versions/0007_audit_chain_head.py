"""Audit chain head: one row naming the newest event, locked by appenders and checked by verification.

Revision ID: 0007_audit_head
Revises: 0006_merge
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_audit_head"
down_revision = "0006_merge"
branch_labels = None
depends_on = None

GENESIS = "0" * 64


def upgrade() -> None:
    op.create_table(
        "audit_chain_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_chain_head")),
    )
    bind = op.get_bind()
    last = bind.execute(sa.text("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1")).first()
    seq, head = (last[0], last[1]) if last else (0, GENESIS)
    bind.execute(sa.text("INSERT INTO audit_chain_head (id, seq, hash) VALUES (1, :seq, :hash)"),
                 {"seq": seq, "hash": head})


def downgrade() -> None:
    op.drop_table("audit_chain_head")
