"""Treatment-resistance staging under Bokma 2019 and Delphi 2024, with pseudo-resistance."""

from __future__ import annotations

from ketacare.domain.eligibility import rule_sets

from .helpers import ACCEPTANCE_PATIENT, finding, fired, patient, run

SERTRALINE = {
    "kind": "medication",
    "drug": "sertraline",
    "dose_mg_per_day": 150,
    "weeks": 12,
    "adherence": "good",
    "outcome": "non_response",
}
ESCITALOPRAM = {**SERTRALINE, "drug": "escitalopram", "dose_mg_per_day": 20}
CBT = {
    "kind": "psychotherapy",
    "therapy": "cbt",
    "sessions": 14,
    "weeks": 16,
    "adherence": "good",
    "outcome": "non_response",
}


def test_both_rule_sets_are_shipped_as_data_and_bokma_is_the_default():
    assert set(rule_sets()) == {"bokma2019", "delphi2024"}
    assert run(patient()).rule_set == "bokma2019"
    assert run(patient(), "delphi2024").rule_set == "delphi2024"


def test_bokma_needs_a_drug_and_a_psychotherapy_delphi_accepts_two_drugs_alone():
    two_drugs = patient(prior_trials=[SERTRALINE, ESCITALOPRAM])
    bokma = run(two_drugs, "bokma2019")
    assert bokma.treatment_resistance.status == "not_met"
    assert "TR-NOT-MET" in fired(bokma) and bokma.decision == "not_eligible"
    delphi = run(two_drugs, "delphi2024")
    assert delphi.treatment_resistance.status == "met" and delphi.treatment_resistance.stage == 1
    assert delphi.decision == "eligible"


def test_delphi_accepts_one_adequate_cbt_course_alone_but_not_supportive_counselling():
    assert run(patient(prior_trials=[CBT]), "delphi2024").treatment_resistance.status == "met"
    supportive = {**CBT, "therapy": "supportive"}
    e = run(patient(prior_trials=[supportive]), "delphi2024")
    assert e.treatment_resistance.status == "not_met"
    assert "TR-TRIAL-NOT-COUNTED" in fired(e)


def test_bokma_counts_only_first_line_drugs():
    e = run(
        patient(prior_trials=[{**SERTRALINE, "drug": "buspirone", "dose_mg_per_day": 30}, CBT]), "bokma2019"
    )
    assert e.treatment_resistance.failed_adequate_pharmacological == 0
    assert "first-line" in finding(e, "TR-TRIAL-NOT-COUNTED").message
    e = run(
        patient(prior_trials=[{**SERTRALINE, "drug": "buspirone", "dose_mg_per_day": 30}, ESCITALOPRAM]),
        "delphi2024",
    )
    assert e.treatment_resistance.failed_adequate_pharmacological == 2


def test_low_dose_trial_is_pseudo_resistance_and_is_not_counted():
    e = run(patient(prior_trials=[{**SERTRALINE, "dose_mg_per_day": 25}, CBT]))
    assert e.treatment_resistance.failed_adequate_pharmacological == 0
    assert e.decision == "not_eligible"
    f = finding(e, "TR-PSEUDO-DOSE")
    assert "25 mg/day is below the minimum effective 50 mg/day" in f.message


def test_too_few_cbt_sessions_is_not_an_adequate_course():
    e = run(patient(prior_trials=[SERTRALINE, {**CBT, "sessions": 6}]))
    assert "6 sessions is fewer than the 12 required" in finding(e, "TR-PSEUDO-DURATION").message
    assert e.treatment_resistance.status == "not_met"


def test_a_trial_that_worked_is_not_a_failure_and_raises_no_flag():
    e = run(
        patient(
            prior_trials=[
                *ACCEPTANCE_PATIENT["prior_trials"],
                {**SERTRALINE, "outcome": "response", "dose_mg_per_day": 25},
            ]
        )
    )
    assert "TR-PSEUDO-DOSE" not in fired(e)
    assert e.decision == "eligible"


def test_reduction_of_50_percent_or_more_is_response_when_outcome_unknown():
    trial = {**SERTRALINE, "outcome": "unknown", "reduction_pct": 55}
    e = run(patient(prior_trials=[trial, CBT]))
    assert e.treatment_resistance.failed_adequate_pharmacological == 0
    trial = {**SERTRALINE, "outcome": "unknown", "reduction_pct": 20}
    assert run(patient(prior_trials=[trial, CBT])).treatment_resistance.failed_adequate_pharmacological == 1


def test_incomplete_trial_record_gives_insufficient_information_naming_the_field():
    trial = {k: v for k, v in SERTRALINE.items() if k != "dose_mg_per_day"}
    e = run(patient(prior_trials=[trial, CBT]))
    assert e.treatment_resistance.status == "undetermined"
    assert e.decision == "insufficient_information"
    keys = {m.key for m in e.missing}
    assert "prior_trials[0].dose_mg_per_day" in keys
    m = next(m for m in e.missing if m.key == "prior_trials[0].dose_mg_per_day")
    assert "treatment history" in m.where


def test_current_severity_below_threshold_means_not_resistant_now():
    e = run(patient(severity_scores=[{"instrument": "GAD-7", "total": 7, "date": "2025-03-10"}]))
    assert e.treatment_resistance.status == "not_met"
    assert "GAD-7 7 < 10" in finding(e, "TR-NOT-MET").message


def test_latest_score_counts_and_a_stale_score_is_missing():
    scores = [
        {"instrument": "gad7", "total": 16, "date": "2025-03-01"},
        {"instrument": "gad7", "total": 6, "date": "2025-03-09"},
    ]
    assert run(patient(severity_scores=scores)).treatment_resistance.status == "not_met"
    stale = run(patient(severity_scores=[{"instrument": "GAD-7", "total": 15, "date": "2024-10-01"}]))
    assert stale.decision == "insufficient_information"
    assert any(m.key == "severity_scores" and "older than 30 days" in (m.reason or "") for m in stale.missing)


def test_active_substance_use_flags_possible_pseudo_resistance():
    e = run(patient(substance_use=[{"substance": "Cannabis", "status": "active_use"}]))
    assert "pseudo-resistance" in finding(e, "TR-PSEUDO-SUBSTANCE").message
    assert e.decision == "eligible_with_cautions"


def test_stage_rises_with_more_failed_adequate_trials():
    trials = [
        SERTRALINE,
        ESCITALOPRAM,
        {**SERTRALINE, "drug": "venlafaxine", "dose_mg_per_day": 150},
        CBT,
        {**CBT, "therapy": "exposure_therapy", "sessions": 10},
    ]
    tr = run(patient(prior_trials=trials)).treatment_resistance
    assert (tr.stage, tr.failed_adequate_pharmacological, tr.failed_adequate_psychological) == (3, 3, 2)
