"""Issue 11 safety: oxygen flag on vital signs, full Aldrete respiration/SpO2 points on the session, and on dose
orders the computed (unrounded) dose, mg/kg of actual weight and whether the prescriber chose the weight basis.

Revision ID: 0009_dose_basis
Revises: 0011_rescue_formulary
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_dose_basis"
down_revision = "0011_rescue_formulary"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("vital_signs") as t:
        t.add_column(sa.Column("on_oxygen", sa.Boolean(), nullable=True))
    with op.batch_alter_table("infusion_sessions") as t:
        t.add_column(sa.Column("aldrete_respiration_spo2_full", sa.Boolean(), nullable=True))
    with op.batch_alter_table("dose_orders") as t:
        t.add_column(sa.Column("computed_dose_mg", sa.Float(), nullable=True))
        t.add_column(sa.Column("mg_per_kg_actual_weight", sa.Float(), nullable=True))
        t.add_column(sa.Column("weight_basis_chosen", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("dose_orders") as t:
        t.drop_column("weight_basis_chosen")
        t.drop_column("mg_per_kg_actual_weight")
        t.drop_column("computed_dose_mg")
    with op.batch_alter_table("infusion_sessions") as t:
        t.drop_column("aldrete_respiration_spo2_full")
    with op.batch_alter_table("vital_signs") as t:
        t.drop_column("on_oxygen")
