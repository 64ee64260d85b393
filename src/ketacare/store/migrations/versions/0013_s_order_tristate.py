"""Confirmations are tri-state (not answered / yes / no): consent, escort, escort present, dissociation and sedation
resolved become nullable with no default. Sessions that have not reached the point where a person could answer
lose the "no" the old default wrote (discharge items before the infusion ended; pre-checks before check-in);
answers given since stay as they are.

Revision ID: 0013_s_order_tristate
Revises: 0013_lead_vital_key
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_s_order_tristate"
down_revision = "0013_lead_vital_key"
branch_labels = None
depends_on = None

_PRECHECKS = ("consent_confirmed", "escort_confirmed")
_DISCHARGE = ("escort_present", "dissociation_resolved", "sedation_resolved")


def upgrade() -> None:
    with op.batch_alter_table("infusion_sessions") as batch:
        for name in (*_PRECHECKS, *_DISCHARGE):
            batch.alter_column(name, existing_type=sa.Boolean(), nullable=True)
    for name in _DISCHARGE:
        op.execute(
            f"UPDATE infusion_sessions SET {name} = NULL WHERE {name} = false AND infusion_ended_at IS NULL"
        )
    for name in _PRECHECKS:
        op.execute(f"UPDATE infusion_sessions SET {name} = NULL WHERE {name} = false AND state = 'scheduled'")


def downgrade() -> None:
    for name in (*_PRECHECKS, *_DISCHARGE):
        op.execute(f"UPDATE infusion_sessions SET {name} = false WHERE {name} IS NULL")
    with op.batch_alter_table("infusion_sessions") as batch:
        for name in (*_PRECHECKS, *_DISCHARGE):
            batch.alter_column(name, existing_type=sa.Boolean(), nullable=False)
