"""The diagnosis code list and the eligibility rules read ICD-10 codes the same way."""

from ketacare.domain.datafiles import load_toml
from ketacare.domain.eligibility.tables import conditions_for_code, conditions_for_icd10, in_scope, rules
from ketacare.domain.patients.diagnoses import code_list

# Tags of the code list with no eligibility rule yet (airway risk matters for sedation, not for eligibility).
NOT_SCREENED = {"airway_risk"}


def test_every_diagnosis_tagged_for_screening_reaches_an_eligibility_condition():
    missing = [f"{c.concept} ({c.icd10cm})" for c in code_list()
               if c.screening and c.screening not in NOT_SCREENED and not conditions_for_icd10(c.icd10cm)]
    assert missing == []


def test_cirrhosis_without_a_child_pugh_class_asks_for_grading():
    assert conditions_for_icd10("K74.60") == ["hepatic_impairment_moderate"]


# --- issue 11 point 8: ICD-10 and ICD-11 in step -------------------------------------------------------------


def test_both_codes_of_every_concept_reach_the_same_screening_conditions():
    apart = [
        f"{c.concept}: {c.icd10cm} -> {conditions_for_code(c.icd10cm, 'ICD-10')}, "
        f"{c.icd11} -> {conditions_for_code(c.icd11, 'ICD-11')}"
        for c in code_list()
        if c.icd10cm and c.icd11
        and conditions_for_code(c.icd10cm, "ICD-10") != conditions_for_code(c.icd11, "ICD-11")
    ]
    assert apart == []


def test_both_codes_of_every_concept_agree_on_programme_scope():
    # with the clinic's complex-PTSD option on: ICD-10-CM codes complex PTSD as F43.1x, which is in scope
    apart = [
        c.concept
        for c in code_list()
        if c.icd10cm and c.icd11
        and in_scope(c.icd10cm, "ICD-10", include_complex_ptsd=True)
        != in_scope(c.icd11, "ICD-11", include_complex_ptsd=True)
    ]
    assert apart == []


def test_the_four_disorders_and_panic_with_agoraphobia_are_on_the_code_list_and_in_scope():
    listed = {c.icd10cm for c in code_list()} | {c.icd11 for c in code_list()}
    for code, system in [("F41.1", "ICD-10"), ("F40.10", "ICD-10"), ("F41.0", "ICD-10"), ("F40.01", "ICD-10"),
                         ("F43.10", "ICD-10"), ("6B00", "ICD-11"), ("6B04", "ICD-11"), ("6B01", "ICD-11"),
                         ("6B40", "ICD-11")]:
        assert code in listed and in_scope(code, system), code
    assert not in_scope("6B41", "ICD-11") and in_scope("6B41", "ICD-11", include_complex_ptsd=True)


def test_every_condition_and_every_code_based_rule_names_both_code_systems():
    data = load_toml("ketacare.domain.eligibility.data", "conditions.toml")
    assert [name for name, c in data["condition"].items() if "icd10" not in c or "icd11" not in c] == []
    assert data["scope"]["icd10"] and data["scope"]["icd11"]
    for r in rules():
        if "icd10" in r.params:
            assert "icd11" in r.params, r.id
