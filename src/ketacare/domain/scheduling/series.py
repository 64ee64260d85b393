"""A plan phase's sessions as dates: the induction series from a start date, spaced as the template says."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from ketacare.domain.errors import InvalidValue
from ketacare.domain.plans import Phase


def series_days(phase: Phase, first: date) -> list[date]:
    """Return the local dates of the phase's sessions from `first`: session i falls i x interval days later,
    rounded to the nearest day (3 a week: days 0, 2, 5, 7, 9, 12; twice a week: 0, 4, 7, 11, ...)."""
    if phase.sessions is None:
        raise InvalidValue("phase", f"{phase.name} has no fixed number of sessions to book as a series")
    step = phase.interval_days
    return [first + timedelta(days=math.floor(i * step + 0.5)) for i in range(phase.sessions)]


def series_starts(phase: Phase, first: date, at: time, tz: tzinfo) -> list[datetime]:
    """Return each session's start as aware UTC: the same wall-clock time `at` in `tz` on every day of the series
    (so a series keeps its local time across a daylight-saving change). A wall time that does not exist or is
    ambiguous that day is refused, naming the day."""
    out: list[datetime] = []
    for d in series_days(phase, first):
        naive = datetime.combine(d, at)
        a, b = naive.replace(tzinfo=tz, fold=0), naive.replace(tzinfo=tz, fold=1)
        if a.utcoffset() != b.utcoffset() or a.astimezone(tz).replace(tzinfo=None) != naive:
            raise InvalidValue(
                "start_time", f"{at:%H:%M} on {d.isoformat()} is skipped or repeated by a clock change"
            )
        out.append(a.astimezone(UTC))
    return out
