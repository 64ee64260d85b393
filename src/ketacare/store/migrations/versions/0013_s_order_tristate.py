"""Confirmations are tri-state (not answered / yes / no): consent, escort, escort present, dissociation and sedation
resolved become nullable with no default. Sessions that have not reached the point where a person could answer
lose the "no" the old default wrote (discharge items before the infusion ended; pre-checks before check-in);
answers given since stay as they are.

Revision ID: 0013_s_order_tristate
Revises: 0013_people_accounts
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_s_order_tristate"
down_revision = "0013_people_accounts"
branch_labels = None
depends_on = None

_PRECHECKS = ("consent_confirmed", "escort_confirmed")
_DISCHARGE = ("escort_present", "dissociation_resolved", "sedation_resolved")


def _table() -> sa.TableClause:
    return sa.table(
        "infusion_sessions",
        sa.column("state", sa.String()),
        sa.column("infusion_ended_at", sa.DateTime()),
        *(sa.column(name, sa.Boolean()) for name in (*_PRECHECKS, *_DISCHARGE)),
    )


def upgrade() -> None:
    with op.batch_alter_table("infusion_sessions") as batch:
        for name in (*_PRECHECKS, *_DISCHARGE):
            batch.alter_column(name, existing_type=sa.Boolean(), nullable=True)
    t = _table()
    for name in _DISCHARGE:
        col = t.c[name]
        op.execute(sa.update(t).where(col.is_(sa.false()), t.c.infusion_ended_at.is_(None)).values({name: None}))
    for name in _PRECHECKS:
        col = t.c[name]
        op.execute(sa.update(t).where(col.is_(sa.false()), t.c.state == "scheduled").values({name: None}))


def downgrade() -> None:
    t = _table()
    for name in (*_PRECHECKS, *_DISCHARGE):
        op.execute(sa.update(t).where(t.c[name].is_(None)).values({name: False}))
    with op.batch_alter_table("infusion_sessions") as batch:
        for name in (*_PRECHECKS, *_DISCHARGE):
            batch.alter_column(name, existing_type=sa.Boolean(), nullable=False)
