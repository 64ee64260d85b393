"""Issue 11 point 8: a fact gives the same decision whichever way it is coded (ICD-10, ICD-11, substance use)."""

from __future__ import annotations

import pytest

from ketacare.domain.eligibility import EligibilitySettings, evaluate, facts_from_dict
from ketacare.domain.errors import InvalidValue

from .helpers import fired, patient, run


def icd11(*codes: str) -> list[dict[str, str]]:
    return [{"code": c, "system": "ICD-11"} for c in codes]


@pytest.mark.parametrize(
    "changes",
    [
        {"diagnoses": ["F41.1", "F16.20"]},
        {"diagnoses": ["F41.1", "F16.10"]},
        {"diagnoses": icd11("6B00", "6C4D.2")},
        {"substance_use": [{"substance": "ketamine", "status": "active_disorder"}]},
        {"substance_use": [{"substance": "PCP", "status": "active_use"}]},
    ],
)
def test_ketamine_or_pcp_use_disorder_excludes_however_it_is_recorded(changes):
    e = run(patient(**changes))
    assert "CI-DISSOCIATIVE-USE" in fired(e) and e.decision == "not_eligible"


@pytest.mark.parametrize(
    "changes",
    [
        {"diagnoses": ["F41.1", "F16.21"]},  # hallucinogen dependence, in remission
        {"substance_use": [{"substance": "ketamine", "status": "in_remission"}]},
    ],
)
def test_use_disorder_in_remission_is_a_caution_either_way(changes):
    e = run(patient(**changes))
    assert "CI-DISSOCIATIVE-USE" not in fired(e) and "CA-SUBSTANCE-USE-DISORDER" in fired(e)


@pytest.mark.parametrize(
    "diagnoses",
    [["F40.01"], icd11("6B00"), icd11("6B01"), icd11("6B04"), icd11("6B40"), [{"code": "6b00", "system": "icd-11"}]],
)
def test_in_scope_disorders_are_in_scope_in_both_code_systems(diagnoses):
    e = run(patient(diagnoses=diagnoses))
    assert "SCOPE-NO-ANXIETY-DIAGNOSIS" not in fired(e)


def test_complex_ptsd_6b41_is_in_scope_only_when_the_clinic_chooses():
    facts = facts_from_dict(patient(diagnoses=icd11("6B41")))
    assert "SCOPE-NO-ANXIETY-DIAGNOSIS" in fired(evaluate(facts))
    chosen = EligibilitySettings(params={"SCOPE-NO-ANXIETY-DIAGNOSIS": {"include_complex_ptsd": True}})
    assert "SCOPE-NO-ANXIETY-DIAGNOSIS" not in fired(evaluate(facts, chosen))


@pytest.mark.parametrize("diagnoses", [["F40.01"], icd11("6B01")])
def test_panic_disorder_evidence_note_reaches_both_code_systems(diagnoses):
    assert "INFO-PANIC-EVIDENCE" in fired(run(patient(diagnoses=diagnoses)))


def test_an_icd11_code_is_not_read_as_an_icd10_code_and_vice_versa():
    # "6A20" (ICD-11 schizophrenia) must not be read through ICD-10 prefixes, nor "F20" through ICD-11 ones
    assert "CI-PSYCHOTIC-DISORDER" in fired(run(patient(diagnoses=[*icd11("6B00", "6A20")])))
    assert "CI-PSYCHOTIC-DISORDER" in fired(run(patient(diagnoses=["F41.1", "F20.9"])))
    assert "CI-PSYCHOTIC-DISORDER" not in fired(run(patient(diagnoses=[{"code": "F20.9", "system": "ICD-11"}])))


def test_an_unknown_code_system_is_refused_naming_the_field():
    with pytest.raises(InvalidValue) as err:
        facts_from_dict(patient(diagnoses=[{"code": "F41.1", "system": "ICD-9"}]))
    assert err.value.field == "diagnoses[0].system"
