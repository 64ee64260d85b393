"""Rapid response after one session: the baseline, the 4 h and 24 h scores, percent change and the verdict."""

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from ketacare.domain.plans.response import Score, percent_change_pct, rapid_response, response_definition

START = datetime(2026, 11, 29, 15, 0, tzinfo=UTC)
END = START + timedelta(minutes=40)


def _at(hours_after_end: float) -> datetime:
    return END + timedelta(hours=hours_after_end)


def test_the_definition_is_data_with_its_source():
    d = response_definition()
    assert d.threshold_pct == 50 and d.judged_at == "24h"
    assert "bandelow2006" in d.source
    assert [t.id for t in d.timepoints] == ["4h", "24h"]


def test_a_fall_of_exactly_half_at_24_h_is_a_rapid_response():
    scores = [Score(14, START - timedelta(hours=3), 1), Score(9, _at(4), 2), Score(7, _at(24), 3)]
    r = rapid_response("gad7", scores, infusion_started_at=START, infusion_ended_at=END)
    assert r.responder == "yes"
    assert r.at("4h").score.total == 9 and round(r.at("4h").change_pct, 1) == -35.7
    assert r.at("24h").change_pct == -50.0
    assert r.why == "24 h score 7 vs 14 before: 50 % lower (at least 50 % lower needed)"


def test_less_than_half_is_no_and_a_rise_says_higher():
    base = Score(10, START - timedelta(hours=1), 1)
    r = rapid_response("gad7", [base, Score(6, _at(24), 2)], infusion_started_at=START, infusion_ended_at=END)
    assert r.responder == "no" and "40 % lower" in r.why
    r = rapid_response("gad7", [base, Score(12, _at(24), 2)], infusion_started_at=START, infusion_ended_at=END)
    assert r.responder == "no" and "20 % higher" in r.why


def test_unknown_says_why_no_baseline_old_baseline_zero_baseline_no_24_h_score():
    old = Score(14, START - timedelta(days=8), 1)
    r = rapid_response("gad7", [old, Score(5, _at(24), 2)], infusion_started_at=START, infusion_ended_at=END)
    assert r.responder == "unknown" and r.baseline is None and "no score before the session" in r.why
    zero = Score(0, START - timedelta(hours=1), 3)
    r = rapid_response("gad7", [zero, Score(0, _at(24), 2)], infusion_started_at=START, infusion_ended_at=END)
    assert r.responder == "unknown" and "was 0" in r.why
    base = Score(14, START - timedelta(hours=1), 4)
    r = rapid_response("gad7", [base, Score(3, _at(40), 5)], infusion_started_at=START, infusion_ended_at=END)
    assert r.responder == "unknown" and "no 24 h score (16-36 h after the infusion)" == r.why
    r = rapid_response("gad7", [base], infusion_started_at=None, infusion_ended_at=None)
    assert r.responder == "unknown" and r.why == "the infusion was not given"


def test_the_score_nearest_the_time_point_counts_and_a_score_during_the_session_is_not_the_baseline():
    scores = [Score(15, START - timedelta(hours=2), 1), Score(2, START + timedelta(minutes=10), 2),
              Score(9, _at(2.5), 3), Score(8, _at(4.5), 4), Score(6, _at(30), 5), Score(7, _at(23), 6)]
    r = rapid_response("gad7", scores, infusion_started_at=START, infusion_ended_at=END)
    assert r.baseline.response_id == 1
    assert r.at("4h").score.response_id == 4 and r.at("24h").score.response_id == 6


@given(st.integers(1, 21), st.integers(0, 21))
def test_the_verdict_matches_the_percent_change(base, after):
    scores = [Score(base, START - timedelta(hours=1), 1), Score(after, _at(24), 2)]
    r = rapid_response("gad7", scores, infusion_started_at=START, infusion_ended_at=END)
    assert r.responder == ("yes" if 2 * (base - after) >= base else "no")
    assert r.at("24h").change_pct == percent_change_pct(base, after)
