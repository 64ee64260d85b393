import gc
import threading

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select
from sqlalchemy.engine.default import CACHE_HIT

from ketacare.app import _rehearse, create_app
from ketacare.config import Settings
from ketacare.services.access.auth import resolve
from ketacare.services.dosing import orders as dose_orders
from ketacare.services.patients import records as patients
from ketacare.services.sessions import board
from ketacare.store.migrate import NotMigrated
from ketacare.store.tables import Base


def test_app_refuses_an_unmigrated_database_and_says_what_to_run(tmp_path):
    with pytest.raises(NotMigrated, match="ketacare db upgrade"):
        create_app(Settings(database_url=f"sqlite:///{tmp_path}/empty.db"))


def test_a_served_app_is_warm_before_its_first_request(app_settings_db):
    """The server's start compiles the pages, starts the worker threads with their connections and puts the
    start-up objects out of the garbage collector's reach (issue 15: the first requests of a process, and every full
    collection, held all the others)."""
    settings, db = app_settings_db
    app = create_app(settings, db=db, warm_up=True)
    threads_before = {t.ident for t in threading.enumerate()}
    try:
        with TestClient(app) as client:
            compiled = {t.name for t in app.state.templates.env.cache.values()}
            assert {"board.html", "_board_chair.html", "base.html"} <= compiled
            started = [t for t in threading.enumerate() if t.ident not in threads_before and "worker" in t.name]
            assert len(started) >= settings.worker_threads
            assert gc.get_freeze_count() > 0
            assert client.get("/livez").json()["status"] == "alive"
    finally:
        gc.unfreeze()  # this test process is not a server: let its objects be collected again


@pytest.fixture
def app_settings_db(sqlite_db):
    return Settings(database_url=sqlite_db.url, worker_threads=3), sqlite_db


def test_the_warm_up_compiles_the_busiest_reads_and_reads_writes_and_audits_nothing(db, personas):
    """A served process runs the token lookup, chart, dose orders and board reads once with ids no row has before
    its first request (issue 15: the first board page of a process cost ~3x a later one), so those requests then
    find their statements compiled; no row is written, audit events included."""

    def counts() -> dict[str, int]:
        with db.session() as s:
            tables = Base.metadata.sorted_tables
            return {t.name: s.execute(select(func.count()).select_from(t)).scalar_one() for t in tables}

    before = counts()
    _rehearse(db)
    assert counts() == before

    selects: list[tuple[str, object]] = []

    def note(conn, cursor, statement, parameters, context, executemany):  # noqa: ARG001 - the event's signature
        if statement.lstrip().upper().startswith("SELECT"):
            selects.append((statement, context.cache_hit))

    nurse = personas["nurse"]
    event.listen(db.engine, "after_cursor_execute", note)
    try:
        assert resolve(db=db, settings=Settings(database_url=db.url), token="no such token", address=None) is None
        patients.get_chart(db=db, actor=nurse, patient_id=personas.patient_a)
        dose_orders.list_orders(db=db, actor=nurse, patient_id=personas.patient_a)
        board.board_snapshot(db=db, actor=nurse)
    finally:
        event.remove(db.engine, "after_cursor_execute", note)
    cold = [statement for statement, hit in selects if hit is not CACHE_HIT]
    assert len(selects) >= 5
    assert cold == []
