"""Least-privilege PostgreSQL roles: the app role works, owns nothing, and cannot switch the audit guards off."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from ketacare.services.access import audit_views, system_actor
from ketacare.services.patients import records as patients
from ketacare.services.patients.schemas import PatientCreate
from ketacare.store.db import Database
from ketacare.store.migrate import upgrade
from ketacare.store.roles import apply_roles
from tests.conftest import PG_URL

pytestmark = pytest.mark.postgres


@pytest.fixture
def roles(pg_template):
    """A database of its own and two cluster-wide roles with names unique to this run, all removed afterwards."""
    tag = uuid.uuid4().hex[:8]
    name, owner, app = f"kc_roles_{tag}", f"kc_owner_{tag}", f"kc_app_{tag}"
    base = make_url(PG_URL)
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"'))
    superuser = create_engine(base.set(database=name), isolation_level="AUTOCOMMIT")
    try:
        with superuser.connect() as c:
            apply_roles(c, owner=owner, app=app)
        superuser.dispose()
        urls = {who: base.set(database=name, username=who).render_as_string(hide_password=False)
                for who in (owner, app)}
        yield urls[owner], urls[app]
    finally:
        superuser.dispose()
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            c.execute(text(f'DROP ROLE IF EXISTS "{app}"'))
            c.execute(text(f'DROP ROLE IF EXISTS "{owner}"'))
        admin.dispose()


REFUSED = [
    "ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update",
    "ALTER TABLE audit_events DISABLE TRIGGER ALL",
    "DROP TRIGGER audit_events_next_link ON audit_events",
    "TRUNCATE audit_events",
    "TRUNCATE patients",
    "SET session_replication_role = replica",
    "UPDATE audit_events SET reason = 'x' WHERE seq = 1",
    "DELETE FROM audit_events WHERE seq = 1",
    "DELETE FROM audit_chain_head",
    "CREATE TABLE extra (i integer)",
    "DROP TABLE patients",
    "ALTER TABLE patients ADD COLUMN extra integer",
    "CREATE TRIGGER t BEFORE INSERT ON patients FOR EACH ROW EXECUTE FUNCTION audit_events_next_link()",
    "UPDATE alembic_version SET version_num = 'x'",
]


@pytest.mark.parametrize("statement", REFUSED)
def test_the_app_role_is_refused(roles, statement):
    _, app_url = roles
    engine = create_engine(app_url)
    try:
        with pytest.raises(DBAPIError), engine.begin() as c:
            c.execute(text(statement))
    finally:
        engine.dispose()


def test_the_app_role_runs_the_clinic_and_owns_nothing(roles):
    owner_url, app_url = roles
    db = Database(app_url)
    try:
        with db.engine.connect() as c:
            owned = c.execute(text(
                "SELECT count(*) FROM pg_class WHERE relowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)"
            )).scalar_one()
            assert owned == 0
        p = patients.create_patient(db=db, actor=system_actor("t"), data=PatientCreate(
            given_name="Ada", family_name="Role", date_of_birth="1980-01-01", sex_at_birth="female"))
        patients.get_chart(db=db, actor=system_actor("t"), patient_id=p.id)
        assert audit_views.verify(db=db, actor=system_actor("t")).ok
    finally:
        db.dispose()
    owner = Database(owner_url)
    try:
        upgrade(owner)  # migrations run as the owner role (nothing to do here: already at the newest revision)
    finally:
        owner.dispose()
