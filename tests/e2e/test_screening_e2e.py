"""Screening as a prescriber reads it: the decision in words, every finding with its rule id and source."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from ketacare.store.db import Database
from ketacare.store.tables.eligibility import EligibilityEvaluation
from tests.e2e.conftest import login

pytestmark = pytest.mark.browser


def _patient_with(db_url: str, decision: str) -> int:
    db = Database(db_url)
    try:
        with db.session() as s:
            return s.scalar(select(EligibilityEvaluation.patient_id).where(
                EligibilityEvaluation.decision == decision, EligibilityEvaluation.superseded_at.is_(None)).limit(1))
    finally:
        db.dispose()


def test_demo_shows_every_decision_class_with_reasons(demo_server, browser):
    page = browser.new_page()
    login(page, demo_server, "prescriber")
    for decision, words in [("eligible", "Eligible"), ("eligible_with_cautions", "Eligible with cautions"),
                            ("not_eligible", "Not eligible"), ("insufficient_information", "Insufficient")]:
        pid = _patient_with(demo_server.db_url, decision)
        assert pid, f"the demo has no {decision} patient"
        page.goto(f"{demo_server}/patients/{pid}/screening")
        text = page.inner_text("main")
        assert words.lower() in text.lower()
        if decision in ("not_eligible", "eligible_with_cautions"):
            assert re.search(r"\b(CI|CA|TR|IX|INT)-[A-Z0-9-]+", text), "each finding names its rule id"
            assert "source" in text.lower()
    page.close()
