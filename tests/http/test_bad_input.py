"""Bad input never reaches the database as a crash (issue 14): ids out of range, NUL bytes, oversized bodies,
on SQLite and on PostgreSQL; every answer is 4xx naming what was wrong, and nothing is stored."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from ketacare.app import create_app
from ketacare.config import Settings
from ketacare.http.routes import route_table
from ketacare.store.tables import Patient
from tests.conftest import make_personas
from tests.http.conftest import Clients

HUGE_IDS = (2**31, 2**63, 10**30)
PARAM = re.compile(r"\{(\w+)(?::\w+)?\}")


@pytest.fixture
def engine_clients(db) -> Clients:
    personas = make_personas(db)
    app = create_app(Settings(database_url=db.url, max_body_bytes=200_000), db=db)
    return Clients(app, personas)


def _patients(clients: Clients) -> int:
    with clients.personas.db.session() as s:
        return s.scalar(select(func.count()).select_from(Patient)) or 0


def test_ids_out_of_range_in_any_path_answer_4xx_never_500(engine_clients):
    failures = []
    for r in route_table(engine_clients.app):
        names = PARAM.findall(r.path)
        if r.method != "GET" or not names or not any(n.endswith("_id") for n in names):
            continue
        for huge in HUGE_IDS:
            url = PARAM.sub(lambda m, h=huge: str(h) if m.group(1).endswith("_id") else "x", r.path)
            client = (
                engine_clients.api("prescriber")
                if r.path.startswith("/api/")
                else engine_clients.web("prescriber")
            )
            status = client.get(url).status_code
            if status >= 500:
                failures.append(f"GET {url}: {status}")
    assert failures == []


@pytest.mark.parametrize("where", ["given_name", "search"])
def test_a_nul_byte_answers_422_naming_the_field_and_stores_nothing(engine_clients, where):
    api = engine_clients.api("prescriber")
    before = _patients(engine_clients)
    if where == "search":
        r = api.get("/api/v1/patients", params={"q": "Sm\x00ith"})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "q"
        page = engine_clients.web("prescriber").get("/patients", params={"q": "Sm\x00ith"})
        assert page.status_code == 422
        return
    body = {"given_name": "Ev\x00e", "family_name": "Stone", "date_of_birth": "1990-02-03", "sex_at_birth": "female"}
    r = api.post("/api/v1/patients", json=body)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "given_name"
    assert _patients(engine_clients) == before


def test_an_oversized_body_is_refused_before_it_is_read_whole(engine_clients):
    api = engine_clients.api("nurse")
    r = api.post(
        "/api/v1/patients", content=b"{" + b" " * 300_000 + b"}", headers={"content-type": "application/json"}
    )
    assert r.status_code == 413
    assert r.json()["errors"][0]["field"] == "body"


def test_a_nul_byte_in_a_web_form_is_refused_on_the_page(engine_clients):
    web = engine_clients.web("prescriber")
    before = _patients(engine_clients)
    r = web.post("/patients", data={"given_name": "Ev\x00e", "family_name": "Stone"})
    assert r.status_code == 422 and "given_name" in r.text
    assert _patients(engine_clients) == before


def test_api_requests_beyond_the_rate_answer_429_with_retry_after(db):
    personas = make_personas(db)
    app = create_app(Settings(database_url=db.url, api_rate_per_minute=1, api_rate_burst=3), db=db)  # refills 1/min
    clients = Clients(app, personas)
    nurse, other = clients.api("nurse"), clients.api("prescriber")
    codes = [nurse.get("/api/v1/patients").status_code for _ in range(5)]
    assert codes[:3] == [200, 200, 200] and codes[3:] == [429, 429]
    assert int(nurse.get("/api/v1/patients").headers["Retry-After"]) >= 1
    assert other.get("/api/v1/patients").status_code == 200  # per token: one busy client slows no one else
