"""No plaintext password or session token in the database or the logs."""

from __future__ import annotations

import logging
import sqlite3

from fastapi.testclient import TestClient

from tests.conftest import PASSWORD


def test_passwords_and_tokens_never_reach_database_or_logs(app, sqlite_db, caplog):
    caplog.set_level(logging.DEBUG)
    api = TestClient(app)
    r = api.post("/api/v1/auth/login", json={"username": "prescriber", "password": PASSWORD})
    token = r.json()["access_token"]
    api.post("/api/v1/auth/login", json={"username": "prescriber", "password": PASSWORD + "-typo"})
    api.get("/api/v1/patients", headers={"Authorization": f"Bearer {token}"})
    api.post("/api/v1/auth/logout", headers={"Authorization": f"Bearer {token}"})
    path = sqlite_db.engine.url.database
    sqlite_db.dispose()
    dump = "\n".join(sqlite3.connect(path).iterdump())
    for secret in (PASSWORD, PASSWORD + "-typo", token):
        assert secret not in dump
        assert secret not in caplog.text
    assert "$argon2id$" in dump  # passwords are there only as argon2id hashes
