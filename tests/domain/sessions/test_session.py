"""Session state machine: every (state, event) pair, every guard subset, overrides, and random walks."""

from __future__ import annotations

import itertools
from dataclasses import replace

import pytest
from hypothesis import event as hypothesis_event
from hypothesis import given, settings
from hypothesis import strategies as st

from ketacare.domain.errors import InvalidValue
from ketacare.domain.sessions.session import (
    Event,
    InvalidTransition,
    Override,
    SessionFacts,
    State,
    TransitionRefused,
    allowed_events,
    load_session_rules,
    transition,
)
from ketacare.domain.sessions.vitals import VitalSigns
from ketacare.services.access import roles_for

S, E = State, Event

# The state diagram, written out independently of the data file.
EXPECTED = {
    (S.SCHEDULED, E.CHECK_IN): S.CHECKED_IN,
    (S.CHECKED_IN, E.PASS_PRECHECKS): S.PRECHECKS_PASSED,
    (S.PRECHECKS_PASSED, E.START_INFUSION): S.INFUSING,
    (S.INFUSING, E.PAUSE): S.PAUSED,
    (S.PAUSED, E.RESUME): S.INFUSING,
    (S.INFUSING, E.END_INFUSION): S.RECOVERY,
    (S.PAUSED, E.END_INFUSION): S.RECOVERY,
    (S.RECOVERY, E.DISCHARGE): S.DISCHARGED,
}
NON_FINAL = [s for s in State if s not in (S.DISCHARGED, S.ABORTED)]
for _s in NON_FINAL:
    EXPECTED[(_s, E.ABORT)] = S.ABORTED

PRE_GUARDS = [
    "consent_on_file", "eligibility_current", "dose_order_signed", "dose_order_double_checked",
    "baseline_vitals_within_limits", "fasting_confirmed", "escort_confirmed", "pregnancy_test_negative",
    "questionnaires_done", "min_interval_since_last_session", "course_safety_clear",
]  # fmt: skip
NOT_OVERRIDABLE = {"consent_on_file", "dose_order_signed", "rems_observation_2h"}
# The rules as the services build them: overridable guards may be overridden by the policy's override roles.
RULES = load_session_rules(override_by=roles_for("override_guard", "infusion_session"))

BASELINE = VitalSigns(sbp=128, dbp=80, hr=72, spo2=98, rr=14)


def good_facts(product: str = "racemic_ketamine") -> SessionFacts:
    """Facts with every guard passing."""
    return SessionFacts(
        product=product, consent_on_file=True, eligibility_current=True, dose_order_signed=True,
        dose_order_double_checked=True, baseline_vitals=BASELINE, minutes_since_last_food=180,
        minutes_since_last_liquid=60, escort_confirmed=True, pregnancy_test_applicable=True,
        pregnancy_test_negative=True, anxiety_scale_done=True, cssrs_done=True,
        minutes_since_last_session=2 * 1440,
        unresolved_high_alerts=0, observation_min=130, current_vitals=VitalSigns(sbp=132, dbp=84, hr=76),
        latest_spo2_pct=97, latest_spo2_age_min=3, latest_spo2_on_oxygen=False, latest_rr_per_min=14,
        latest_rr_age_min=3, aldrete_score=10, aldrete_respiration_spo2_full=True,
        dissociation_resolved=True, sedation_resolved=True, escort_present=True, instructions_acknowledged=True,
    )  # fmt: skip


