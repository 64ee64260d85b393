"""The clinic outcomes dashboard in real Chromium for the demo clinic (issue 18): its charts render with a table
view beside each, a filter changes the numbers, and it fits a phone. Screenshots are kept as artifacts in
test-artifacts/outcomes (git-ignored)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.e2e.conftest import login

pytestmark = pytest.mark.browser


def _artifacts() -> Path:
    d = Path(os.environ.get("KETACARE_TEST_ARTIFACTS", "test-artifacts")) / "outcomes"
    d.mkdir(parents=True, exist_ok=True)
    return d


def _number(page, selector: str) -> int:
    return int(re.sub(r"\D", "", page.inner_text(selector)))


def test_dashboard_renders_its_charts_and_a_filter_changes_the_numbers(demo_server, browser):
    ctx = browser.new_context(viewport={"width": 1440, "height": 900})
    page = ctx.new_page()
    page.set_default_timeout(60_000)
    login(page, demo_server, "prescriber")
    page.goto(f"{demo_server}/outcomes")
    assert page.locator("h1").inner_text() == "Clinic outcomes"
    charts = page.locator("svg.outcome-chart")
    assert charts.count() >= 7, "rates at fixed points, trajectory, diagnosis, protocol, dose, session, survival, BP"
    for i in range(charts.count()):
        box = charts.nth(i).bounding_box()
        assert box and box["width"] > 200 and box["height"] > 80
        assert charts.nth(i).get_attribute("aria-label")
    assert page.locator("svg.outcome-chart rect.bar-response").count() > 10
    assert page.locator("table#t-points tbody tr").count() == 6  # 24 h, weeks 2, 4, 8, 12, 26
    everyone, judged = _number(page, "#n-patients"), _number(page, "#n-judged")
    assert everyone >= 100 and judged >= 30
    overall = page.inner_text("#overall-response")
    page.screenshot(path=str(_artifacts() / "dashboard-1440.png"), full_page=True)

    page.select_option("#f-diagnosis", value="gad")
    page.click("#filters button[type=submit]")
    page.wait_for_url(re.compile(r"diagnosis=gad"))
    assert _number(page, "#n-patients") < everyone
    assert _number(page, "#n-judged") < judged
    assert page.inner_text("#overall-response") != overall
    page.screenshot(path=str(_artifacts() / "dashboard-gad-1440.png"), full_page=True)

    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    page.screenshot(path=str(_artifacts() / "dashboard-390.png"), full_page=True)
    ctx.close()
