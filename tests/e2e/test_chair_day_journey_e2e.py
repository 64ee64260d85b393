"""A chair day in real Chromium, as the people who live it (issue 12, acceptance). Nothing but the browser is used,
except a simulated monitor gateway that posts vitals through the gateway API (as a bedside monitor would):

front desk schedules the session from the patient's signed, double-checked dose order -> the nurse checks the
patient in and does the pre-checks (confirmations, fasting times, baseline vitals, pre-session questionnaires) ->
starts the session from the order (dose, bag, concentration and rate shown; the pump starts with it) -> a
182/112 reading raises a HIGH alarm on the session page and the live board -> BP returns to normal and the alarm
stays latched -> the nurse acknowledges it with the action taken -> pause and resume -> a side effect and a rescue
medicine from the clinic's formulary -> stop -> recovery assessments -> the patient and the escort acknowledge the
written instructions -> discharge is refused while SpO2 is 89 %
and allowed once it is 96 % -> sign -> the PDF holds the ordered dose, the prescriber, the alarm and its
acknowledgement.

The clinic is a copy of the seeded demo served without its simulated feeder (only the gateway below charts
readings). The clinic's 60-minute observation after the infusion is not waited for: the test moves the recorded
end of the infusion 61 minutes back in its own copy of the database (standing for the hour that passes).
Screenshots at 1440x900 and 390x844 are written to $KETACARE_TEST_ARTIFACTS/chair-day (default
test-artifacts/chair-day, git-ignored)."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import time
import urllib.request
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from ketacare.domain import formatting as fmt
from ketacare.services import clinic as clinic_settings
from ketacare.store.db import Database
from tests.e2e.conftest import login, served_copy
from tests.http.test_sessions_numbers import _pdf_text

pytestmark = pytest.mark.browser
DESK, PHONE = {"width": 1440, "height": 900}, {"width": 390, "height": 844}
LIVE_S = 5_000  # how long a pushed change may take to show here (the speed target is in bench/, not in tests)


def _artifacts() -> Path:
    d = Path(os.environ.get("KETACARE_TEST_ARTIFACTS", "test-artifacts")) / "chair-day"
    d.mkdir(parents=True, exist_ok=True)
    return d


@pytest.fixture(scope="module")
def clinic(demo_server, tmp_path_factory):
    """The seeded demo clinic, copied and served without the demo feeder; yields (base URL, database file)."""
    with served_copy(demo_server, tmp_path_factory.mktemp("chair-day")) as served:
        yield served


def _patient(db: Path) -> tuple[int, str, str, int, str]:
    """A demo patient the journey can treat today: male (no pregnancy test), a double-checked IV order, an
    eligibility evaluation waiting for the prescriber's review and no session yet. Returns (id, MRN,
    "Family, Given", order id, the prescriber's name)."""
    with sqlite3.connect(db) as c:
        row = c.execute(
            "SELECT p.id, p.mrn, p.family_name || ', ' || p.given_name, o.id, u.display_name FROM patients p "
            "JOIN dose_orders o ON o.patient_id = p.id AND o.status = 'double_checked' AND o.route = 'iv' "
            "JOIN users u ON u.id = o.signed_by "
            "WHERE p.sex_at_birth = 'male' "
            "AND EXISTS (SELECT 1 FROM eligibility_evaluations e WHERE e.patient_id = p.id "
            "            AND e.status = 'pending_review' AND e.superseded_at IS NULL) "
            "AND NOT EXISTS (SELECT 1 FROM infusion_sessions s WHERE s.patient_id = p.id) "
            "ORDER BY p.id LIMIT 1"
        ).fetchone()
    assert row, "the demo clinic has a patient ready for a first session"
    return row[0], row[1], row[2], row[3], row[4]


class Gateway:
    """A simulated bedside monitor posting readings through the gateway API (its own sign-in, as a device)."""

    def __init__(self, base: str, session_id: int) -> None:
        self.base, self.sid = base, session_id
        self.token = self._post("/api/v1/auth/login", {"username": "nurse", "password": "ketacare-demo"})[
            "access_token"
        ]

    def _post(self, path: str, body: dict) -> dict:
        headers = {"Content-Type": "application/json"}
        if getattr(self, "token", None):
            headers["Authorization"] = f"Bearer {self.token}"
        req = urllib.request.Request(f"{self.base}{path}", data=json.dumps(body).encode(), method="POST",
                                     headers=headers)  # fmt: skip
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read() or b"{}")

    def reading(self, sbp: int, dbp: int, hr: int = 80, spo2: int = 98, rr: int = 14) -> None:
        at = datetime.now(UTC).replace(microsecond=0).isoformat()
        one = {"client_id": f"journey-{time.time_ns()}", "measured_at": at, "sbp": sbp, "dbp": dbp, "hr": hr,
               "spo2": spo2, "rr": rr}  # fmt: skip
        self._post(f"/api/v1/sessions/{self.sid}/vitals/batch", {"readings": [one]})


