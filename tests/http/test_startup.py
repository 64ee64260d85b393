import gc
import threading

import pytest
from fastapi.testclient import TestClient

from ketacare.app import create_app
from ketacare.config import Settings
from ketacare.store.migrate import NotMigrated


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
