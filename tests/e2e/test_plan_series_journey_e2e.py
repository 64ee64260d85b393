"""The combined journey of issue 17 in real Chromium: the front desk books a patient's own treatment plan's induction
series in one go from the booking page; the first infusion is given (prepared through the services: the session
is started from its appointment and its infusion times recorded, as the chair day would); the therapist, on a
phone, writes an integration note after infusion 1 shared with the care team, then a private one; the prescriber
sees the shared note and the booked sessions on the plan page; the nurse cannot open the private note.
Screenshots at 1440x900 and 390x844 go to $KETACARE_TEST_ARTIFACTS/plan-series (default test-artifacts)."""

from __future__ import annotations

import os
import re
import sqlite3
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from ketacare.services import clinic as clinic_settings
from ketacare.services.access import Actor
from ketacare.services.dosing import orders as dose_orders
from ketacare.services.dosing.schemas import DoseOrderCreate, DoseOrderSign, DoubleCheckCreate
from ketacare.services.patients import records
from ketacare.services.patients.schemas import MeasurementCreate
from ketacare.services.plans import consent, plans
from ketacare.services.plans.consent_schemas import ConsentCountersignIn, ConsentSignIn
from ketacare.services.plans.schemas import PlanCreate
from ketacare.services.scheduling import booking
from ketacare.store.db import Database
from tests.e2e.conftest import login, served_copy

pytestmark = pytest.mark.browser
DESK, PHONE = {"width": 1440, "height": 900}, {"width": 390, "height": 844}
DEMO_PASSWORD = "ketacare-demo"
RISK = {"suicidal_ideation": "none", "suicidal_behaviour": "no", "self_harm": "no", "harm_to_others": "no"}


def _artifacts() -> Path:
    d = Path(os.environ.get("KETACARE_TEST_ARTIFACTS", "test-artifacts")) / "plan-series"
    d.mkdir(parents=True, exist_ok=True)
    return d


def _actor(c: sqlite3.Connection, username: str) -> Actor:
    uid, role = c.execute("SELECT id, role FROM users WHERE username = ?", (username,)).fetchone()
    return Actor(user_id=uid, username=username, role=role)


def _patient_with_plan(db_file: Path, first_start: datetime) -> tuple[int, str, str]:
    """Give a demo patient who has no plan, session or appointment yet what a prescriber would have done before the
    front desk books: a recent weight, a signed consent, an individual plan, and a signed, double-checked order."""
    db = Database(f"sqlite:///{db_file}")
    with sqlite3.connect(db_file) as c:
        weighed = (first_start - timedelta(days=2)).strftime("%Y-%m-%d %H:%M:%S")  # before the order's time
        pid, mrn, given, family = c.execute(
            "SELECT id, mrn, given_name, family_name FROM patients WHERE id NOT IN "
            "(SELECT patient_id FROM appointments) AND id NOT IN (SELECT patient_id FROM infusion_sessions) "
            "AND id NOT IN (SELECT patient_id FROM treatment_plans) AND id NOT IN "
            "(SELECT patient_id FROM dose_orders) AND id NOT IN (SELECT patient_id FROM consent_signatures) "
            "AND id NOT IN (SELECT patient_id FROM body_measurements WHERE measured_at >= ?) "
            "ORDER BY id DESC LIMIT 1", (weighed,)
        ).fetchone()
        kg, = c.execute("SELECT weight_kg FROM body_measurements WHERE patient_id = ? AND weight_kg IS NOT NULL "
                        "ORDER BY measured_at DESC LIMIT 1", (pid,)).fetchone()
        nurse, prescriber = _actor(c, "nurse"), _actor(c, "prescriber")
    records.add_measurement(db=db, actor=nurse, patient_id=pid, data=MeasurementCreate(  # weighed again, same
        weight=f"{kg} kg", measured_at=first_start - timedelta(days=2)))
    doc = consent.document("racemic-iv")
    signed = consent.sign_consent(db=db, actor=nurse, patient_id=pid, data=ConsentSignIn(
        template_id=doc.id, version=doc.version, signed_via="clinic_tablet", read_confirmed=True,
        typed_name=f"{given} {family}", signature_kind="drawn", signature_svg_path="M10 10 L50 60 L90 20 L120 80"))
    consent.countersign_consent(db=db, actor=prescriber, patient_id=pid, signature_id=signed.id,
                                data=ConsentCountersignIn(version=signed.version, password=DEMO_PASSWORD))
    plans.create_plan(db=db, actor=prescriber, patient_id=pid, data=PlanCreate(
        template_id="iv-induction", indication="gad", password=DEMO_PASSWORD))
    o = dose_orders.create_order(db=db, actor=prescriber, patient_id=pid,
                                 data=DoseOrderCreate(protocol_id="iv-standard", planned_start=first_start))
    o = dose_orders.sign_order(db=db, actor=prescriber, patient_id=pid, order_id=o.id,
                               data=DoseOrderSign(version=o.version, password=DEMO_PASSWORD))
    full = dose_orders.get_order(db=db, actor=prescriber, patient_id=pid, order_id=o.id)
    dose_orders.double_check_order(db=db, actor=nurse, patient_id=pid, order_id=o.id, data=DoubleCheckCreate(
        version=o.version, check_weight_kg=full.weight_kg, check_dose_mg=full.dose_mg,
        check_rate_ml_per_h=full.rate_ml_per_h, password=DEMO_PASSWORD))
    db.dispose()
    return pid, mrn, f"{family}, {given}"


