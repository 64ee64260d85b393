"""Delivered dose from pump events, compared with the order, and the PK input schedule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ketacare.domain.errors import InvalidValue
from ketacare.domain.sessions.infusion import InfusionEvent, delivered_dose

# Pack 2.1 worked example: 70 kg x 0.5 mg/kg = 35 mg in 100 mL over 40 min = 150 mL/h (0.875 mg/min).
CONC = 0.35  # mg/mL (35 mg in 100 mL)


def ev(kind, t, **kw):
    return InfusionEvent(kind, t, **kw)


def test_planned_35_mg_over_40_min():
    d = delivered_dose(
        [ev("start", 0, rate_ml_per_h=150), ev("stop", 40)],
        concentration_mg_per_ml=CONC, weight_kg=70, ordered_dose_mg=35,
    )  # fmt: skip
    assert d.delivered_mg == pytest.approx(35.0)
    assert d.delivered_mg_per_kg == pytest.approx(0.5)
    assert d.difference_mg == pytest.approx(0.0) and d.difference_pct == pytest.approx(0.0)
    assert d.pk_schedule() == {"infusions": [(0.0, 40.0, pytest.approx(0.875))], "boluses": []}


def test_pause_in_the_middle_gives_less_than_ordered():
    events = [ev("start", 0, rate_ml_per_h=150), ev("pause", 20), ev("resume", 25), ev("stop", 40)]
    d = delivered_dose(events, concentration_mg_per_ml=CONC, weight_kg=70, ordered_dose_mg=35)
    assert d.delivered_mg == pytest.approx(35 * 35 / 40)  # 30.625 mg: 35 of 40 min infused
    assert d.difference_mg == pytest.approx(-4.375)
    assert d.difference_pct == pytest.approx(-12.5)
    assert d.paused_min == pytest.approx(5) and d.infusing_min == pytest.approx(35)
    assert d.pk_schedule()["infusions"] == [
        (0.0, 20.0, pytest.approx(0.875)),
        (25.0, 40.0, pytest.approx(0.875)),
    ]
    # running 5 min longer after the pause delivers the full order
    longer = events[:-1] + [ev("stop", 45)]
    assert delivered_dose(
        longer, concentration_mg_per_ml=CONC, ordered_dose_mg=35
    ).delivered_mg == pytest.approx(35)


def test_rate_change_resume_at_new_rate_and_bolus():
    events = [
        ev("bolus", 0, bolus_mg=5),
        ev("start", 0, rate_mg_per_min=0.5),
        ev("rate_change", 10, rate_mg_per_min=1.0),
        ev("pause", 20),
        ev("resume", 22, rate_ml_per_h=60),  # 60 mL/h x 0.35 mg/mL = 0.35 mg/min
        ev("bolus", 25, bolus_ml=2),  # 0.7 mg
        ev("stop", 32),
    ]
    d = delivered_dose(events, concentration_mg_per_ml=CONC)
    assert d.delivered_mg == pytest.approx(5 + 5 + 10 + 0.35 * 10 + 0.7)
    assert d.pk_schedule()["boluses"] == [(0.0, 5.0), (25.0, pytest.approx(0.7))]
    assert d.delivered_mg_at(10) == pytest.approx(10)
    assert d.delivered_mg_at(21) == pytest.approx(20)
    assert d.ordered_mg is None and d.difference_pct is None


def test_datetimes_and_a_running_infusion():
    t0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    events = [ev("start", t0, rate_ml_per_h=150), ev("pause", t0 + timedelta(minutes=10))]
    d = delivered_dose(
        events, concentration_mg_per_ml=CONC, until=t0 + timedelta(minutes=15), ordered_dose_mg=35
    )
    assert d.running and d.delivered_mg == pytest.approx(8.75) and d.paused_min == pytest.approx(5)
    with pytest.raises(InvalidValue, match="still running"):
        delivered_dose(events, concentration_mg_per_ml=CONC)


@pytest.mark.parametrize(
    "events,field",
    [
        ([ev("start", 0, rate_ml_per_h=150), ev("stop", 40)], "concentration_mg_per_ml"),
        ([ev("start", 10, rate_mg_per_min=1), ev("stop", 5)], "events[1]"),
        ([ev("start", 0, rate_mg_per_min=1), ev("resume", 5), ev("stop", 9)], "events[1]"),
        ([ev("start", 0, rate_mg_per_min=1), ev("stop", 5), ev("bolus", 6, bolus_mg=1)], "events[2]"),
        ([ev("start", 0, rate_mg_per_min=1), ev("start", 5, rate_mg_per_min=1)], "events[1]"),
        ([ev("stop", 0)], "events[0]"),
    ],
)
def test_refused_event_sequences(events, field):
    with pytest.raises(InvalidValue) as exc:
        delivered_dose(events)
    assert exc.value.field == field


def test_refused_events():
    with pytest.raises(InvalidValue):
        InfusionEvent("start", 0)
    with pytest.raises(InvalidValue):
        InfusionEvent("start", 0, rate_mg_per_min=-1)
    with pytest.raises(InvalidValue):
        InfusionEvent("bolus", 0, bolus_mg=1, bolus_ml=1)
    with pytest.raises(InvalidValue):
        InfusionEvent("flush", 0)


@given(
    st.lists(
        st.tuples(st.sampled_from(["rate", "pause_resume", "bolus"]), st.floats(0.1, 10), st.floats(0, 3)),
        max_size=12,
    )
)
def test_total_equals_schedule_and_cumulative_is_monotone(steps):
    events = [ev("start", 0.0, rate_mg_per_min=1.0)]
    t, running = 0.0, True
    for kind, dt, x in steps:
        t += dt
        if kind == "rate" and running:
            events.append(ev("rate_change", t, rate_mg_per_min=x))
        elif kind == "pause_resume":
            events.append(ev("pause" if running else "resume", t))
            running = not running
        elif kind == "bolus":
            events.append(ev("bolus", t, bolus_mg=x))
    events.append(ev("stop", t + 1))
    d = delivered_dose(events)
    sched = d.pk_schedule()
    total = sum((e - s) * r for s, e, r in sched["infusions"]) + sum(m for _, m in sched["boluses"])
    assert d.delivered_mg == pytest.approx(total)
    assert d.delivered_mg_at(t + 1) == pytest.approx(d.delivered_mg)
    grid = [i * (t + 1) / 20 for i in range(21)]
    cum = [d.delivered_mg_at(x) for x in grid]
    assert all(b >= a - 1e-9 for a, b in zip(cum, cum[1:], strict=False))
