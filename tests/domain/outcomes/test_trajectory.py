"""One patient's outcome from hand-made trajectories: the boundaries a clinician would check by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ketacare.domain.outcomes import Score, assess, reliable_change_index, shipped

T0 = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)  # first session starts
DEFS = shipped()


def at(days: float, total: float) -> Score:
    return Score(T0 + timedelta(days=days), total)


def gad7(*scores: Score, sessions: tuple[datetime, ...] = (T0,), sd: float | None = None):
    return assess("gad7", scores, sessions, DEFS, baseline_sd=sd)


def test_exactly_fifty_percent_is_a_response():
    a = gad7(at(-1, 16), at(7, 8))
    assert a.status == "responded"
    assert a.percent_change == -50.0
    assert a.responded_at == T0 + timedelta(days=7)
    assert a.days_to_response == 7


def test_just_under_fifty_percent_is_not_a_response():
    a = gad7(at(-1, 17), at(7, 9))  # 47 %
    assert a.status == "not_responded"
    assert a.responded_at is None


def test_missing_baseline_judges_nothing():
    a = gad7(at(3, 4), at(10, 3))
    assert a.status == "no_baseline"
    assert a.responded_at is None and a.remitted_at is None
    assert "before the first session" in a.reasons[0]


def test_a_baseline_older_than_the_window_does_not_count():
    a = gad7(at(-(DEFS.baseline_max_days + 1), 18), at(7, 3))
    assert a.status == "no_baseline"


def test_no_session_yet():
    a = gad7(at(-1, 15), sessions=())
    assert a.status == "no_session"


def test_remission_uses_the_instrument_cut_off():
    a = gad7(at(-1, 12), at(7, 5), at(14, 4))  # GAD-7 remission: total below 5
    assert a.remitted_at == T0 + timedelta(days=14)
    assert a.status == "remitted"
    h = assess("hama", [at(-1, 20), at(7, 7)], [T0], DEFS)  # HAM-A remission: 7 or less (Matza 2010)
    assert h.status == "remitted"


def test_relapse_after_remission_needs_two_scores_in_a_row():
    a = gad7(at(-1, 18), at(7, 4), at(14, 12), at(21, 6), at(28, 13), at(35, 14))
    # day 14 loses the benefit but day 21 regains it; days 28 and 35 confirm the relapse from day 28.
    assert a.remitted_at == T0 + timedelta(days=7)
    assert a.relapsed_at == T0 + timedelta(days=28)
    assert a.days_to_relapse == 21
    assert a.status == "relapsed"


def test_a_single_bad_score_after_response_is_not_yet_a_relapse():
    a = gad7(at(-1, 18), at(7, 8), at(14, 12))
    assert a.relapsed_at is None
    assert a.status == "not_responded"
    assert a.days_followed_after_response == 7  # censored at the last score


def test_a_24_hour_response_that_fades():
    a = gad7(at(-1, 20), at(1, 9), at(7, 15), at(14, 16), sessions=(T0, T0 + timedelta(days=3)))
    assert a.rapid_response is True
    assert a.rapid_score == at(1, 9)
    assert a.relapsed_at == T0 + timedelta(days=7)
    assert a.status == "relapsed"
    assert [p.point_id for p in a.points] == ["24h", "week2"]


def test_no_score_near_24_hours_leaves_rapid_response_unknown():
    a = gad7(at(-1, 20), at(4, 9))
    assert a.rapid_response is None


def test_best_and_latest():
    a = gad7(at(-2, 20), at(-1, 19), at(3, 6), at(9, 10))
    assert a.baseline == at(-1, 19)  # the newest before the first session
    assert a.best == at(3, 6)
    assert a.latest == at(9, 10)
    assert a.change_points == -9


def test_zero_baseline_has_no_percentage():
    a = gad7(at(-1, 0), at(7, 0))
    assert a.percent_change is None
    assert a.status == "remitted"


def test_reliable_change_index_formula():
    # SE = 4 * sqrt(1 - 0.75) = 2; S_diff = 2 * sqrt(2); RC = -8 / 2.828 = -2.83
    assert reliable_change_index(16, 8, 4.0, 0.75) == pytest.approx(-8 / (2 * 2**0.5))
    a = gad7(at(-1, 16), at(7, 8), sd=4.0)
    assert a.reliable_change is True
    assert gad7(at(-1, 16), at(7, 8)).reliable_change is None


def test_minimal_clinically_important_change():
    assert gad7(at(-1, 12), at(7, 8)).mcic_met is True  # 4 points (Toussaint 2020)
    assert gad7(at(-1, 12), at(7, 9)).mcic_met is False


totals = st.integers(min_value=0, max_value=21)


@settings(max_examples=150, deadline=None)
@given(baseline=totals, follow=st.lists(totals, min_size=1, max_size=12))
def test_properties(baseline, follow):
    scores = [at(-1, baseline), *[at(2 + 3 * i, v) for i, v in enumerate(follow)]]
    a = gad7(*scores)
    # a response date is the first score meeting the rule; remission implies a score below 5 on that day
    if a.responded_at is not None:
        first = next(s for s in scores[1:] if s.at == a.responded_at)
        assert baseline > 0 and (baseline - first.total) * 2 >= baseline
    else:
        assert all(baseline == 0 or (baseline - v) * 2 < baseline for v in follow)
    if a.remitted_at is not None:
        assert next(s for s in scores if s.at == a.remitted_at).total < 5
    # a relapse comes after a benefit, never before it
    if a.relapsed_at is not None:
        firsts = [t for t in (a.responded_at, a.remitted_at) if t is not None]
        assert firsts and a.relapsed_at > min(firsts)
    assert a.best is not None and a.best.total == min([baseline, *follow])
    assert a.latest is not None and a.latest.total == follow[-1]