# One way to break each guard, as a clinician would see it.
BREAK = {
    "consent_on_file": lambda f: replace(f, consent_on_file=False),
    "eligibility_current": lambda f: replace(f, eligibility_current=False),
    "dose_order_signed": lambda f: replace(f, dose_order_signed=False),
    "dose_order_double_checked": lambda f: replace(f, dose_order_double_checked=False),
    "baseline_vitals_within_limits": lambda f: replace(
        f, baseline_vitals=VitalSigns(sbp=152, dbp=96, hr=72, spo2=98, rr=14),
        current_vitals=VitalSigns(sbp=150, dbp=95, hr=74)),
    "fasting_confirmed": lambda f: replace(f, minutes_since_last_food=45),
    "escort_confirmed": lambda f: replace(f, escort_confirmed=False),
    "pregnancy_test_negative": lambda f: replace(f, pregnancy_test_negative=None),
    "questionnaires_done": lambda f: replace(f, cssrs_done=False),
    "min_interval_since_last_session": lambda f: replace(f, minutes_since_last_session=600),
    "course_safety_clear": lambda f: replace(f, course_safety_holds=1),
    "instructions_acknowledged": lambda f: replace(f, instructions_acknowledged=False),
    "no_unresolved_high_alert": lambda f: replace(f, unresolved_high_alerts=1),
    "no_open_high_alert": lambda f: replace(f, unacknowledged_high_alerts=1),
    "spo2_at_discharge": lambda f: replace(f, latest_spo2_pct=89),
    "rr_at_discharge": lambda f: replace(f, latest_rr_per_min=8),
    "rems_observation_2h": lambda f: replace(f, observation_min=100),
    "observation_time_met": lambda f: replace(f, observation_min=30),
    "vitals_near_baseline": lambda f: replace(f, current_vitals=VitalSigns(
        sbp=f.baseline_vitals.sbp + 40, dbp=f.baseline_vitals.dbp + 25, hr=f.baseline_vitals.hr + 30)),
    "aldrete_at_threshold": lambda f: replace(f, aldrete_score=7),
    "dissociation_resolved": lambda f: replace(f, dissociation_resolved=False),
    "sedation_resolved": lambda f: replace(f, sedation_resolved=False),
    "escort_present": lambda f: replace(f, escort_present=False),
}  # fmt: skip


def broken(guards, product="racemic_ketamine") -> SessionFacts:
    f = good_facts(product)
    # The baseline breaker sets both baseline and current vitals, and the near-baseline breaker moves the current
    # vitals away from whatever the baseline is, and the 2 h REMS breaker (100 min) would mend the 60 min one (30 min):
    # apply them in that order so breaking one never mends the other.
    order = sorted(
        guards,
        key=lambda g: (g != "baseline_vitals_within_limits", g == "vitals_near_baseline", g == "observation_time_met"),
    )
    for g in order:
        f = BREAK[g](f)
    return f


@pytest.mark.parametrize("state", list(State))
@pytest.mark.parametrize("event", list(Event))
def test_every_state_event_pair(state, event):
    facts = good_facts()
    if (state, event) in EXPECTED:
        result = transition(state, event, facts, reason="patient unwell" if event is E.ABORT else None)
        assert result.allowed
        assert result.new_state is EXPECTED[(state, event)]
        assert result.failed_guards == () and result.overrides_used == ()
    else:
        with pytest.raises(InvalidTransition):
            transition(state, event, facts, reason="x")


def test_allowed_events_match_the_diagram():
    for state in State:
        assert set(allowed_events(state)) == {e for (s, e) in EXPECTED if s is state}
    assert allowed_events(S.DISCHARGED) == () and allowed_events(S.ABORTED) == ()


@pytest.mark.parametrize(
    "event,state", [(E.PASS_PRECHECKS, S.CHECKED_IN), (E.START_INFUSION, S.PRECHECKS_PASSED)]
)
def test_every_subset_of_pre_infusion_guards(event, state):
    for n in range(len(PRE_GUARDS) + 1):
        for subset in itertools.combinations(PRE_GUARDS, n):
            result = transition(state, event, broken(subset))
            assert {g.id for g in result.failed_guards} == set(subset)
            assert result.new_state is (state if subset else EXPECTED[(state, event)])
            assert all(g.message and g.source for g in result.failed_guards)


@pytest.mark.parametrize(
    "product,guards",
    [
        ("racemic_ketamine", ["observation_time_met", "no_open_high_alert", "spo2_at_discharge",
                              "rr_at_discharge", "vitals_near_baseline", "aldrete_at_threshold",
                              "dissociation_resolved", "sedation_resolved", "escort_present"]),
        ("esketamine", ["rems_observation_2h", "no_open_high_alert", "spo2_at_discharge", "rr_at_discharge",
                        "vitals_near_baseline", "aldrete_at_threshold",
                        "dissociation_resolved", "sedation_resolved", "escort_present"]),
    ],
)  # fmt: skip
def test_every_subset_of_discharge_guards(product, guards):
    for n in range(len(guards) + 1):
        for subset in itertools.combinations(guards, n):
            result = transition(S.RECOVERY, E.DISCHARGE, broken(subset, product))
            assert {g.id for g in result.failed_guards} == set(subset)
            assert result.new_state is (S.RECOVERY if subset else S.DISCHARGED)


def test_esketamine_needs_two_hours_and_iv_the_clinic_minimum():
    f = replace(good_facts("esketamine"), observation_min=119)
    assert [g.id for g in transition(S.RECOVERY, E.DISCHARGE, f).failed_guards] == ["rems_observation_2h"]
    assert transition(S.RECOVERY, E.DISCHARGE, replace(f, observation_min=120)).new_state is S.DISCHARGED
    iv = replace(good_facts(), observation_min=60)
    assert transition(S.RECOVERY, E.DISCHARGE, iv).new_state is S.DISCHARGED
    assert not transition(S.RECOVERY, E.DISCHARGE, replace(iv, observation_min=59)).allowed


