"""Storage: one set of migrations for both engines, matching the tables; SQLite tuned as promised."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from ketacare.store.migrate import current_revision, head_revision
from ketacare.store.tables import Base


def test_migrations_reach_head_and_match_the_tables(db):
    assert current_revision(db) == head_revision(db)
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    # SQLite cannot express some column-type nuances; the structural differences must be none.
    structural = [d for d in diff if not (isinstance(d, list) or d[0] in ("modify_type", "modify_nullable"))]
    assert structural == []


def test_sqlite_runs_in_wal_mode_with_foreign_keys(sqlite_db):
    with sqlite_db.engine.connect() as c:
        assert c.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert c.execute(text("PRAGMA foreign_keys")).scalar() == 1
