"""The titration advisor (issue 16): property tests (never above the hard limit, never escalates after an
intolerable session, every proposal cites a rule with a source, deterministic) and worked cases (Glue's ascending
design, response held, stop at the top dose)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ketacare.domain.plans import DoseLimits, SessionOutcome, propose_next
from ketacare.domain.sources import known, source_keys

SC = DoseLimits(hard_max_mg_per_kg=1.0, min_mg_per_kg=0.25, steps_mg_per_kg=(0.25, 0.5, 1.0), interval_days=7)
IV = DoseLimits(hard_max_mg_per_kg=1.0, min_mg_per_kg=0.2, interval_days=3.5)

sessions = st.builds(
    SessionOutcome,
    number=st.integers(1, 30),
    day=st.floats(0, 200),
    dose_mg_per_kg=st.floats(0.05, 2.0),
    score_before=st.none() | st.floats(0, 60),
    score_24h=st.none() | st.floats(0, 60),
    peak_sbp_rise_mmhg=st.none() | st.floats(-20, 90),
    cadss6_total=st.none() | st.floats(0, 24),
    max_side_effect_grade=st.integers(0, 5),
    rescue_given=st.booleans(),
    judged_intolerable=st.booleans(),
)
courses = st.lists(sessions, min_size=1, max_size=12).map(
    lambda xs: [SessionOutcome(**{**x.__dict__, "number": k + 1, "day": 3.5 * k}) for k, x in enumerate(xs)]
)
limits = st.sampled_from([SC, IV])


def _intolerable(s: SessionOutcome) -> bool:
    return (
        s.judged_intolerable
        or s.max_side_effect_grade >= 3
        or s.rescue_given
        or (s.peak_sbp_rise_mmhg or 0) > 40
        or (s.cadss6_total or 0) > 12
    )


@settings(max_examples=300, deadline=None)
@given(courses, st.none() | st.floats(1, 60), limits)
def test_never_above_the_hard_limit_and_never_up_after_an_intolerable_session(course, baseline, lim):
    p = propose_next(course, baseline, lim)
    if p.dose_mg_per_kg is not None:
        assert p.dose_mg_per_kg <= lim.hard_max_mg_per_kg + 1e-9
    if _intolerable(course[-1]):
        assert p.kind != "escalate"
        assert p.dose_mg_per_kg is None or p.dose_mg_per_kg <= min(
            course[-1].dose_mg_per_kg, lim.hard_max_mg_per_kg
        )


@settings(max_examples=300, deadline=None)
@given(courses, st.none() | st.floats(1, 60), limits)
def test_every_proposal_names_a_rule_with_a_known_source_and_is_deterministic(course, baseline, lim):
    p = propose_next(course, baseline, lim)
    assert p.rules
    for rule in p.rules:
        assert rule.id and rule.text
        assert source_keys(rule.source) and all(known(k) for k in source_keys(rule.source))
    assert propose_next(list(course), baseline, lim) == p


def test_glue_ascending_design_steps_up_weekly_and_stops_at_the_first_responding_dose():
    first = SessionOutcome(1, 0, 0.25, score_before=20, score_24h=18)
    p = propose_next([first], baseline=20, limits=SC)
    assert (p.kind, p.dose_mg_per_kg, p.interval_days) == ("escalate", 0.5, 7)
    second = SessionOutcome(2, 7, 0.5, score_before=18, score_24h=9)
    p = propose_next([first, second], baseline=20, limits=SC)
    assert (p.kind, p.dose_mg_per_kg, p.response) == ("hold", 0.5, "response")
    assert any(r.id == "response.hold" and r.source == "bandelow2006" for r in p.rules)


def test_exactly_50_percent_is_a_response_and_49_is_partial():
    assert propose_next([SessionOutcome(1, 0, 0.5, score_24h=10)], 20, IV).response == "response"
    assert propose_next([SessionOutcome(1, 0, 0.5, score_24h=10.2)], 20, IV).response == "partial"


def test_an_intolerable_session_steps_down_and_says_why():
    s = SessionOutcome(1, 0, 0.5, score_24h=19, max_side_effect_grade=3, rescue_given=True)
    p = propose_next([s], 20, SC)
    assert (p.kind, p.dose_mg_per_kg) == ("reduce", 0.25)
    assert {"tolerability.side_effect", "tolerability.rescue", "tolerability.no_escalation"} <= {
        r.id for r in p.rules
    }


def test_no_response_at_the_top_dose_twice_proposes_a_stop():
    course = [SessionOutcome(k + 1, 7 * k, 1.0, score_24h=19) for k in range(2)]
    p = propose_next(course, 20, SC)
    assert p.kind == "stop" and p.dose_mg_per_kg is None and p.rules[0].id == "stop.no_response_at_top"


def test_response_that_holds_spaces_the_sessions_out_but_not_beyond_the_maximum():
    course = [SessionOutcome(k + 1, 7 * k, 0.5, score_24h=8) for k in range(3)]
    p = propose_next(course, 20, SC)
    assert p.kind == "hold" and p.interval_days == 14
    long = [SessionOutcome(k + 1, 28 * k, 0.5, score_24h=8) for k in range(3)]
    assert propose_next(long, 20, SC).interval_days == 28


def test_without_a_baseline_it_holds_and_says_response_cannot_be_judged():
    p = propose_next([SessionOutcome(1, 0, 0.5, score_24h=8)], None, IV)
    assert p.kind == "hold" and p.response == "unknown" and p.cautions
