"""Esketamine REMS Patient Monitoring Form completeness."""

from __future__ import annotations

from dataclasses import replace

import pytest

from ketacare.domain.sessions.rems import EventRecord, RemsSessionRecord, rems_missing_fields
from ketacare.domain.sessions.vitals import VitalReading


def complete() -> RemsSessionRecord:
    return RemsSessionRecord(
        readings=(
            VitalReading(t_min=-10, sbp=128, dbp=80),
            VitalReading(t_min=41, sbp=146, dbp=90),
            VitalReading(t_min=125, sbp=132, dbp=82),
        ),
        monitoring_end_min=130,
        sedation=EventRecord(occurred=True, resolved=True),
        dissociation=EventRecord(occurred=True, resolved=True),
        respiratory_depression=EventRecord(occurred=False),
        vitals_acceptable_before_administration=True,
        vitals_acceptable_before_completion=True,
        dose_mg=56,
        lot_number="ABC123",
        could_have_left_min=90,
        enrolled=True,
        first_treatment=False,
        concomitant_benzodiazepines=False,
        concomitant_non_benzodiazepine_hypnotics=False,
        concomitant_psychostimulants=True,
        concomitant_maois=False,
        concomitant_opioids=False,
    )


def missing(record):
    return [m.field for m in rems_missing_fields(record)]


def test_complete_record_has_nothing_missing():
    assert rems_missing_fields(complete()) == []


def test_empty_record_lists_every_field_with_a_source():
    fields = rems_missing_fields(RemsSessionRecord())
    assert [f.field for f in fields][:11] == [
        "enrolled",
        "first_treatment",
        "concomitant_benzodiazepines",
        "concomitant_non_benzodiazepine_hypnotics",
        "concomitant_psychostimulants",
        "concomitant_maois",
        "concomitant_opioids",
        "bp_before_dosing",
        "bp_at_40_min",
        "bp_before_discharge",
        "observation_2h",
    ]
    assert len(fields) == 19 and all(f.message and f.source for f in fields)


@pytest.mark.parametrize(
    "change,expected",
    [
        # the BP at 125 min is after the end of monitoring, so it cannot count as the pre-discharge BP
        ({"monitoring_end_min": 110}, ["bp_before_discharge", "observation_2h"]),
        ({"readings": (VitalReading(t_min=41, sbp=146, dbp=90), VitalReading(t_min=125, sbp=132, dbp=82))},
         ["bp_before_dosing"]),
        ({"readings": (VitalReading(t_min=-10, sbp=128, dbp=80), VitalReading(t_min=60, sbp=140, dbp=88),
                       VitalReading(t_min=125, sbp=132, dbp=82))}, ["bp_at_40_min"]),
        ({"readings": (VitalReading(t_min=-10, sbp=128, dbp=80), VitalReading(t_min=41, sbp=146, dbp=90))},
         ["bp_before_discharge"]),
        ({"readings": (VitalReading(t_min=-10, sbp=128, dbp=80), VitalReading(t_min=41, hr=80),
                       VitalReading(t_min=125, sbp=132, dbp=82))}, ["bp_at_40_min"]),
        ({"sedation": EventRecord(occurred=True)}, ["sedation"]),
        ({"dissociation": None}, ["dissociation"]),
        ({"respiratory_depression": EventRecord()}, ["respiratory_depression"]),
        ({"lot_number": " "}, ["lot_number"]),
        ({"vitals_acceptable_before_completion": None}, ["vitals_acceptable_before_completion"]),
    ],
)  # fmt: skip
def test_each_gap_is_named(change, expected):
    assert missing(replace(complete(), **change)) == expected


# Issue 11 point 10: the form's patient and concomitant-medication questions are part of completeness.
@pytest.mark.parametrize(
    "name",
    ["enrolled", "first_treatment", "concomitant_benzodiazepines", "concomitant_non_benzodiazepine_hypnotics",
     "concomitant_psychostimulants", "concomitant_maois", "concomitant_opioids"],
)
def test_each_patient_and_concomitant_medication_answer_is_required(name):
    assert missing(replace(complete(), **{name: None})) == [name]


def test_an_answer_of_no_counts_as_recorded():
    assert missing(replace(complete(), concomitant_psychostimulants=False, first_treatment=True)) == []


def test_a_patient_not_enrolled_in_the_rems_is_reported_as_such():
    fields = rems_missing_fields(replace(complete(), enrolled=False))
    assert [f.field for f in fields] == ["enrolled"]
    assert "before the first treatment" in fields[0].message
