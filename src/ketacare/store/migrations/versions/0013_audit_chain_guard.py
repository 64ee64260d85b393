"""Audit chain guard: INSERT only as the next link, a key seal per event, the chain head cannot be removed.

Revision ID: 0013_audit_chain_guard
Revises: 0013_lead_vital_key
Create Date: 2026-11-30

The database refuses an audit row that does not link to the event before it (sequence and previous hash), and
refuses to delete the chain head or move it backwards. `seal` holds an HMAC of the event hash made with a key
kept outside the database (NULL on events written before this revision).
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_audit_chain_guard"
down_revision = "0013_lead_vital_key"
branch_labels = None
depends_on = None

GENESIS = "0" * 64

SQLITE = [
    "CREATE TRIGGER audit_events_next_link BEFORE INSERT ON audit_events "  # noqa: S608 - constant SQL
    f"WHEN NOT ((NEW.seq = 1 AND NEW.prev_hash = '{GENESIS}') OR EXISTS "
    "(SELECT 1 FROM audit_events WHERE seq = NEW.seq - 1 AND hash = NEW.prev_hash)) "
    "BEGIN SELECT RAISE(ABORT, 'audit_events accepts only the next link of the chain'); END",
    "CREATE TRIGGER audit_chain_head_no_delete BEFORE DELETE ON audit_chain_head "
    "BEGIN SELECT RAISE(ABORT, 'the audit chain head cannot be deleted'); END",
    "CREATE TRIGGER audit_chain_head_forward_only BEFORE UPDATE ON audit_chain_head WHEN NEW.seq < OLD.seq "
    "BEGIN SELECT RAISE(ABORT, 'the audit chain head only moves forward'); END",
]
POSTGRES = [
    "CREATE OR REPLACE FUNCTION audit_events_next_link() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN "
    f"  IF NEW.seq = 1 AND NEW.prev_hash = '{GENESIS}' THEN RETURN NEW; END IF; "
    "  PERFORM 1 FROM audit_events WHERE seq = NEW.seq - 1 AND hash = NEW.prev_hash; "
    "  IF NOT FOUND THEN "
    "    RAISE EXCEPTION 'audit_events accepts only the next link of the chain (event %)', NEW.seq; "
    "  END IF; "
    "  RETURN NEW; "
    "END $$",
    "CREATE TRIGGER audit_events_next_link BEFORE INSERT ON audit_events "
    "FOR EACH ROW EXECUTE FUNCTION audit_events_next_link()",
    "CREATE OR REPLACE FUNCTION audit_chain_head_guard() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN "
    "  IF TG_OP = 'UPDATE' THEN "
    "    IF NEW.seq < OLD.seq THEN RAISE EXCEPTION 'the audit chain head only moves forward'; END IF; "
    "    RETURN NEW; "
    "  END IF; "
    "  RAISE EXCEPTION 'the audit chain head cannot be deleted'; "
    "END $$",
    "CREATE TRIGGER audit_chain_head_no_delete BEFORE DELETE ON audit_chain_head "
    "FOR EACH ROW EXECUTE FUNCTION audit_chain_head_guard()",
    "CREATE TRIGGER audit_chain_head_no_truncate BEFORE TRUNCATE ON audit_chain_head "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_chain_head_guard()",
    "CREATE TRIGGER audit_chain_head_forward_only BEFORE UPDATE ON audit_chain_head "
    "FOR EACH ROW EXECUTE FUNCTION audit_chain_head_guard()",
]


def upgrade() -> None:
    op.add_column("audit_events", sa.Column("seal", sa.String(length=64), nullable=True))
    for statement in SQLITE if op.get_bind().dialect.name == "sqlite" else POSTGRES:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("audit_events_next_link", "audit_chain_head_no_delete", "audit_chain_head_forward_only"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_events_next_link ON audit_events")
        for name in ("audit_chain_head_no_delete", "audit_chain_head_no_truncate", "audit_chain_head_forward_only"):
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON audit_chain_head")
        op.execute("DROP FUNCTION IF EXISTS audit_events_next_link()")
        op.execute("DROP FUNCTION IF EXISTS audit_chain_head_guard()")
    op.drop_column("audit_events", "seal")  # a plain DROP COLUMN: a batch rebuild would lose the 0001 triggers
