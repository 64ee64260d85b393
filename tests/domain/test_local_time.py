"""Local time for people (issue 13): entered and shown in the clinic's zone, refused rather than guessed on the
nights the clocks change (Europe/Berlin 2026-03-29 and 2026-10-25, America/New_York 2026-11-01)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from ketacare.domain import formatting as fmt
from ketacare.domain.errors import InvalidValue

BERLIN = fmt.zone("Europe/Berlin")
NEW_YORK = fmt.zone("America/New_York")


def test_a_plain_local_time_is_read_in_the_clinics_zone():
    assert fmt.parse_local("2026-11-30 14:05", BERLIN, "at") == datetime(2026, 11, 30, 13, 5, tzinfo=UTC)
    assert fmt.parse_local("2026-07-01T14:05", BERLIN, "at") == datetime(2026, 7, 1, 12, 5, tzinfo=UTC)  # CEST
    assert fmt.parse_local("2026-11-30 09:00", NEW_YORK, "at") == datetime(2026, 11, 30, 14, 0, tzinfo=UTC)
    assert fmt.parse_local("", BERLIN, "at") is None


def test_a_time_the_clocks_skipped_is_refused_with_the_reason():
    with pytest.raises(InvalidValue) as e:
        fmt.parse_local("2026-03-29 02:30", BERLIN, "last_food_at")
    assert e.value.field == "last_food_at"
    assert "does not exist" in e.value.message and "clocks went forward" in e.value.message


def test_a_time_that_happened_twice_is_refused_and_the_message_says_how_to_write_each():
    with pytest.raises(InvalidValue) as e:
        fmt.parse_local("2026-10-25 02:30", BERLIN, "given_at")
    assert "happened twice" in e.value.message
    assert "2026-10-25 02:30 CEST" in e.value.message and "2026-10-25 02:30 CET" in e.value.message
    first = fmt.parse_local("2026-10-25 02:30 CEST", BERLIN, "given_at")
    second = fmt.parse_local("2026-10-25 02:30 CET", BERLIN, "given_at")
    assert first == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert second == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    assert fmt.parse_local("2026-11-01 01:30 EST", NEW_YORK, "x") == datetime(2026, 11, 1, 6, 30, tzinfo=UTC)
    assert fmt.parse_local("2026-11-01 01:30 -04:00", NEW_YORK, "x") == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    with pytest.raises(InvalidValue, match="not the clinic's time zone"):
        fmt.parse_local("2026-11-01 01:30 CET", NEW_YORK, "x")


def test_what_a_page_prefills_reads_back_to_the_same_instant_across_the_change():
    for t in (datetime(2026, 10, 25, 0, 30, tzinfo=UTC), datetime(2026, 10, 25, 1, 30, tzinfo=UTC)):
        assert fmt.parse_local(fmt.local_input(t, BERLIN), BERLIN, "x") == t
    assert fmt.local_input(datetime(2026, 11, 30, 13, 5, tzinfo=UTC), BERLIN) == "2026-11-30 14:05"


def test_bad_text_is_refused_naming_the_field_and_the_zone():
    with pytest.raises(InvalidValue) as e:
        fmt.parse_local("yesterday", BERLIN, "onset_at")
    assert e.value.field == "onset_at" and ("CET" in e.value.message or "CEST" in e.value.message)


def test_patients_read_friendly_local_times():
    t = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
    assert fmt.friendly(t, BERLIN) == "Wed 2 Dec, 09:00"
    assert fmt.friendly(t, NEW_YORK) == "Wed 2 Dec, 03:00"
    assert fmt.friendly(t, BERLIN, now=datetime(2027, 1, 5, tzinfo=UTC)) == "Wed 2 Dec 2026, 09:00"
    assert fmt.friendly(None, BERLIN) == "–"
    assert fmt.friendly_date(t, BERLIN) == "Wed 2 Dec 2026"
    assert fmt.day(date(1990, 2, 3)) == "3 Feb 1990"


def test_times_across_the_change_keep_their_own_zone_label():
    before = datetime(2026, 11, 1, 5, 50, tzinfo=UTC)  # 01:50 EDT
    after = datetime(2026, 11, 1, 6, 10, tzinfo=UTC)  # 01:10 EST, 20 minutes later
    assert fmt.clock_time(before, NEW_YORK) == "01:50:00 EDT"
    assert fmt.clock_time(after, NEW_YORK) == "01:10:00 EST"
    assert fmt.elapsed(before, after) == "20 min"
