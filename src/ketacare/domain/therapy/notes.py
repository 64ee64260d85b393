"""What an integration or preparation note must hold, and which risk-check answers escalate."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ketacare.domain.errors import InvalidValues
from ketacare.domain.therapy.rules import goal_statuses, modalities, note_kinds, risk_questions

SHARING = ("private", "care_team")
MAX_TEXT = 20_000  # characters of one free-text field
# Fields each kind of note needs filled (beyond kind, visit time and sharing).
REQUIRED = {
    "integration": ("modality",),
    "preparation": ("intentions", "safety_plan"),
}


@dataclass(frozen=True)
class NoteContent:
    """A note as typed: structured fields and free text (None or "" = left blank)."""

    kind: str
    sharing: str
    modality: str | None
    texts: Mapping[str, str | None]  # themes, insights, coping_skills, homework, intentions, ... narrative
    risk: Mapping[str, str | None]  # risk question key -> answer


def check_note(note: NoteContent) -> None:
    """Refuse a note with an unknown kind, modality or sharing, a missing required field, an unanswered or
    unknown risk answer (integration notes), or an over-long text; name every field."""
    problems: dict[str, str] = {}
    if note.kind not in note_kinds():
        problems["kind"] = f"choose one of: {', '.join(note_kinds().values())}"
    if note.sharing not in SHARING:
        problems["sharing"] = "choose private (only you) or shared with the care team"
    if note.modality and note.modality not in modalities():
        problems["modality"] = f"choose one of: {', '.join(modalities().values())}"
    for field in REQUIRED.get(note.kind, ()):
        value = note.modality if field == "modality" else note.texts.get(field)
        if not (value or "").strip():
            problems[field] = "required for this kind of visit"
    for field, text in note.texts.items():
        if text is not None and len(text) > MAX_TEXT:
            problems[field] = f"at most {MAX_TEXT:,} characters"
    if note.kind == "integration":
        for q in risk_questions():
            answer = note.risk.get(q.key)
            if not answer:
                problems[f"risk.{q.key}"] = "the risk check needs an answer to every question"
            elif answer not in q.answers:
                problems[f"risk.{q.key}"] = f"choose one of: {', '.join(a.replace('_', ' ') for a in q.answers)}"
    if problems:
        raise InvalidValues(problems)


def escalations(risk: Mapping[str, str | None]) -> tuple[str, ...]:
    """Return the risk questions whose answer escalates to the care team (urgent safety alert), in file order."""
    return tuple(q.key for q in risk_questions() if risk.get(q.key) in q.escalate)


def check_goal_status(status: str, field: str = "status") -> None:
    """Refuse a goal status the data file does not know."""
    if status not in goal_statuses():
        raise InvalidValues({field: f"choose one of: {', '.join(goal_statuses().values())}"})
