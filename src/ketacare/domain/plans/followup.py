"""The next-day call after a dosing session (`data/followup_call.toml`): its questions, when it is due in the
clinic's local time, and which answers escalate (risk) or are highlighted (concern)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo
from functools import cache
from typing import Literal

from ketacare.domain.datafiles import load_toml
from ketacare.domain.errors import InvalidValues
from ketacare.domain.plans.datacheck import DataFileError, check_source, check_table

Kind = Literal["choice", "multi"]
CallStatus = Literal["due", "overdue", "not_yet_due", "done"]


@dataclass(frozen=True)
class CallQuestion:
    """One question of the call: its answer options and which answers escalate or are highlighted."""

    id: str
    label: str
    kind: Kind
    options: tuple[str, ...]
    risk_when: tuple[str, ...]
    concern_when: tuple[str, ...]
    source: str


@dataclass(frozen=True)
class CallForm:
    """The call's questions, option labels and due rule (local time of day; days after discharge it stays)."""

    version: str
    questions: tuple[CallQuestion, ...]
    option_labels: Mapping[str, str]
    due_local_time: time
    drop_after_days: int
    due_source: str


@dataclass(frozen=True)
class CallAssessment:
    """What the answers mean: the questions answered with a risk answer, and those answered with a concern."""

    risk: tuple[str, ...]
    concerns: tuple[str, ...]


@cache
def call_form() -> CallForm:
    """Return the next-day call form (data/followup_call.toml); a question without a source is refused."""
    raw = load_toml("ketacare.domain.plans.data", "followup_call.toml")
    due = raw["due"]
    check_table(due, "followup_call.toml [due]")
    questions = []
    for q in raw["questions"]:
        check_source(q.get("source"), f"followup_call.toml question {q['id']}")
        check_table(q, f"followup_call.toml question {q['id']}")
        options = tuple(q["options"])
        flagged = set(q.get("risk_when", [])) | set(q.get("concern_when", []))
        if not flagged <= set(options):
            raise DataFileError(f"followup_call.toml question {q['id']}: flags an answer that is not an option")
        questions.append(
            CallQuestion(
                id=q["id"],
                label=q["label"],
                kind=q["kind"],
                options=options,
                risk_when=tuple(q.get("risk_when", [])),
                concern_when=tuple(q.get("concern_when", [])),
                source=q["source"],
            )
        )
    hh, mm = (int(x) for x in due["local_time"].split(":"))
    return CallForm(
        version=raw["version"],
        questions=tuple(questions),
        option_labels=dict(raw["labels"]["options"]),
        due_local_time=time(hh, mm),
        drop_after_days=int(due["drop_after_days"]),
        due_source=due["source"],
    )


def call_due_at(discharged_at: datetime, tz: tzinfo, form: CallForm | None = None) -> datetime:
    """Return when the call is due (UTC): the day after discharge, at the form's local time in zone `tz`."""
    f = form or call_form()
    local_day = discharged_at.astimezone(tz).date() + timedelta(days=1)
    return datetime.combine(local_day, f.due_local_time, tzinfo=tz).astimezone(UTC)


def call_status(discharged_at: datetime, now: datetime, tz: tzinfo, *, done: bool) -> CallStatus:
    """Return whether the call is done, not yet due, due (on its day) or overdue (after the end of its day)."""
    if done:
        return "done"
    due = call_due_at(discharged_at, tz)
    if now < due:
        return "not_yet_due"
    end_of_day = datetime.combine(due.astimezone(tz).date() + timedelta(days=1), time(0), tzinfo=tz)
    return "due" if now < end_of_day else "overdue"


def assess_answers(answers: Mapping[str, str | Sequence[str]], form: CallForm | None = None) -> CallAssessment:
    """Check every question is answered with one of its options; return the risk and concern questions.

    Refuses (InvalidValues naming each field) a missing answer, an unknown option, or "none" with another side
    effect.
    """
    f = form or call_form()
    errors: dict[str, str] = {}
    risk, concerns = [], []
    for q in f.questions:
        value = answers.get(q.id)
        chosen = [value] if isinstance(value, str) else list(value or [])
        chosen = [c for c in chosen if c]
        if not chosen:
            errors[q.id] = "answer this question"
            continue
        unknown = [c for c in chosen if c not in q.options]
        if unknown or (q.kind == "choice" and len(chosen) > 1):
            errors[q.id] = f"choose {'one of' if q.kind == 'choice' else 'from'}: " + ", ".join(
                f.option_labels.get(o, o) for o in q.options
            )
            continue
        if q.kind == "multi" and "none" in chosen and len(chosen) > 1:
            errors[q.id] = "'None' cannot go with a side effect"
            continue
        if set(chosen) & set(q.risk_when):
            risk.append(q.id)
        if set(chosen) & set(q.concern_when):
            concerns.append(q.id)
    if errors:
        raise InvalidValues(errors)
    return CallAssessment(risk=tuple(risk), concerns=tuple(concerns))
