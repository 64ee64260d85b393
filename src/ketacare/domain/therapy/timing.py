"""When an integration visit falls relative to the infusion it follows, and whether one is due."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from ketacare.domain.therapy.rules import VisitWindow

VisitStatus = Literal["upcoming", "due", "overdue", "done", "expired"]


def offset_words(infusion_ended_at: datetime, visit_at: datetime, infusion_number: int) -> str:
    """Say when a visit was, relative to infusion `infusion_number` ended: "2 days after infusion 3"."""
    hours = (visit_at - infusion_ended_at).total_seconds() / 3600
    which = f"infusion {infusion_number}"
    if hours < 0:
        return f"before {which} ended"
    if hours < 1:
        return f"within the hour after {which}"
    if hours < 24:
        h = int(hours)
        return f"{h} {'hour' if h == 1 else 'hours'} after {which}"
    days = int(hours // 24)
    return f"{days} {'day' if days == 1 else 'days'} after {which}"


def visit_status(
    infusion_ended_at: datetime, now: datetime, window: VisitWindow, *, has_note: bool
) -> VisitStatus:
    """Return whether the integration visit after an infusion is upcoming, due, overdue, done or too old to list
    (window hours after the infusion ended; `now` and the end time are aware datetimes)."""
    if has_note:
        return "done"
    age = now - infusion_ended_at
    if age > timedelta(days=window.lookback_days):
        return "expired"
    if age < timedelta(hours=window.due_from_h):
        return "upcoming"
    if age <= timedelta(hours=window.due_by_h):
        return "due"
    return "overdue"


def window_bounds(infusion_ended_at: datetime, window: VisitWindow) -> tuple[datetime, datetime]:
    """Return (due from, due by) for the visit after an infusion that ended at `infusion_ended_at`."""
    return (
        infusion_ended_at + timedelta(hours=window.due_from_h),
        infusion_ended_at + timedelta(hours=window.due_by_h),
    )
