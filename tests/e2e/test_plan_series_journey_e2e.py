"""The combined journey of issue 17 in real Chromium: the front desk books a patient's own treatment plan's induction
series in one go from the booking page; the first infusion is given (prepared through the services: the session
is started from its appointment and its infusion times recorded, as the chair day would); the therapist, on a
phone, writes an integration note after infusion 1 shared with the care team, then a private one; the prescriber
sees the shared note and the booked sessions on the plan page; the nurse (not on the patient's care team) cannot
open the private note.
Screenshots at 1440x900 and 390x844 go to $KETACARE_TEST_ARTIFACTS/plan-series (default test-artifacts)."""

from __future__ import annotations

import os
import re
import sqlite3
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import update

from ketacare.services import clinic as clinic_settings
from ketacare.services import clock
from ketacare.services.access import Actor
from ketacare.services.dosing import orders as dose_orders
from ketacare.services.dosing.schemas import DoseOrderCreate, DoseOrderSign, DoubleCheckCreate
from ketacare.services.patients import records, set_care_team
from ketacare.services.patients.schemas import CareTeamUpdate, MeasurementCreate, PatientCreate
from ketacare.services.plans import consent, plans
from ketacare.services.plans.consent_schemas import ConsentCountersignIn, ConsentSignIn
from ketacare.services.plans.schemas import PlanCreate
from ketacare.services.scheduling import booking
from ketacare.store.db import Database
from ketacare.store.tables.sessions import InfusionSession
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
    """Register a new patient with what a prescriber would have done before the front desk books: a weight from
    before the order, a signed consent, a care team (prescriber and therapist; no nurse), an individual plan, and a
    signed, double-checked dose order from the first day, all dated the day before the first session (the test's
    clock is set back while it prepares them, as the demo does)."""
    real_now = clock.now
    clock.now = lambda: first_start - timedelta(days=1)
    try:
        return _prepare(db_file, first_start)
    finally:
        clock.now = real_now


def _prepare(db_file: Path, first_start: datetime) -> tuple[int, str, str]:
    db = Database(f"sqlite:///{db_file}")
    with sqlite3.connect(db_file) as c:
        desk, nurse, prescriber, therapist = (_actor(c, u) for u in ("frontdesk", "nurse", "prescriber", "therapist"))
    p = records.create_patient(db=db, actor=desk, data=PatientCreate(
        given_name="Noor", family_name="Lindgren-Ade", date_of_birth=date(1988, 4, 12), sex_at_birth="female"))
    records.add_measurement(db=db, actor=nurse, patient_id=p.id, data=MeasurementCreate(
        weight="68 kg", height="170 cm", measured_at=first_start - timedelta(days=2)))
    set_care_team(db=db, actor=prescriber, patient_id=p.id,
                  data=CareTeamUpdate(prescriber_id=prescriber.user_id, therapist_id=therapist.user_id))
    doc = consent.document("racemic-iv")
    signed = consent.sign_consent(db=db, actor=nurse, patient_id=p.id, data=ConsentSignIn(
        template_id=doc.id, version=doc.version, signed_via="clinic_tablet", read_confirmed=True,
        typed_name="Noor Lindgren-Ade", signature_kind="drawn", signature_svg_path="M10 10 L50 60 L90 20 L120 80"))
    consent.countersign_consent(db=db, actor=prescriber, patient_id=p.id, signature_id=signed.id,
                                data=ConsentCountersignIn(version=signed.version, password=DEMO_PASSWORD))
    plans.create_plan(db=db, actor=prescriber, patient_id=p.id, data=PlanCreate(
        template_id="iv-induction", indication="gad", password=DEMO_PASSWORD))
    o = dose_orders.create_order(db=db, actor=prescriber, patient_id=p.id,
                                 data=DoseOrderCreate(protocol_id="iv-standard", planned_start=first_start))
    o = dose_orders.sign_order(db=db, actor=prescriber, patient_id=p.id, order_id=o.id,
                               data=DoseOrderSign(version=o.version, password=DEMO_PASSWORD))
    full = dose_orders.get_order(db=db, actor=prescriber, patient_id=p.id, order_id=o.id)
    dose_orders.double_check_order(db=db, actor=nurse, patient_id=p.id, order_id=o.id, data=DoubleCheckCreate(
        version=o.version, check_weight_kg=full.weight_kg, check_dose_mg=full.dose_mg,
        check_rate_ml_per_h=full.rate_ml_per_h, password=DEMO_PASSWORD))
    db.dispose()
    return p.id, p.mrn, "Lindgren-Ade, Noor"


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
        s.execute(update(InfusionSession).where(InfusionSession.id == started.session_id).values(
            infusion_started_at=begun, infusion_ended_at=begun + timedelta(minutes=40)))
    db.dispose()


