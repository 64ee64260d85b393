"""Transport (issue 14): Secure cookie and HSTS whenever the public URL is https; no server banner."""

from __future__ import annotations

from fastapi.testclient import TestClient

from ketacare.app import create_app
from ketacare.config import Settings


def _login_page(sqlite_db, public_url: str):
    app = create_app(Settings(database_url=sqlite_db.url, public_url=public_url), db=sqlite_db)
    return TestClient(app, base_url=public_url).get("/login")


def test_https_clinic_sends_hsts_and_secure_cookies(sqlite_db):
    r = _login_page(sqlite_db, "https://clinic.example")
    assert r.headers["strict-transport-security"].startswith("max-age=31536000")
    cookies = r.headers.get_list("set-cookie")
    assert cookies and all("secure" in c.lower() for c in cookies)


def test_plain_http_sends_no_hsts(sqlite_db):
    r = _login_page(sqlite_db, "http://127.0.0.1:8000")
    assert "strict-transport-security" not in r.headers
    assert "server" not in r.headers
