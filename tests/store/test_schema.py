"""Storage: one set of migrations for both engines, matching the tables; SQLite tuned as promised."""

import uuid
from datetime import UTC, date, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Integer, MetaData, String, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from ketacare.services.access import system_actor
from ketacare.services.patients import PatientCreate, create_patient
from ketacare.store.db import Database
from ketacare.store.migrate import alembic_config, current_revision, head_revision, upgrade
from ketacare.store.tables import Base
from tests.conftest import PG_URL


def drift(db, metadata: MetaData = Base.metadata) -> list:
    """Every difference between the migrated database and the tables: tables, columns with their types and
    nullability, indexes, unique and foreign-key constraints (alembic's autogenerate comparison)."""
    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(ctx, metadata)


def test_migrations_reach_head_and_match_the_tables(db):
    assert current_revision(db) == head_revision(db)
    assert drift(db) == []


def test_the_drift_check_sees_a_column_s_type_and_nullability(db):
    changed = MetaData(naming_convention=Base.metadata.naming_convention)
    for table in Base.metadata.sorted_tables:
        table.to_metadata(changed)
    changed.tables["patients"].c["mrn"].type = String(7)  # 32 characters in the migrations
    changed.tables["patients"].c["mrn"].nullable = True
    changed.tables["infusion_sessions"].c["chair"].type = Integer()
    found = drift(db, changed)
    flat = [d for group in found for d in (group if isinstance(group, list) else [group])]
    assert {(d[0], d[2], d[3]) for d in flat} == {
        ("modify_type", "patients", "mrn"),
        ("modify_nullable", "patients", "mrn"),
        ("modify_type", "infusion_sessions", "chair"),
    }


def test_the_migrations_have_one_head(db):
    # New migrations chain from the newest: two heads would mean two histories for one schema.
    heads = ScriptDirectory.from_config(alembic_config(db)).get_heads()
    assert len(heads) == 1, f"migrations have {len(heads)} heads {heads}: chain the newest from the other"


@pytest.fixture(params=[pytest.param("sqlite", id="sqlite"), pytest.param("postgresql", id="postgres",
                                                                         marks=pytest.mark.postgres)])
