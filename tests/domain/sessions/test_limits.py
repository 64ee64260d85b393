"""Alert limits per vital, read from the alert rules, and whether a value lies beyond one (and which)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ketacare.domain.sessions import load_alert_rules
from ketacare.domain.sessions.limits import flag_value, vital_limits

RULES = load_alert_rules()
LIMITS = vital_limits(RULES)


def test_the_limits_are_the_threshold_conditions_of_the_enabled_rules():
    expected = {
        (c.vital, c.op, c.value, r.id)
        for r in RULES
        if r.kind == "threshold" and r.enabled
        for c in r.conditions
    }
    assert {(lim.vital, lim.op, lim.value, lim.rule_id) for lim in LIMITS} == expected
    assert not any(lim.rule_id == "bp_rise" for lim in LIMITS)  # a rise over baseline has no fixed line


def test_a_disabled_rule_draws_no_limit():
    rules = load_alert_rules({"hr_low": {"enabled": False}})
    assert not any(lim.rule_id == "hr_low" for lim in vital_limits(rules))


def test_the_worst_limit_crossed_names_the_value():
    f = flag_value("sbp", 205, LIMITS)
    assert f is not None and f.limit.rule_id == "bp_very_high" and f.priority == "high" and f.word == "high"
    f = flag_value("sbp", 186, LIMITS)
    assert f is not None and f.limit.rule_id == "bp_severe"
    assert "systolic BP 186 mmHg: beyond the alert limit systolic BP ≥ 180 mmHg" in f.text
    f = flag_value("spo2", 89, LIMITS)
    assert f is not None and f.word == "low" and f.priority == "high"
    f = flag_value("hr", 125, LIMITS)
    assert f is not None and f.priority == "medium"  # beyond the sustained-HR limit; the alarm needs 5 min
    assert flag_value("sbp", 179, LIMITS) is None
    assert flag_value("hr", None, LIMITS) is None


@given(st.sampled_from(["sbp", "dbp", "hr", "spo2", "rr"]), st.floats(0, 300, allow_nan=False))
def test_a_value_is_flagged_exactly_when_it_crosses_some_limit(vital, value):
    crossing = [lim for lim in LIMITS if lim.vital == vital and lim.crossed(value)]
    f = flag_value(vital, value, LIMITS)
    assert (f is not None) == bool(crossing)
    if f is not None:
        assert f.limit in crossing
        ranks = {"high": 0, "medium": 1, "low": 2}
        assert ranks[f.priority] == min(ranks[lim.priority] for lim in crossing)
