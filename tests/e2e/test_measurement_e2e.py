"""Questionnaires as a patient meets them: a one-time link on a phone, one question per screen, crisis help."""

from __future__ import annotations

from datetime import date

import pytest
from playwright.sync_api import expect

from ketacare.config import Settings
from ketacare.services.measurement import links as measurement_links
from ketacare.store.db import Database
from ketacare.store.tables.measurement import SafetyAlert
from tests.e2e.conftest import login

pytestmark = pytest.mark.browser


def _link(db_url: str, instrument: str) -> tuple[str, int]:
    db = Database(db_url)
    try:
        with db.session() as s:
            from sqlalchemy import select

            from ketacare.store.tables import Patient

            pid = s.scalar(select(Patient.id).where(Patient.mrn == "K0100005"))
            link = measurement_links.make_link(s, Settings(database_url=db_url), patient_id=pid,
                                               instrument_id=instrument, due_date=date.today())
        return link.token, pid
    finally:
        db.dispose()


def test_keyboard_users_are_not_moved_on_by_the_arrow_keys(demo_server, browser):
    token, _ = _link(demo_server.db_url, "gad7")
    ctx = browser.new_context(viewport={"width": 360, "height": 740})
    page = ctx.new_page()
    page.goto(f"{demo_server}/q/{token}")
    page.locator("fieldset.mbc-item:visible input[type=radio]").first.focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.wait_for_timeout(400)
    expect(page.locator("fieldset.mbc-item:visible .mbc-progress")).to_have_text("Question 1 of 7")
    page.click("button.mbc-next")
    expect(page.locator("fieldset.mbc-item:visible .mbc-progress")).to_have_text("Question 2 of 7")
    ctx.close()


def test_phq9_link_on_a_phone_with_item_9_shows_crisis_help_and_alerts_the_clinician(demo_server, browser):
    token, pid = _link(demo_server.db_url, "phq9")
    ctx = browser.new_context(viewport={"width": 360, "height": 740})
    page = ctx.new_page()
    page.goto(f"{demo_server}/q/{token}")
    expect(page.locator("fieldset.mbc-item:visible .mbc-progress")).to_have_text("Question 1 of 9")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    for step in range(1, 10):
        visible = page.locator("fieldset.mbc-item:visible")
        expect(visible.locator(".mbc-progress")).to_have_text(f"Question {step} of 9")
        box = visible.locator("label.mbc-option").first.bounding_box()
        assert box["height"] >= 44  # tap target
        visible.locator("label.mbc-option").nth(1 if step == 9 else 0).click()  # a tap moves on by itself
    expect(page.locator("fieldset.mbc-item:visible .mbc-progress")).to_have_text("Question 9 of 9")
    page.click("button.mbc-submit")
    expect(page.locator("section.crisis")).to_be_visible()
    assert "988" in page.inner_text("section.crisis")
    # the same link cannot be used twice
    page.goto(f"{demo_server}/q/{token}")
    assert "used" in page.inner_text("main").lower() or "expired" in page.inner_text("main").lower()
    ctx.close()
    db = Database(demo_server.db_url)
    with db.session() as s:
        from sqlalchemy import select

        alerts = s.scalars(select(SafetyAlert).where(SafetyAlert.patient_id == pid)).all()
    db.dispose()
    assert any(a.acknowledged_at is None for a in alerts)
    clinician = browser.new_page()
    login(clinician, demo_server, "prescriber")
    clinician.goto(f"{demo_server}/dashboard")
    assert "K0100005" in clinician.inner_text("main")
    clinician.close()
