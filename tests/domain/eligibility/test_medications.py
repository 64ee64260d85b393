"""Medication name matching and diazepam-equivalents."""

from __future__ import annotations

import pytest

from ketacare.domain.eligibility import diazepam_equivalent_mg_per_day, generic_name
from ketacare.domain.eligibility.tables import diazepam_equivalent

from .helpers import finding, patient, run


@pytest.mark.parametrize(
    ("typed", "generic"),
    [
        ("Lorazepam", "lorazepam"),
        ("ATIVAN", "lorazepam"),
        ("sertraline hydrochloride", "sertraline"),
        ("Venlafaxine XR", "venlafaxine"),
        ("Xanax 0.5 mg tablets", "alprazolam"),
        ("rifampin", "rifampicin"),
        ("St John's Wort", "st_johns_wort"),
        ("  Lamictal ", "lamotrigine"),
        ("Escitalopram oxalate", "escitalopram"),
    ],
)
def test_names_match_case_insensitively_by_generic_name(typed: str, generic: str):
    assert generic_name(typed) == generic


@pytest.mark.parametrize(
    ("drug", "mg_per_day", "diazepam_mg"),
    [
        ("diazepam", 10, 10.0),
        ("lorazepam", 1.5, 15.0),
        ("alprazolam", 1.0, 20.0),
        ("clonazepam", 2.0, 40.0),
        ("oxazepam", 30, 15.0),
        ("temazepam", 20, 10.0),
        ("chlordiazepoxide", 25, 10.0),
    ],
)
def test_diazepam_equivalents_follow_the_ashton_table(drug: str, mg_per_day: float, diazepam_mg: float):
    assert diazepam_equivalent_mg_per_day(drug, mg_per_day) == pytest.approx(diazepam_mg)
    assert diazepam_equivalent(drug).verified is True


def test_unknown_benzodiazepine_has_no_equivalent():
    assert diazepam_equivalent_mg_per_day("etizolam", 1) is None


def test_several_benzodiazepines_are_summed():
    e = run(
        patient(
            medications=[
                {"name": "clonazepam", "dose_mg_per_day": 0.25},
                {"name": "diazepam", "dose_mg_per_day": 2},
            ]
        )
    )
    f = finding(e, "INT-BZD-BLUNTED-RESPONSE")
    assert f.values["total_mg_per_day"] == pytest.approx(7.0)
    assert "at or below the 8 mg/day cut-off" in f.message


def test_benzodiazepine_without_a_dose_is_a_missing_fact():
    e = run(patient(medications=[{"name": "lorazepam"}]))
    assert e.decision == "insufficient_information"
    m = next(m for m in e.missing if m.key == "medications[0].dose_mg_per_day")
    assert "mg/day" in m.where
    assert "INT-BZD-BLUNTED-RESPONSE" in {f.rule_id for f in e.findings}


def test_dose_given_as_single_dose_times_per_day():
    e = run(patient(medications=[{"name": "lorazepam", "dose": 500, "unit": "mcg", "times_per_day": 3}]))
    assert "15.0 mg/day diazepam-equivalents" in finding(e, "INT-BZD-BLUNTED-RESPONSE").message
