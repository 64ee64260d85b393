"""Real foreign keys for the two links built before both ends existed: an infusion session's dose order
(`infusion_sessions.dose_order_id` -> `dose_orders.id`) and a questionnaire response's infusion session
(`questionnaire_responses.session_id` -> `infusion_sessions.id`).

Existing rows are checked first. A link that names no row is **not** changed: the migration stops, changes
nothing, and lists every such row, because nulling a clinical link silently would alter a record (a signed session
record may name its dose order) without a clinician's review. Fix or clear those rows by hand, then run
`ketacare db upgrade` again. On SQLite the tables are rebuilt (batch mode) with foreign-key enforcement paused
for the rebuild; `store.migrate.upgrade` runs `PRAGMA foreign_key_check` before committing.

Revision ID: 0008_links_fk
Revises: 0009_dose_basis
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_links_fk"
down_revision = "0009_dose_basis"
branch_labels = None
depends_on = None

# (table, column, referred table): each link this migration turns into a foreign key.
LINKS = (
    ("infusion_sessions", "dose_order_id", "dose_orders"),
    ("questionnaire_responses", "session_id", "infusion_sessions"),
)


class OrphanLinks(RuntimeError):
    """Rows whose link names no row; the migration refuses to go on (nothing was changed)."""


def orphans(bind: sa.engine.Connection) -> list[str]:
    """Return one line per row whose link names a row that does not exist."""
    found = []
    for table, column, referred in LINKS:
        rows = bind.execute(
            sa.text(
                f"SELECT t.id, t.{column} FROM {table} t LEFT JOIN {referred} r ON r.id = t.{column} "  # noqa: S608 - LINKS is constant
                f"WHERE t.{column} IS NOT NULL AND r.id IS NULL ORDER BY t.id"
            )
        ).all()
        found += [f"{table} id {row_id}: {column} = {value} but {referred} has no such id" for row_id, value in rows]
    return found


def _fk(table: str, column: str, referred: str) -> str:
    return f"fk_{table}_{column}_{referred}"


def upgrade() -> None:
    problems = orphans(op.get_bind())
    if problems:
        raise OrphanLinks(
            "migration 0008_links_fk changed nothing: these links name rows that do not exist "
            "(review each with a clinician, then correct it or set it to NULL, and run `ketacare db upgrade` "
            "again):\n  " + "\n  ".join(problems)
        )
    for table, column, referred in LINKS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_foreign_key(_fk(table, column, referred), referred, [column], ["id"])


def downgrade() -> None:
    for table, column, referred in reversed(LINKS):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(_fk(table, column, referred), type_="foreignkey")
