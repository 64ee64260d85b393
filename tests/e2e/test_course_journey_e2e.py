"""The treatment course in real Chromium (issue 16, acceptance):

0. the patient signs the consent in the portal on a phone (typed name + drawn signature) and the prescriber
   countersigns it from the chart; the signature's times are then moved back 7 days in this copy of the clinic
   so that it covers the sessions of step 2, which lie in the past (a shortcut, said plainly);
1. the prescriber builds a plan from a template for a patient ready for one (baseline score, signed order);
2. three sessions are given (through the services, as the chair-day journey gives one in the browser; the
   clinic's clock is set back for each, so they lie 6, 4 and 2 days ago, with GAD-7 before each and at 24 h);
3. after the third session the prescriber asks for a titration proposal, reads its rules and accepts it (signed);
4. the next dose order shows the new dose, pre-filled from the proposal;
5. the nurse completes the next-day call of the third session;
6. the plan page shows the response at 24 h after each session and over the course (table and chart) at desk
   and phone widths.

The clinic is a copy of the seeded demo served without its feeder. Screenshots go to
$KETACARE_TEST_ARTIFACTS/course (default test-artifacts/course, git-ignored)."""

from __future__ import annotations

import os
import random
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import text

from ketacare.demo.patients import DEMO_PASSWORD
from ketacare.demo.plans import READY_MRN, score
from ketacare.demo.sessions import run_short_session
from ketacare.services import dosing
from ketacare.services.access import Actor, system_actor, users
from ketacare.services.access.schemas import UserCreate
from ketacare.store.db import Database
from tests.e2e.conftest import login, served_copy

pytestmark = pytest.mark.browser
DESK, PHONE = {"width": 1440, "height": 900}, {"width": 390, "height": 844}


def _artifacts() -> Path:
    d = Path(os.environ.get("KETACARE_TEST_ARTIFACTS", "test-artifacts")) / "course"
    d.mkdir(parents=True, exist_ok=True)
    return d


@pytest.fixture(scope="module")
def clinic(demo_server, tmp_path_factory):
    with served_copy(demo_server, tmp_path_factory.mktemp("course")) as served:
        yield served


def _ready_patient(db_file: Path) -> int:
    with sqlite3.connect(db_file) as c:
        row = c.execute("SELECT id FROM patients WHERE mrn = ?", (READY_MRN,)).fetchone()
    assert row, "the demo clinic has a patient ready for a plan"
    return int(row[0])


def _portal_login(db_file: Path, pid: int) -> tuple[str, str]:
    """Invite the patient to the portal (as the front desk would); return (username, full name on record)."""
    db = Database(f"sqlite:///{db_file}")
    try:
        users.create_user(db=db, actor=system_actor("journey"), data=UserCreate(
            username="course-patient", display_name="Course patient", role="patient", password=DEMO_PASSWORD,
            patient_id=pid))  # fmt: skip
    finally:
        db.dispose()
    with sqlite3.connect(db_file) as c:
        name = c.execute("SELECT given_name || ' ' || family_name FROM patients WHERE id = ?", (pid,)).fetchone()
    return "course-patient", str(name[0])


def _back_date_consent(db_file: Path, signature_id: int, days: int) -> None:
    with sqlite3.connect(db_file) as c:
        cols = ("signed_at", "countersigned_at", "expires_at")
        row = c.execute(f"SELECT {', '.join(cols)} FROM consent_signatures WHERE id = ?", (signature_id,)).fetchone()  # noqa: S608
        moved = [(datetime.fromisoformat(v) - timedelta(days=days)).strftime("%Y-%m-%d %H:%M:%S.%f") for v in row]
        c.execute(f"UPDATE consent_signatures SET {', '.join(f'{k} = ?' for k in cols)} WHERE id = ?",  # noqa: S608
                  (*moved, signature_id))  # fmt: skip