def _shoot(page: Page, name: str, shots: Path) -> None:
    """Screenshot the page at desk size and at phone size (the same page, reflowed), then back to desk size."""
    page.set_viewport_size(DESK)
    page.screenshot(path=str(shots / f"{name}-1440x900.png"), full_page=True)
    page.set_viewport_size(PHONE)
    page.screenshot(path=str(shots / f"{name}-390x844.png"), full_page=True)
    page.set_viewport_size(DESK)


def _answer(page: Page, session_url: str, label: str, pick: str) -> None:
    """Enter a questionnaire from the session page: each item answered with its first or last option."""
    page.goto(session_url)
    page.locator(".assessment", has_text=label).get_by_role("link", name="Enter").click()
    page.wait_for_load_state("networkidle")
    for item in page.locator("fieldset.mbc-item").all():
        options = item.locator("label.mbc-option")
        (options.first if pick == "first" else options.last).click()
    page.click("button.mbc-submit")
    page.wait_for_load_state("networkidle")
    page.goto(session_url)
    expect(page.locator(".assessment", has_text=label)).to_contain_text("done")


_ZONE: list[tzinfo] = []  # the demo clinic's zone, read once from its settings


def _local(at: datetime) -> str:
    """What a nurse types for `at`: the clinic's local time (entry fields take the clinic's zone)."""
    return fmt.local_input(at, _ZONE[0])


