"""Scheduling in real Chromium (issue 17, acceptance): the front desk books a plan template's induction series in
one go from the booking page, sees it on the week calendar, and a conflicting booking (same chair, same time) is
refused beside the chair field with the reason; the week calendar is a list on a phone. Screenshots at 1440x900 and
390x844 go to $KETACARE_TEST_ARTIFACTS/scheduling (default test-artifacts/scheduling, git-ignored)."""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from ketacare.services import clinic as clinic_settings
from ketacare.store.db import Database
from tests.e2e.conftest import login, served_copy

pytestmark = pytest.mark.browser
DESK, PHONE = {"width": 1440, "height": 900}, {"width": 390, "height": 844}


def _artifacts() -> Path:
    d = Path(os.environ.get("KETACARE_TEST_ARTIFACTS", "test-artifacts")) / "scheduling"
    d.mkdir(parents=True, exist_ok=True)
    return d


def _free_patients(db: Path) -> list[tuple[str, str]]:
    """(MRN, "Family, Given") of patients with a double-checked order and no appointment yet."""
    with sqlite3.connect(db) as c:
        return c.execute(
            "SELECT p.mrn, p.family_name || ', ' || p.given_name FROM patients p WHERE p.id IN "
            "(SELECT patient_id FROM dose_orders WHERE status = 'double_checked') AND p.id NOT IN "
            "(SELECT patient_id FROM appointments) ORDER BY p.id LIMIT 2"
        ).fetchall()


def test_front_desk_books_an_induction_series_sees_it_and_a_conflict_is_refused_beside_the_field(
    demo_server, browser, tmp_path_factory
):
    with served_copy(demo_server, tmp_path_factory.mktemp("scheduling")) as (base, db_file):
        (mrn, name), (other_mrn, _) = _free_patients(db_file)
        tz = clinic_settings.zone(Database(f"sqlite:///{db_file}"))
        tomorrow = datetime.now(UTC).astimezone(tz).date() + timedelta(days=1)
        first = tomorrow + timedelta(days=(2 - tomorrow.weekday()) % 7)  # a Wednesday: Wed Fri Mon Wed Fri Mon
        page = browser.new_page(viewport=DESK)
        login(page, base, "frontdesk")
        page.goto(f"{base}/schedule/book")
        page.fill("#f-s-patient", mrn)
        page.select_option("#f-s-plan_template_id", "iv-induction")
        page.fill("#f-s-first_day", first.isoformat())
        page.fill("#f-s-start_time", "17:15")
        page.select_option("#f-s-chair_id", label="Chair 1")
        page.select_option("#f-s-staff_id", label="Sam Lindqvist")
        page.click("#series-form button[type=submit]")
        page.wait_for_load_state("networkidle")
        assert "/schedule?day=" in page.url
        expect(page.get_by_role("status")).to_contain_text("Series booked")
        desk = page.locator(".cal-desk")
        expect(desk.get_by_text(name)).to_have_count(2)  # Wed and Fri this week (Mon is in the next)
        page.screenshot(path=str(_artifacts() / "week-1440x900.png"), full_page=True)

        page.goto(f"{base}/schedule/book")  # another patient, same chair, same time
        page.fill("#one-form #f-patient", other_mrn)
        page.select_option("#f-type_id", "infusion")
        page.fill("#f-starts_at", f"{first.isoformat()} 17:15")
        page.select_option("#f-chair_id", label="Chair 1")
        page.select_option("#f-staff_id", label="Kai Moreno (nurse)")
        page.click("#one-form button[type=submit]")
        page.wait_for_load_state("networkidle")
        expect(page.locator("#e-chair_id")).to_contain_text("Chair 1 is already booked")
        expect(page.locator("#f-starts_at")).to_have_value(f"{first.isoformat()} 17:15")
        page.screenshot(path=str(_artifacts() / "refused-1440x900.png"), full_page=True)

        phone = browser.new_page(viewport=PHONE)
        login(phone, base, "frontdesk")
        phone.goto(f"{base}/schedule?day={first.isoformat()}")
        expect(phone.locator(".cal-desk")).to_be_hidden()
        expect(phone.locator(".cal-list").get_by_text(name).first).to_be_visible()
        assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        phone.screenshot(path=str(_artifacts() / "week-390x844.png"), full_page=True)