def empty_db(request, tmp_path):
    """A database that was never migrated, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'empty.db'}")
        yield database
        database.dispose()
        return
    request.getfixturevalue("pg_template")  # skips (or fails under KETACARE_REQUIRE_POSTGRES) without a server
    base = make_url(PG_URL)
    name = f"kc_e_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    database = Database(base.set(database=name).render_as_string(hide_password=False))
    yield database
    database.dispose()
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _before_links_fk(db) -> str:
    return ScriptDirectory.from_config(alembic_config(db)).get_revision("0008_links_fk").down_revision


def _session_before_links_fk(db, monkeypatch) -> int:
    """A database just before 0008_links_fk with one patient and one scheduled session; returns the session id."""
    upgrade(db, _before_links_fk(db))
    # Today's audit code writes columns this old schema lacks (`seal`, 0013); the migration under test is not about it.
    from ketacare.services.access import audit

    monkeypatch.setattr(audit, "append", lambda session, actor, events: [])
    p = create_patient(
        db=db,
        actor=system_actor("tests"),
        data=PatientCreate(given_name="Ola", family_name="Berg", date_of_birth=date(1980, 1, 2), sex_at_birth="male"),
    )
    with db.engine.begin() as c:  # plain SQL: today's tables may hold columns this older schema lacks
        c.execute(
            text(
                "INSERT INTO infusion_sessions (patient_id, chair, product, state, scheduled_at, consent_confirmed, "
                "escort_confirmed, escort_present, dissociation_resolved, sedation_resolved, overrides, created_at, "
                "updated_at, version) VALUES (:p, 'Chair 1', 'racemic_ketamine', 'scheduled', :t, false, false, "
                "false, false, false, '[]', :t, :t, 1)"
            ),
            {"p": p.id, "t": datetime(2026, 11, 30, 9, 0)},
        )
        return int(c.execute(text("SELECT max(id) FROM infusion_sessions")).scalar_one())


def test_links_migration_refuses_orphans_and_changes_nothing(empty_db, monkeypatch):
    sid = _session_before_links_fk(empty_db, monkeypatch)
    with empty_db.engine.begin() as c:
        c.execute(text("UPDATE infusion_sessions SET dose_order_id = 424242 WHERE id = :s"), {"s": sid})
    with pytest.raises(Exception, match=rf"infusion_sessions id {sid}: dose_order_id = 424242 but dose_orders"):
        upgrade(empty_db)
    assert current_revision(empty_db) == _before_links_fk(empty_db)
    with empty_db.engine.connect() as c:
        assert c.execute(text("SELECT dose_order_id FROM infusion_sessions")).scalar() == 424242

    with empty_db.engine.begin() as c:  # the clinic reviews the row and clears the link
        c.execute(text("UPDATE infusion_sessions SET dose_order_id = NULL WHERE id = :s"), {"s": sid})
    upgrade(empty_db)
    assert current_revision(empty_db) == head_revision(empty_db)
    assert drift(empty_db) == []
    with pytest.raises(IntegrityError), empty_db.engine.begin() as c:
        c.execute(text("UPDATE infusion_sessions SET dose_order_id = 424242 WHERE id = :s"), {"s": sid})
    with pytest.raises(IntegrityError), empty_db.engine.begin() as c:
        c.execute(
            text(
                "INSERT INTO questionnaire_responses (patient_id, instrument_id, instrument_version, context, "
                "session_id, answered_by_role, via, answered_at, flags, created_at) SELECT patient_id, 'gad7', '1', "
                "'pre_session', 424242, 'clinician', 'clinician', scheduled_at, '[]', scheduled_at "
                "FROM infusion_sessions"
            )
        )


def test_tristate_migration_forgets_only_the_no_nobody_answered(empty_db):
    """0013: a "no" the old default wrote before anyone could answer becomes "not answered"; answers stay."""
    before = ScriptDirectory.from_config(alembic_config(empty_db)).get_revision("0013_s_order_tristate")
    upgrade(empty_db, before.down_revision)
    now = datetime.now(UTC)
    with empty_db.engine.begin() as c:  # rows written as that schema held them (today's services write today's)
        pid = c.execute(
            text(
                "INSERT INTO patients (mrn, given_name, family_name, given_name_norm, family_name_norm, "
                "date_of_birth, sex_at_birth, created_at, updated_at, version) VALUES ('MRN-0013', 'Ola', 'Berg', "
                "'ola', 'berg', :dob, 'male', :t, :t, 1) RETURNING id"
            ),
            {"dob": date(1980, 1, 2), "t": now},
        ).scalar_one()
        for state, ended, consent in (("scheduled", None, False), ("discharged", now, True)):
            c.execute(
                text(
                    "INSERT INTO infusion_sessions (patient_id, chair, product, state, scheduled_at, "
                    "infusion_ended_at, consent_confirmed, escort_confirmed, escort_present, dissociation_resolved, "
                    "sedation_resolved, overrides, created_at, updated_at, version) VALUES (:p, 'Chair 1', "
                    "'racemic_ketamine', :s, :t, :e, :c, false, false, false, true, '[]', :t, :t, 1)"
                ),
                {"p": pid, "s": state, "t": now, "e": ended, "c": consent},
            )
    upgrade(empty_db)
    cols = "consent_confirmed, escort_confirmed, escort_present, dissociation_resolved, sedation_resolved"
    with empty_db.engine.connect() as c:
        rows = [tuple(r) for r in c.execute(text(f"SELECT state, {cols} FROM infusion_sessions ORDER BY id"))]
    assert rows[0] == ("scheduled", None, None, None, None, True)
    assert [None if v is None else bool(v) for v in rows[1][1:]] == [True, False, False, False, True]


def test_sqlite_runs_in_wal_mode_with_foreign_keys(sqlite_db):
    with sqlite_db.engine.connect() as c:
        assert c.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert c.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_a_clinic_database_waits_for_the_disk_at_each_commit(db, monkeypatch):
    """Production settings (the suite's own databases skip the wait): SQLite FULL, PostgreSQL the server's own."""
    monkeypatch.delenv("KETACARE_DURABILITY_PROFILE")
    clinic = Database(db.url)
    try:
        with clinic.engine.connect() as c:
            if clinic.dialect == "sqlite":
                assert c.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
            else:  # the server's own setting, not one the connection chose
                source = "SELECT source FROM pg_settings WHERE name = 'synchronous_commit'"
                assert c.execute(text(source)).scalar() != "client"
    finally:
        clinic.dispose()
