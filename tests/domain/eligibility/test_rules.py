"""Each catalogue rule fires on a positive case and stays silent on a close negative case."""

from __future__ import annotations

from typing import Any

import pytest

from ketacare.domain.eligibility import rules
from ketacare.domain.eligibility.tables import condition_labels
from ketacare.domain.sources import plain

from .helpers import ACCEPTANCE_PATIENT, finding, fired, patient, run


def bp(s: float, d: float) -> dict[str, Any]:
    return {"blood_pressure": {"systolic_mmhg": s, "diastolic_mmhg": d, "date": "2025-03-10"}}


def cond(*codes: Any) -> dict[str, Any]:
    return {"conditions": list(codes)}


def dx(*codes: str) -> dict[str, Any]:
    return {"diagnoses": ["F41.1", *codes]}


def meds(*items: tuple[str, float]) -> dict[str, Any]:
    return {"medications": [{"name": n, "dose_mg_per_day": dose} for n, dose in items]}


def subst(name: str, status: str) -> dict[str, Any]:
    return {"substance_use": [{"substance": name, "status": status}]}


def extra_trial(**t: Any) -> dict[str, Any]:
    trial = {"kind": "medication", "adherence": "good", "outcome": "non_response", **t}
    return {"prior_trials": [*ACCEPTANCE_PATIENT["prior_trials"], trial]}


# rule id -> (positive changes, negative changes)
CASES: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "CI-ANEURYSM-AVM": (dx("I71.4"), cond("hypertension")),
    "CI-ICH-HISTORY": (dx("I61.9"), dx("I10")),
    "CI-HYPERSENSITIVITY": (
        {"allergies": [{"substance": "Ketamine", "reaction": "anaphylaxis"}]},
        {"allergies": ["penicillin"]},
    ),
    "CI-BP-UNCONTROLLED": (bp(185, 105), bp(180, 100)),
    "CI-BP-RISE-HAZARD": (cond("stroke_history"), cond("hypertension")),
    "CI-CARDIO-RECENT": (
        cond({"code": "myocardial_infarction", "date": "2025-01-10"}),
        cond({"code": "myocardial_infarction", "date": "2023-01-10"}),
    ),
    "CI-RAISED-ICP": (cond("raised_intracranial_pressure"), cond("glaucoma")),
    "CI-RAISED-IOP": (cond("open_eye_injury"), cond("glaucoma")),
    "CI-PREECLAMPSIA": (dx("O14.1"), dx("I10")),
    "CI-HYPERTHYROIDISM-UNTREATED": (cond("hyperthyroidism_untreated"), cond("hyperthyroidism")),
    "CI-PSYCHOTIC-DISORDER": (dx("F20.0"), cond("psychosis_history")),
    "CI-DISSOCIATIVE-USE": (subst("ketamine", "active_use"), subst("ketamine", "past")),
    "CI-PREGNANCY": ({"pregnant": True}, {"pregnant": False}),
    "CI-BREASTFEEDING": ({"breastfeeding": True}, {"breastfeeding": False}),
    "CI-HEPATIC-SEVERE": (cond("hepatic_impairment_severe"), cond("hepatic_impairment_moderate")),
    "CI-AGE-MINOR": ({"age_years": 17}, {"age_years": 18}),
    "SCOPE-NO-ANXIETY-DIAGNOSIS": ({"diagnoses": ["F32.1"]}, {"diagnoses": ["F32.1", "F40.10"]}),
    "TR-NOT-MET": ({"prior_trials": ACCEPTANCE_PATIENT["prior_trials"][:1]}, {}),
    "CA-BP-ELEVATED": (bp(150, 85), bp(140, 90)),
    "CA-HR-HIGH": (
        {"heart_rate": {"bpm": 115, "date": "2025-03-10"}},
        {"heart_rate": {"bpm": 110, "date": "2025-03-10"}},
    ),
    "CA-HYPERTENSION-HISTORY": (dx("I10"), dx("F32.1")),
    "CA-HYPERTENSIVE-ENCEPHALOPATHY": (dx("I67.4"), dx("I10")),
    "CA-CARDIOVASCULAR-DISEASE": (
        cond({"code": "myocardial_infarction", "date": "2023-01-10"}),
        cond({"code": "myocardial_infarction", "date": "2025-01-10"}),  # recent: the exclusion replaces it
    ),
    "CA-PSYCHOSIS-HISTORY": (cond("psychosis_history"), dx("F32.1")),
    "CA-MANIA-HISTORY": (dx("F31.1"), dx("F32.1")),
    "CA-SUBSTANCE-USE-DISORDER": (subst("cannabis", "active_disorder"), subst("cannabis", "past")),
    "CA-ALCOHOL": (subst("alcohol", "active_use"), subst("alcohol", "none")),
    "CA-BLADDER": (cond("cystitis"), cond("glaucoma")),
    "CA-COGNITIVE-IMPAIRMENT": (dx("G30.1"), dx("F32.1")),
    "CA-HEPATIC-MODERATE": (cond("hepatic_impairment_moderate"), cond("glaucoma")),
    "CA-HYPERTHYROIDISM": (dx("E05.0"), dx("E03.9")),
    "CA-GLAUCOMA": (cond("glaucoma"), cond("cystitis")),
    "CA-AGE-OLDER": ({"age_years": 65}, {"age_years": 64}),
    "CA-PRIOR-KETAMINE-REACTION": (cond("prior_adverse_reaction_ketamine"), cond("glaucoma")),
    "INFO-PANIC-EVIDENCE": ({"diagnoses": ["F41.0"]}, {"diagnoses": ["F41.1"]}),
    "INT-BZD-BLUNTED-RESPONSE": (meds(("lorazepam", 1.5)), meds(("zolpidem", 10))),
    "INT-CNS-DEPRESSANT": (meds(("oxycodone", 20)), meds(("sertraline", 100))),
    "INT-LAMOTRIGINE": (meds(("Lamictal", 200)), meds(("lithium", 800))),
    "INT-MAOI-BP": (meds(("phenelzine", 45)), meds(("sertraline", 100))),
    "INT-STIMULANT-BP": (meds(("methylphenidate", 36)), meds(("sertraline", 100))),
    "INT-CYP-INDUCER": (meds(("carbamazepine", 400)), meds(("sertraline", 100))),
    "INT-CYP-INHIBITOR": (meds(("clarithromycin", 1000)), meds(("sertraline", 100))),
    "INT-SSRI-BP": (meds(("sertraline", 100)), meds(("duloxetine", 60))),
    "INFO-MEDICATION-UNRECOGNISED": (meds(("Frobnicol", 5)), meds(("Zoloft", 100))),
    "TR-PSEUDO-DOSE": (
        extra_trial(drug="sertraline", dose_mg_per_day=25, weeks=12),
        extra_trial(drug="sertraline", dose_mg_per_day=50, weeks=12),
    ),
    "TR-PSEUDO-DURATION": (
        extra_trial(drug="escitalopram", dose_mg_per_day=20, weeks=4),
        extra_trial(drug="escitalopram", dose_mg_per_day=20, weeks=8),
    ),
    "TR-PSEUDO-NONADHERENCE": (
        extra_trial(drug="paroxetine", dose_mg_per_day=20, weeks=10, adherence="poor"),
        extra_trial(drug="paroxetine", dose_mg_per_day=20, weeks=10),
    ),
    "TR-TRIAL-NOT-COUNTED": (
        extra_trial(drug="mirtazapine", dose_mg_per_day=30, weeks=10),
        extra_trial(drug="citalopram", dose_mg_per_day=20, weeks=10),
    ),
    "TR-PSEUDO-SUBSTANCE": (subst("cannabis", "active_use"), subst("cannabis", "past")),
}