def test_a_chair_day_from_booking_to_the_signed_record(clinic, browser):
    base, db_file = clinic
    shots = _artifacts()
    pid, mrn, name, order_id, prescriber = _patient(db_file)
    clinic_db = Database(f"sqlite:///{db_file}")
    _ZONE[:] = [clinic_settings.zone(clinic_db)]
    clinic_db.dispose()
    now = datetime.now(UTC)

    # --- prescriber, beforehand: the screening stands (the demo leaves it waiting for review) ---
    rx = browser.new_context(viewport=DESK)
    doc = rx.new_page()
    doc.on("dialog", lambda d: d.accept())
    login(doc, base, "prescriber")
    doc.goto(f"{base}/patients/{pid}/screening")
    doc.select_option("#f-decision", "eligible")
    doc.fill("#f-reason", "Reviewed with the patient today: the flagged findings are resolved (journey test).")
    doc.get_by_role("button", name="Override…").click()
    doc.get_by_label("Your password").fill("ketacare-demo")  # the signature asks for it again
    doc.get_by_role("button", name="Yes, record “Eligible”").click()
    doc.wait_for_load_state("networkidle")
    expect(doc.locator("main")).to_contain_text("Overridden")
    rx.close()

    # --- front desk: schedule from the order (a missing chair is refused beside the field, the rest kept) ---
    desk = browser.new_context(viewport=DESK)
    fd = desk.new_page()
    login(fd, base, "frontdesk")
    fd.goto(f"{base}/sessions")
    fd.get_by_role("link", name="Schedule session").click()
    fd.fill("#f-q", mrn)
    fd.get_by_role("button", name="Find").click()
    expect(fd.locator("h1")).to_contain_text(f"Schedule session · {name}")
    expect(fd.locator(f"input[name=dose_order_id][value='{order_id}']")).to_be_checked()
    fd.fill("#f-scheduled_at", _local(now))
    fd.get_by_role("button", name="Schedule session").click()
    expect(fd.locator("#error-summary-title")).to_have_text("Not saved: 1 problem to fix")
    expect(fd.locator("#e-chair")).to_contain_text("name the chair")
    expect(fd.locator("#f-scheduled_at")).to_have_value(_local(now))
    fd.fill("#f-chair", "Chair 9")
    _shoot(fd, "01-schedule-from-order", shots)
    fd.get_by_role("button", name="Schedule session").click()
    expect(fd.locator("[role=status]")).to_contain_text("Session scheduled")
    row = fd.locator("tr", has_text=name)
    expect(row).to_contain_text("Chair 9")
    expect(row).to_contain_text("scheduled")
    _shoot(fd, "02-sessions-front-desk", shots)
    desk.close()

    # --- nurse: check in and pre-checks ---
    ctx = browser.new_context(viewport=DESK)
    page = ctx.new_page()
    page.on("dialog", lambda d: d.accept())  # the confirmations that restate a dangerous action
    login(page, base, "nurse")
    page.goto(f"{base}/sessions")
    page.locator("tr", has_text=name).get_by_role("link", name=name).click()
    page.wait_for_load_state("networkidle")
    session_url = page.url
    sid = int(session_url.rstrip("/").rsplit("/", 1)[1])
    expect(page.locator("#order")).to_contain_text(f"#{order_id}")
    expect(page.locator("#discharge-items")).to_have_count(0)  # discharge items come after the infusion
    page.get_by_role("button", name="Check in").click()
    expect(page.locator(".state")).to_have_text("checked in")
    # the consent is the patient's signed, countersigned document on file (demo), not a yes/no answer
    expect(page.locator("#consent-fact")).to_contain_text("✓ yes")
    expect(page.locator("#f-consent_confirmed")).to_have_count(0)
    for k in ("escort_confirmed", "pregnancy_test_negative"):
        expect(page.locator(f"#f-{k}")).to_have_value("")  # not answered until a person answers
    page.select_option("#f-escort_confirmed", "yes")
    food, drink = now - timedelta(hours=4), now - timedelta(hours=2)
    page.fill("#f-last_food_at", _local(food))
    page.fill("#f-last_liquid_at", _local(drink))
    page.locator("#checks").get_by_role("button", name="Save").click()
    expect(page.locator("#f-last_food_at")).to_have_value(_local(food))  # saved times come back
    expect(page.locator("#f-last_liquid_at")).to_have_value(_local(drink))
    expect(page.locator("#f-escort_confirmed")).to_have_value("yes")
    page.fill("#f-bp", "124/78")
    page.fill("#f-hr", "72")
    page.fill("#f-spo2", "98")
    page.fill("#f-rr", "14")
    page.get_by_role("button", name="Save reading").click()
    _answer(page, session_url, "Anxiety scale before the session", "first")
    _answer(page, session_url, "C-SSRS screener before the session", "first")
    page.get_by_role("button", name="Pass prechecks").click()
    expect(page.locator(".state")).to_have_text("prechecks passed")

    # --- start from the order: the order is shown, the rate pre-filled; session and pump start together ---
    order = page.locator("#order")
    expect(order).to_contain_text("Concentration")
    expect(order).to_contain_text("mg/mL")
    expect(order).to_contain_text("150 mL/h")
    ordered = re.search(r"Dose\s+(\d+\.\d) mg", order.inner_text()).group(1)
    expect(page.locator("#f-rate_ml_per_h")).to_have_value("150")
    _shoot(page, "03-start-from-order", shots)
    page.get_by_role("button", name="Start infusion from the order").click()
    expect(page.locator(".state")).to_have_text("infusing")
    expect(page.locator("#pump")).to_contain_text("150.0 mL/h")
    expect(page.locator("#dose-line")).to_contain_text(f"{ordered} mg ordered")

    # --- a HIGH alarm from the monitor, on the session page and the board ---
    board = ctx.new_page()
    board.goto(f"{base}/board")
    expect(board.locator("#board-status")).to_contain_text("Live ·", timeout=10_000)
    page.goto(session_url)
    page.wait_for_timeout(300)  # the session page's event stream connects
    gw = Gateway(base, sid)
    gw.reading(182, 112, hr=92)
    alarm = page.locator("#alarm-list [id^=alarm-]", has_text="BP 182/112 mmHg").first
    expect(alarm).to_contain_text("HIGH", timeout=LIVE_S)
    expect(alarm).to_contain_text("active, not acknowledged")
    alarm_id = alarm.get_attribute("id").removeprefix("alarm-")
    on_board = board.locator(f"#board-alarm-{alarm_id}")
    expect(on_board).to_contain_text("active, not acknowledged", timeout=LIVE_S)
    _shoot(page, "04-alarm-raised", shots)
    board.screenshot(path=str(shots / "05-board-alarm-1440x900.png"), full_page=True)

    gw.reading(128, 80)  # back to normal: the HIGH alarm stays, latched
    expect(alarm).to_contain_text("resolved, not acknowledged", timeout=LIVE_S)
    expect(on_board).to_contain_text("resolved, not acknowledged", timeout=LIVE_S)
    page.fill(f"#f-ack{alarm_id}-action_taken", "Rechecked 128/80 with a manual cuff; patient calm; prescriber told")
    page.locator(f"#alarm-{alarm_id}").get_by_role("button", name="Acknowledge").click()
    page.wait_for_load_state("networkidle")
    expect(page.locator(f"#alarm-{alarm_id}")).to_contain_text("Acknowledged by Sam Lindqvist, RN")
    expect(board.locator(f"#board-alarm-{alarm_id}")).to_have_count(0, timeout=LIVE_S)
    board.close()

    # --- pause and resume: one action each (the pump event and the session state together) ---
    page.get_by_role("button", name="Pause infusion").click()
    expect(page.locator(".state")).to_have_text("paused")
    page.get_by_role("button", name="Resume infusion").click()
    expect(page.locator(".state")).to_have_text("infusing")
    kinds = page.locator("#pump tbody tr td:nth-child(2)").all_inner_texts()
    assert kinds == ["start", "pause", "resume"], kinds

    # --- a side effect and a rescue medicine from the clinic's formulary ---
    page.click("summary:has-text('Record a side effect')")
    page.select_option("#f-se-type", "nausea")
    page.select_option("#f-se-grade", "1")
    page.click("text=Record side effect")
    expect(page.locator(".se-item", has_text="Nausea")).to_contain_text("grade 1")
    page.click("summary:has-text('Give a rescue medicine')")
    entry = page.locator("#f-rx-entry_id option", has_text=re.compile(r"^ondansetron IV")).first
    page.select_option("#f-rx-entry_id", entry.get_attribute("value"))
    page.fill("#f-rx-dose", "4")
    page.select_option("#f-rx-side_effect_id", index=1)
    page.click("text=Record rescue dose")
    expect(page.locator(".se-item", has_text="Nausea")).to_contain_text(re.compile(r"Rescue: ondansetron 4 mg iv"))

    # --- end, recovery assessments ---
    page.get_by_role("button", name="Stop infusion").click()
    expect(page.locator(".state")).to_have_text("recovery")
    expect(page.locator("#discharge-items")).to_be_visible()
    _answer(page, session_url, "CADSS-6", "first")
    _answer(page, session_url, "MOAA/S", "last")
    _answer(page, session_url, "Modified Aldrete", "last")
    page.select_option("#f-escort_present", "yes")
    page.locator("#checks").get_by_role("button", name="Save").click()
    expect(page.locator("#f-escort_present")).to_have_value("yes")
    # the patient and the escort read the written instructions and acknowledge them (discharge waits for both)
    page.fill("#f-ack-patient-name", name)
    page.get_by_role("button", name="Patient has read and understood the instructions").click()
    page.fill("#f-ack-escort-name", "Jo Escort")
    page.get_by_role("button", name="Escort has read and understood the instructions").click()
    expect(page.locator("#discharge-instructions")).to_contain_text("Escort: Jo Escort")
    with sqlite3.connect(db_file) as c:  # the clinic's observation hour passes (see the module docstring)
        c.execute("UPDATE infusion_sessions SET infusion_ended_at = datetime(infusion_ended_at, '-61 minutes') "
                  "WHERE id = ?", (sid,))  # fmt: skip

    # --- discharge: refused at SpO2 89 %, allowed at 96 % ---
    gw.reading(126, 80, hr=76, spo2=89)
    page.goto(session_url)
    page.get_by_role("button", name="Discharge").click()
    expect(page.locator("#f-event")).to_contain_text("Oxygen saturation")
    expect(page.locator(".state")).to_have_text("recovery")
    _shoot(page, "06-discharge-refused-spo2-89", shots)
    gw.reading(124, 78, hr=74, spo2=96)
    page.goto(session_url)
    low = page.locator("#alarm-list [id^=alarm-]", has_text="Oxygen saturation low").first
    expect(low).to_contain_text("resolved, not acknowledged")  # the low SpO2 alarm latched too
    low_id = low.get_attribute("id").removeprefix("alarm-")
    page.fill(f"#f-ack{low_id}-action_taken", "Deep breaths and sat upright; SpO2 96 % on room air")
    low.get_by_role("button", name="Acknowledge").click()
    page.wait_for_load_state("networkidle")
    page.get_by_role("button", name="Discharge").click()
    expect(page.locator(".state")).to_have_text("discharged")

    # --- sign, then the PDF ---
    password = page.locator("#record input[type=password]")
    if password.count():  # signing asks for the password again where the clinic requires it
        password.fill("ketacare-demo")
    page.get_by_role("button", name="Sign record").click()
    expect(page.locator("#record")).to_contain_text("signed by Sam Lindqvist, RN")
    _shoot(page, "07-signed", shots)
    pdf = page.request.get(f"{session_url}/record.pdf")
    assert pdf.ok and pdf.body().startswith(b"%PDF")
    text = _pdf_text(pdf.body())
    (shots / "record.txt").write_text(text)
    assert f"{ordered} mg" in text  # the ordered dose
    assert "182/112" in text  # the alarm
    assert "Rechecked 128/80 with a manual cuff" in text  # its acknowledgement with the action taken
    assert prescriber in text  # the prescriber, by name
    assert "acknowledged by:" in text and "escort: Jo Escort" in text  # the instructions' acknowledgements
    ctx.close()
