"""`ketacare user ...` administers accounts from the server's command line (no second approval needed there)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from ketacare.cli.main import app
from ketacare.config import get_settings

runner = CliRunner()
PHRASE = "violet-harbour-ninety-kites"


@pytest.fixture
def cli_db(sqlite_db, monkeypatch):
    monkeypatch.setenv("KETACARE_DATABASE_URL", sqlite_db.url)
    get_settings.cache_clear()
    yield sqlite_db
    get_settings.cache_clear()


def _ok(args):
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    return r.stdout


def test_user_lifecycle_from_the_command_line(cli_db):
    made = json.loads(_ok(["user", "add", "alice", "--role", "prescriber", "--name", "Dr Alice Ng",
                           "--credentials", "MD", "--password", PHRASE, "--json"]))
    assert made["signature"] == "Dr Alice Ng, MD" and made["must_change_password"] is True
    assert "Dr Alice Ng, MD" in _ok(["user", "list"])
    _ok(["user", "role", "alice", "nurse"])
    assert "nurse" in _ok(["user", "show", "alice"])
    assert "/password/" in _ok(["user", "reset-link", "alice"])
    _ok(["user", "deactivate", "alice"])
    shown = json.loads(_ok(["user", "show", "alice", "--json"]))
    assert shown["user"]["is_active"] is False and shown["sessions"] == []
    assert "sign-in counter(s) cleared" in _ok(["user", "unlock", "alice"])
    assert "signs as Alice Ng, RN" in _ok(["user", "profile", "alice", "--name", "Alice Ng", "--credentials", "RN"])


def test_user_add_refuses_a_guessable_password_with_zxcvbn_advice(cli_db):
    r = runner.invoke(app, ["user", "add", "bob", "--role", "nurse", "--name", "Bob", "--password", "password123456"])
    assert r.exit_code == 2 and "password" in r.stderr and "common" in r.stderr


def test_final_password_from_the_command_line(cli_db):
    made = json.loads(_ok(["user", "add", "root.admin", "--role", "admin", "--name", "Jo Root", "--password", PHRASE,
                           "--final", "--json"]))
    assert made["must_change_password"] is False