def step_consent_in_portal(browser: Browser, base: str, db_file: Path, pid: int, out: Path) -> None:
    username, name = _portal_login(db_file, pid)
    phone = browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True)
    page = phone.new_page()
    login(page, base, username)
    page.goto(f"{base}/me/consent")
    page.locator("#status-racemic-iv").get_by_role("link", name="Read and sign").click()
    page.check("#f-read_confirmed")
    page.fill("#f-typed_name", name)
    pad = page.locator("#sigpad")
    pad.scroll_into_view_if_needed()
    box = pad.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + 20, box["y"] + box["height"] * 0.7)
    page.mouse.down()
    for k in range(1, 10):
        page.mouse.move(box["x"] + 20 + k * (box["width"] - 40) / 9, box["y"] + box["height"] * (0.3 + 0.4 * (k % 2)))
    page.mouse.up()
    page.get_by_role("button", name="Sign").click()
    expect(page.locator(".notice")).to_contain_text("your consent is signed")
    page.screenshot(path=str(out / "consent-signed-phone.png"), full_page=True)
    phone.close()
    with sqlite3.connect(db_file) as c:
        newest = c.execute("SELECT max(id) FROM consent_signatures WHERE patient_id = ?", (pid,)).fetchone()
    signature_id = int(newest[0])
    rx = browser.new_context(viewport=DESK)
    page = rx.new_page()
    login(page, base, "prescriber")
    page.goto(f"{base}/patients/{pid}/consent")
    signature = page.locator(f"#signature-{signature_id}")
    signature.locator("input[name=password]").fill(DEMO_PASSWORD)
    signature.get_by_role("button", name="Countersign").click()
    expect(page.locator(".notice")).to_contain_text("Consent countersigned")
    rx.close()
    _back_date_consent(db_file, signature_id, days=7)


def step_build_plan(page: Page, base: str, pid: int) -> None:
    page.goto(f"{base}/patients/{pid}")
    page.get_by_role("link", name="The course: plan, sessions against it").click()
    expect(page.get_by_role("heading", name="No plan yet")).to_be_visible()
    page.get_by_role("link", name="Build a plan from a template").click()
    page.select_option("#f-template_id", "iv-induction")
    page.select_option("#f-indication", "gad")
    page.select_option("#f-goal_instrument", "gad7")
    page.fill("#f-password", DEMO_PASSWORD)
    page.get_by_role("button", name="Sign and create the plan").click()
    expect(page.locator("#f-goal_target")).to_have_attribute("aria-invalid", "true")  # a goal needs its target
    page.fill("#f-goal_target", "7")
    page.fill("#f-password", DEMO_PASSWORD)
    page.get_by_role("button", name="Sign and create the plan").click()
    expect(page.get_by_role("heading", name="IV induction: 6 infusions over 2 weeks")).to_be_visible()
    expect(page.locator("#plan")).to_contain_text("signed by")
    expect(page.locator("#course")).to_contain_text("No session given against this plan yet")


def step_three_sessions(db_file: Path, pid: int) -> list[int]:
    db = Database(f"sqlite:///{db_file}")
    try:
        with db.session() as s:
            staff = dict(s.execute(text("SELECT username, id FROM users")).all())
            order = dosing.usable_order(s, pid)
        assert order is not None
        nurse = Actor(staff["nurse"], "nurse", "nurse")
        prescriber = Actor(staff["prescriber"], "prescriber", "prescriber")
        now = datetime.now(UTC)
        sids = []
        for k, (days, before, after) in enumerate(((6, 16, 14), (4, 14, 12), (2, 13, 10))):
            start = (now - timedelta(days=days)).replace(microsecond=0)
            sid = run_short_session(db, nurse, prescriber, pid, order, start, random.Random(k))  # noqa: S311
            assert sid is not None, "the session passed its pre-checks (the consent signed in step 0 covers it)"
            sids.append(sid)
            score(db, nurse, pid, before, "pre_session", None, start - timedelta(minutes=20))
            score(db, nurse, pid, after, "follow_up_24h", None, start + timedelta(hours=24))
    finally:
        db.dispose()
    return sids


def _no_serious_axe_violation(page: Page) -> None:
    from axe_playwright_python.sync_playwright import Axe

    found = [
        f"{v['impact']} {v['id']} ({v['help']}) at {[n.get('target') for n in v.get('nodes', [])][:3]}"
        for v in Axe().run(page).response["violations"]
        if v.get("impact") in ("serious", "critical")
    ]
    assert found == []


