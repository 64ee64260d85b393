"""Esketamine REMS form fields on infusion sessions: enrolment, first treatment, concomitant medications.

Revision ID: 0010_rems_fields
Revises: 0007_audit_head
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_rems_fields"
down_revision = "0007_audit_head"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("infusion_sessions") as batch:
        batch.add_column(sa.Column("rems_enrolled", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("rems_first_treatment", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("concomitant_benzodiazepines", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("concomitant_non_benzodiazepine_hypnotics", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("concomitant_psychostimulants", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("concomitant_maois", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("concomitant_opioids", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("infusion_sessions") as batch:
        batch.drop_column("concomitant_opioids")
        batch.drop_column("concomitant_maois")
        batch.drop_column("concomitant_psychostimulants")
        batch.drop_column("concomitant_non_benzodiazepine_hypnotics")
        batch.drop_column("concomitant_benzodiazepines")
        batch.drop_column("rems_first_treatment")
        batch.drop_column("rems_enrolled")
