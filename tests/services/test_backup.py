"""Backup -> wipe -> restore gives an identical clinic whose audit chain and signed records verify, on SQLite and
PostgreSQL (issue 15); an encrypted backup opens only with its key and a truncated one is refused."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import create_engine, inspect, select, table, text
from sqlalchemy.engine import make_url

from ketacare.demo.patients import seed as seed_demo
from ketacare.services import backup
from ketacare.services.access import system_actor
from ketacare.store.db import Database
from tests.conftest import PG_URL


@pytest.fixture
def empty_target(db, tmp_path):
    """A new, empty database of the same engine as `db` (no tables, not migrated)."""
    if db.dialect == "sqlite":
        target = Database(f"sqlite:///{tmp_path / 'restored.db'}")
        yield target
        target.dispose()
        return
    base = make_url(PG_URL)
    name = f"kc_restore_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    target = Database(base.set(database=name).render_as_string(hide_password=False))
    yield target
    target.dispose()
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _contents(db: Database) -> dict[str, set[str]]:
    """Every row of every table, as text (JSON columns are dicts on PostgreSQL, so rows are compared by repr)."""
    names = sorted(inspect(db.engine).get_table_names())
    with db.engine.connect() as c:
        return {
            n: {repr(tuple(r)) for r in c.execute(select(text("*")).select_from(table(n)))} for n in names
        }


def test_backup_wipe_restore_gives_an_identical_clinic(db, empty_target, tmp_path):
    seed_demo(db, n_patients=8, seed_value=11)
    key_file = tmp_path / "backup.key"
    key_file.write_text(backup.new_key())
    key = backup.read_key(key_file)
    out = tmp_path / "clinic.kcbackup"
    made = backup.create_backup(db=db, actor=system_actor("tests"), out=out, key=key)
    assert made.audit_intact and made.tables["patients"] >= 8
    before = _contents(db)

    report = backup.restore_backup(db=empty_target, actor=system_actor("tests"), src=out, key=key)

    assert report.ok, report.problems
    assert report.tables_match and report.audit_intact and report.audit_head_matches
    after = _contents(empty_target)
    # the restore adds one audit event saying it happened; everything else is identical
    assert before["audit_events"] < after["audit_events"]
    assert len(after["audit_events"]) == len(before["audit_events"]) + 1
    assert {n: rows for n, rows in after.items() if not n.startswith("audit")} == {
        n: rows for n, rows in before.items() if not n.startswith("audit")
    }


def test_an_encrypted_backup_needs_its_key_and_a_cut_file_is_refused(sqlite_db, tmp_path):
    key = backup.read_key(_key(tmp_path / "k1"))
    out = tmp_path / "clinic.kcbackup"
    backup.create_backup(db=sqlite_db, actor=system_actor("tests"), out=out, key=key)
    with pytest.raises(backup.BackupError, match="encrypted"):
        backup.read_manifest(out)
    with pytest.raises(backup.BackupError, match="key does not open"):
        backup.read_manifest(out, backup.read_key(_key(tmp_path / "k2")))
    cut = tmp_path / "cut.kcbackup"
    cut.write_bytes(out.read_bytes()[:-20])
    with pytest.raises(backup.BackupError):
        backup.read_manifest(cut, key)
    assert backup.read_manifest(out, key).engine == "sqlite"


def test_restore_refuses_a_database_that_holds_data(sqlite_db, tmp_path):
    out = tmp_path / "clinic.kcbackup"
    backup.create_backup(db=sqlite_db, actor=system_actor("tests"), out=out)
    with pytest.raises(backup.BackupError, match="not empty"):
        backup.restore_backup(db=sqlite_db, actor=system_actor("tests"), src=out)
    with pytest.raises(backup.BackupError, match="exists"):
        backup.create_backup(db=sqlite_db, actor=system_actor("tests"), out=out)


def _key(path):
    path.write_text(backup.new_key())
    return path
