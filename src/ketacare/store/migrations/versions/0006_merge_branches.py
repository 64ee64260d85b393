"""Merge the four feature branches (measurement, dose orders, eligibility, sessions) into one head.

Revision ID: 0006_merge
Revises: 0002_measurement, 0003_dose_orders, 0004_eligibility, 0005_sessions
Create Date: 2026-11-26
"""

revision = "0006_merge"
down_revision = ("0002_measurement", "0003_dose_orders", "0004_eligibility", "0005_sessions")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
