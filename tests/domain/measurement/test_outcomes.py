"""Outcome helpers: change from baseline and response / remission as each instrument defines them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ketacare.domain.errors import InvalidValue
from ketacare.domain.measurement.outcomes import change_from_baseline, evaluate_outcomes, percent_change


def test_change_and_percent_change():
    assert change_from_baseline(16, 8) == -8
    assert percent_change(16, 8) == -50.0
    assert percent_change(0, 3) is None
    assert change_from_baseline(None, 3) is None


def test_gad7_response_at_exactly_50_percent():
    assert evaluate_outcomes("gad7", 16, 8).outcomes["response"] is True
    assert evaluate_outcomes("gad7", 16, 9).outcomes["response"] is False
    assert evaluate_outcomes("gad7", 15, 7).outcomes["response"] is True  # 53%
    assert evaluate_outcomes("gad7", 15, 8).outcomes["response"] is False  # 46.7%


def test_gad7_remission_default_below_5_and_configurable():
    assert evaluate_outcomes("gad7", 15, 4).outcomes["remission"] is True
    assert evaluate_outcomes("gad7", 15, 5).outcomes["remission"] is False
    clinic = evaluate_outcomes("gad7", 15, 7, thresholds={"remission": 8})
    assert clinic.outcomes["remission"] is True
    assert clinic.overridden == ("remission",) and clinic.thresholds["remission"] == 8


def test_gad7_minimal_important_change_is_4_points():
    assert evaluate_outcomes("gad7", 12, 8).outcomes["minimal_important_change"] is True
    assert evaluate_outcomes("gad7", 12, 9).outcomes["minimal_important_change"] is False


def test_phq9_hedis_definitions():
    result = evaluate_outcomes("phq9", 20, 4)
    assert result.outcomes == {"response": True, "remission": True, "minimal_important_change": True}


def test_hama_remission_at_most_7():
    assert evaluate_outcomes("hama", 25, 7).outcomes["remission"] is True
    assert evaluate_outcomes("hama", 25, 8).outcomes["remission"] is False


def test_pdss_sr_response_is_40_percent():
    assert evaluate_outcomes("pdss_sr", 10, 6).outcomes["response"] is True
    assert evaluate_outcomes("pdss_sr", 10, 7).outcomes["response"] is False


def test_pcl5_change_thresholds():
    result = evaluate_outcomes("pcl5", 50, 40)
    assert result.outcomes["reliable_change"] is True
    assert result.outcomes["clinically_meaningful_change"] is True
    assert evaluate_outcomes("pcl5", 50, 41).outcomes["clinically_meaningful_change"] is False


def test_zero_baseline_leaves_percent_outcomes_undecided():
    result = evaluate_outcomes("gad7", 0, 0)
    assert result.outcomes["response"] is None and result.outcomes["remission"] is True


def test_missing_follow_up_total_decides_nothing():
    assert set(evaluate_outcomes("gad7", 12, None).outcomes.values()) == {None}


def test_refusals():
    with pytest.raises(InvalidValue):
        evaluate_outcomes("gad7", 22, 3)
    with pytest.raises(InvalidValue):
        evaluate_outcomes("gad7", 12, 3, thresholds={"cure": 2})
    with pytest.raises(InvalidValue):
        evaluate_outcomes("cssrs_screen", 1, 0)


def test_instruments_where_higher_is_better_define_no_outcomes():
    assert evaluate_outcomes("aldrete", 6, 10).outcomes == {}


@given(st.integers(0, 21), st.integers(0, 21))
def test_response_matches_the_arithmetic(baseline, current):
    result = evaluate_outcomes("gad7", baseline, current).outcomes["response"]
    if baseline == 0:
        assert result is None
    else:
        assert result == ((baseline - current) / baseline >= 0.5 - 1e-12)