def test_resume_needs_high_alerts_resolved():
    assert transition(S.PAUSED, E.RESUME, good_facts()).new_state is S.INFUSING
    result = transition(S.PAUSED, E.RESUME, replace(good_facts(), unresolved_high_alerts=1))
    assert [g.id for g in result.failed_guards] == ["no_unresolved_high_alert"]


def test_failed_guard_message_names_the_values():
    result = transition(S.CHECKED_IN, E.PASS_PRECHECKS, broken(["baseline_vitals_within_limits"]))
    msg = result.failed_guards[0].message
    assert "systolic BP 152 mmHg above 140" in msg and "diastolic BP 96 mmHg above 90" in msg
    with pytest.raises(TransitionRefused, match="baseline_vitals_within_limits"):
        result.raise_if_refused()


def test_prescriber_override_is_recorded():
    facts = broken(["baseline_vitals_within_limits", "min_interval_since_last_session"])
    ov = Override(
        by="Dr Okafor",
        role="prescriber",
        reason="known white-coat hypertension; home BP 128/82",
        guard_ids=frozenset({"baseline_vitals_within_limits", "min_interval_since_last_session"}),
    )
    result = transition(S.PRECHECKS_PASSED, E.START_INFUSION, facts, override=ov, rules=RULES)
    assert result.new_state is S.INFUSING
    assert {o.guard_id for o in result.overrides_used} == ov.guard_ids
    assert all(
        o.by == "Dr Okafor" and o.role == "prescriber" and "white-coat" in o.reason
        for o in result.overrides_used
    )


def test_override_only_covers_the_named_guards():
    facts = broken(["baseline_vitals_within_limits", "escort_confirmed"])
    ov = Override(
        by="Dr Okafor",
        role="prescriber",
        reason="reviewed",
        guard_ids=frozenset({"baseline_vitals_within_limits"}),
    )
    result = transition(S.CHECKED_IN, E.PASS_PRECHECKS, facts, override=ov, rules=RULES)
    assert not result.allowed and [g.id for g in result.failed_guards] == ["escort_confirmed"]
    assert result.overrides_used == ()


def test_override_needs_an_allowed_role():
    ov = Override(
        by="RN Lee",
        role="nurse",
        reason="BP fine on recheck",
        guard_ids=frozenset({"baseline_vitals_within_limits"}),
    )
    result = transition(
        S.CHECKED_IN, E.PASS_PRECHECKS, broken(["baseline_vitals_within_limits"]), override=ov, rules=RULES
    )
    assert not result.allowed
    assert "not allowed (allowed: prescriber)" in result.failed_guards[0].message


@pytest.mark.parametrize("guard", ["consent_on_file", "dose_order_signed"])
def test_consent_and_signature_cannot_be_overridden(guard):
    ov = Override(by="Dr Okafor", role="prescriber", reason="urgent", guard_ids=frozenset({guard}))
    result = transition(S.CHECKED_IN, E.PASS_PRECHECKS, broken([guard]), override=ov, rules=RULES)
    assert not result.allowed and "allowed: nobody" in result.failed_guards[0].message


def test_override_needs_a_reason_and_a_person():
    with pytest.raises(InvalidValue, match="reason"):
        Override(by="Dr Okafor", role="prescriber", reason="  ", guard_ids=frozenset({"escort_confirmed"}))
    with pytest.raises(InvalidValue, match="by"):
        Override(by="", role="prescriber", reason="ok", guard_ids=frozenset({"escort_confirmed"}))


def test_abort_needs_a_reason_and_is_final():
    with pytest.raises(InvalidValue, match="reason"):
        transition(S.INFUSING, E.ABORT, good_facts())
    result = transition(S.INFUSING, E.ABORT, good_facts(), reason="BP 204/122 persisting; infusion stopped")
    assert result.new_state is S.ABORTED and result.reason.startswith("BP 204/122")
    with pytest.raises(InvalidTransition):
        transition(S.ABORTED, E.ABORT, good_facts(), reason="again")


