"""The nurse's next-day call in real Chromium (issue 16): the list of calls due today in the demo clinic, the call
form at phone size (390x844) with an error beside its field, then completed at desk size (1440x900).

The demo clinic is seeded with sessions discharged yesterday whose calls are due today; this test completes one
calm call (no risk answer, so no safety alert that other journeys would see). Screenshots go to
$KETACARE_TEST_ARTIFACTS/followup (default test-artifacts/followup, git-ignored)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import login

pytestmark = pytest.mark.browser
DESK, PHONE = {"width": 1440, "height": 900}, {"width": 390, "height": 844}


def test_the_nurse_completes_a_next_day_call_on_a_phone_and_at_the_desk(demo_server, browser):
    shots = Path(os.environ.get("KETACARE_TEST_ARTIFACTS", "test-artifacts")) / "followup"
    shots.mkdir(parents=True, exist_ok=True)
    ctx = browser.new_context(viewport=PHONE)
    page = ctx.new_page()
    login(page, demo_server, "nurse")
    page.goto(f"{demo_server}/followup")
    due = page.locator("tr.call-due, tr.call-overdue").first
    expect(due).to_be_visible()
    patient = due.locator("td").nth(1).inner_text().strip().rsplit(" ", 1)[0]  # "Family, Given" without the MRN
    page.screenshot(path=str(shots / "calls-390x844.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # no sideways scrolling
    due.get_by_role("link", name="Call").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(patient)
    page.check("input[name=reached][value=yes]")
    page.check("input[name=suicidal_thoughts][value=no]")
    page.get_by_role("button", name="Save call").click()
    expect(page.locator("#e-mood")).to_have_text("answer this question")  # beside its field, nothing stored
    page.screenshot(path=str(shots / "call-refused-390x844.png"), full_page=True)
    page.set_viewport_size(DESK)
    for qid, value in (("feels_safe", "yes"), ("side_effects", "headache"), ("mood", "better"),
                       ("sleep", "normal"), ("driving_advice_kept", "yes")):
        page.check(f"input[name={qid}][value={value}]")
    page.fill("#f-notes", "Slept well, mild headache in the evening.")
    page.screenshot(path=str(shots / "call-form-1440x900.png"), full_page=True)
    page.get_by_role("button", name="Save call").click()
    expect(page.get_by_role("status")).to_contain_text("Call recorded")
    row = page.locator("tr", has_text=patient).filter(has_text="Done").first  # a patient may have other calls due
    expect(row).to_be_visible()
    row.get_by_role("link", name="View").click()
    expect(page.locator("#attempts")).to_contain_text("Completed by nurse")
    expect(page.locator("#rapid-response")).to_contain_text("Rapid responder")
    ctx.close()
