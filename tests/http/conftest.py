"""HTTP fixtures: the app on a seeded SQLite database, clients logged in as each persona."""

from __future__ import annotations

import secrets
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from ketacare.app import create_app
from ketacare.config import Settings
from ketacare.http.access import CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE
from ketacare.services import clock
from ketacare.services.access.auth import token_digest
from ketacare.store.tables import AuthSession
from tests.conftest import PERSONA_DBS, make_personas


def issue_token(db, user_id: int) -> str:
    """Create a login session directly (as a successful login would) and return its token."""
    token = secrets.token_urlsafe(32)
    now = clock.now()
    with db.session() as s:
        s.add(AuthSession(token_hash=token_digest(token), user_id=user_id, created_at=now, last_seen_at=now,
                          expires_at=now + timedelta(hours=8)))
    return token


class Clients:
    def __init__(self, app, personas):
        self.app, self.personas = app, personas

    def api(self, persona: str | None) -> TestClient:
        c = TestClient(self.app, follow_redirects=False)
        if persona:
            c.headers["Authorization"] = f"Bearer {issue_token(self.personas.db, self.personas[persona].user_id)}"
        return c

    def web(self, persona: str | None) -> TestClient:
        c = TestClient(self.app, follow_redirects=False)
        csrf = secrets.token_urlsafe(16)
        c.cookies.set(CSRF_COOKIE, csrf)
        c.headers[CSRF_HEADER] = csrf
        if persona:
            c.cookies.set(SESSION_COOKIE, issue_token(self.personas.db, self.personas[persona].user_id))
        return c


@pytest.fixture
def web_personas(sqlite_db, sqlite_personas_template):
    """The personas on `sqlite_db`, which was copied from the persona template because this fixture is requested."""
    if sqlite_db.url not in PERSONA_DBS:
        return make_personas(sqlite_db)
    return sqlite_personas_template[1].on(sqlite_db)


@pytest.fixture
def app(sqlite_db, web_personas):
    return create_app(Settings(database_url=sqlite_db.url, login_max_failures=3), db=sqlite_db)


@pytest.fixture
def clients(app, web_personas) -> Clients:
    return Clients(app, web_personas)
