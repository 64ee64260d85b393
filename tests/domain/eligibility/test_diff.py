"""Diffing two evaluations of the same patient."""

from __future__ import annotations

import json

from ketacare.domain.eligibility import diff_evaluations

from .helpers import patient, run


def test_identical_evaluations_have_no_changes():
    a = run(patient())
    d = diff_evaluations(a, run(patient()))
    assert not d.changed and d.decision is None and d.facts_changed == ()


def test_new_high_bp_shows_decision_change_added_finding_and_changed_fact():
    old = run(patient())
    new = run(patient(blood_pressure={"systolic_mmhg": 185, "diastolic_mmhg": 105, "date": "2025-03-10"}))
    d = diff_evaluations(old, new)
    assert d.decision == ("eligible", "not_eligible")
    assert [f["rule_id"] for f in d.findings_added] == ["CI-BP-UNCONTROLLED"]
    assert d.findings_removed == ()
    assert d.facts_changed == ("blood_pressure",)


def test_diff_works_on_stored_json_and_reports_missing_facts_resolved():
    old = run(patient(heart_rate=None))
    new = run(patient())
    stored_old = json.loads(json.dumps(old.to_dict()))
    d = diff_evaluations(stored_old, new)
    assert d.decision == ("insufficient_information", "eligible")
    assert [m["key"] for m in d.missing_removed] == ["heart_rate"]


def test_rule_set_change_is_reported_as_a_version_change_and_stage_change():
    trials = patient()["prior_trials"][:2]
    old = run(patient(prior_trials=trials), "bokma2019")
    new = run(patient(prior_trials=trials), "delphi2024")
    d = diff_evaluations(old, new)
    assert d.versions["rule_set"] == ("bokma2019", "delphi2024")
    assert d.stage == (0, 1)
    assert d.resistance_status == ("not_met", "met")
    assert d.to_dict()["decision"] == ["not_eligible", "eligible"]


def test_changed_message_for_the_same_finding_is_reported_as_changed():
    old = run(patient(medications=[{"name": "lorazepam", "dose_mg_per_day": 1}]))
    new = run(patient(medications=[{"name": "lorazepam", "dose_mg_per_day": 2}]))
    d = diff_evaluations(old, new)
    changed = {c["new"]["rule_id"] for c in d.findings_changed}
    assert "INT-BZD-BLUNTED-RESPONSE" in changed
