"""Numbers for people (issue 12 point 7): durations, doses to the protocol's step, vitals, times in the zone."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ketacare.domain import formatting as fmt
from ketacare.domain.errors import InvalidValue

minutes = st.floats(min_value=0, max_value=100_000, allow_nan=False, allow_infinity=False)
values = st.floats(min_value=-1e7, max_value=1e7, allow_nan=False, allow_infinity=False)
tiny = st.floats(min_value=-1e-3, max_value=1e-3, allow_nan=False)
steps = st.sampled_from([0.01, 0.05, 0.1, 0.5, 1.0, 2.5, 5.0, 25.0])  # the dosing protocols' steps and others


def test_durations_as_people_write_them():
    assert fmt.duration(24 + 47 / 60) == "24 min 47 s"
    assert fmt.duration(65) == "1 h 05 min"
    assert fmt.duration(60) == "1 h"
    assert fmt.duration(20) == "20 min"
    assert fmt.duration(3 + 5 / 60) == "3 min 05 s"
    assert fmt.duration(0.0119386) == "1 s"  # was "0.0119386 min"
    assert fmt.duration(0.00266272) == "0 s"
    assert fmt.duration(None) == "–"
    assert fmt.duration(-1.5) == "-1 min 30 s"


def test_shortfalls_round_down_and_ages_round_up():
    assert fmt.duration(59.999, rounding="down") == "59 min 59 s"  # half up would read "1 h", i.e. enough
    assert fmt.duration(359.6, rounding="down") == "5 h 59 min"  # last food, needs 6 h
    assert fmt.duration(15.001, rounding="up") == "15 min 01 s"  # past a 15 min limit, never "15 min"
    assert fmt.duration(15.1, rounding="up") == "15 min 06 s"  # no float noise (15.1 * 60 = 906.0000000000001)
    assert fmt.duration(16, rounding="up") == fmt.duration(16, rounding="down") == "16 min"


@given(minutes)
def test_rounded_down_never_reads_longer_and_rounded_up_never_shorter(m):
    assert fmt.parse_duration(fmt.duration(m, rounding="down")) <= m + 1e-9
    assert fmt.parse_duration(fmt.duration(m, rounding="up")) >= m - 1e-9


@given(minutes)
def test_durations_round_trip_to_their_precision(m):
    text = fmt.duration(m)
    assert "e" not in text and "." not in text
    assert re.fullmatch(r"\d+ s|\d+ min( \d\d s)?|\d+ h( \d\d min)?", text), text
    back = fmt.parse_duration(text)
    precision = 1 / 60 if m < 59.99 else 1.0  # to the second under an hour, to the minute from an hour
    assert abs(back - m) <= precision / 2 + 1e-9
    assert fmt.duration(back) == text  # what is shown reads back to itself


@given(minutes, minutes)
def test_longer_durations_never_read_shorter(a, b):
    lo, hi = sorted((a, b))
    assert fmt.parse_duration(fmt.duration(lo)) <= fmt.parse_duration(fmt.duration(hi))


def test_elapsed_since_start():
    start = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
    assert fmt.elapsed(start, start + timedelta(minutes=24, seconds=47)) == "24 min 47 s"
    assert fmt.elapsed("2026-11-30T10:00:00+00:00", start + timedelta(hours=1, minutes=5)) == "1 h 05 min"
    assert fmt.elapsed(None, start) == "–"


def test_differences_carry_their_sign():
    assert fmt.mg(1.46, sign=True) == "+1.5 mg"
    assert fmt.mg(-0.34, sign=True) == "-0.3 mg"
    assert fmt.mg(0.04, sign=True) == "0.0 mg"  # no sign on what rounds to nothing
    assert fmt.number(-4.06, 1, sign=True) == "-4.1"


def test_mg_to_the_protocol_step():
    assert fmt.mg(0.0119386) == "0.0 mg"
    assert fmt.mg(35.04) == "35.0 mg"
    assert fmt.mg(35.05) == "35.1 mg"  # half away from zero, not banker's rounding
    assert fmt.mg(37.5, 5) == "40 mg"
    assert fmt.mg(112.4, 25) == "100 mg"
    assert fmt.mg(-0.01) == "0.0 mg"  # never "-0.0"
    assert fmt.mg(None) == "–"
    with pytest.raises(InvalidValue):
        fmt.mg(1.0, -0.1)
    with pytest.raises(InvalidValue):
        fmt.mg(float("nan"))


@given(st.one_of(values, tiny), steps)
def test_mg_has_no_exponent_no_more_decimals_than_the_step_and_is_on_the_grid(value, step):
    text = fmt.mg(value, step)
    assert text.endswith(" mg")
    number = text[:-3]
    assert "e" not in number.lower() and number != "-0.0"
    step_places = max(0, -Decimal(repr(step)).normalize().as_tuple().exponent)
    places = len(number.split(".")[1]) if "." in number else 0
    assert places == step_places
    shown = Decimal(number)
    assert shown % Decimal(repr(step)) == 0
    assert abs(float(shown) - value) <= step / 2 + 1e-9 * max(1.0, abs(value))


@given(st.one_of(values, tiny), st.integers(min_value=0, max_value=4))
def test_numbers_and_vitals_never_use_scientific_notation(value, places):
    text = fmt.number(value, places)
    assert "e" not in text.lower()
    assert (len(text.split(".")[1]) if "." in text else 0) == places
    v = fmt.vital(value)
    assert "e" not in v.lower() and not v.endswith(".0")


def test_vitals_as_monitors_show_them():
    assert fmt.vital(182.0) == "182" and fmt.vital(36.55) == "36.6" and fmt.vital(None) == "–"


def test_times_in_the_clinic_zone_labelled_with_it():
    t = "2026-11-30T13:05:09+00:00"
    assert fmt.clock_time(t, UTC) == "13:05:09 UTC"
    assert fmt.date_time(t, UTC) == "2026-11-30 13:05 UTC"  # as the pages showed before the setting existed
    berlin = fmt.zone("Europe/Berlin")
    assert fmt.clock_time(t, berlin) == "14:05:09 CET"
    assert fmt.clock_time(t, berlin, seconds=False, label=False) == "14:05"
    assert fmt.date_time(datetime(2026, 7, 1, 12, 0, tzinfo=UTC), berlin) == "2026-07-01 14:00 CEST"
    assert fmt.zone_label(berlin, "2026-07-01T12:00:00Z") == "CEST" and fmt.zone_label(fmt.zone("UTC")) == "UTC"
    # a timestamp without a zone comes from the store, which keeps UTC
    assert fmt.clock_time(datetime(2026, 11, 30, 13, 5, 9), berlin) == "14:05:09 CET"
    assert fmt.clock_time(None, UTC) == "–" and fmt.date_time(None, UTC) == ""
    with pytest.raises(InvalidValue):
        fmt.zone("Mars/Olympus_Mons")


def test_the_timezone_setting_defaults_to_utc_and_refuses_unknown_zones(monkeypatch):
    from pydantic import ValidationError

    from ketacare.config import Settings

    monkeypatch.delenv("KETACARE_TIMEZONE", raising=False)
    assert Settings().timezone == "UTC"
    monkeypatch.setenv("KETACARE_TIMEZONE", "America/New_York")
    assert Settings().timezone == "America/New_York"
    monkeypatch.setenv("KETACARE_TIMEZONE", "Mars/Olympus_Mons")
    with pytest.raises(ValidationError, match="timezone"):
        Settings()


def test_entered_amounts_are_shown_exactly_not_rounded_to_a_ketamine_step():
    assert fmt.amount(0.25, "mg") == "0.25 mg"  # a rescue dose: never "0.3 mg"
    assert fmt.amount(2.0, "mg") == "2 mg" and fmt.amount(0.125) == "0.125" and fmt.amount(None) == "–"
    assert fmt.amount(-0.0001) == "0"


@given(st.one_of(values, tiny))
def test_amounts_never_use_scientific_notation_or_trailing_zeros(value):
    text = fmt.amount(value)
    assert "e" not in text.lower() and not (("." in text) and text.endswith("0"))
    assert abs(float(text) - value) <= 0.0005 + 1e-9 * max(1.0, abs(value))
