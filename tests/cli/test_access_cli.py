"""`ketacare serve` behind a proxy and `ketacare user unlock` (issue 14 item 1; both failed on the code before)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from ketacare.cli.main import app
from ketacare.config import Settings, get_settings
from ketacare.services.access import LoginRequest, auth
from ketacare.services.errors import TooManyAttempts, Unauthenticated
from tests.conftest import PASSWORD, make_personas

runner = CliRunner()


@pytest.fixture
def cli_db(sqlite_db, monkeypatch):
    monkeypatch.setenv("KETACARE_DATABASE_URL", sqlite_db.url)
    get_settings.cache_clear()
    yield sqlite_db
    get_settings.cache_clear()


def _serve(monkeypatch, args):
    import uvicorn

    seen = {}
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: seen.update(kw))
    r = runner.invoke(app, ["serve", *args])
    assert r.exit_code == 0, r.output
    return seen


def test_serve_trusts_forwarded_addresses_only_when_told(cli_db, monkeypatch):
    assert _serve(monkeypatch, [])["proxy_headers"] is False
    behind = _serve(monkeypatch, ["--proxy-headers", "--forwarded-allow-ips", "10.0.0.5,10.0.0.6"])
    assert behind["proxy_headers"] is True and behind["forwarded_allow_ips"] == "10.0.0.5,10.0.0.6"


def test_user_unlock_clears_the_delays_of_an_account(cli_db):
    make_personas(cli_db)
    settings = Settings(database_url=cli_db.url, login_max_failures=3)

    def login(password):
        return auth.login(
            db=cli_db, settings=settings, data=LoginRequest(username="nurse", password=password), address="10.1.1.1"
        )

    for _ in range(3):
        with pytest.raises(Unauthenticated):
            login("wrong-wrong-wrong")
    with pytest.raises(TooManyAttempts):
        login(PASSWORD)
    listed = runner.invoke(app, ["user", "throttled", "--json"])
    assert any(row["username"] == "nurse" and row["delay_s"] > 0 for row in json.loads(listed.stdout))
    r = runner.invoke(app, ["user", "unlock", "nurse", "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["cleared"] >= 1
    assert login(PASSWORD).actor.username == "nurse"
