"""The facts document: parser refusals name the field; the schema and the example agree with the parser."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pytest

from ketacare.domain.eligibility import facts_from_dict, facts_to_dict
from ketacare.domain.eligibility.facts import TOP_LEVEL_KEYS
from ketacare.domain.errors import InvalidValue

from .helpers import patient, run

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "eligibility-facts.json"


def _schema() -> dict:
    text = resources.files("ketacare.domain.eligibility").joinpath("facts.schema.json").read_text()
    return json.loads(text)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        (
            {
                "medications": [
                    {"name": "a", "dose_mg_per_day": 1},
                    {"name": "b", "dose_mg_per_day": 2},
                    {"name": "c", "dose_mg_per_day": "lots"},
                ]
            },
            "medications[2].dose_mg_per_day",
        ),
        ({"medications": [{"name": "a", "dose_mg_per_day": -1}]}, "medications[0].dose_mg_per_day"),
        (
            {"medications": [{"name": "a", "dose": 1, "unit": "drops", "times_per_day": 2}]},
            "medications[0].unit",
        ),
        (
            {"blood_pressure": {"systolic_mmhg": 80, "diastolic_mmhg": 120, "date": "2025-03-10"}},
            "blood_pressure.diastolic_mmhg",
        ),
        (
            {"blood_pressure": {"systolic_mmhg": 120, "diastolic_mmhg": 80, "date": "10/03/2025"}},
            "blood_pressure.date",
        ),
        (
            {"blood_pressure": {"systolic_mmhg": 120, "diastolic_mmhg": 80, "date": "2025-04-01"}},
            "blood_pressure.date",
        ),
        ({"age_years": 38.5}, "age_years"),
        ({"age_years": True}, "age_years"),
        ({"pregnant": "no"}, "pregnant"),
        (
            {"prior_trials": [{"kind": "medication", "drug": "sertraline", "adherence": "sometimes"}]},
            "prior_trials[0].adherence",
        ),
        ({"prior_trials": [{"kind": "pill"}]}, "prior_trials[0].kind"),
        (
            {"prior_trials": [{"kind": "psychotherapy", "therapy": "cbt", "sessions": 3.5}]},
            "prior_trials[0].sessions",
        ),
        (
            {"severity_scores": [{"instrument": "GAD-7", "total": 30, "date": "2025-03-10"}]},
            "severity_scores[0].total",
        ),
        ({"substance_use": [{"substance": "alcohol", "status": "heavy"}]}, "substance_use[0].status"),
        ({"diagnoses": "F41.1"}, "diagnoses"),
        ({"blood_presure": {}}, "blood_presure"),
        ({"medications": [{"name": "a", "dose_mg_per_dya": 1}]}, "medications[0].dose_mg_per_dya"),
        ({"screening_date": None}, "screening_date"),
        ({"schema_version": "2"}, "schema_version"),
    ],
)
def test_malformed_input_names_the_field(changes: dict, field: str):
    with pytest.raises(InvalidValue) as err:
        facts_from_dict(patient(**changes))
    assert err.value.field == field


def test_not_an_object_is_refused():
    with pytest.raises(InvalidValue):
        facts_from_dict([1, 2, 3])


def test_round_trip_through_the_storage_form_is_lossless():
    facts = facts_from_dict(patient())
    assert facts_from_dict(json.loads(json.dumps(facts_to_dict(facts)))) == facts


def test_example_file_is_a_gad_patient_and_parses():
    facts = facts_from_dict(json.loads(EXAMPLE.read_text()))
    assert any(d.code == "F41.1" for d in facts.diagnoses)
    assert run(json.loads(EXAMPLE.read_text())).decision in ("eligible", "eligible_with_cautions")


def test_schema_documents_exactly_the_fields_the_parser_reads():
    schema = _schema()
    assert set(schema["properties"]) == set(TOP_LEVEL_KEYS)
    assert schema["required"] == ["screening_date"]
    example = json.loads(EXAMPLE.read_text())
    assert set(example) <= set(schema["properties"])


def test_absent_sections_are_missing_facts_with_where_to_record_them():
    d = {"screening_date": "2025-03-10"}
    e = run(d)
    assert e.decision == "insufficient_information"
    missing = {m.key: m for m in e.missing}
    for key in (
        "age_years",
        "pregnant",
        "diagnoses",
        "conditions",
        "blood_pressure",
        "heart_rate",
        "medications",
        "allergies",
        "substance_use",
        "prior_trials",
    ):
        assert key in missing, key
    assert missing["blood_pressure"].label == "blood pressure at screening"
    assert missing["blood_pressure"].where == "record vitals on the chart"


def test_pregnancy_status_not_required_for_male_patients():
    e = run(patient(sex="male", pregnant=None, breastfeeding=None))
    assert e.decision == "eligible"


def test_old_blood_pressure_must_be_re_recorded():
    e = run(patient(blood_pressure={"systolic_mmhg": 120, "diastolic_mmhg": 80, "date": "2024-12-01"}))
    assert e.decision == "insufficient_information"
    m = next(m for m in e.missing if m.key == "blood_pressure")
    assert "99 days before screening" in m.reason
