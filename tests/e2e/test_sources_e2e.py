"""Following a source as a clinician does: the demo's screening, dose order and session pages cite "Author Year",
and a citation opens its entry on the sources page."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from ketacare.domain.sources import bibliography
from ketacare.store.db import Database
from ketacare.store.tables.dosing import DoseOrderRecord
from ketacare.store.tables.eligibility import EligibilityEvaluation
from ketacare.store.tables.sessions import InfusionSession, SessionAlert
from tests.domain.test_sources import INTERNAL
from tests.e2e.conftest import login

pytestmark = pytest.mark.browser


def _first(db_url: str, stmt):
    db = Database(db_url)
    try:
        with db.session() as s:
            return s.execute(stmt.limit(1)).first()
    finally:
        db.dispose()


def _citations(page) -> list[tuple[str, str]]:
    """(key, shown text) of every citation link on the page."""
    links = page.locator("main a.cite")
    return [(links.nth(i).get_attribute("href").split("#", 1)[1], links.nth(i).text_content())
            for i in range(links.count())]


def _check_page(page, name: str) -> list[tuple[str, str]]:
    html = page.content()
    leak = INTERNAL.search(html)
    assert leak is None, f"{name} shows an internal tag: {html[max(0, leak.start() - 60):leak.end() + 30]}"
    cites = _citations(page)
    assert page.locator("main a.cite:visible").count() > 0, f"{name} shows no citation"
    for key, shown in cites:
        assert shown == bibliography()[key].short, f"{name}: {key} shown as {shown!r}"
    return cites


def test_screening_dose_order_and_session_cite_author_year_and_a_citation_opens_its_source(demo_server, browser):
    url = demo_server.db_url
    screened = _first(url, select(EligibilityEvaluation.patient_id).where(
        EligibilityEvaluation.decision == "not_eligible", EligibilityEvaluation.superseded_at.is_(None)))[0]
    order = _first(url, select(DoseOrderRecord.patient_id, DoseOrderRecord.id).where(
        DoseOrderRecord.status == "double_checked"))
    alerted = _first(url, select(SessionAlert.session_id)) or _first(url, select(InfusionSession.id))

    page = browser.new_page()
    login(page, demo_server, "prescriber")

    page.goto(f"{demo_server}/patients/{screened}/screening")
    screening = _check_page(page, "screening")
    expect(page.locator("main")).to_contain_text("Source:")

    page.goto(f"{demo_server}/patients/{order[0]}/dose-orders/{order[1]}")
    _check_page(page, "dose order")

    page.goto(f"{demo_server}/sessions/{alerted[0]}")
    _check_page(page, "session")

    page.goto(f"{demo_server}/pk?r1_protocol=iv-standard&r1_mg_per_kg=0.5&r1_duration_min=40")
    _check_page(page, "PK explorer")

    # follow one citation of the screening decision to the sources page
    page.goto(f"{demo_server}/patients/{screened}/screening")
    key, shown = screening[0]
    page.locator(f'main a.cite[href="/sources#{key}"]').first.click()
    page.wait_for_load_state("networkidle")
    assert page.url.endswith(f"/sources#{key}")
    entry = page.locator(f"li#{key}")
    expect(entry).to_be_visible()
    expect(entry).to_contain_text(shown)
    expect(entry).to_contain_text("Supports:")
    expect(entry).to_be_in_viewport()
    page.close()


def test_the_sources_page_is_in_the_navigation_for_a_nurse(demo_server, browser):
    page = browser.new_page()
    login(page, demo_server, "nurse")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Sources").click()
    page.wait_for_load_state("networkidle")
    expect(page.locator("h1")).to_have_text("Sources")
    expect(page.locator("ol.bibliography > li")).to_have_count(len(bibliography()))
    page.close()
