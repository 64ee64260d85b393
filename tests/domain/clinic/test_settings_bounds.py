"""Clinic settings bounds (issue 13): alert thresholds move only within their safe range, phone links dial the
number shown."""

from __future__ import annotations

import pytest

from ketacare.domain.clinic import (
    check_phone,
    check_thresholds,
    dial_href,
    threshold_bounds,
    weight_policy_bounds,
)
from ketacare.domain.errors import InvalidValue
from ketacare.domain.sessions import load_alert_rules
from ketacare.domain.sources import bibliography

SHIPPED = {
    f"{r.id}.{c.vital}": c.value for r in load_alert_rules() for c in r.conditions if r.kind != "overdue"
}


def test_every_bound_names_a_real_threshold_holds_its_shipped_value_and_cites_sources():
    keys = set(bibliography())
    for b in threshold_bounds():
        assert b.key in SHIPPED, b.key
        assert b.min <= SHIPPED[b.key] <= b.max, b.key
        for part in b.source.split(", "):
            assert part == "clinic-default" or part in keys, part
    wb = weight_policy_bounds()
    assert wb.bmi_threshold_min < 30 < wb.bmi_threshold_max and set(wb.bases) == {"actual", "adjusted", "ideal"}


def test_a_threshold_inside_its_range_is_kept():
    assert check_thresholds({"spo2_low.spo2": 93}, SHIPPED) == {"spo2_low.spo2": 93.0}


def test_a_threshold_outside_its_range_is_refused_with_the_range():
    with pytest.raises(InvalidValue) as e:
        check_thresholds({"spo2_low.spo2": 80, "hr_low.hr": 20}, SHIPPED)
    errors = e.value.errors  # type: ignore[attr-defined]
    assert errors["threshold.spo2_low.spo2"] == "enter a value from 88 to 95 %"
    assert "40 to 60" in errors["threshold.hr_low.hr"]


def test_a_less_severe_alarm_stays_below_the_more_severe_one():
    with pytest.raises(InvalidValue) as e:
        check_thresholds({"bp_severe.sbp": 185, "bp_very_high.sbp": 182}, SHIPPED)
    assert "below the more severe alarm" in e.value.message


def test_an_unknown_threshold_is_refused():
    with pytest.raises(InvalidValue):
        check_thresholds({"made_up.hr": 100}, SHIPPED)


@pytest.mark.parametrize(
    ("number", "href"), [("988", "tel:988"), ("112", "tel:112"), ("+49 30 1234 5678", "tel:+493012345678")]
)
def test_the_link_dials_exactly_the_number_shown(number, href):
    assert dial_href(check_phone(number, "number")) == href


@pytest.mark.parametrize("bad", ["", "call us", "9", "Clinics: replace this line"])
def test_a_number_to_dial_must_be_digits(bad):
    with pytest.raises(InvalidValue):
        check_phone(bad, "number")
