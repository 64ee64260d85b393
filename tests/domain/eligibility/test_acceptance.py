"""The acceptance cases of issue #5, as a clinician would check them."""

from __future__ import annotations

from ketacare.domain.eligibility import diazepam_equivalent_mg_per_day, rules
from ketacare.domain.sources import plain

from .helpers import finding, fired, patient, run


def test_two_failed_adequate_ssri_snri_trials_one_cbt_gad7_15_no_contraindication_is_eligible():
    for rule_set in ("bokma2019", "delphi2024"):
        e = run(patient(), rule_set)
        assert e.decision == "eligible", (rule_set, [f.message for f in e.findings], e.missing)
        assert e.missing == ()
        tr = e.treatment_resistance
        assert tr.status == "met"
        assert tr.failed_adequate_pharmacological == 2
        assert tr.failed_adequate_psychological == 1
        assert tr.stage == 2


def test_same_patient_with_bp_185_105_is_not_eligible_under_the_swiss_label_rule():
    e = run(patient(blood_pressure={"systolic_mmhg": 185, "diastolic_mmhg": 105, "date": "2025-03-10"}))
    assert e.decision == "not_eligible"
    f = finding(e, "CI-BP-UNCONTROLLED")
    assert f.severity == "exclude"
    assert "185/105" in f.message and "180/100" in f.message
    assert "Swiss ketamine product information" in plain(f.source)
    # the Spravato > 140/90 caution is not repeated on top of the exclusion
    assert "CA-BP-ELEVATED" not in fired(e)


def test_spravato_140_90_caution_applies_below_the_exclusion_limit():
    e = run(patient(blood_pressure={"systolic_mmhg": 150, "diastolic_mmhg": 92, "date": "2025-03-10"}))
    assert e.decision == "eligible_with_cautions"
    f = finding(e, "CA-BP-ELEVATED")
    assert "Spravato label" in plain(f.source) and "150/92" in f.message


def test_lorazepam_1_5_mg_per_day_is_15_mg_diazepam_equivalents_with_the_benzodiazepine_caution():
    assert diazepam_equivalent_mg_per_day("lorazepam", 1.5) == 15.0
    e = run(patient(medications=[{"name": "Lorazepam", "dose_mg_per_day": 1.5}]))
    assert e.decision == "eligible_with_cautions"
    f = finding(e, "INT-BZD-BLUNTED-RESPONSE")
    assert f.severity == "caution"
    assert "15.0 mg/day diazepam-equivalents" in f.message
    assert "Andrashko 2020" in plain(f.source)
    assert f.values["total_mg_per_day"] == 15.0


def test_every_finding_carries_rule_id_severity_message_action_and_source():
    e = run(
        patient(
            blood_pressure={"systolic_mmhg": 185, "diastolic_mmhg": 105, "date": "2025-03-10"},
            medications=[
                {"name": "alprazolam", "dose_mg_per_day": 1.0},
                {"name": "phenelzine", "dose_mg_per_day": 45},
            ],
            conditions=["hypertension", "cystitis"],
        )
    )
    ids = {r.id for r in rules()}
    assert e.findings
    for f in e.findings:
        assert f.rule_id in ids
        assert f.severity in ("exclude", "caution", "info")
        assert f.message and f.action and f.source
