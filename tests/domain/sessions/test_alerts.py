"""Vitals alert rules: one alert per condition, hysteresis, escalation, overdue readings, lifecycle."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ketacare.domain.errors import InvalidValue
from ketacare.domain.sessions.alerts import (
    PRIORITIES,
    Alert,
    apply_changes,
    evaluate,
    load_alert_rules,
)
from ketacare.domain.sessions.vitals import VitalReading, VitalSigns
from ketacare.domain.sources import plain

BASELINE = VitalSigns(sbp=130, dbp=82, hr=72, spo2=98, rr=14)
RULES = load_alert_rules()


def bp(t, sbp, dbp, hr=76, spo2=98, rr=14):
    return VitalReading(t_min=t, sbp=sbp, dbp=dbp, hr=hr, spo2=spo2, rr=rr)


def run(readings, rules=RULES, baseline=BASELINE, phase="infusing", active=()):
    """Evaluate after each reading, as the live board would; return (all raised, all resolved, active)."""
    active = tuple(active)
    raised, resolved = [], []
    for i, r in enumerate(readings):
        ch = evaluate(readings[: i + 1], baseline, rules, r.t_min, active, phase=phase)
        raised += ch.raised
        resolved += ch.resolved
        active = apply_changes(active, ch)
    return raised, resolved, active


def test_186_104_during_infusion_raises_one_alert_with_advice():
    readings = [
        bp(0, 132, 84),
        bp(10, 150, 92),
        bp(20, 186, 104),
        bp(25, 184, 103),
        bp(30, 183, 104),
        bp(35, 178, 101),
    ]
    raised, resolved, active = run(readings)
    assert len(raised) == 1 and resolved == []
    alert = raised[0]
    assert alert.rule_id == "bp_severe" and alert.priority == "high"
    assert {"recheck", "pause", "call_prescriber"} <= set(alert.actions)
    assert "pause the infusion and call the prescriber" in alert.advice
    assert "BP 186/104 mmHg at 20 min" in alert.trigger
    assert alert.source and "Spravato label" in plain(alert.source)
    # acknowledging records who and what was done; the alert stays active (quieter) until resolved
    acked = alert.acknowledge(
        by="RN Lee", action_taken="rechecked 184/103; infusion paused; Dr Okafor called", at_min=26
    )
    assert acked.status == "acknowledged" and acked.active
    assert (
        acked.acknowledged_by == "RN Lee"
        and "infusion paused" in acked.action_taken
        and acked.acknowledged_at_min == 26
    )
    # still high on the next reading: no repeat, also not for the acknowledged alert
    later = readings + [bp(40, 187, 105)]
    ch = evaluate(later, BASELINE, RULES, 40, [acked])
    assert ch.raised == () and ch.resolved == ()
    # back down past the margin: resolved, with who acknowledged kept
    ch = evaluate(later + [bp(50, 166, 96)], BASELINE, RULES, 50, [acked])
    assert [a.id for a in ch.resolved] == [alert.id]
    done = ch.resolved[0]
    assert done.status == "resolved" and done.resolved_at_min == 50 and done.acknowledged_by == "RN Lee"


def test_hysteresis_no_flapping_around_the_threshold():
    sbps = [182, 176, 181, 175, 179, 183, 172, 169, 175, 178, 181]
    readings = [bp(5 * i, s, 95) for i, s in enumerate(sbps)]
    raised, resolved, _ = run(readings)
    severe = [a for a in raised if a.rule_id == "bp_severe"]
    assert [a.raised_at_min for a in severe] == [0, 50]  # once, then again only after falling to <= 170
    assert [a.resolved_at_min for a in resolved if a.rule_id == "bp_severe"] == [35]


@given(st.lists(st.integers(172, 199), min_size=1, max_size=40))
def test_a_hovering_value_never_storms(sbps):
    sbps = [185] + sbps  # first reading crosses 180; the rest never come back below the 170 release point
    readings = [bp(5 * i, s, 100) for i, s in enumerate(sbps)]
    raised, _, _ = run(readings)
    assert len([a for a in raised if a.group == "bp_high"]) == 1


def test_higher_rule_supersedes_lower_in_the_same_group():
    base = VitalSigns(sbp=118, dbp=74, hr=70, spo2=98, rr=14)
    readings = [bp(0, 120, 75), bp(10, 162, 90), bp(20, 186, 104)]
    raised, resolved, active = run(readings, baseline=base)
    assert [a.rule_id for a in raised] == ["bp_rise", "bp_severe"]
    assert raised[0].priority == "medium" and "change from baseline: systolic BP +44" in raised[0].trigger
    assert [(a.rule_id, a.resolution) for a in resolved] == [("bp_rise", "superseded by bp_severe")]
    assert [a.rule_id for a in active] == ["bp_severe"]


def test_rise_rule_needs_a_baseline():
    raised, _, _ = run([bp(0, 165, 90)], baseline=None)
    assert raised == []


def test_overdue_blood_pressure_during_infusion():
    readings = [bp(0, 130, 80), bp(10, 135, 82), VitalReading(t_min=20, spo2=98, hr=75)]
    ch = evaluate(readings, BASELINE, RULES, 25, [])
    assert ch.raised == ()
    ch = evaluate(readings, BASELINE, RULES, 26, [])
    assert [a.rule_id for a in ch.raised] == ["bp_overdue"] and ch.raised[0].priority == "medium"
    assert "no systolic BP/diastolic BP reading for 16 min" in ch.raised[0].trigger
    active = ch.raised
    assert evaluate(readings, BASELINE, RULES, 29, active).raised == ()  # not repeated
    ch = evaluate(readings + [bp(30, 134, 81)], BASELINE, RULES, 30, active)
    assert [a.resolution for a in ch.resolved] == ["reading received"]
    # in recovery the recovery cadence takes over: the infusion rule's alert resolves, the recovery rule counts
    # from the start of recovery (issue 11 point 5)
    ch = evaluate(readings, BASELINE, RULES, 40, active, phase="recovery", phase_start_min=40)
    assert ch.raised == () and ch.resolved[0].resolution == "no longer applies (session recovery)"
    ch = evaluate(readings, BASELINE, RULES, 61, [], phase="recovery", phase_start_min=40)
    assert "bp_overdue_recovery" in {a.rule_id for a in ch.raised}


def test_overdue_counts_from_phase_start_when_no_reading_yet():
    assert evaluate([], BASELINE, RULES, 9, [], phase_start_min=0).raised == ()
    raised = evaluate([], BASELINE, RULES, 16, [], phase_start_min=0).raised
    assert {a.rule_id for a in raised} == {"bp_overdue", "spo2_overdue"}


def test_sustained_tachycardia():
    hrs = [(0, 124), (2, 126), (4, 125)]
    readings = [VitalReading(t_min=t, hr=h, spo2=98) for t, h in hrs]
    assert run(readings)[0] == []
    raised, _, _ = run(readings + [VitalReading(t_min=6, hr=123, spo2=98)])
    assert [a.rule_id for a in raised] == ["hr_high_sustained"] and "for 6 min" in raised[0].trigger
    # a dip below 120 restarts the clock
    broken = [VitalReading(t_min=t, hr=h, spo2=98) for t, h in [(0, 125), (3, 118), (5, 125), (8, 126)]]
    assert run(broken)[0] == []


def test_spo2_hysteresis():
    readings = [VitalReading(t_min=t, spo2=s) for t, s in [(0, 97), (1, 91), (2, 93), (3, 91), (4, 94)]]
    raised, resolved, active = run(readings, phase="recovery")
    assert [a.rule_id for a in raised] == ["spo2_low"] and raised[0].priority == "high"
    assert [a.resolved_at_min for a in resolved] == [4] and active == ()


def test_readings_after_now_are_ignored():
    readings = [bp(0, 130, 80), bp(30, 190, 110)]
    assert evaluate(readings, BASELINE, RULES, 10, []).raised == ()


def test_clinic_overrides():
    rules = load_alert_rules({"bp_severe": {"thresholds": {"sbp": 170}, "priority": "medium"}})
    raised, _, _ = run([bp(0, 172, 90)], rules=rules)
    assert raised[0].rule_id == "bp_severe" and raised[0].priority == "medium"
    assert raised[0].source.startswith("clinic override (priority, thresholds)")
    assert all(a.rule_id != "bp_severe" for a in run([bp(0, 172, 90)])[0])  # shipped default untouched
    off = load_alert_rules({"bp_overdue": {"enabled": False}})
    assert all(a.rule_id != "bp_overdue" for a in evaluate([], BASELINE, off, 60, []).raised)
    with pytest.raises(InvalidValue, match="IEC 60601-1-8"):
        load_alert_rules({"bp_severe": {"priority": "urgent"}})
    with pytest.raises(InvalidValue):
        load_alert_rules({"no_such_rule": {"enabled": False}})
    with pytest.raises(InvalidValue):
        load_alert_rules({"bp_severe": {"thresholds": {"hr": 100}}})
    with pytest.raises(InvalidValue):
        load_alert_rules({"bp_severe": {"source": "me"}})


def test_rules_data_is_complete():
    assert {r.priority for r in RULES} <= set(PRIORITIES) and len(PRIORITIES) == 3
    for r in RULES:
        assert r.source.strip() and r.advice.strip() and r.actions
    ids = {r.id for r in RULES}
    assert {"bp_severe", "spo2_low", "rr_low", "hr_high_sustained", "bp_overdue", "bp_rise"} <= ids
    assert next(r for r in RULES if r.id == "spo2_low").conditions[0].value == 92
    assert next(r for r in RULES if r.id == "rr_low").conditions[0].value == 10


def _alert():
    return Alert(
        id="x@1", rule_id="bp_severe", group="bp_high", rank=2, priority="high", title="t", advice="a",
        actions=("recheck",), source="s", raised_at_min=1, trigger="BP 186/104 mmHg at 1 min",
    )  # fmt: skip


def test_lifecycle_refusals():
    a = _alert()
    with pytest.raises(InvalidValue):
        a.acknowledge(by=" ", action_taken="recheck", at_min=2)
    with pytest.raises(InvalidValue):
        a.acknowledge(by="RN Lee", action_taken="", at_min=2)
    with pytest.raises(InvalidValue):
        a.acknowledge(by="RN Lee", action_taken="recheck", at_min=0)
    acked = a.acknowledge(by="RN Lee", action_taken="recheck", at_min=2)
    with pytest.raises(InvalidValue):
        acked.acknowledge(by="RN Lee", action_taken="recheck", at_min=3)
    done = acked.resolve(at_min=5, reason="BP 160/90")
    assert not done.active
    with pytest.raises(InvalidValue):
        done.resolve(at_min=6, reason="again")
    with pytest.raises(InvalidValue):
        a.resolve(at_min=2, reason="")
