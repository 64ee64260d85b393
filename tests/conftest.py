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
# Throw-away databases: commits do not wait for the disk (SQLite synchronous=OFF, PostgreSQL synchronous_commit=off).
# The production settings are checked in tests/store/test_schema.py and run in the crash test's servers.
os.environ.setdefault("KETACARE_DURABILITY_PROFILE", "test")
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


@dataclass(frozen=True)
class PersonaIds:
    """What make_personas returned on a template database: copies of it hold the same people under the same ids."""

    actors: dict[str, Actor]
    patient_a: int
    patient_b: int

    def on(self, db: Database) -> Personas:
        return Personas(db=db, actors=dict(self.actors), patient_a=self.patient_a, patient_b=self.patient_b)


def _seed_personas(url: str) -> PersonaIds:
    database = Database(url)
    p = make_personas(database)
    database.dispose()
    return PersonaIds(actors=p.actors, patient_a=p.patient_a, patient_b=p.patient_b)


# Building the personas (users, patients, audit entries) costs more than copying a database: it is done once per
# engine into a second template, and a test that asks for `personas` gets a fresh copy of that template.
PERSONA_DBS: set[str] = set()  # URLs of the test databases copied from a persona template
@pytest.fixture(scope="session")
def sqlite_personas_template(sqlite_template, tmp_path_factory) -> tuple[Path, PersonaIds]:
    path = tmp_path_factory.mktemp("tmpl_personas") / "template.db"
    shutil.copy(sqlite_template, path)
    ids = _seed_personas(f"sqlite:///{path}")
    assert not Path(f"{path}-wal").exists() or Path(f"{path}-wal").stat().st_size == 0
    return path, ids


@pytest.fixture(scope="session")
def pg_personas_template(pg_template) -> tuple[str, PersonaIds]:
    base = make_url(PG_URL)
    name = f"kc_tmplp_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"'))
    ids = _seed_personas(base.set(database=name).render_as_string(hide_password=False))
    yield name, ids
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=_engine_params())
def db(request, tmp_path) -> Database:
    """A freshly migrated database, once on SQLite and once on PostgreSQL (holding the personas if asked for)."""
    with_personas = "personas" in request.fixturenames
    if request.param == "sqlite":
        path = tmp_path / "ketacare.db"
        if with_personas:
            shutil.copy(request.getfixturevalue("sqlite_personas_template")[0], path)
        else:
            shutil.copy(request.getfixturevalue("sqlite_template"), path)
        database = Database(f"sqlite:///{path}")
        if with_personas:
            PERSONA_DBS.add(database.url)
        yield database
        database.dispose()
        return
    if with_personas:
        template = request.getfixturevalue("pg_personas_template")[0]
    else:
        template = request.getfixturevalue("pg_template")
    base = make_url(PG_URL)
    name = f"kc_t_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    database = Database(base.set(database=name).render_as_string(hide_password=False))
    if with_personas:
        PERSONA_DBS.add(database.url)
    yield database
    database.dispose()
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def sqlite_db(request, tmp_path) -> Database:
    """A freshly migrated SQLite database (for tests that are about the adapters, not the engine)."""
    path = tmp_path / "ketacare.db"
    with_personas = "web_personas" in request.fixturenames  # tests/http: the personas come with the copy
    if with_personas:
        shutil.copy(request.getfixturevalue("sqlite_personas_template")[0], path)
    else:
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
    database = Database(f"sqlite:///{path}")
    if with_personas:
        PERSONA_DBS.add(database.url)
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
def personas(request, db) -> Personas:
    """The personas on `db`: built once per engine in a template that `db` was copied from."""
    if db.url not in PERSONA_DBS:  # `personas` asked for only after `db` was made: build them here
        return make_personas(db)
    if db.url.startswith("sqlite"):
        return request.getfixturevalue("sqlite_personas_template")[1].on(db)
    return request.getfixturevalue("pg_personas_template")[1].on(db)



# Modules whose short tests share a costly module fixture (a seeded demo clinic): one worker runs all of their tests,
# so the clinic is seeded once rather than once per worker.
MODULE_TOGETHER = ("tests/http/test_sources_http.py", "tests/demo/test_live_feeder.py")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """Send every browser test to one pytest-xdist worker (they share one seeded demo clinic, a session fixture), the
    tests of each MODULE_TOGETHER module to one worker, and spread the other tests one by one. (xdist's own
    `loadgroup` renames node ids, which pytest 9 ignores.)"""
    from xdist.scheduler import LoadScopeScheduling

    class BrowserTestsTogether(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            if nodeid.startswith("tests/e2e/"):
                return "browser"
            module = nodeid.partition("::")[0]
            return module if module in MODULE_TOGETHER else nodeid

    return BrowserTestsTogether(config, log)


# The longest items start first under pytest-xdist, so that none of them is left running alone at the end.
LONG_FIRST = ("tests/e2e/", "tests/http/test_crash_recovery.py", "tests/http/test_openapi_conformance.py")


def pytest_collection_modifyitems(config, items):
    """Under pytest-xdist (each worker collects, in the same order), put the long tests first."""
    if hasattr(config, "workerinput"):
        items.sort(key=lambda item: next((k for k, p in enumerate(LONG_FIRST) if item.nodeid.startswith(p)), 99))