def _give_first_infusion(db_file: Path, pid: int) -> None:
    """The nurse starts the first appointment's session (as the chair day does) and the infusion runs 40 min."""
    db = Database(f"sqlite:///{db_file}")
    with sqlite3.connect(db_file) as c:
        appt_id, = c.execute(
            "SELECT id FROM appointments WHERE patient_id = ? ORDER BY starts_at LIMIT 1", (pid,)).fetchone()
        nurse = _actor(c, "nurse")
    started = booking.start_session(db=db, actor=nurse, appointment_id=appt_id)
    begun = started.starts_at + timedelta(minutes=20)
    with db.session() as s:
        from sqlalchemy import update

        from ketacare.store.tables import InfusionSession

        s.execute(update(InfusionSession).where(InfusionSession.id == started.session_id).values(
            infusion_started_at=begun, infusion_ended_at=begun + timedelta(minutes=40)))
    db.dispose()


def _fill_note(page, themes: str, sharing: str) -> None:
    page.select_option("#f-modality", "cbt")
    page.fill("#f-themes", themes)
    page.fill("#f-homework", "Breathing practice before bed")
    for key, answer in RISK.items():
        page.select_option(f"#f-risk_{key}", answer)
    page.select_option("#f-sharing", sharing)
    page.click("#write button[type=submit]")
    page.wait_for_load_state("networkidle")


def test_front_desk_books_the_plan_series_therapist_notes_infusion_1_prescriber_reads_it_on_the_plan(
    demo_server, browser, tmp_path_factory
):
    with served_copy(demo_server, tmp_path_factory.mktemp("plan-series")) as (base, db_file):
        tz = clinic_settings.zone(Database(f"sqlite:///{db_file}"))
        today = datetime.now(UTC).astimezone(tz).date()
        first = today - timedelta(days=(today.weekday() - 2) % 7 or 7)  # the last Wednesday: Wed Fri Mon ...
        pid, mrn, name = _patient_with_plan(
            db_file, datetime.combine(first, time(8), tzinfo=tz).astimezone(UTC))

        desk = browser.new_page(viewport=DESK)  # the front desk books the plan's induction in one go
        login(desk, base, "frontdesk")
        desk.goto(f"{base}/schedule/book")
        expect(desk.locator("#f-s-plan_template_id option:checked")).to_contain_text("treatment plan")
        desk.fill("#f-s-patient", mrn)
        desk.fill("#f-s-first_day", first.isoformat())
        desk.fill("#f-s-start_time", "17:15")
        desk.select_option("#f-s-chair_id", label="Chair 2")
        desk.select_option("#f-s-staff_id", label="Sam Lindqvist")
        desk.click("#series-form button[type=submit]")
        desk.wait_for_load_state("networkidle")
        expect(desk.get_by_role("status")).to_contain_text("Series booked")
        expect(desk.locator(".cal-desk").get_by_text(name)).to_have_count(2)  # Wed and Fri of that week
        desk.screenshot(path=str(_artifacts() / "booked-week-1440x900.png"), full_page=True)
        desk.goto(f"{base}/schedule/book")  # the same plan twice: refused beside the field, nothing stored
        desk.fill("#f-s-patient", mrn)
        desk.fill("#f-s-first_day", (first + timedelta(days=14)).isoformat())
        desk.select_option("#f-s-chair_id", label="Chair 2")
        desk.select_option("#f-s-staff_id", label="Sam Lindqvist")
        desk.click("#series-form button[type=submit]")
        desk.wait_for_load_state("networkidle")
        expect(desk.locator("#e-s-plan_id")).to_contain_text("already booked")
        desk.close()

        _give_first_infusion(db_file, pid)

        therapist = browser.new_page(viewport=PHONE)  # the therapist, on a phone, after infusion 1
        login(therapist, base, "therapist")
        therapist.goto(f"{base}/patients/{pid}/therapy?kind=integration")
        _fill_note(therapist, "Felt calmer the evening after the first infusion", "care_team")
        assert "/therapy/notes/" in therapist.url
        expect(therapist.locator("main")).to_contain_text("after infusion 1")
        therapist.goto(f"{base}/patients/{pid}/therapy?kind=integration")
        _fill_note(therapist, "Private detail about the marriage", "private")
        private_url = therapist.url.split("?")[0]
        assert re.search(r"/therapy/notes/\d+$", private_url)
        assert therapist.evaluate("document.scrollingElement.scrollWidth") <= PHONE["width"]
        therapist.screenshot(path=str(_artifacts() / "private-note-390x844.png"), full_page=True)
        therapist.close()

        for viewport, tag in ((PHONE, "390x844"), (DESK, "1440x900")):  # the prescriber reads the plan page
            prescriber = browser.new_page(viewport=viewport)
            login(prescriber, base, "prescriber")
            prescriber.goto(f"{base}/patients/{pid}/plan")
            notes = prescriber.locator("#therapy")
            expect(notes).to_contain_text("Felt calmer the evening after the first infusion")
            expect(notes).to_contain_text("after infusion 1")
            expect(prescriber.locator("main")).not_to_contain_text("Private detail")
            expect(prescriber.locator("#plan-appointments li")).to_have_count(6)
            expect(prescriber.locator("#plan-appointments")).to_contain_text("started")
            assert prescriber.evaluate("document.scrollingElement.scrollWidth") <= viewport["width"]
            prescriber.screenshot(path=str(_artifacts() / f"plan-{tag}.png"), full_page=True)
            prescriber.close()

        nurse = browser.new_page(viewport=PHONE)  # the nurse: not the author, the note is not shared
        login(nurse, base, "nurse")
        r = nurse.goto(private_url)
        assert r.status == 404 and "Private detail" not in nurse.content()
        nurse.close()
