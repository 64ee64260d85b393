"""Account administration in real Chromium, no API call: an administrator asks for a nurse account, a second
administrator approves it, the nurse must choose her own password at first login (a weak one is refused beside
the field), and deactivating her ends her open login at her next request."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import login

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

    admin.goto(f"{demo_server}/admin/users/nina.park")
    expect(admin.locator("h1")).to_have_text("Nina Park, RN")
    expect(admin.locator("#h-logins ~ .table-wrap tbody tr")).to_have_count(1)
    admin.once("dialog", lambda d: d.accept())
    admin.get_by_role("button", name="Deactivate account").click()
    expect(admin.locator(".notice")).to_contain_text("every login it had has ended")

    nurse.reload()  # her very next request is refused
    expect(nurse).to_have_url(f"{demo_server}/login?next=/patients")
    login(nurse, demo_server, "nina.park", NEW)
    expect(nurse.locator(".error")).to_contain_text("Wrong username, password or one-time code")
