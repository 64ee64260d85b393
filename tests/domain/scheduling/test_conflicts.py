"""Booking conflicts (pure): double bookings of a chair or nurse, working hours in local time across a clock
change, the protocol's minimum interval and weekly maximum, and a series' dates from a plan template."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from ketacare.domain.plans import plan_templates
from ketacare.domain.scheduling import (
    Shift,
    Slot,
    appointment_types,
    dosing_limits,
    find_conflicts,
    series_days,
    series_starts,
    within_shifts,
)

NY = ZoneInfo("America/New_York")
T0 = datetime(2026, 12, 7, 14, 0, tzinfo=UTC)  # Monday 09:00 in New York


def slot(start: datetime, minutes: float = 150, **kw) -> Slot:
    base = {"patient_id": 1, "dosing": False, "chair_id": 1, "staff_id": 10}
    base.update(kw)
    return Slot(start=start, end=start + timedelta(minutes=minutes), **base)


def test_a_second_infusion_in_the_same_chair_at_the_same_time_is_refused_naming_the_chair_and_the_booking():
    first = slot(T0, patient_id=1, ref=7)
    found = find_conflicts(slot(T0 + timedelta(minutes=30), patient_id=2, staff_id=11), [first], NY,
                           chair_name="Chair 3")
    assert [c.kind for c in found] == ["chair_taken"]
    assert found[0].field == "chair_id" and found[0].with_ref == 7
    assert "Chair 3 is already booked: appointment #7 (2026-12-07 09:00 EST-11:30)" in found[0].message


def test_the_same_nurse_cannot_be_in_two_places_and_back_to_back_is_fine():
    first = slot(T0, chair_id=1, patient_id=1, ref=1)
    clash = find_conflicts(slot(T0 + timedelta(minutes=60), chair_id=2, patient_id=2), [first], NY,
                           staff_name="Sam Lindqvist")
    assert [c.kind for c in clash] == ["staff_taken"] and clash[0].field == "staff_id"
    assert "Sam Lindqvist is already booked" in clash[0].message
    assert find_conflicts(slot(T0 + timedelta(minutes=150), chair_id=1, patient_id=2), [first], NY) == []


def test_outside_working_hours_is_refused_and_hours_are_local_wall_clock_across_the_clock_change():
    shifts = [Shift(10, wd, 8 * 60, 18 * 60) for wd in range(5)]
    # 08:00-10:30 local on a Monday in winter (EST) and in summer (EDT): inside both times
    assert within_shifts(slot(datetime(2026, 12, 7, 13, 0, tzinfo=UTC)), shifts, NY)
    assert within_shifts(slot(datetime(2026, 3, 9, 12, 0, tzinfo=UTC)), shifts, NY)  # after 8 March 2026 (DST)
    late = slot(datetime(2026, 12, 7, 22, 0, tzinfo=UTC))  # 17:00-19:30 local
    found = find_conflicts(late, [], NY, shifts=shifts, staff_name="Sam Lindqvist")
    assert [c.kind for c in found] == ["hours"]
    assert "Sam Lindqvist is not working 2026-12-07 17:00 EST-19:30" in found[0].message
    saturday = slot(datetime(2026, 12, 12, 14, 0, tzinfo=UTC))
    assert not within_shifts(saturday, shifts, NY)


def test_a_dosing_session_inside_the_protocols_minimum_interval_is_refused_with_the_source():
    limits = dosing_limits("iv-standard")
    assert limits.min_interval_h == 44.0 and limits.max_per_7_days == 3
    first = slot(T0, dosing=True, ref=3)
    next_day = slot(T0 + timedelta(hours=24), dosing=True, chair_id=2, staff_id=11)
    found = find_conflicts(next_day, [first], NY, limits=limits)
    assert [c.kind for c in found] == ["interval"]
    assert found[0].field == "starts_at" and found[0].with_ref == 3
    assert "at least 44 h apart" in found[0].message and "clinic default" in found[0].message
    # another patient's session, or a non-dosing visit of the same patient, does not count
    assert find_conflicts(next_day, [slot(T0, dosing=True, patient_id=2, ref=4)], NY, limits=limits) == []
    assert find_conflicts(next_day, [slot(T0, dosing=False, chair_id=None, ref=5)], NY, limits=limits) == []
    assert find_conflicts(slot(T0 + timedelta(hours=48), dosing=True), [first], NY, limits=limits) == []


def test_more_dosing_sessions_in_any_7_days_than_the_protocol_allows_is_refused_citing_the_trials():
    limits = dosing_limits("iv-standard")  # at most 3 in any 168 h
    week = [slot(T0 + timedelta(days=d), dosing=True, ref=d + 1) for d in (0, 2, 4)]
    found = find_conflicts(slot(T0 + timedelta(days=6), dosing=True), week, NY, limits=limits)
    assert [c.kind for c in found] == ["per_week"]
    assert "4 dosing sessions within 7 days" in found[0].message and "Murrough 2013" in found[0].message
    assert find_conflicts(slot(T0 + timedelta(days=7), dosing=True), week, NY, limits=limits) == []


def test_the_iv_induction_series_is_six_sessions_three_a_week_over_twelve_days():
    induction = plan_templates()["iv-induction"].induction
    days = series_days(induction, date(2026, 12, 7))
    assert [(d - days[0]).days for d in days] == [0, 2, 5, 7, 9, 12]
    esk = plan_templates()["esketamine-label"].induction
    dates = series_days(esk, date(2026, 12, 7))
    gaps = [(b - a).days for a, b in zip(dates, dates[1:], strict=False)]
    assert len(gaps) == 7 and set(gaps) == {3, 4}


def test_a_series_keeps_its_local_time_across_the_clock_change():
    induction = plan_templates()["iv-induction"].induction
    starts = series_starts(induction, date(2026, 10, 28), time(9, 0), NY)  # DST ends 1 Nov 2026
    assert {s.astimezone(NY).strftime("%H:%M") for s in starts} == {"09:00"}
    assert starts[0].hour == 13 and starts[-1].hour == 14  # 09:00 EDT, then 09:00 EST


def test_appointment_types_are_data_with_durations_resources_and_sources():
    types = appointment_types()
    assert set(types) == {"consultation", "screening", "infusion", "integration", "follow-up-call"}
    assert types["infusion"].needs_chair and types["infusion"].dosing
    assert types["integration"].needs_room and not types["integration"].dosing
    assert all(t.duration_min > 0 and t.source for t in types.values())


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 3), st.integers(10, 12), st.integers(0, 40), st.integers(1, 8),
                          st.integers(1, 4)), min_size=1, max_size=25))
def test_property_no_two_accepted_bookings_overlap_on_a_chair_or_a_nurse(requests):
    accepted: list[Slot] = []
    for i, (chair, nurse, start_q, length_q, patient) in enumerate(requests):
        s = Slot(start=T0 + timedelta(minutes=15 * start_q), end=T0 + timedelta(minutes=15 * (start_q + length_q)),
                 patient_id=patient, dosing=False, chair_id=chair, staff_id=nurse, ref=i + 1)
        if not find_conflicts(s, accepted, NY):
            accepted.append(s)
    for i, a in enumerate(accepted):
        for b in accepted[i + 1 :]:
            if a.overlaps(b):
                assert a.chair_id != b.chair_id and a.staff_id != b.staff_id and a.patient_id != b.patient_id
