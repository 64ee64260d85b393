"""Reminder timing on the clinic's wall clock across both clock changes of America/New_York, and the template
checks (unknown placeholders and doses refused beside their field)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from ketacare.domain.errors import InvalidValues
from ketacare.domain.messages import check_template, reminder_rules, render, send_at, when_values

NY = ZoneInfo("America/New_York")
RULES = {r.id: r for r in reminder_rules()}


def _utc(*a: int) -> datetime:
    return datetime(*a, tzinfo=UTC)


def test_autumn_change_48h_is_the_same_wall_clock_time_two_days_before():
    start = datetime(2026, 11, 2, 9, 0, tzinfo=NY)  # Monday 09:00 EST, the day after clocks went back
    assert send_at(RULES["48h"], start, NY) == _utc(2026, 10, 31, 13)  # Saturday 09:00 EDT (not 08:00 EDT)
    assert send_at(RULES["evening-before"], start, NY) == _utc(2026, 11, 1, 23)  # Sunday 18:00 EST
    assert send_at(RULES["2h"], start, NY) == _utc(2026, 11, 2, 12)  # Monday 07:00 EST


def test_spring_change_and_a_reminder_time_in_the_skipped_hour():
    start = datetime(2027, 3, 15, 9, 0, tzinfo=NY)  # Monday 09:00 EDT, the day after clocks went forward
    assert send_at(RULES["48h"], start, NY) == _utc(2027, 3, 13, 14)  # Saturday 09:00 EST
    assert send_at(RULES["evening-before"], start, NY) == _utc(2027, 3, 14, 22)  # Sunday 18:00 EDT
    early = datetime(2027, 3, 14, 4, 30, tzinfo=NY)  # 2 h before is 02:30, which does not exist that night
    assert send_at(RULES["2h"], early, NY) == _utc(2027, 3, 14, 7, 30)  # 03:30 EDT: the gap later, not lost
    twice = datetime(2026, 11, 1, 3, 30, tzinfo=NY)  # 2 h before is 01:30, which happens twice: the first one
    assert send_at(RULES["2h"], twice, NY) == _utc(2026, 11, 1, 5, 30)  # 01:30 EDT


def test_dates_and_times_in_the_clinic_language():
    start = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)
    assert when_values(start, NY, "en_US")["when"] == "Mon, Nov 2, 9:00\u202fAM"
    assert when_values(start, NY, "en_GB")["when"] == "Mon 2 Nov, 09:00"
    assert when_values(start, NY, "es_US")["date"].startswith("lunes, 2 de noviembre")


def test_templates_refuse_unknown_placeholders_and_doses_beside_the_field():
    with pytest.raises(InvalidValues) as e:
        check_template("Hi {patient_diagnosis}", "See you {when}")
    assert set(e.value.errors) == {"subject"} and "unknown placeholder {patient_diagnosis}" in e.value.errors["subject"]
    with pytest.raises(InvalidValues) as e:
        check_template("Reminder", "You will receive 0.5 mg/kg on {when}")
    assert "no dose" in e.value.errors["body"]
    with pytest.raises(InvalidValues) as e:
        check_template("Reminder", "Unclosed {when")
    assert "braces" in e.value.errors["body"]
    check_template("Reminder {date}", "See you {when} at {site_name}")
    assert render("See you {when}", {"when": "Mon 2 Nov, 09:00"}) == "See you Mon 2 Nov, 09:00"
