"""Signing in real Chromium (issue 13 item 5): the password again at the moment of signing, the error beside
the field when it is wrong, and the meaning beside the signature once signed."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.conftest import login

pytestmark = pytest.mark.browser
PASSWORD = "ketacare-demo"


def _draft_order(base: str) -> tuple[int, int]:
    """Create a draft order as the prescriber over the API for the first demo patient that can have one."""
    token = httpx.post(f"{base}/api/v1/auth/login", json={"username": "prescriber", "password": PASSWORD},
                       timeout=60).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    for pid in range(1, 300):
        r = httpx.post(f"{base}/api/v1/patients/{pid}/dose-orders", json={"protocol_id": "iv-standard"},
                       headers=headers, timeout=60)
        if r.status_code == 201:
            return pid, r.json()["id"]
    raise AssertionError("no demo patient could have a new order")


def test_prescriber_signs_and_nurse_double_checks_with_their_passwords(demo_server, browser):
    pid, oid = _draft_order(demo_server)
    url = f"{demo_server}/patients/{pid}/dose-orders/{oid}"
    page = browser.new_page()
    login(page, demo_server, "prescriber")
    page.goto(f"{url}/sign")
    assert "Your signature: Approved" in page.inner_text("main")
    page.fill("#f-password", "not-my-password")
    page.click("button.primary")
    page.wait_for_load_state()
    assert "it does not match your account" in page.inner_text("#e-password")
    assert page.get_attribute("#f-password", "aria-invalid") == "true"
    page.fill("#f-password", PASSWORD)
    page.click("button.primary")
    page.wait_for_url(url)
    assert "(Approved)" in page.inner_text("main")
    page.close()

    nurse = browser.new_page()
    login(nurse, demo_server, "nurse")
    nurse.goto(f"{url}/double-check")
    assert "Your signature: Reviewed" in nurse.inner_text("main")
    o = httpx.get(f"{demo_server}/api/v1/patients/{pid}/dose-orders/{oid}", timeout=60,
                  headers={"Authorization": "Bearer " + httpx.post(
                      f"{demo_server}/api/v1/auth/login", json={"username": "prescriber", "password": PASSWORD},
                      timeout=60).json()["access_token"]}).json()
    if nurse.locator("#f-check_weight_kg").count():
        nurse.fill("#f-check_weight_kg", str(o["weight_kg"]))
    nurse.fill("#f-check_dose_mg", str(o["dose_mg"]))
    if nurse.locator("#f-check_rate_ml_per_h").count():
        nurse.fill("#f-check_rate_ml_per_h", str(o["rate_ml_per_h"]))
    nurse.fill("#f-password", PASSWORD)
    nurse.click("button.primary")
    nurse.wait_for_url(url)
    text = nurse.inner_text("main")
    assert "(Approved)" in text and "(Reviewed)" in text
    nurse.close()