def step_accept_proposal(page: Page, base: str, pid: int) -> None:
    page.goto(f"{base}/patients/{pid}/plan")
    expect(page.locator("#course-table tbody tr")).to_have_count(3)
    page.get_by_role("button", name="Propose the next dose from the course so far").click()
    proposal = page.locator("#proposal")
    expect(proposal).to_contain_text("Raise the dose")
    expect(proposal).to_contain_text("0.60 mg/kg")
    expect(proposal.locator("ul.rules li").first).to_contain_text("escalate.not_responding")
    expect(proposal.locator("a.cite").first).to_have_attribute("href", "/sources#glue2017a")
    _no_serious_axe_violation(page)  # the page with the course, the chart and the decision form
    page.check("input[name=decision][value=accept]")
    page.fill("#f-dec-password", DEMO_PASSWORD)
    page.get_by_role("button", name="Record the decision").click()
    expect(page.locator("#proposal")).to_contain_text("No proposal waits for a decision")
    expect(page.locator("#proposal")).to_contain_text("Accepted")


def step_next_order_shows_new_dose(page: Page, base: str, pid: int) -> None:
    page.goto(f"{base}/patients/{pid}/plan")
    page.get_by_role("link", name="Write the next dose order").click()
    expect(page.locator("#prefill-note")).to_contain_text("0.60 mg/kg")
    expect(page.locator("#f-mg_per_kg")).to_have_value("0.6")


def step_next_day_call(browser: Browser, base: str, sid: int) -> None:
    ctx = browser.new_context(viewport=PHONE)
    page = ctx.new_page()
    login(page, base, "nurse")
    page.goto(f"{base}/followup/{sid}")
    for qid, value in (("reached", "yes"), ("suicidal_thoughts", "no"), ("feels_safe", "yes"),
                       ("side_effects", "none"), ("mood", "better"), ("sleep", "normal"),
                       ("driving_advice_kept", "yes")):  # fmt: skip
        page.check(f"input[name={qid}][value={value}]")
    page.get_by_role("button", name="Save call").click()
    expect(page.get_by_role("status")).to_contain_text("Call recorded")
    ctx.close()


def step_plan_shows_response(page: Page, base: str, pid: int, out: Path) -> None:
    page.goto(f"{base}/patients/{pid}/plan")
    rapid = page.locator("#rapid-response")
    expect(rapid.locator("thead")).to_contain_text("24 h")
    expect(rapid.locator("tbody tr")).to_have_count(3)
    expect(rapid).to_contain_text("-23 %")  # the third session: 13 before, 10 at 24 h
    course = page.locator("#course")
    expect(course).to_contain_text("Latest change from baseline")
    expect(course.locator("svg.course-chart")).to_be_visible()
    expect(page.locator("#course-table tbody tr").nth(2)).to_contain_text("-38 %")  # 10 against the baseline 16
    page.screenshot(path=str(out / "plan-desk.png"), full_page=True)


def test_course_journey(clinic, browser):
    base, db_file = clinic
    pid = _ready_patient(db_file)
    out = _artifacts()
    ctx = browser.new_context(viewport=DESK)
    page = ctx.new_page()
    step_consent_in_portal(browser, base, db_file, pid, out)
    login(page, base, "prescriber")
    step_build_plan(page, base, pid)
    sids = step_three_sessions(db_file, pid)
    step_accept_proposal(page, base, pid)
    step_next_order_shows_new_dose(page, base, pid)
    step_next_day_call(browser, base, sids[-1])
    step_plan_shows_response(page, base, pid, out)
    ctx.close()
    phone = browser.new_context(viewport=PHONE)
    page = phone.new_page()
    login(page, base, "prescriber")
    page.goto(f"{base}/patients/{pid}/plan")
    expect(page.locator("svg.course-chart")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"] + 1, f"the plan page scrolls sideways on a phone ({width} px)"
    page.screenshot(path=str(out / "plan-phone.png"), full_page=True)
    phone.close()
