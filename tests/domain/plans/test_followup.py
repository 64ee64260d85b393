"""The next-day call: when it is due in the clinic's local time, and which answers escalate."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from ketacare.domain.errors import InvalidValues
from ketacare.domain.plans.followup import assess_answers, call_due_at, call_form, call_status

NY = ZoneInfo("America/New_York")
CALM = {"suicidal_thoughts": "no", "feels_safe": "yes", "side_effects": ["none"], "mood": "better",
        "sleep": "normal", "driving_advice_kept": "yes"}


def test_every_question_has_a_source_and_the_safety_question_escalates_yes_and_declined():
    f = call_form()
    assert all(q.source for q in f.questions)
    q = next(q for q in f.questions if q.id == "suicidal_thoughts")
    assert set(q.risk_when) == {"yes", "declined"}


def test_the_call_is_due_the_next_local_morning_even_after_a_late_discharge():
    late = datetime(2026, 11, 30, 3, 30, tzinfo=UTC)  # 22:30 on 29 Nov in New York
    assert call_due_at(late, NY) == datetime(2026, 11, 30, 15, 0, tzinfo=UTC)  # 10:00 EST on 30 Nov
    assert call_status(late, datetime(2026, 11, 30, 14, 0, tzinfo=UTC), NY, done=False) == "not_yet_due"
    assert call_status(late, datetime(2026, 11, 30, 16, 0, tzinfo=UTC), NY, done=False) == "due"
    assert call_status(late, datetime(2026, 12, 1, 5, 1, tzinfo=UTC), NY, done=False) == "overdue"
    assert call_status(late, datetime(2026, 12, 1, 5, 1, tzinfo=UTC), NY, done=True) == "done"


def test_risk_and_concern_answers_are_named():
    assert assess_answers(CALM).risk == () and assess_answers(CALM).concerns == ()
    a = assess_answers({**CALM, "suicidal_thoughts": "declined", "driving_advice_kept": "no",
                        "side_effects": ["urinary_pain", "headache"]})
    assert a.risk == ("suicidal_thoughts",) and a.concerns == ("side_effects", "driving_advice_kept")


def test_a_missing_or_unknown_answer_is_refused_naming_each_field():
    with pytest.raises(InvalidValues) as e:
        assess_answers({**CALM, "mood": "ecstatic", "sleep": "", "side_effects": ["none", "headache"]})
    assert set(e.value.errors) == {"mood", "sleep", "side_effects"}
    assert e.value.errors["sleep"] == "answer this question"
