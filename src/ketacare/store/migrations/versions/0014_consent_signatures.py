"""Informed consent signatures (issue 16 point 1): the patient's signature of a consent document version, its
witness, the prescriber's countersignature and withdrawal. The sessions' old yes/no consent column stays (old
sessions keep reading it); the pre-check now reads this table.

Revision ID: 0014_consent_signatures
Revises: 0014_plan_plans
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

import ketacare.store.tables.base

revision = "0014_consent_signatures"
down_revision = "0014_followup_calls"
branch_labels = None
depends_on = None

UTC = ketacare.store.tables.base.UTCDateTime(timezone=True)


def _user_fk(column: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], ["users.id"], name=op.f(f"fk_consent_signatures_{column}_users"))


def upgrade() -> None:
    op.create_table(
        "consent_signatures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("template_id", sa.String(length=64), nullable=False),
        sa.Column("template_version", sa.String(length=16), nullable=False),
        sa.Column("document_sha256", sa.String(length=64), nullable=False),
        sa.Column("routes", sa.JSON(), nullable=False),
        sa.Column("indication", sa.String(length=32), nullable=True),
        sa.Column("typed_name", sa.String(length=200), nullable=False),
        sa.Column("signature_kind", sa.String(length=8), nullable=False),
        sa.Column("signature_svg_path", sa.Text(), nullable=True),
        sa.Column("signed_at", UTC, nullable=False),
        sa.Column("signed_via", sa.String(length=16), nullable=False),
        sa.Column("signed_by", sa.Integer(), nullable=True),
        sa.Column("witnessed_by", sa.Integer(), nullable=True),
        sa.Column("expires_at", UTC, nullable=False),
        sa.Column("countersigned_by", sa.Integer(), nullable=True),
        sa.Column("countersigned_at", UTC, nullable=True),
        sa.Column("countersign_meaning", sa.String(length=16), nullable=True),
        sa.Column("countersign_method", sa.String(length=16), nullable=True),
        sa.Column("withdrawn_at", UTC, nullable=True),
        sa.Column("withdrawn_reason", sa.Text(), nullable=True),
        sa.Column("withdrawn_recorded_by", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_consent_signatures_patient_id_patients")
        ),
        _user_fk("signed_by"),
        _user_fk("witnessed_by"),
        _user_fk("countersigned_by"),
        _user_fk("withdrawn_recorded_by"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_signatures")),
    )
    op.create_index(
        "ix_consent_signatures_patient_signed",
        "consent_signatures",
        ["patient_id", "signed_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_consent_signatures_patient_signed", table_name="consent_signatures")
    op.drop_table("consent_signatures")
