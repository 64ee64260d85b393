"""While the database cannot be reached, requests answer 503 with Retry-After at once (issue 14/15), readiness says
so and liveness does not depend on it."""

from __future__ import annotations

import time

from ketacare.app import create_app
from ketacare.config import Settings
from ketacare.store.db import Database
from tests.http.conftest import Clients


def test_requests_answer_503_quickly_while_the_database_is_away(sqlite_db, web_personas):
    app = create_app(Settings(database_url=sqlite_db.url), db=sqlite_db)
    clients = Clients(app, web_personas)
    api, web = clients.api("nurse"), clients.web("nurse")
    assert api.get("/readyz").status_code == 200
    app.state.db = Database(
        "postgresql+psycopg://postgres@127.0.0.1:1/gone", connect_timeout_s=1
    )  # nothing there
    t0 = time.monotonic()
    r = api.get("/api/v1/patients")
    page = web.get("/patients")
    ready = api.get("/readyz")
    elapsed = time.monotonic() - t0
    assert r.status_code == 503 and int(r.headers["Retry-After"]) > 0 and "database" in r.json()["detail"]
    assert page.status_code == 503 and "Connection to the database lost" in page.text
    assert ready.status_code == 503 and ready.headers["Retry-After"]
    assert clients.api(None).get("/livez").json()["status"] == "alive"  # a probe sends no token
    assert elapsed < 30  # generous: the point is "no hang"; the 2 s figure is measured outside the tests
