"""The live board in real Chromium: a reading posted through the API appears on the nurse's open board without a
reload (waiting up to 5 s; the 1 s target is measured by `python -m bench board`, not asserted in a test). It serves a
copy of the demo clinic without the demo feeder, whose own reading every 5 s would otherwise replace the posted one."""

from __future__ import annotations

import json
import time
import urllib.request
from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import login, served_copy

pytestmark = pytest.mark.browser


def _api(base: str, path: str, body: dict, token: str | None = None) -> dict:
    req = urllib.request.Request(f"{base}{path}", data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json",
                                          **({"Authorization": f"Bearer {token}"} if token else {})})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read() or b"{}")


def test_a_reading_posted_through_the_api_comes_live_to_the_open_board(demo_server, browser, tmp_path_factory):
    with served_copy(demo_server, tmp_path_factory.mktemp("board")) as (base, _db):
        _a_posted_reading_comes_live(base, browser)


def _a_posted_reading_comes_live(base: str, browser) -> None:
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    login(page, base, "nurse")
    page.goto(f"{base}/board")
    page.wait_for_selector("#board .chair")
    page.evaluate("window.__notReloaded = true")
    expect(page.locator("#board-status")).to_contain_text("Live ·", timeout=10_000)
    sid = page.get_attribute("#board .chair", "data-session")
    token = _api(base, "/api/v1/auth/login", {"username": "nurse", "password": "ketacare-demo"})["access_token"]
    reading = {"client_id": f"e2e-{time.time_ns()}", "measured_at": datetime.now(UTC).isoformat(),
               "sbp": 163, "dbp": 97, "hr": 91, "spo2": 96, "rr": 15}
    _api(base, f"/api/v1/sessions/{sid}/vitals/batch", {"readings": [reading]}, token)
    expect(page.locator(f"#chair-{sid} [data-vital=bp]")).to_have_text("163/97", timeout=5000)
    assert page.evaluate("window.__notReloaded") is True  # it came live, without a reload
    card = page.inner_text(f"#chair-{sid}")
    assert "mmHg" in card and "91" in card
    page.close()
