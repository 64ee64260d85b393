"""Field messages for people: one translation of pydantic error types and field labels, used by API and pages."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, Field, ValidationError

from ketacare.http.errors import field_errors
from ketacare.http.messages import _data, label, plain_message
from ketacare.services.patients.schemas import MedicationCreate, PatientCreate


def _messages(model: type[BaseModel], **values) -> dict[str, str]:
    with pytest.raises(ValidationError) as e:
        model(**values)
    return {f.field: f.message for f in field_errors(e.value.errors())}


def test_an_empty_or_missing_name_asks_for_it_in_words():
    got = _messages(PatientCreate, given_name="", date_of_birth="1990-01-01", sex_at_birth="female")
    assert got["given_name"] == "Enter the patient's given name"
    assert got["family_name"] == "Enter the patient's family name"


def test_numbers_dates_and_choices_read_as_sentences():
    got = _messages(MedicationCreate, name="sertraline", dose_value="ten", dose_unit="tablets", times_per_day=30)
    assert got["dose_value"] == "Enter the dose as a number, e.g. 12.5"
    assert got["dose_unit"].startswith("Choose the dose unit from the list (mg, mcg, g, mL")
    assert got["times_per_day"] == "The times per day must be 24 or less"
    assert "Input should" not in " ".join(got.values())


def test_a_validator_message_passes_through_unchanged():
    got = _messages(PatientCreate, given_name="A", family_name="B", date_of_birth="1990-01-01",
                    sex_at_birth="female", weight="82")
    assert got["weight"].startswith("weight needs a unit")


def test_every_message_template_formats_and_an_unknown_field_reads_as_words():
    class Probe(BaseModel):
        some_field_name: int = Field(gt=0)

    for kind in _data()["types"]:
        text = plain_message({"type": kind, "ctx": {"gt": 0, "expected": "'a' or 'b'"}, "msg": "x"}, "dose_value")
        assert text and "{" not in text, kind
    assert label("some_field_name") == "some field name"
    assert label("medications.2.dose_value") == "the dose"
    got = _messages(Probe, some_field_name=0)
    assert got["some_field_name"] == "Some field name must be more than 0"