def _free_chair_and_nurse(db_file: Path, starts: list[datetime]) -> tuple[str, str]:
    """Return a chair and a nurse with nothing booked over any of the series' sessions (150 min each): the demo
    books around the time it was seeded, so which ones are free depends on the hour the test runs."""
    utc = [(t.strftime("%Y-%m-%d %H:%M:%S"), (t + timedelta(minutes=150)).strftime("%Y-%m-%d %H:%M:%S"))
           for t in starts]
    overlap = " OR ".join("(starts_at < ? AND ends_at > ?)" for _ in utc)
    args = [x for s, e in utc for x in (e, s)]
    with sqlite3.connect(db_file) as c:
        busy_chairs = {r[0] for r in c.execute(
            f"SELECT chair_id FROM appointments WHERE status IN ('booked', 'started') AND ({overlap})", args)}
        busy_staff = {r[0] for r in c.execute(
            f"SELECT staff_user_id FROM appointments WHERE status IN ('booked', 'started') AND ({overlap})", args)}
        chair = next(label for cid, label in c.execute("SELECT id, label FROM chairs ORDER BY id DESC")
                     if cid not in busy_chairs)
        nurse = next(name for uid, name in c.execute(
            "SELECT id, display_name FROM users WHERE role = 'nurse' AND id IN (SELECT user_id FROM working_hours) "
            "ORDER BY id DESC") if uid not in busy_staff)
    return chair, nurse


def _quiet_time(now: datetime) -> str:
    """Return the series' local start time farther from the clock's time of day (the demo books around the time it
    was seeded, on every day): 12:00 or 17:15, inside the nurses' hours and clear of the demo's fixed series."""
    minute = now.hour * 60 + now.minute

    def gap(hhmm: str) -> int:
        d = abs(int(hhmm[:2]) * 60 + int(hhmm[3:]) - minute)
        return min(d, 24 * 60 - d)

    return max(("12:00", "17:15"), key=gap)


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

        at = _quiet_time(datetime.now(UTC).astimezone(tz))
        starts = [datetime.combine(first + timedelta(days=d), time.fromisoformat(at), tzinfo=tz).astimezone(UTC)
                  for d in (0, 2, 5, 7, 9, 12)]  # the template's induction: 3 a week
        chair, nurse = _free_chair_and_nurse(db_file, starts)

        desk = browser.new_page(viewport=DESK)  # the front desk books the plan's induction in one go
        login(desk, base, "frontdesk")
        desk.goto(f"{base}/schedule/book")
        expect(desk.locator("#f-s-plan_template_id option:checked")).to_contain_text("treatment plan")
        desk.fill("#f-s-patient", mrn)
        desk.fill("#f-s-first_day", first.isoformat())
        desk.fill("#f-s-start_time", at)
        desk.select_option("#f-s-chair_id", label=chair)
        desk.select_option("#f-s-staff_id", label=nurse)
        desk.click("#series-form button[type=submit]")
        desk.wait_for_load_state("networkidle")
        expect(desk.get_by_role("status")).to_contain_text("Series booked")
        expect(desk.locator(".cal-desk").get_by_text(name)).to_have_count(2)  # Wed and Fri of that week
        desk.screenshot(path=str(_artifacts() / "booked-week-1440x900.png"), full_page=True)
        desk.goto(f"{base}/schedule/book")  # the same plan twice: refused beside the field, nothing stored
        desk.fill("#f-s-patient", mrn)
        desk.fill("#f-s-first_day", (first + timedelta(days=14)).isoformat())
        desk.select_option("#f-s-chair_id", label=chair)
        desk.select_option("#f-s-staff_id", label=nurse)
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
