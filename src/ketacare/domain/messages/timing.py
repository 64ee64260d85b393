"""When each appointment reminder goes: a time on the clinic's wall clock, resolved to UTC (pure, no clock)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo
from functools import cache

from ketacare.domain.datafiles import load_toml
from ketacare.domain.errors import InvalidValue

DATA = "ketacare.domain.messages.data"


@dataclass(frozen=True)
class ReminderRule:
    """One reminder: `hours_before` on the wall clock, or `days_before` at local time `at`."""

    id: str
    template: str
    types: tuple[str, ...]
    hours_before: int | None = None
    days_before: int | None = None
    at: time | None = None


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long a failed send is tried again."""

    retry_minutes: tuple[int, ...]
    max_attempts: int

    def next_delay(self, attempts: int) -> timedelta:
        """Return the wait after the `attempts`-th failed attempt."""
        i = min(max(attempts, 1), len(self.retry_minutes)) - 1
        return timedelta(minutes=self.retry_minutes[i])


def _rule(raw: dict[str, object]) -> ReminderRule:
    rid = str(raw["id"])
    hours, days, at = raw.get("hours_before"), raw.get("days_before"), raw.get("at")
    if (hours is None) == (days is None) or (days is not None and at is None):
        raise InvalidValue("reminder", f"{rid}: give hours_before, or days_before with at")
    return ReminderRule(
        id=rid,
        template=str(raw["template"]),
        types=tuple(str(t) for t in raw["types"]),  # type: ignore[attr-defined]
        hours_before=int(hours) if hours is not None else None,  # type: ignore[call-overload]
        days_before=int(days) if days is not None else None,  # type: ignore[call-overload]
        at=time.fromisoformat(str(at)) if at is not None else None,
    )


@cache
def reminder_rules() -> tuple[ReminderRule, ...]:
    """Return the clinic's reminder timings (data/messages.toml)."""
    return tuple(_rule(r) for r in load_toml(DATA, "messages.toml")["reminder"])


@cache
def retry_policy() -> RetryPolicy:
    """Return the retry timing of failed sends (data/messages.toml [sending])."""
    raw = load_toml(DATA, "messages.toml")["sending"]
    return RetryPolicy(tuple(int(m) for m in raw["retry_minutes"]), int(raw["max_attempts"]))


def applies_to(rule: ReminderRule, type_id: str, dosing: bool) -> bool:
    """Return whether `rule` is sent for an appointment of type `type_id`."""
    return "all" in rule.types or type_id in rule.types or (dosing and "dosing" in rule.types)


def _resolve(wall: datetime, tz: tzinfo) -> datetime:
    """Return UTC for naive local `wall`. fold=0 takes the offset in force before a change: a time in the hour
    skipped in spring lands that gap later (02:30 -> 03:30), a time that happens twice in autumn is the first."""
    return wall.replace(tzinfo=tz, fold=0).astimezone(UTC)


def send_at(rule: ReminderRule, starts_at: datetime, tz: tzinfo) -> datetime:
    """Return when (UTC) `rule` sends its reminder for an appointment starting at `starts_at` (aware)."""
    local = starts_at.astimezone(tz).replace(tzinfo=None)
    if rule.hours_before is not None:
        wall = local - timedelta(hours=rule.hours_before)
    elif rule.days_before is not None and rule.at is not None:
        wall = datetime.combine(local.date() - timedelta(days=rule.days_before), rule.at)
    else:  # refused at load already
        raise InvalidValue("reminder", f"{rule.id}: give hours_before, or days_before with at")
    return _resolve(wall, tz)
