"""The diagnosis code list and the eligibility rules read ICD-10 codes the same way."""

from ketacare.domain.eligibility.tables import conditions_for_icd10
from ketacare.domain.patients.diagnoses import code_list

# Tags of the code list with no eligibility rule yet (airway risk matters for sedation, not for eligibility).
NOT_SCREENED = {"airway_risk"}


def test_every_diagnosis_tagged_for_screening_reaches_an_eligibility_condition():
    missing = [f"{c.concept} ({c.icd10cm})" for c in code_list()
               if c.screening and c.screening not in NOT_SCREENED and not conditions_for_icd10(c.icd10cm)]
    assert missing == []


def test_cirrhosis_without_a_child_pugh_class_asks_for_grading():
    assert conditions_for_icd10("K74.60") == ["hepatic_impairment_moderate"]
