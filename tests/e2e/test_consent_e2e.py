"""Informed consent in real Chromium (issue 16 point 1, acceptance): the clinic publishes a version of the IV
consent that needs re-consent -> a checked-in session's pre-check shows no consent in force -> the patient reads and
signs the new version in the portal on a 390x844 phone (typed name + a signature drawn on the canvas) -> the
prescriber countersigns from the chart with their password -> the session's pre-check shows the consent in force
with its version and date.

The clinic is a copy of the seeded demo; the new version is stood in by marking the portal patient's signed version
as the earlier 0.9 in that copy. Screenshots go to $KETACARE_TEST_ARTIFACTS/consent (default test-artifacts)."""

from __future__ import annotations

import json
import os
import sqlite3
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import login, served_copy

pytestmark = pytest.mark.browser
DESK, PHONE = {"width": 1440, "height": 900}, {"width": 390, "height": 844}


def _shots() -> Path:
    d = Path(os.environ.get("KETACARE_TEST_ARTIFACTS", "test-artifacts")) / "consent"
    d.mkdir(parents=True, exist_ok=True)
    return d


def _api(base: str, path: str, body: dict, token: str | None = None) -> dict:
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
    req = urllib.request.Request(
        f"{base}{path}", data=json.dumps(body).encode(), method="POST", headers=headers
    )
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read() or b"{}")


def _portal_patient(db: Path) -> tuple[str, int, str, int]:
    """A portal login whose patient has a double-checked IV order: (username, patient id, full name, order id);
    their signed consent is marked as the earlier version 0.9 (the clinic's new version asks for re-consent)."""
    with sqlite3.connect(db) as c:
        row = c.execute(
            "SELECT u.username, p.id, p.given_name || ' ' || p.family_name, o.id FROM users u "
            "JOIN patients p ON p.id = u.patient_id "
            "JOIN dose_orders o ON o.patient_id = p.id AND o.status = 'double_checked' AND o.route = 'iv' "
            "ORDER BY u.username, o.id DESC LIMIT 1"
        ).fetchone()
        assert row, "the demo clinic has a portal patient with a double-checked IV order"
        c.execute("UPDATE consent_signatures SET template_version = '0.9' WHERE patient_id = ?", (row[1],))
    return row


def test_patient_signs_in_the_portal_prescriber_countersigns_and_the_pre_check_reads_it(
    demo_server, browser, tmp_path_factory
):
    shots = _shots()
    with served_copy(demo_server, tmp_path_factory.mktemp("consent")) as (base, db):
        username, pid, name, order_id = _portal_patient(db)
        token = _api(base, "/api/v1/auth/login", {"username": "nurse", "password": "ketacare-demo"})[
            "access_token"
        ]
        sid = _api(
            base,
            "/api/v1/sessions",
            {"patient_id": pid, "chair": "Chair 3", "dose_order_id": order_id},
            token,
        )["id"]
        _api(base, f"/api/v1/sessions/{sid}/transitions", {"event": "check_in"}, token)

        nurse = browser.new_context(viewport=DESK).new_page()
        login(nurse, base, "nurse")
        nurse.goto(f"{base}/sessions/{sid}")
        fact = nurse.locator("#consent-fact")
        expect(fact).to_contain_text("✕ no")
        expect(fact).to_contain_text("read and sign version 1.0")
        assert "consent_on_file" in nurse.locator("input[name=override_guards]").get_attribute("value")

        # --- the patient, on a phone: reads and signs the new version ---
        phone = browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True).new_page()
        login(phone, base, username)
        phone.goto(f"{base}/me/consent")
        expect(phone.locator("#status-racemic-iv")).to_contain_text("The clinic has updated this document")
        phone.locator("#status-racemic-iv").get_by_role("link", name="Read and sign").click()
        expect(
            phone.get_by_role("heading", name="What the research says for each kind of anxiety")
        ).to_be_visible()
        phone.fill("#f-typed_name", "Someone Else")
        phone.get_by_role("button", name="Sign").click()  # a wrong name, unread, unsigned: errors beside fields
        expect(phone.locator("#e-typed_name")).to_contain_text(name)
        expect(phone.locator("#e-read_confirmed")).to_be_visible()
        expect(phone.locator("#e-signature")).to_be_visible()
        phone.check("#f-read_confirmed")
        phone.fill("#f-typed_name", name)
        pad = phone.locator("#sigpad")
        pad.scroll_into_view_if_needed()
        box = pad.bounding_box()
        assert box and box["width"] <= 390
        phone.mouse.move(box["x"] + 20, box["y"] + box["height"] * 0.7)
        phone.mouse.down()
        for k in range(1, 12):
            phone.mouse.move(
                box["x"] + 20 + k * (box["width"] - 40) / 11, box["y"] + box["height"] * (0.3 + 0.4 * (k % 2))
            )
        phone.mouse.up()
        assert phone.locator("#f-signature_svg_path").input_value().startswith("M")
        phone.screenshot(path=str(shots / "01-portal-sign-390x844.png"), full_page=True)
        phone.get_by_role("button", name="Sign").click()
        expect(phone.locator(".notice")).to_contain_text("your consent is signed")
        expect(phone.locator("#status-racemic-iv")).to_contain_text("waiting for the prescriber")
        with sqlite3.connect(db) as c:
            new_id = c.execute(
                "SELECT max(id) FROM consent_signatures WHERE patient_id = ?", (pid,)
            ).fetchone()[0]

        # --- the prescriber countersigns from the chart ---
        rx = browser.new_context(viewport=DESK).new_page()
        login(rx, base, "prescriber")
        rx.goto(f"{base}/patients/{pid}")
        expect(rx.locator("#consent-status")).to_contain_text("not countersigned")
        rx.locator("#consent-status").get_by_role("link").click()
        signature = rx.locator(f"#signature-{new_id}")
        expect(signature.locator("svg.sig-drawn")).to_be_visible()
        signature.locator("input[name=password]").fill("ketacare-demo")
        signature.get_by_role("button", name="Countersign").click()
        expect(rx.locator(".notice")).to_contain_text("Consent countersigned")
        expect(rx.locator(f"#signature-{new_id} .countersigned")).to_contain_text("Approved")
        rx.screenshot(path=str(shots / "02-countersigned-1440x900.png"), full_page=True)

        # --- the session's pre-check now reads the consent in force ---
        nurse.reload()
        expect(fact).to_contain_text("✓ yes")
        expect(fact).to_contain_text("version 1.0")
        guards = nurse.locator("input[name=override_guards]")
        assert guards.count() == 0 or "consent_on_file" not in (guards.get_attribute("value") or "")
        nurse.screenshot(path=str(shots / "03-session-consent-1440x900.png"), full_page=True)
