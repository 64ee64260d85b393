"""The patient portal as the demo patients see it on a phone (issue 13): plain words, no codes, no record versions,
no API, no staff-only words, no horizontal scrolling at 390 x 844, links that stay in the portal, friendly local
times, and a crisis screen that dials the clinic's own numbers. Appointments (issue 17 point 5): the patient reads a
coming treatment with what to do before it and asks to move it; the front desk finds the request on the calendar,
opens the pre-filled move form and declines it with a reason the patient then reads (screenshots in
$KETACARE_TEST_ARTIFACTS/portal). Also: the API docs render OpenAPI 3.1 offline."""

from __future__ import annotations

import os
import re
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import expect

from ketacare.config import Settings
from ketacare.services.measurement import links as measurement_links
from ketacare.store.db import Database
from tests.e2e.conftest import login

pytestmark = pytest.mark.browser

PATIENTS = ["patient1", "patient2", "patient3"]
PHONE = {"width": 390, "height": 844}

# What a patient must never read in the portal: codes, internal numbers, our jargon.
ICD_CODE = re.compile(r"\b(?:[A-TV-Z]\d{2}(?:\.\d{1,4})?|\d[A-Z]\d{2}(?:\.[A-Z0-9]{1,2})?)\b")  # F41.1, 6B00
FORBIDDEN_EXACT = ["API", "ICD", "ICD-10", "ICD-11", "MRN", "UTC", "OAS", "JSON"]  # matched as whole words
FORBIDDEN_WORDS = [
    "record version", "version", "audit", "resource", "role", "actor", "patient_clinical", "prescriber only",
    "follow_up", "pre_session", "post_session", "(patient)", "sources", "clinician-rated", "rater", "override",
    "escalat", "dashboard", "None", "null", "Clinics: replace this line",
]  # fmt: skip
ISO_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")  # "2026-11-22T05:00:00+00:00"


def _portal_pages(page, base: str) -> list[str]:
    """Every page a demo patient reaches from the portal: the navigation and each questionnaire offered."""
    page.goto(f"{base}/me")
    nav = [a.get_attribute("href") for a in page.locator("nav a").all()]
    page.goto(f"{base}/me/questionnaires")
    forms = [a.get_attribute("href") for a in page.locator("main a.mbc-due").all()]
    return list(dict.fromkeys(["/me", "/me/questionnaires", *nav, *forms]))


def _check_page(page, url: str, own: set[str]) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth"), (
        f"{url} scrolls sideways at 390 px"
    )
    text = page.inner_text("body")
    code = ICD_CODE.search(text)
    assert not code, f"{url} shows a code: {code.group(0)!r}"
    for word in FORBIDDEN_EXACT:
        assert not re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text), f"{url} shows {word!r}"
    lower = text.lower()
    for word in FORBIDDEN_WORDS:
        assert word.lower() not in lower, f"{url} shows {word!r}"
    assert not ISO_TIMESTAMP.search(text), f"{url} shows a machine timestamp"
    for a in page.locator("a[href]").all():
        href = a.get_attribute("href") or ""
        if href.startswith(("tel:", "#")):
            continue
        path = href.split("?")[0]
        inside = path == "/" or path.startswith("/me") or any(path.startswith(o + "/") for o in own)
        assert inside, f"{url} links out of the portal: {href}"


@pytest.mark.parametrize("username", PATIENTS)
def test_every_portal_page_is_plain_and_fits_a_phone(demo_server, browser, username):
    ctx = browser.new_context(viewport=PHONE)
    page = ctx.new_page()
    login(page, demo_server, username)
    pages = _portal_pages(page, demo_server)
    access_log = [p for p in pages if p.endswith("/access-log")]
    assert access_log and "/me/questionnaires" in pages
    own = {access_log[0].removesuffix("/access-log")}  # "/patients/<own id>": the access log, the record copy
    for url in pages:
        page.goto(f"{demo_server}{url}")
        page.wait_for_load_state("networkidle")
        assert page.url.startswith(f"{demo_server}"), url
        _check_page(page, url, own)
    page.goto(f"{demo_server}/me/questionnaires")
    times = page.locator("main a.mbc-due .small").all_inner_texts()
    for t in times:  # "Overdue since Sun 22 Nov, 00:00" / "Ready since Mon 30 Nov, 12:01"
        assert re.search(r"since [A-Z][a-z]{2} \d{1,2} [A-Z][a-z]{2}( \d{4})?, \d{2}:\d{2}$", t), t
    ctx.close()


def _shots() -> Path:
    d = Path(os.environ.get("KETACARE_TEST_ARTIFACTS", "test-artifacts")) / "portal"
    d.mkdir(parents=True, exist_ok=True)
    return d