def test_clinic_settings_and_roles_from_data():
    rules = load_session_rules({"aldrete_min_score": 8}, {"escort_present": ["prescriber", "charge_nurse"]})
    f = replace(good_facts(), aldrete_score=8, escort_present=False)
    ov = Override(
        by="RN Chen",
        role="charge_nurse",
        reason="taxi booked by clinic",
        guard_ids=frozenset({"escort_present"}),
    )
    result = transition(S.RECOVERY, E.DISCHARGE, f, override=ov, rules=rules)
    assert result.new_state is S.DISCHARGED and result.overrides_used[0].role == "charge_nurse"
    with pytest.raises(InvalidValue):
        load_session_rules({"esketamine_observation_min": 90})
    with pytest.raises(InvalidValue):
        load_session_rules(override_roles={"consent_on_file": ["prescriber"]})
    with pytest.raises(InvalidValue):
        load_session_rules({"no_such_setting": 1})


def test_every_guard_and_setting_has_a_source():
    rules = RULES
    assert set(rules.guards) == set(BREAK)
    assert all(g.source.strip() and g.message.strip() for g in rules.guards.values())
    assert {g for g, spec in rules.guards.items() if not spec.override_roles} == NOT_OVERRIDABLE


# ---- random walks: nothing reaches `infusing` unless every guard passed or was overridden with a reason ----

ALL_GUARDS = sorted(BREAK)
overrides = st.one_of(
    st.none(),
    st.tuples(
        st.sampled_from(["prescriber", "nurse"]), st.frozensets(st.sampled_from(ALL_GUARDS), min_size=1)
    ),
)


def effective(broken_guards: frozenset[str], product: str) -> set[str]:
    """Guards that actually fail: the two observation guards apply to one product each."""
    eff = set(broken_guards)
    if product == "esketamine" and "observation_time_met" in eff:
        eff = (eff - {"observation_time_met"}) | {"rems_observation_2h"}
    if product == "racemic_ketamine":
        eff.discard("rems_observation_2h")
    if "no_unresolved_high_alert" in eff:  # an unresolved high alert also blocks discharge
        eff.add("no_open_high_alert")
    return eff


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(["racemic_ketamine", "esketamine"]), st.data())
def test_random_walks_never_infuse_without_guards(product, data):
    state = S.SCHEDULED
    rules = RULES
    visited_prechecks = False
    infused = 0
    for _ in range(data.draw(st.integers(1, 30), label="steps")):
        # mostly meaningful events (so walks go deep), sometimes any event
        pool = [e for e in allowed_events(state) if e is not E.ABORT] or list(Event)
        event = data.draw(st.one_of(st.sampled_from(pool), st.sampled_from(list(Event))), label="event")
        broken_guards = data.draw(st.frozensets(st.sampled_from(ALL_GUARDS), max_size=3), label="broken")
        ov_spec = data.draw(overrides, label="override")
        facts = broken(broken_guards, product)
        ov = None
        if ov_spec is not None:
            ov = Override(by="someone", role=ov_spec[0], reason="clinical judgement", guard_ids=ov_spec[1])
        try:
            result = transition(state, event, facts, override=ov, reason="stopped by patient", rules=RULES)
        except InvalidTransition:
            assert (state, event) not in EXPECTED
            continue
        assert (state, event) in EXPECTED
        eff = effective(broken_guards, product)
        tr = rules.find(state, event)
        must_pass = set(tr.guards) & eff
        if result.new_state is S.INFUSING and state is not S.INFUSING:
            infused += 1
            if state is S.PRECHECKS_PASSED:
                assert set(PRE_GUARDS) <= set(tr.guards)
                assert visited_prechecks
            overridden = {o.guard_id for o in result.overrides_used}
            assert must_pass == overridden  # every broken guard was overridden, and only those are recorded
            assert not (overridden & NOT_OVERRIDABLE)
            assert all(o.role == "prescriber" and o.reason for o in result.overrides_used)
        if result.allowed:
            assert {o.guard_id for o in result.overrides_used} == must_pass
        else:
            assert result.new_state is state
            assert {g.id for g in result.failed_guards} <= must_pass
        if result.new_state is S.PRECHECKS_PASSED:
            visited_prechecks = True
        state = result.new_state
    hypothesis_event(f"final state {state}")
    hypothesis_event(f"entered infusing {min(infused, 2)}+ times")


def test_without_override_roles_nobody_may_override():
    ov = Override(
        by="Dr Okafor",
        role="prescriber",
        reason="reviewed",
        guard_ids=frozenset({"baseline_vitals_within_limits"}),
    )
    result = transition(
        S.CHECKED_IN, E.PASS_PRECHECKS, broken(["baseline_vitals_within_limits"]), override=ov
    )
    assert not result.allowed and "allowed: nobody" in result.failed_guards[0].message
