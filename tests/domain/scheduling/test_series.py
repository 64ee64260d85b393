"""Moving a plan's later sessions: by the same local wall-clock distance, keeping their local hour across a clock
change."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from ketacare.domain.scheduling import shifted

NY = ZoneInfo("America/New_York")


def test_later_sessions_move_by_the_same_local_time_across_the_spring_clock_change():
    old = datetime(2026, 3, 4, 14, 0, tzinfo=UTC)  # Wed 09:00 EST
    new = datetime(2026, 3, 5, 15, 0, tzinfo=UTC)  # Thu 10:00 EST: one day and one hour later
    later = [datetime(2026, 3, 6, 14, 0, tzinfo=UTC), datetime(2026, 3, 9, 13, 0, tzinfo=UTC)]  # Fri 09:00, Mon 09:00
    moved = shifted(later, old, new, NY)
    assert [t.astimezone(NY).strftime("%a %H:%M") for t in moved] == ["Sat 10:00", "Tue 10:00"]
    assert moved[1] == datetime(2026, 3, 10, 14, 0, tzinfo=UTC)  # 10:00 EDT after the change
