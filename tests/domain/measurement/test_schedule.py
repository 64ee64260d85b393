"""Assessment schedules: what a clinician expects to be due around sessions, and the follow-up clock reset."""

from datetime import UTC, datetime, timedelta

import pytest

from ketacare.domain.errors import InvalidValue
from ketacare.domain.measurement.schedule import Answered, due_status, load_plan, planned_items

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
PLAN = load_plan("standard")


def test_baseline_is_due_at_enrolment_and_ptsd_adds_pcl5():
    items = planned_items(PLAN, enrolled_at=T0, until=T0, primaries=["pcl5"])
    assert {(i.instrument_id, i.context) for i in items} == {
        ("gad7", "baseline"),
        ("phq9", "baseline"),
        ("pcl5", "baseline"),
    }


def _by_context(items, instrument_id):
    return {i.context for i in items if i.instrument_id == instrument_id}


def test_sad_patient_is_asked_mini_spin_at_baseline_before_each_session_at_24h_and_7d():
    s = T0 + timedelta(days=7)
    items = planned_items(PLAN, enrolled_at=T0, sessions=[s], until=s + timedelta(days=30), primaries=["mini_spin"])
    asked = _by_context(items, "mini_spin")
    assert {"baseline", "pre_session", "post_session", "follow_up_24h", "follow_up_7d", "follow_up"} <= asked
    assert "during_session" not in asked
    assert all(i.rater == "patient" for i in items if i.instrument_id == "mini_spin")


def test_two_diagnoses_get_both_primaries_once_each():
    items = planned_items(PLAN, enrolled_at=T0, until=T0, primaries=["pcl5", "gad7", "pcl5"])
    baseline = sorted(i.instrument_id for i in items if i.context == "baseline")
    assert baseline == ["gad7", "pcl5", "phq9"]


def test_no_diagnosis_gets_the_default_instruments():
    s = T0 + timedelta(days=7)
    plain = planned_items(PLAN, enrolled_at=T0, sessions=[s], until=s + timedelta(days=30))
    default = planned_items(PLAN, enrolled_at=T0, sessions=[s], until=s + timedelta(days=30), primaries=["gad7"])
    assert plain == default
    assert {i.instrument_id for i in plain} == {"gad7", "phq9", "cadss6", "moaas"}


def test_monthly_plan_asks_the_primary_at_its_follow_ups():
    items = planned_items(load_plan("monthly"), enrolled_at=T0, until=T0 + timedelta(days=60), primaries=["pdss_sr"])
    assert _by_context(items, "pdss_sr") == {"baseline", "follow_up"}


def test_unknown_primary_instrument_is_refused():
    with pytest.raises(InvalidValue):
        planned_items(PLAN, enrolled_at=T0, until=T0, primaries=["nope"])


def test_each_session_brings_pre_end_post_24h_and_7d_items():
    s = T0 + timedelta(days=7)
    items = planned_items(PLAN, enrolled_at=T0, sessions=[s], until=s + timedelta(days=8))
    contexts = {(i.instrument_id, i.context) for i in items if i.session_index == 0}
    assert ("cadss6", "during_session") in contexts and ("moaas", "during_session") in contexts
    assert {"pre_session", "post_session", "follow_up_24h", "follow_up_7d"} <= {c for _, c in contexts}
    pre = next(i for i in items if i.context == "pre_session")
    assert pre.opens_at == s - timedelta(hours=24)
    cadss = next(i for i in items if i.instrument_id == "cadss6")
    assert cadss.rater == "clinician" and cadss.opens_at == s + timedelta(minutes=60)


def test_follow_up_clock_resets_after_each_session():
    s1, s2 = T0 + timedelta(days=7), T0 + timedelta(days=30)
    items = planned_items(PLAN, enrolled_at=T0, sessions=[s1, s2], until=T0 + timedelta(days=60))
    follow = sorted({i.opens_at for i in items if i.context == "follow_up"})
    end1, end2 = s1 + timedelta(hours=1), s2 + timedelta(hours=1)
    assert follow[0] == end1 + timedelta(days=14)
    assert all(t < s2 for t in follow if t < end2)  # no follow-up from session 1 after session 2 started
    assert end2 + timedelta(days=14) in follow


def test_status_done_due_overdue_expired():
    answered = [Answered("gad7", "baseline", T0 + timedelta(hours=1))]
    now = T0 + timedelta(days=2)
    st = {
        (s.item.instrument_id, s.item.context): s.status
        for s in due_status(PLAN, enrolled_at=T0, answered=answered, now=now)
    }
    assert st[("gad7", "baseline")] == "done" and st[("phq9", "baseline")] == "due"
    later = due_status(PLAN, enrolled_at=T0, answered=answered, now=T0 + timedelta(days=10))
    assert {s.status for s in later if s.item.instrument_id == "phq9"} == {"overdue"}
    much_later = due_status(PLAN, enrolled_at=T0, answered=answered, now=T0 + timedelta(days=20))
    assert next(s for s in much_later if s.item.key.startswith("phq9:baseline")).status == "expired"


def test_pre_session_form_expires_when_its_session_starts():
    start = T0 + timedelta(days=5)
    before = due_status(PLAN, enrolled_at=T0, sessions=[start], now=start - timedelta(hours=2))
    pre = [s for s in before if s.item.context == "pre_session"]
    assert {s.status for s in pre} == {"due"} and all(s.item.expires_at == start for s in pre)
    after = due_status(PLAN, enrolled_at=T0, sessions=[start], now=start + timedelta(minutes=1))
    assert {s.status for s in after if s.item.context == "pre_session"} == {"expired"}
    # An answer given after the session started does not count for the form meant for before it.
    late = [Answered("gad7", "pre_session", start + timedelta(hours=1))]
    st = due_status(PLAN, enrolled_at=T0, sessions=[start], answered=late, now=start + timedelta(hours=2))
    assert next(s for s in st if s.item.key.startswith("gad7:pre_session")).status == "expired"


def test_every_item_has_an_expiry_and_weekly_checks_expire_when_the_next_opens():
    items = due_status(PLAN, enrolled_at=T0, now=T0 + timedelta(days=60))
    assert all(s.item.expires_at is not None for s in items)
    weekly = [s for s in items if s.item.context == "follow_up" and s.item.instrument_id == "gad7"]
    assert len(weekly) >= 3
    assert weekly[0].item.expires_at == weekly[1].item.opens_at
    assert {s.status for s in weekly[:-2]} == {"expired"}


def test_naive_session_time_refused_and_unknown_plan_refused():
    with pytest.raises(InvalidValue):
        planned_items(PLAN, enrolled_at=T0, sessions=[datetime(2026, 1, 9)], until=T0 + timedelta(days=9))
    with pytest.raises(InvalidValue):
        load_plan("nope")


def test_monthly_plan_reuses_session_events():
    assert load_plan("monthly").events == PLAN.events and load_plan("monthly").follow_up_every_days == 28
