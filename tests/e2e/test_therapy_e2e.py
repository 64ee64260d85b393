"""Integration therapy in real Chromium at phone size: the therapist writes an integration note after a
patient's first infusion (errors beside the fields first), signs it and shares it with the care team; the
prescriber reads it on the chart; the nurse cannot open the therapist's private note."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import login

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}
RISK = {"suicidal_ideation": "none", "suicidal_behaviour": "no", "self_harm": "no", "harm_to_others": "no"}


def _no_serious_axe_violation(page) -> None:
    from axe_playwright_python.sync_playwright import Axe

    found = [f"{v['impact']} {v['id']}: {[n.get('target') for n in v.get('nodes', [])][:3]}"
             for v in Axe().run(page).response["violations"] if v.get("impact") in ("serious", "critical")]
    assert found == [], found


def _fill_note(page, themes: str, sharing: str) -> None:
    page.select_option("#f-modality", "cbt")
    page.fill("#f-themes", themes)
    page.fill("#f-homework", "Worry diary at 18:00")
    for key, answer in RISK.items():
        page.select_option(f"#f-risk_{key}", answer)
    page.select_option("#f-sharing", sharing)
    page.click("#write button[type=submit]")
    page.wait_for_load_state("networkidle")


def test_therapist_note_after_first_infusion_shared_with_prescriber_private_from_nurse(demo_server, browser):
    therapist = browser.new_context(viewport=PHONE)
    page = therapist.new_page()
    login(page, demo_server, "therapist")
    page.goto(f"{demo_server}/therapy")
    overdue = page.locator("#visits-due li", has_text="Overdue").filter(has_text="after infusion 1").first
    overdue.locator("a").click()
    page.wait_for_load_state("networkidle")
    therapy_url = page.url.split("#")[0]
    pid = int(re.search(r"/patients/(\d+)/therapy", therapy_url).group(1))

    page.click("#write button[type=submit]")  # nothing filled in: every problem beside its field
    page.wait_for_load_state("networkidle")
    assert page.locator(".error-summary").is_visible()
    assert "required for this kind of visit" in page.inner_text("#e-modality")
    assert "risk check needs an answer" in page.inner_text("#e-risk_suicidal_ideation")
    assert page.evaluate("document.scrollingElement.scrollWidth") <= PHONE["width"]
    _no_serious_axe_violation(page)

    _fill_note(page, "Fear of losing control eased after the first infusion", "care_team")
    assert "/therapy/notes/" in page.url
    text = page.inner_text("main")
    assert "after infusion 1" in text and "Shared with the care team" in text
    page.fill("#f-password", "ketacare-demo")
    page.click("#sign button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "Note signed" in page.inner_text("main")
    assert page.evaluate("document.scrollingElement.scrollWidth") <= PHONE["width"]
    _no_serious_axe_violation(page)

    page.goto(therapy_url)
    _fill_note(page, "Private process detail about the family", "private")
    private_url = page.url.split("?")[0]
    therapist.close()

    prescriber = browser.new_page(viewport=PHONE)
    login(prescriber, demo_server, "prescriber")
    prescriber.goto(f"{demo_server}/patients/{pid}")
    section = prescriber.inner_text("#therapy")
    assert "Fear of losing control eased" in section and "after infusion 1" in section
    assert "Private process detail" not in prescriber.inner_text("main")
    prescriber.close()

    nurse = browser.new_page(viewport=PHONE)
    login(nurse, demo_server, "nurse")
    r = nurse.goto(private_url)
    assert r.status == 404 and "Private process detail" not in nurse.content()
    nurse.close()