def test_the_patient_reads_a_coming_treatment_asks_to_move_it_and_the_front_desk_answers(demo_server, browser):
    ctx = browser.new_context(viewport=PHONE)
    page = ctx.new_page()
    login(page, demo_server, "patient1")
    expect(page.locator("#me-appointments")).to_contain_text("Your next appointments")
    page.click("#me-appointments a[href='/me/appointments']")
    treatment = page.locator("li.portal-appt", has_text="Ketamine treatment").filter(
        has=page.locator("a", has_text="Ask to move or cancel")).first
    expect(treatment.locator("details.portal-instructions")).to_have_attribute("open", "")
    expect(treatment).to_contain_text("Before you come")
    expect(treatment).to_contain_text("responsible adult")
    expect(treatment).to_contain_text("Do not drive")
    assert re.search(r"[A-Z][a-z]+day \d{1,2} [A-Z][a-z]+ at \d{1,2}:\d{2} (am|pm)", treatment.inner_text())
    expect(page.locator("main")).to_contain_text("How you are doing so far")
    log = page.locator("nav a[href$='/access-log']").get_attribute("href") or ""
    own = {log.removesuffix("/access-log")}
    _check_page(page, "/me/appointments", own)
    page.screenshot(path=str(_shots() / "appointments-phone.png"), full_page=True)
    appt_id = (treatment.get_attribute("id") or "").removeprefix("appt-")
    treatment.locator("a", has_text="Ask to move or cancel").click()
    _check_page(page, "/me/appointments/.../request", own)
    page.fill("#f-reason", "I have a hospital appointment that morning")
    page.check("input[name=preferred_days][value=friday]")
    page.check("input[name=preferred_times][value=afternoon]")
    page.screenshot(path=str(_shots() / "request-phone.png"), full_page=True)
    page.click("main form button[type=submit]")
    expect(page.get_by_role("status").first).to_contain_text("your request was sent")
    expect(page.locator(f"#appt-{appt_id}")).to_contain_text("Requested")

    desk = browser.new_context(viewport=PHONE)
    dpage = desk.new_page()
    login(dpage, demo_server, "frontdesk")
    dpage.goto(f"{demo_server}/schedule")
    asked = dpage.locator("#requests li", has_text="I have a hospital appointment that morning")
    expect(asked).to_contain_text("Friday")
    asked.locator("a", has_text="Accept").click()
    expect(dpage.locator("#request")).to_contain_text("The patient asks to move this appointment")
    assert dpage.input_value("#f-starts_at").endswith(" 13:00")  # a Friday afternoon, pre-filled
    assert dpage.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    dpage.screenshot(path=str(_shots() / "desk-request-phone.png"), full_page=True)
    dpage.fill("#f-answer", "No chair is free that Friday: please call us to find another day")
    dpage.click("#decline button[type=submit]")
    expect(dpage.get_by_role("status").first).to_contain_text("Request declined")
    desk.close()

    page.goto(f"{demo_server}/me/appointments")
    expect(page.locator(f"#appt-{appt_id}")).to_contain_text("No chair is free that Friday")
    page.screenshot(path=str(_shots() / "declined-phone.png"), full_page=True)
    ctx.close()


def test_the_portal_has_no_link_to_the_api_docs(demo_server, browser):
    page = browser.new_page(viewport=PHONE)
    login(page, demo_server, "patient1")
    assert page.locator("a[href^='/api']").count() == 0
    page.close()


def _link(db_url: str, instrument: str, mrn: str) -> str:
    db = Database(db_url)
    try:
        with db.session() as s:
            from sqlalchemy import select

            from ketacare.store.tables import Patient

            pid = s.scalar(select(Patient.id).where(Patient.mrn == mrn))
            link = measurement_links.make_link(s, Settings(database_url=db_url), patient_id=pid,
                                               instrument_id=instrument, due_date=date.today())
        return link.token
    finally:
        db.dispose()


def test_the_crisis_screen_dials_the_numbers_it_names(demo_server, browser):
    token = _link(demo_server.db_url, "phq9", "K0100007")
    ctx = browser.new_context(viewport=PHONE)
    page = ctx.new_page()
    page.goto(f"{demo_server}/q/{token}")
    for step in range(1, 10):
        visible = page.locator("fieldset.mbc-item:visible")
        expect(visible.locator(".mbc-progress")).to_have_text(f"Question {step} of 9")
        visible.locator("label.mbc-option").nth(2 if step == 9 else 0).click()
    page.click("button.mbc-submit")
    crisis = page.locator("section.crisis")
    expect(crisis).to_be_visible()
    buttons = crisis.locator("a.crisis-call").all()
    assert len(buttons) >= 3  # the demo clinic's 988, 911 and its own phone
    for b in buttons:
        label, href = b.inner_text(), b.get_attribute("href") or ""
        number = label.removeprefix("Call ").strip()
        assert href == "tel:" + re.sub(r"[^\d+]", "", number), (label, href)
    text = crisis.inner_text()
    assert "988" in text and "+1 212 555 0142" in text
    assert "replace this line" not in text and "911 (US) or 112" not in text
    _check_page(page, "/q/... (done)", set())
    ctx.close()


def test_api_docs_render_openapi_31_offline(demo_server, browser):
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(str(demo_server)) else None)
    page.goto(f"{demo_server}/api/docs")
    expect(page.locator(".opblock-summary-description", has_text="Get Settings")).to_be_visible(timeout=15000)
    body = page.inner_text("body")
    assert "Unable to render this definition" not in body
    assert "OAS 3.1" in body and "List Users" in body and "Put Settings" in body
    assert not outside, outside  # no CDN
    page.close()