def test_every_catalogue_rule_has_a_positive_and_a_negative_case():
    assert set(CASES) == {r.id for r in rules()}


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_rule_fires_on_positive_case(rule_id: str):
    positive, _ = CASES[rule_id]
    e = run(patient(**positive))
    f = finding(e, rule_id)
    r = next(r for r in rules() if r.id == rule_id)
    assert f.severity == r.severity
    assert f.source == r.source and f.action == r.action
    if r.severity == "exclude":
        assert e.decision == "not_eligible"
    elif r.severity == "caution":
        assert e.decision in ("eligible_with_cautions", "insufficient_information")


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_rule_is_silent_on_negative_case(rule_id: str):
    _, negative = CASES[rule_id]
    assert rule_id not in fired(run(patient(**negative)))


def test_rule_ids_are_unique_and_catalogue_fields_are_complete():
    ids = [r.id for r in rules()]
    assert len(ids) == len(set(ids))
    for r in rules():
        assert r.severity in ("exclude", "caution", "info")
        assert r.statement and r.action and r.source and r.inputs
        if not r.verified:
            assert (
                "clinic-default" in r.source
                or "ketacare-design" in r.source
                or "not verified" in (r.note or "")
            )


def test_every_condition_in_the_vocabulary_makes_an_eligible_patient_less_eligible():
    for code in condition_labels():
        e = run(patient(conditions=[code]))
        assert e.decision in ("not_eligible", "eligible_with_cautions"), code


def test_recent_event_without_a_date_is_treated_as_recent():
    e = run(patient(conditions=["unstable_arrhythmia"]))
    assert "treated as recent" in finding(e, "CI-CARDIO-RECENT").message


def test_clinic_can_override_a_threshold_and_a_severity():
    from ketacare.domain.eligibility import EligibilitySettings, evaluate, facts_from_dict

    facts = facts_from_dict(patient(**bp(150, 85)))
    stricter = EligibilitySettings(params={"CI-BP-UNCONTROLLED": {"systolic_gt": 140, "diastolic_gt": 90}})
    assert evaluate(facts, stricter).decision == "not_eligible"
    softer = EligibilitySettings(severity_overrides={"CA-BP-ELEVATED": "info"})
    assert evaluate(facts, softer).decision == "eligible"


def test_verified_false_rules_say_they_are_configurable_defaults():
    e = run(patient(heart_rate={"bpm": 120, "date": "2025-03-10"}))
    f = finding(e, "CA-HR-HIGH")
    assert f.verified is False and "clinic default, not from a published guideline" in plain(f.source)
