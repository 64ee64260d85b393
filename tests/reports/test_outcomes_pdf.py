"""The quarterly report's period: calendar quarters, with the year's end."""

from __future__ import annotations

from datetime import date

from ketacare.reports.outcomes import quarter_of


def test_quarter_of():
    assert quarter_of(date(2026, 11, 30)) == (date(2026, 10, 1), date(2026, 12, 31), "2026 Q4")
    assert quarter_of(date(2026, 1, 1)) == (date(2026, 1, 1), date(2026, 3, 31), "2026 Q1")
    assert quarter_of(date(2024, 5, 15)) == (date(2024, 4, 1), date(2024, 6, 30), "2024 Q2")
