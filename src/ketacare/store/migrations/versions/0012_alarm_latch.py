"""Alarms that latch: one session_alerts row per alarm follows its condition group (present condition, when it
cleared, worst severity reached, whether it latches, acknowledgements with actions, escalation, history).

Revision ID: 0012_alarm_latch
Revises: 0008_links_fk
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

import ketacare.store.tables.base

revision = "0012_alarm_latch"
down_revision = "0008_links_fk"
branch_labels = None
depends_on = None

UTC = ketacare.store.tables.base.UTCDateTime(timezone=True)

_COLUMNS = (
    ("condition_key", sa.String(length=96)),
    ("condition_since", UTC),
    ("cleared_at", UTC),
    ("clear_reason", sa.Text()),
    ("peak_rule_id", sa.String(length=64)),
    ("peak_rank", sa.Integer()),
    ("peak_priority", sa.String(length=8)),
    ("peak_title", sa.String(length=200)),
    ("needs_ack_since", UTC),
    ("escalated_at", UTC),
    ("acknowledgements", sa.JSON()),
    ("events", sa.JSON()),
)


def upgrade() -> None:
    with op.batch_alter_table("session_alerts") as batch:
        for name, type_ in _COLUMNS:
            batch.add_column(sa.Column(name, type_, nullable=True))
        batch.add_column(sa.Column("latching", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch.add_column(sa.Column("reraised", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("session_alerts") as batch:
        for name in ("reraised", "latching", *(n for n, _ in reversed(_COLUMNS))):
            batch.drop_column(name)
