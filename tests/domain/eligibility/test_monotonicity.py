"""Property: adding a contraindication never makes a patient more eligible (Hypothesis, random facts)."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from ketacare.domain.eligibility import (
    Allergy,
    BloodPressure,
    Condition,
    Diagnosis,
    EligibilitySettings,
    HeartRate,
    Medication,
    ScreeningFacts,
    SubstanceUse,
    decision_rank,
    evaluate,
    facts_from_dict,
)
from ketacare.domain.eligibility.tables import condition_labels, rules

from .helpers import patient

SCREENING = date(2025, 3, 10)
BASE = facts_from_dict(patient())
CONDITION_CODES = sorted(condition_labels())
DIAGNOSIS_CODES = [
    "I71.4",
    "I61.9",
    "I63.9",
    "I10",
    "F20.0",
    "F31.1",
    "E05.0",
    "H40.1",
    "K72.1",
    "N30.1",
    "F12.2",
    "O14.1",
    "G30.1",
    "I50.9",
    "F41.0",
    "F32.1",
]
DRUGS = [
    "lorazepam",
    "alprazolam",
    "diazepam",
    "clonazepam",
    "oxycodone",
    "zolpidem",
    "pregabalin",
    "lamotrigine",
    "phenelzine",
    "methylphenidate",
    "carbamazepine",
    "clarithromycin",
    "sertraline",
    "duloxetine",
    "Frobnicol",
]
SUBSTANCES = ["alcohol", "cannabis", "ketamine", "phencyclidine", "caffeine", "cocaine"]
STATUSES = ["none", "past", "in_remission", "active_use", "active_disorder"]

conditions = st.builds(
    Condition,
    code=st.sampled_from(CONDITION_CODES),
    date=st.one_of(st.none(), st.integers(0, 2000).map(lambda d: SCREENING - timedelta(days=d))),
)
medications = st.builds(
    Medication,
    name=st.sampled_from(DRUGS),
    dose_mg_per_day=st.one_of(st.none(), st.floats(0.1, 500, allow_nan=False)),
)
substances = st.builds(SubstanceUse, substance=st.sampled_from(SUBSTANCES), status=st.sampled_from(STATUSES))
allergies = st.builds(Allergy, substance=st.sampled_from(["ketamine", "penicillin", "latex", "Esketamine"]))
diagnoses = st.builds(Diagnosis, code=st.sampled_from(DIAGNOSIS_CODES))


@st.composite
def fact_sets(draw) -> ScreeningFacts:
    systolic = draw(st.floats(90, 220, allow_nan=False))
    diastolic = draw(st.floats(50, min(systolic - 1, 140), allow_nan=False))
    return dataclasses.replace(
        BASE,
        age_years=draw(st.integers(16, 90)),
        pregnant=draw(st.booleans()),
        breastfeeding=draw(st.booleans()),
        diagnoses=(Diagnosis("F41.1"), *draw(st.lists(diagnoses, max_size=3))),
        conditions=tuple(draw(st.lists(conditions, max_size=4))),
        blood_pressure=BloodPressure(systolic, diastolic, SCREENING),
        heart_rate=HeartRate(draw(st.floats(45, 140, allow_nan=False)), SCREENING),
        medications=tuple(draw(st.lists(medications, max_size=4))),
        allergies=tuple(draw(st.lists(allergies, max_size=2))),
        substance_use=tuple(draw(st.lists(substances, max_size=3))),
    )


@st.composite
def worsen(draw, f: ScreeningFacts) -> ScreeningFacts:
    """Add one contraindication-type fact (never remove or soften anything)."""
    kind = draw(
        st.sampled_from(
            [
                "condition",
                "diagnosis",
                "medication",
                "substance",
                "allergy",
                "bp",
                "hr",
                "pregnant",
                "breastfeeding",
            ]
        )
    )
    if kind == "condition":
        return dataclasses.replace(f, conditions=(*f.conditions, draw(conditions)))
    if kind == "diagnosis":
        return dataclasses.replace(f, diagnoses=(*f.diagnoses, draw(diagnoses)))
    if kind == "medication":
        return dataclasses.replace(f, medications=(*f.medications, draw(medications)))
    if kind == "substance":
        return dataclasses.replace(f, substance_use=(*f.substance_use, draw(substances)))
    if kind == "allergy":
        return dataclasses.replace(f, allergies=(*f.allergies, draw(allergies)))
    if kind == "bp":
        bp = f.blood_pressure
        up = draw(st.floats(0, 60, allow_nan=False))
        up_d = draw(st.floats(0, 40, allow_nan=False))
        return dataclasses.replace(
            f, blood_pressure=BloodPressure(bp.systolic_mmhg + up, bp.diastolic_mmhg + up_d, bp.date)
        )
    if kind == "hr":
        return dataclasses.replace(
            f, heart_rate=HeartRate(f.heart_rate.bpm + draw(st.floats(0, 60)), SCREENING)
        )
    if kind == "pregnant":
        return dataclasses.replace(f, pregnant=True)
    return dataclasses.replace(f, breastfeeding=True)


SUPPRESSORS = {r.id: set(r.suppressed_by) for r in rules()}


@settings(max_examples=300, deadline=None)
@given(data=st.data(), rule_set=st.sampled_from(["bokma2019", "delphi2024"]))
def test_adding_a_contraindication_never_makes_a_patient_more_eligible(data, rule_set):
    s = EligibilitySettings(rule_set=rule_set)
    before_facts = data.draw(fact_sets())
    after_facts = data.draw(worsen(before_facts))
    before, after = evaluate(before_facts, s), evaluate(after_facts, s)
    assert decision_rank(after.decision) <= decision_rank(before.decision), (before.decision, after.decision)
    after_keys = {f.key for f in after.findings}
    for f in before.findings:
        if f.severity == "info":
            continue
        kept = f.key in after_keys or any((sup, f.subject) in after_keys for sup in SUPPRESSORS[f.rule_id])
        assert kept, f"{f.rule_id} on {f.subject} disappeared"
    assert {m.key for m in before.missing} - {m.key for m in after.missing} <= {"pregnant", "breastfeeding"}


@settings(max_examples=100, deadline=None)
@given(extra=st.lists(conditions, min_size=1, max_size=3))
def test_an_eligible_patient_with_any_added_condition_is_no_longer_plainly_eligible(extra):
    assert evaluate(BASE).decision == "eligible"
    after = evaluate(dataclasses.replace(BASE, conditions=tuple(extra)))
    assert after.decision in ("not_eligible", "eligible_with_cautions")
