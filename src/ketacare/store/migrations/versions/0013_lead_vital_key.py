"""Gateway readings keyed per (session, source, device, client id); a reading re-sent with other values is kept as
a conflict (`conflict_of`) instead of being dropped as a duplicate.

Revision ID: 0013_lead_vital_key
Revises: 0012_alarm_latch
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_lead_vital_key"
down_revision = "0012_alarm_latch"
branch_labels = None
depends_on = None

_WHERE = sa.text("conflict_of IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("vital_signs") as batch:
        batch.add_column(sa.Column("device_id", sa.String(length=100), server_default="", nullable=False))
        batch.add_column(sa.Column("conflict_of", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_vital_signs_conflict_of_vital_signs", "vital_signs", ["conflict_of"], ["id"]
        )
        batch.drop_constraint("uq_vital_signs_source_client_id", type_="unique")
    op.create_index(
        "uq_vital_signs_reading_key",
        "vital_signs",
        ["session_id", "source", "device_id", "client_id"],
        unique=True,
        sqlite_where=_WHERE,
        postgresql_where=_WHERE,
    )


def downgrade() -> None:
    op.drop_index("uq_vital_signs_reading_key", table_name="vital_signs")
    with op.batch_alter_table("vital_signs") as batch:
        batch.create_unique_constraint("uq_vital_signs_source_client_id", ["source", "client_id"])
        batch.drop_constraint("fk_vital_signs_conflict_of_vital_signs", type_="foreignkey")
        batch.drop_column("conflict_of")
        batch.drop_column("device_id")
