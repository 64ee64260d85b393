"""Integration therapy (services layer): `notes` (write, open, sign, addenda; private unless shared), `goals`,
`visits` (integration visits due after infusions), `view` (the therapy page, notes for the plan), `schemas`.

Other capabilities use therapy only through the names below.
"""

from ketacare.domain.therapy import visit_window
from ketacare.services.therapy.goals import add_goal
from ketacare.services.therapy.notes import add_addendum, get_note, sign_note, write_note
from ketacare.services.therapy.schemas import (
    GoalCreate,
    GoalProgressIn,
    NoteAddendumCreate,
    NoteCreate,
    NoteRead,
    NoteSign,
    PlanNote,
    TherapyView,
    VisitDue,
)
from ketacare.services.therapy.view import notes_for_plan, therapy_view
from ketacare.services.therapy.visits import integration_visits_due

__all__ = [
    "GoalCreate",
    "GoalProgressIn",
    "NoteAddendumCreate",
    "NoteCreate",
    "NoteRead",
    "NoteSign",
    "PlanNote",
    "TherapyView",
    "VisitDue",
    "add_addendum",
    "add_goal",
    "get_note",
    "integration_visits_due",
    "notes_for_plan",
    "sign_note",
    "therapy_view",
    "visit_window",
    "write_note",
]
