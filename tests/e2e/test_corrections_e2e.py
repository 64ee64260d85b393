"""Corrections in real Chromium, no API call: a prescriber records a medication on a demo chart, marks it
"entered in error" with a reason (an empty reason is refused beside the field), and sees it leave the active
list and stay in the medication history with the reason; a misspelt name gets a suggestion."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import login

pytestmark = pytest.mark.browser

FEATURED_MRN = "K0200001"


def _artifacts(tmp_path: Path) -> Path:
    d = Path(os.environ.get("KETACARE_TEST_ARTIFACTS", tmp_path))
    d.mkdir(parents=True, exist_ok=True)
    return d


def test_medication_entered_in_error_leaves_the_active_list_and_stays_in_history(demo_server, browser, tmp_path):
    shots = _artifacts(tmp_path)
    ctx = browser.new_context(viewport={"width": 1440, "height": 900})
    page = ctx.new_page()
    login(page, demo_server, "prescriber")
    page.goto(f"{demo_server}/patients?q={FEATURED_MRN}")
    page.locator("#results a").first.click()
    expect(page.locator("h1")).to_contain_text(FEATURED_MRN)

    add = page.locator("form[action$='/add/medication']")
    page.locator("summary", has_text="Add a medication").click()
    add.locator("input[name=name]").fill("buspiron")
    add.locator("input[name=dose_value]").fill("10")
    add.locator("input[name=times_per_day]").fill("2")
    add.locator("button[type=submit]").click()
    expect(page.locator("form[action$='/add/medication'] .field-error").first).to_contain_text(
        "Did you mean buspirone?")
    add = page.locator("form[action$='/add/medication']")
    add.locator("input[name=name]").fill("buspirone")
    add.locator("button[type=submit]").click()

    active = page.locator("#active-medications")
    expect(active.locator("tr:not(.correct-row)", has_text="buspirone")).to_have_count(1)
    row = active.locator("tr.correct-row", has_text="buspirone")
    row.locator("summary", has_text="Correct").click()
    in_error = row.locator("form[action$='/entered-in-error']")
    in_error.locator("button[type=submit]").click()  # no reason: refused beside the field, nothing changed
    row = page.locator("#active-medications tr.correct-row", has_text="buspirone")
    expect(row.locator("form[action$='/entered-in-error'] .field-error")).to_contain_text(
        "Enter the reason for the correction")
    row.locator("form[action$='/entered-in-error'] input[name=reason]").fill("Recorded for the wrong patient")
    row.locator("form[action$='/entered-in-error'] button[type=submit]").click()

    expect(page.locator("#active-medications tr", has_text="buspirone")).to_have_count(0)
    history = page.locator("#medication details.history")
    history.locator("summary").click()
    line = history.locator("li", has_text="buspirone")
    expect(line).to_contain_text("marked entered in error")
    expect(line).to_contain_text("Recorded for the wrong patient")
    expect(line).to_contain_text("Dr Maya Okafor")
    page.screenshot(path=str(shots / "corrections-1440.png"), full_page=True)
    ctx.close()
