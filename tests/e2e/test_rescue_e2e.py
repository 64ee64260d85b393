"""Rescue formulary and side effects in real Chromium, no API call: a prescriber adds a medicine to the clinic's
formulary; a nurse, on the session page of an infusing demo chair, records a side effect, gives a rescue dose
from that entry (a dose above the range and one beyond the per-session maximum are refused beside the field,
with a summary at the top, and the form keeps what was typed) and marks the side effect resolved."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import login

pytestmark = pytest.mark.browser

ENTRY = "granisetron IV 1-3 mg (max 1 per session)"


def _artifacts(tmp_path: Path) -> Path:
    d = Path(os.environ.get("KETACARE_TEST_ARTIFACTS", tmp_path))
    d.mkdir(parents=True, exist_ok=True)
    return d


def test_prescriber_configures_and_nurse_records_side_effect_and_rescue(demo_server, browser, tmp_path):
    shots = _artifacts(tmp_path)
    ctx = browser.new_context(viewport={"width": 1440, "height": 900})
    page = ctx.new_page()
    login(page, demo_server, "prescriber")
    page.goto(f"{demo_server}/admin/rescue-formulary")
    expect(page.locator("h1")).to_have_text("Rescue formulary")
    page.fill("#f-add-drug", "granisetron")
    page.select_option("#f-add-route", "iv")
    page.check("input[name=indications][value=nausea]")
    page.fill("#f-add-dose_min", "1")
    page.fill("#f-add-dose_max", "3")
    page.select_option("#f-add-dose_unit", "mg")
    page.fill("#f-add-max_doses_per_session", "1")
    page.fill("#f-add-approved_by", "Dr E2E, medical director")
    page.click("text=Add to the formulary")
    expect(page.locator("#error-summary-title")).to_have_text("Not saved: 1 problem to fix")  # no source yet
    expect(page.locator("#e-add-source")).to_contain_text("give the source")
    expect(page.locator("#f-add-drug")).to_have_value("granisetron")  # kept what was typed
    expect(page.locator("input[name=indications][value=nausea]")).to_be_checked()
    page.fill("#f-add-source", "E2E test protocol (not clinical)")
    page.click("text=Add to the formulary")
    row = page.locator("tr", has_text="granisetron")
    expect(row).to_contain_text("1–3 mg")
    expect(row).to_contain_text("Dr E2E, medical director")
    page.screenshot(path=str(shots / "formulary-1440.png"), full_page=True)
    ctx.close()

    ctx = browser.new_context(viewport={"width": 1440, "height": 900})
    page = ctx.new_page()
    login(page, demo_server, "nurse")
    page.goto(f"{demo_server}/admin/rescue-formulary")
    expect(page.locator("text=Add a medicine")).to_have_count(0)  # nurses read it, prescribers change it
    page.goto(f"{demo_server}/sessions")
    page.locator("tr", has_text="infusing").locator("a").first.click()
    page.wait_for_load_state("networkidle")
    session_url = page.url

    page.click("summary:has-text('Record a side effect')")
    page.select_option("#f-se-type", "nausea")
    page.select_option("#f-se-grade", "2")
    page.click("text=Record side effect")
    item = page.locator(".se-item", has_text="Nausea")
    expect(item).to_contain_text("grade 2 (moderate)")
    expect(item).to_contain_text("not resolved")

    page.click("summary:has-text('Give a rescue medicine')")
    page.select_option("#f-rx-entry_id", label=ENTRY)
    page.fill("#f-rx-dose", "5")
    page.select_option("#f-rx-side_effect_id", index=1)
    page.click("text=Record rescue dose")
    expect(page.locator("#e-rx-dose")).to_contain_text("5 mg is above the clinic's single-dose limit of 3 mg")
    expect(page.locator(".error-summary")).to_contain_text("Dose: 5 mg is above")
    expect(page.locator("#f-rx-dose")).to_have_value("5")
    page.screenshot(path=str(shots / "session-rescue-refused-1440.png"), full_page=True)
    page.fill("#f-rx-dose", "2")
    page.click("text=Record rescue dose")
    expect(page.locator(".se-item", has_text="Nausea")).to_contain_text(re.compile(r"Rescue: granisetron 2 mg iv"))

    page.click("summary:has-text('Give a rescue medicine')")  # a second dose: the entry allows 1 per session
    page.select_option("#f-rx-entry_id", label=ENTRY)
    page.fill("#f-rx-dose", "1")
    page.select_option("#f-rx-indication", "nausea")
    page.click("text=Record rescue dose")
    expect(page.locator("#e-rx-dose")).to_contain_text("already 1 dose(s) this session; limit 1")
    expect(page.locator(".se-item", has_text="granisetron")).to_have_count(1)  # nothing stored

    page.goto(session_url)
    nausea = page.locator(".se-item", has_text="Nausea")
    nausea.locator("summary:has-text('Mark resolved')").click()
    nausea.locator("input[name=resolution]").fill("settled after granisetron")
    nausea.locator("button:has-text('Mark resolved')").click()
    expect(page.locator(".se-item", has_text="Nausea")).to_contain_text("resolved")
    expect(page.locator(".se-item", has_text="Nausea")).to_contain_text("settled after granisetron")
    page.set_viewport_size({"width": 390, "height": 844})
    page.locator("#side-effects").screenshot(path=str(shots / "session-side-effects-390.png"))
    ctx.close()
