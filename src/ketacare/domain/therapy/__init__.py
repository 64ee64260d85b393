"""Integration therapy (pure): note content rules, risk-check escalation, visit timing after infusions."""

from ketacare.domain.therapy.notes import SHARING, NoteContent, check_goal_status, check_note, escalations
from ketacare.domain.therapy.rules import (
    RiskQuestion,
    VisitWindow,
    goal_statuses,
    modalities,
    note_kinds,
    risk_questions,
    visit_window,
)
from ketacare.domain.therapy.timing import VisitStatus, offset_words, visit_status, window_bounds

__all__ = [
    "SHARING",
    "NoteContent",
    "RiskQuestion",
    "VisitStatus",
    "VisitWindow",
    "check_goal_status",
    "check_note",
    "escalations",
    "goal_statuses",
    "modalities",
    "note_kinds",
    "offset_words",
    "risk_questions",
    "visit_status",
    "visit_window",
    "window_bounds",
]
