"""Account administration in real Chromium: an administrator asks for a nurse account, a second administrator
approves it, the nurse must choose her own password at first login (a weak one is refused beside the field), signs
an independent double check re-entering her new password (the prescriber's order is prepared over the API), and
deactivating her ends her open login at her next request. The nurse and the administrators use no API call."""

from __future__ import annotations

import os
import re
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import login
from tests.e2e.test_signatures_e2e import _draft_order

pytestmark = pytest.mark.browser

TEMP = "temporary-chair-lamp-42"
NEW = "violet-harbour-ninety-kites"


def _artifacts(tmp_path: Path) -> Path:
    d = Path(os.environ.get("KETACARE_TEST_ARTIFACTS", tmp_path))
    d.mkdir(parents=True, exist_ok=True)
    return d


def test_admin_creates_a_nurse_who_sets_her_password_and_is_deactivated(demo_server, browser, tmp_path):
    shots = _artifacts(tmp_path)
    admin = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
    login(admin, demo_server, "admin")
    admin.goto(f"{demo_server}/admin/users/new")
    admin.fill("#f-c-username", "nina.park")
    admin.fill("#f-c-display_name", "Nina Park")
    admin.fill("#f-c-credentials", "RN")
    admin.select_option("#f-c-role", "nurse")
    admin.fill("#f-c-password", TEMP)
    admin.click("text=Create account")
    expect(admin.locator(".notice")).to_contain_text("second administrator")
    row = admin.locator("li.change", has_text="new nurse account nina.park")
    expect(row).to_contain_text("another administrator approves")
    admin.screenshot(path=str(shots / "people-security-pending.png"), full_page=True)

    second = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
    login(second, demo_server, "admin2")
    second.goto(f"{demo_server}/admin/security")
    second.locator("li.change", has_text="new nurse account nina.park").get_by_role("button", name="Approve").click()
    expect(second.locator(".notice")).to_contain_text("approved")

    nurse = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    login(nurse, demo_server, "nina.park", TEMP)
    expect(nurse).to_have_url(f"{demo_server}/account/password")
    expect(nurse.locator("h1")).to_have_text("Choose your password")
    nurse.goto(f"{demo_server}/patients")  # nothing else opens before she has chosen her own password
    expect(nurse).to_have_url(f"{demo_server}/account/password")
    nurse.fill("#f-current_password", TEMP)
    nurse.fill("#f-new_password", "password123456")
    nurse.fill("#f-confirm_password", "password123456")
    nurse.click("text=Save password")
    expect(nurse.locator("#e-new_password")).to_contain_text("common")
    expect(nurse.locator(".error-summary")).to_be_visible()
    nurse.screenshot(path=str(shots / "people-password-refused-390.png"), full_page=True)
    nurse.fill("#f-current_password", TEMP)
    nurse.fill("#f-new_password", NEW)
    nurse.fill("#f-confirm_password", NEW)
    nurse.click("text=Save password")
    expect(nurse.locator(".notice")).to_contain_text("Password changed")
    expect(nurse.locator("dd", has_text="Nina Park, RN")).to_be_visible()
    nurse.goto(f"{demo_server}/patients")
    expect(nurse.locator("h1")).to_contain_text("Patients")
    _double_check_as_the_new_nurse(nurse, demo_server)

    admin.goto(f"{demo_server}/admin/users/nina.park")
    expect(admin.locator("h1")).to_have_text("Nina Park, RN")
    expect(admin.locator("#h-logins ~ .table-wrap tbody tr")).to_have_count(1)
    admin.once("dialog", lambda d: d.accept())
    admin.get_by_role("button", name="Deactivate account").click()
    expect(admin.locator(".notice")).to_contain_text("every login it had has ended")

    nurse.reload()  # her very next request is refused
    expect(nurse).to_have_url(re.compile(re.escape(f"{demo_server}/login?next=")))
    login(nurse, demo_server, "nina.park", NEW)
    expect(nurse.locator(".error")).to_contain_text("Wrong username, password or one-time code")


def _double_check_as_the_new_nurse(nurse, base: str) -> None:
    """The new nurse's first clinical act: the independent double check of a signed order, re-entering her own
    new password at that moment; the order then names her with her credentials and the signature's meaning."""
    pid, oid = _draft_order(base)
    api = httpx.Client(base_url=base, timeout=60)
    token = api.post("/api/v1/auth/login", json={"username": "prescriber", "password": "ketacare-demo"}).json()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    o = api.get(f"/api/v1/patients/{pid}/dose-orders/{oid}", headers=headers).json()
    signed = api.post(f"/api/v1/patients/{pid}/dose-orders/{oid}/sign", headers=headers,
                      json={"version": o["version"], "password": "ketacare-demo"})
    assert signed.status_code == 200, signed.text
    url = f"{base}/patients/{pid}/dose-orders/{oid}"
    nurse.goto(f"{url}/double-check")
    if nurse.locator("#f-check_weight_kg").count():
        nurse.fill("#f-check_weight_kg", str(o["weight_kg"]))
    nurse.fill("#f-check_dose_mg", str(o["dose_mg"]))
    if nurse.locator("#f-check_rate_ml_per_h").count():
        nurse.fill("#f-check_rate_ml_per_h", str(o["rate_ml_per_h"]))
    nurse.fill("#f-password", TEMP)  # her old, temporary password no longer signs
    nurse.click("button.primary")
    expect(nurse.locator("#e-password")).to_contain_text("does not match")
    nurse.fill("#f-password", NEW)
    nurse.click("button.primary")
    nurse.wait_for_url(url)
    expect(nurse.locator("main")).to_contain_text("double-checked by Nina Park, RN")
    expect(nurse.locator("main")).to_contain_text("(Reviewed)")
