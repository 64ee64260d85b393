"""Shared fixtures: a migrated database on each engine, the app, and named personas."""

from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

os.environ.setdefault(
    "KETACARE_PASSWORD_HASH_PROFILE", "test"
)  # before ketacare.services.access.passwords is imported
# The audit key lives outside the database; tests use a fixed one rather than writing var/audit.key.
os.environ.setdefault("KETACARE_AUDIT_KEY", "test audit key: not secret, only for the test suite")
os.environ.setdefault("KETACARE_RESEARCH_KEY", "test research key: not secret, only for the test suite")
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from ketacare.config import Settings
from ketacare.services.access import Actor, account_roles, is_patient_role, patient_role, system_actor
from ketacare.store.db import Database
from ketacare.store.migrate import upgrade

# No per-example deadline (a loaded 2-core CI machine is not a failing test); in CI, derandomized examples so
# that a run is reproducible and a red build always means the same thing.
hypothesis_settings.register_profile("ketacare", deadline=None, suppress_health_check=[HealthCheck.too_slow])
hypothesis_settings.register_profile("ci", parent=hypothesis_settings.get_profile("ketacare"), derandomize=True)
hypothesis_settings.load_profile("ci" if os.environ.get("CI") else "ketacare")

PG_URL = os.environ.get("KETACARE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REQUIRE_PG = os.environ.get("KETACARE_REQUIRE_POSTGRES") == "1"
PASSWORD = "correct horse battery staple"


def _pg_reason() -> str | None:
    try:
        eng = create_engine(PG_URL, connect_args={"connect_timeout": 3})
        with eng.connect() as c:
            c.execute(text("SELECT 1"))
        eng.dispose()
        return None
    except Exception as e:  # noqa: BLE001
        where = make_url(PG_URL).render_as_string(hide_password=True)
        return f"PostgreSQL not reachable at {where}: {type(e).__name__}"


_PG_SKIP = _pg_reason()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("tmpl") / "template.db"
    db = Database(f"sqlite:///{path}")
    upgrade(db)
    db.dispose()  # closing the last connection checkpoints the WAL into the main file
    assert not Path(f"{path}-wal").exists() or Path(f"{path}-wal").stat().st_size == 0
    return path


@pytest.fixture(scope="session")
def pg_template() -> str:
    if _PG_SKIP:
        if REQUIRE_PG:
            pytest.fail(_PG_SKIP)
        pytest.skip(_PG_SKIP)
    base = make_url(PG_URL)
    name = f"kc_tmpl_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    db = Database(base.set(database=name).render_as_string(hide_password=False))
    upgrade(db)
    db.dispose()
    yield name
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _engine_params():
    return [
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgres", marks=pytest.mark.postgres),
    ]


@pytest.fixture(params=_engine_params())
def db(request, tmp_path) -> Database:
    """A freshly migrated database, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "ketacare.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        database = Database(f"sqlite:///{path}")
        yield database
        database.dispose()
        return
    template = request.getfixturevalue("pg_template")
    base = make_url(PG_URL)
    name = f"kc_t_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    database = Database(base.set(database=name).render_as_string(hide_password=False))
    yield database
    database.dispose()
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def sqlite_db(tmp_path, sqlite_template) -> Database:
    """A freshly migrated SQLite database (for tests that are about the adapters, not the engine)."""
    path = tmp_path / "ketacare.db"
    shutil.copy(sqlite_template, path)
    database = Database(f"sqlite:///{path}")
    yield database
    database.dispose()


@pytest.fixture
def settings(db) -> Settings:
    return Settings(
        database_url=db.url, login_max_failures=3, login_lockout_base_seconds=30
    )


@dataclass
class Personas:
    """Named people of a small clinic: staff with their actors and two patients with portal accounts."""

    db: Database
    actors: dict[str, Actor]
    patient_a: int
    patient_b: int

    def __getitem__(self, name: str) -> Actor:
        return self.actors[name]


# Personas come from the policy: one staff user per account role, and two patients (A, B) of the patient role.
STAFF_ROLES = [r for r in account_roles() if not is_patient_role(r)]
PATIENT_ROLE = patient_role()


def make_personas(db: Database) -> Personas:
    from ketacare.services.access import users
    from ketacare.services.access.schemas import UserCreate
    from ketacare.services.patients import records as patients
    from ketacare.services.patients.schemas import MeasurementCreate, PatientCreate

    sysact = system_actor("tests")
    actors: dict[str, Actor] = {}
    for role in STAFF_ROLES:
        u = users.create_user(
            db=db,
            actor=sysact,
            data=UserCreate(username=role, display_name=role.title(), role=role, password=PASSWORD),
        )
        actors[role] = Actor(user_id=u.id, username=u.username, role=role)
    a = patients.create_patient(
        db=db,
        actor=sysact,
        data=PatientCreate(
            given_name="Alice",
            family_name="Anders",
            date_of_birth=date(1985, 3, 4),
            sex_at_birth="female",
            weight="70 kg",
            height="168 cm",
        ),
    )
    b = patients.create_patient(
        db=db,
        actor=sysact,
        data=PatientCreate(
            given_name="Bob", family_name="Berg", date_of_birth=date(1979, 11, 30), sex_at_birth="male"
        ),
    )
    patients.add_measurement(db=db, actor=sysact, patient_id=b.id, data=MeasurementCreate(weight="90 kg"))
    for name, pid in (("patient_a", a.id), ("patient_b", b.id)):
        u = users.create_user(
            db=db,
            actor=sysact,
            data=UserCreate(
                username=name.replace("_", ""),
                display_name=name,
                role=PATIENT_ROLE,
                password=PASSWORD,
                patient_id=pid,
            ),
        )
        actors[name] = Actor(user_id=u.id, username=u.username, role=PATIENT_ROLE, patient_id=pid)
    actors["system"] = sysact
    return Personas(db=db, actors=actors, patient_a=a.id, patient_b=b.id)


@pytest.fixture
def personas(db) -> Personas:
    return make_personas(db)
