"""A plan phase's sessions as dates: the induction series from a start date, spaced as the template says."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Protocol

from ketacare.domain.errors import InvalidValue


class Spacing(Protocol):
    """A phase as a series needs it: a template's phase or the phase of a patient's own plan."""

    @property
    def name(self) -> str: ...
    @property
    def sessions(self) -> int | None: ...
    @property
    def interval_days(self) -> float: ...


def series_days(phase: Spacing, first: date) -> list[date]:
    """Return the local dates of the phase's sessions from `first`: session i falls i x interval days later,
    rounded to the nearest day (3 a week: days 0, 2, 5, 7, 9, 12; twice a week: 0, 4, 7, 11, ...)."""
    if phase.sessions is None:
        raise InvalidValue("phase", f"{phase.name} has no fixed number of sessions to book as a series")
    step = phase.interval_days
    return [first + timedelta(days=math.floor(i * step + 0.5)) for i in range(phase.sessions)]


def _at_local(naive: datetime, tz: tzinfo, day: date) -> datetime:
    a, b = naive.replace(tzinfo=tz, fold=0), naive.replace(tzinfo=tz, fold=1)
    if a.utcoffset() != b.utcoffset() or a.astimezone(tz).replace(tzinfo=None) != naive:
        raise InvalidValue(
            "start_time", f"{naive:%H:%M} on {day.isoformat()} is skipped or repeated by a clock change"
        )
    return a.astimezone(UTC)


def series_starts(phase: Spacing, first: date, at: time, tz: tzinfo) -> list[datetime]:
    """Return each session's start as aware UTC: the same wall-clock time `at` in `tz` on every day of the series
    (so a series keeps its local time across a daylight-saving change). A wall time that does not exist or is
    ambiguous that day is refused, naming the day."""
    return [_at_local(datetime.combine(d, at), tz, d) for d in series_days(phase, first)]


def shifted(starts: Sequence[datetime], old: datetime, new: datetime, tz: tzinfo) -> list[datetime]:
    """Return each start (aware) moved by the local wall-clock distance from `old` to `new`: sessions after a
    moved one keep their spacing and their local time of day across a clock change."""
    by = new.astimezone(tz).replace(tzinfo=None) - old.astimezone(tz).replace(tzinfo=None)
    out = []
    for t in starts:
        naive = t.astimezone(tz).replace(tzinfo=None) + by
        out.append(_at_local(naive, tz, naive.date()))
    return out
