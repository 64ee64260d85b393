"""Audit chain stripes: K independent hash chains, so concurrent appenders never wait for each other.

Revision ID: 0016_chain_stripes
Revises: 0016_dash_digests
Create Date: 2026-12-01

Every event belongs to a stripe (`stripe`, the id of an `audit_chain_head` row) and links to the previous event
of its stripe (`stripe_seq` counts the events of the stripe from 1). Existing events form stripe 1 with
`stripe_seq = seq`. PostgreSQL gets STRIPES head rows and a sequence for the global `seq`; SQLite keeps one
stripe (its write lock already serializes appenders). The INSERT guard now checks the link within the stripe.
"""

import sqlalchemy as sa
from alembic import op

revision = "0016_chain_stripes"
down_revision = "0016_dash_digests"
branch_labels = None
depends_on = None

GENESIS = "0" * 64
STRIPES = 32  # PostgreSQL: more than the busiest deployment's concurrent request threads (16 per process x 2)

SQLITE_LINK = (
    "CREATE TRIGGER audit_events_next_link BEFORE INSERT ON audit_events "  # noqa: S608 - constant SQL
    f"WHEN NEW.stripe_seq IS NULL OR NOT ((NEW.stripe_seq = 1 AND NEW.prev_hash = '{GENESIS}') OR EXISTS "
    "(SELECT 1 FROM audit_events WHERE stripe = NEW.stripe AND stripe_seq = NEW.stripe_seq - 1 "
    "AND hash = NEW.prev_hash)) "
    "BEGIN SELECT RAISE(ABORT, 'audit_events accepts only the next link of the chain'); END"
)
SQLITE_NO_UPDATE = (
    "CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events "
    "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END"
)
POSTGRES_LINK = (
    "CREATE OR REPLACE FUNCTION audit_events_next_link() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN "
    f"  IF NEW.stripe_seq = 1 AND NEW.prev_hash = '{GENESIS}' THEN RETURN NEW; END IF; "
    "  PERFORM 1 FROM audit_events WHERE stripe = NEW.stripe AND stripe_seq = NEW.stripe_seq - 1 "
    "    AND hash = NEW.prev_hash; "
    "  IF NOT FOUND THEN "
    "    RAISE EXCEPTION 'audit_events accepts only the next link of the chain (event %, stripe %)', "
    "      NEW.seq, NEW.stripe; "
    "  END IF; "
    "  RETURN NEW; "
    "END $$"
)


def upgrade() -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    op.add_column("audit_events", sa.Column("stripe", sa.Integer(), nullable=False, server_default="1"))
    # NOT NULL from the start (SQLite cannot add the constraint later); 0 is no place, so the guard refuses it.
    op.add_column("audit_events", sa.Column("stripe_seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                                            nullable=False, server_default="0"))
    # Number the existing events of stripe 1 (the append-only guard is lifted for this one statement).
    if sqlite:
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_update")
        op.execute("UPDATE audit_events SET stripe_seq = seq")
        op.execute(SQLITE_NO_UPDATE)
    else:
        op.execute("ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update")
        op.execute("UPDATE audit_events SET stripe_seq = seq")
        op.execute("ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_update")
        op.execute("ALTER TABLE audit_events ALTER COLUMN stripe_seq DROP DEFAULT")
    op.create_index("ux_audit_events_stripe_stripe_seq", "audit_events", ["stripe", "stripe_seq"], unique=True)
    if sqlite:
        op.execute("DROP TRIGGER IF EXISTS audit_events_next_link")
        op.execute(SQLITE_LINK)
        return
    op.execute(POSTGRES_LINK)
    last = bind.execute(sa.text("SELECT coalesce(max(seq), 0) FROM audit_events")).scalar_one()
    op.execute(f"CREATE SEQUENCE audit_events_seq START WITH {int(last) + 1}")
    bind.execute(
        sa.text("INSERT INTO audit_chain_head (id, seq, hash) SELECT n, 0, :g "
                "FROM generate_series(1, :k) AS n ON CONFLICT (id) DO NOTHING"),
        {"g": GENESIS, "k": STRIPES},
    )


def downgrade() -> None:
    raise NotImplementedError("the striped audit chain cannot be folded back into one chain")
