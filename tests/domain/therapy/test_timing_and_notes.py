"""Integration-visit timing and the note rules, with plain values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ketacare.domain.errors import InvalidValues
from ketacare.domain.therapy import (
    NoteContent,
    check_note,
    escalations,
    offset_words,
    risk_questions,
    visit_status,
    visit_window,
)

END = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
NO_RISK = {q.key: q.answers[0] for q in risk_questions()}


@pytest.mark.parametrize(("hours", "words"), [
    (-1, "before infusion 3 ended"), (0.5, "within the hour after infusion 3"), (1, "1 hour after infusion 3"),
    (5, "5 hours after infusion 3"), (24, "1 day after infusion 3"), (49, "2 days after infusion 3"),
])
def test_offset_words(hours, words):
    assert offset_words(END, END + timedelta(hours=hours), 3) == words


@pytest.mark.parametrize(("hours", "status"), [(2, "upcoming"), (24, "due"), (72, "due"), (73, "overdue"),
                                               (24 * 31, "expired")])
def test_visit_status_follows_the_clinic_window(hours, status):
    w = visit_window()
    assert (w.due_from_h, w.due_by_h, w.source) == (24, 72, "clinic-default")
    assert visit_status(END, END + timedelta(hours=hours), w, has_note=False) == status
    assert visit_status(END, END + timedelta(hours=hours), w, has_note=True) == "done"


def test_every_risk_question_is_needed_and_escalating_answers_are_named():
    good = NoteContent("integration", "private", "cbt", {}, NO_RISK)
    check_note(good)
    with pytest.raises(InvalidValues) as e:
        check_note(NoteContent("integration", "everyone", None, {"themes": "x" * 20_001}, {}))
    assert set(e.value.errors) == {"sharing", "modality", "themes"} | {f"risk.{q.key}" for q in risk_questions()}
    assert escalations(NO_RISK) == ()
    assert escalations({**NO_RISK, "suicidal_ideation": "passive"}) == ()
    assert escalations({**NO_RISK, "suicidal_ideation": "active_with_plan", "self_harm": "yes"}) == (
        "suicidal_ideation", "self_harm")


def test_a_preparation_note_needs_intentions_and_a_safety_plan_but_no_risk_check():
    with pytest.raises(InvalidValues) as e:
        check_note(NoteContent("preparation", "private", None, {"intentions": " "}, {}))
    assert set(e.value.errors) == {"intentions", "safety_plan"}
    check_note(NoteContent("preparation", "care_team", None, {"intentions": "a", "safety_plan": "b"}, {}))
