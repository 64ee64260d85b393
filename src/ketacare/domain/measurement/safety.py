"""Safety questions (PHQ-9 item 9, the C-SSRS screener): never left blank silently.

An unanswered safety question is refused unless the person chose "prefer not to answer"; that choice is kept
and raises the `safety_item_declined` flag, which escalates to the clinicians like a risk answer. A question
skipped by the instrument's own skip logic was not asked and needs no answer.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from ketacare.domain.errors import InvalidValues
from ketacare.domain.measurement.catalogue import Instrument
from ketacare.domain.measurement.scoring import Answer, resolve_skips

DECLINED_FLAG = "safety_item_declined"
PREFER_NOT_TO_ANSWER = "Prefer not to answer"


def check_safety_answers(instrument: Instrument, values: Sequence[Answer], declined: Collection[str]) -> None:
    """Refuse a blank safety question that was not declined, and a "declined" on an item that is not a safety
    question or that was answered; name each item."""
    problems: dict[str, str] = {}
    resolved = resolve_skips(instrument, tuple(values))
    by_id = {item.id: item for item in instrument.items}
    for item_id in declined:
        item = by_id.get(item_id)
        if item is None or not item.safety:
            problems[f"item {item_id}"] = "'prefer not to answer' is offered only for the safety questions"
        elif values[item.number - 1] is not None:
            problems[item.field] = "choose either an answer or 'prefer not to answer', not both"
    for item, value in zip(instrument.items, resolved, strict=True):
        if item.safety and value is None and item.id not in declined:
            problems[item.field] = (
                "This question is about your safety: choose an answer, or “Prefer not to answer”"
            )
    if problems:
        raise InvalidValues(problems)


def declined_flags(instrument: Instrument, declined: Collection[str]) -> tuple[str, ...]:
    """Return the flag a declined safety question raises (none when nothing was declined)."""
    return (DECLINED_FLAG,) if any(i.safety for i in instrument.items if i.id in declined) else ()
