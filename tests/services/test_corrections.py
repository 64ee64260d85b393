"""Corrections without losing history: edit, stop, change the dose, entered in error; drug list; new patients."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from ketacare.domain.errors import InvalidValue
from ketacare.services.errors import Conflict
from ketacare.services.patients import corrections
from ketacare.services.patients import records as patients
from ketacare.services.patients.schemas import (
    AllergyCreate,
    AllergyEdit,
    DiagnosisCreate,
    DiagnosisEdit,
    EnteredInError,
    MeasurementCreate,
    MeasurementEdit,
    MedicationCreate,
    MedicationEdit,
    MedicationStop,
    PatientCreate,
    TrialCreate,
    TrialEdit,
)
from ketacare.store.tables import AuditEvent, Medication, RecordRevision


def _med(db, actor, pid, **kw):
    data = {"name": "sertraline", "dose_value": 50, "dose_unit": "mg", "times_per_day": 1, **kw}
    return patients.add_medication(db=db, actor=actor, patient_id=pid, data=MedicationCreate(**data))


def _chart(db, actor, pid):
    return patients.get_chart(db=db, actor=actor, patient_id=pid).clinical


def test_medication_entered_in_error_leaves_the_active_list_and_stays_in_its_history(db, personas):
    nurse, pid = personas["nurse"], personas.patient_a
    m = _med(db, nurse, pid)
    corrections.mark_entered_in_error(
        db=db, actor=nurse, patient_id=pid, entity="medication", entry_id=m.id,
        data=EnteredInError(version=m.version, reason="charted for the wrong patient"),
    )
    clinical = _chart(db, personas["prescriber"], pid)
    stored = next(x for x in clinical.medications if x.id == m.id)
    assert not stored.active and stored.entered_in_error  # kept, never deleted
    assert m.id not in [x.id for x in clinical.medications if x.active]
    history = corrections.entry_history(db=db, actor=nurse, patient_id=pid, entity="medication", entry_id=m.id)
    assert [(h.action, h.reason) for h in history] == [("entered_in_error", "charted for the wrong patient")]
    assert history[0].before["name"] == "sertraline" and history[0].changed_by_name == "Nurse"
    with db.session() as s:
        ev = s.scalars(select(AuditEvent).where(AuditEvent.resource_type == "medication")
                       .order_by(AuditEvent.seq.desc())).first()
        assert ev.action == "update" and json.loads(ev.details)["correction"] == "entered_in_error"
    # An entry marked entered in error cannot be changed any more.
    with pytest.raises(InvalidValue):
        corrections.edit_medication(db=db, actor=nurse, patient_id=pid, entry_id=m.id,
                                    data=MedicationEdit(version=m.version + 1, reason="try", dose_value=100))


def test_change_dose_keeps_the_version_before_and_refuses_an_implausible_dose(db, personas):
    nurse, pid = personas["nurse"], personas.patient_a
    m = _med(db, nurse, pid)
    rev = corrections.edit_medication(db=db, actor=nurse, patient_id=pid, entry_id=m.id,
                                      data=MedicationEdit(version=1, reason="titrated up", dose_value=100))
    assert rev.action == "change_dose" and rev.before["dose_value"] == 50 and rev.after["dose_value"] == 100
    assert rev.after["version"] == 2
    with pytest.raises(InvalidValue) as e:
        corrections.edit_medication(db=db, actor=nurse, patient_id=pid, entry_id=m.id,
                                    data=MedicationEdit(version=2, reason="typo", dose_value=1500))
    assert e.value.field == "dose_value" and "25–200 mg a day" in e.value.message
    with pytest.raises(Conflict):  # a stale version
        corrections.edit_medication(db=db, actor=nurse, patient_id=pid, entry_id=m.id,
                                    data=MedicationEdit(version=1, reason="late edit", dose_value=75))
    with db.session() as s:
        assert s.get(Medication, m.id).dose_value == 100


def test_stop_keeps_the_medication_with_its_reason(db, personas):
    nurse, pid = personas["nurse"], personas.patient_a
    m = _med(db, nurse, pid)
    corrections.stop_medication(db=db, actor=nurse, patient_id=pid, medication_id=m.id,
                                data=MedicationStop(version=1, end_date=date.today(), reason="side effects"))
    clinical = _chart(db, nurse, pid)
    stored = next(x for x in clinical.medications if x.id == m.id)
    assert not stored.active and not stored.entered_in_error and stored.end_date == date.today()
    assert [(r.action, r.reason) for r in clinical.revisions] == [("stop", "side effects")]
    with pytest.raises(Exception, match="future"):
        MedicationStop(version=2, end_date=date.today() + timedelta(days=2), reason="later")


@pytest.mark.parametrize("typed, suggestion", [("sertralin", "sertraline?"), ("lorazepan", "lorazepam?")])
def test_a_misspelt_medication_is_refused_with_a_suggestion(db, personas, typed, suggestion):
    with pytest.raises(InvalidValue) as e:
        _med(db, personas["nurse"], personas.patient_a, name=typed)
    assert e.value.field == "name" and f"Did you mean {suggestion}" in e.value.message


def test_1500_mg_sertraline_is_refused_with_the_usual_range_and_nothing_is_stored(db, personas):
    with pytest.raises(InvalidValue) as e:
        _med(db, personas["nurse"], personas.patient_a, dose_value=1500)
    assert e.value.field == "dose_value"
    assert "1,500 mg a day" in e.value.message and "usual range is 25–200 mg a day" in e.value.message
    # 500 mg twice a day is the same 1,000 mg a day: also refused; 100 mg twice a day is fine.
    with pytest.raises(InvalidValue):
        _med(db, personas["nurse"], personas.patient_a, dose_value=500, times_per_day=2)
    assert _med(db, personas["nurse"], personas.patient_a, dose_value=100, times_per_day=2).name == "sertraline"
    with db.session() as s:
        assert len(s.scalars(select(Medication)).all()) == 1


def test_a_brand_name_is_checked_as_its_generic_and_an_unlisted_name_needs_a_check(db, personas):
    assert _med(db, personas["nurse"], personas.patient_a, name="Zoloft").name == "Zoloft"
    with pytest.raises(InvalidValue, match="maximum for sertraline"):
        _med(db, personas["nurse"], personas.patient_a, name="Zoloft", dose_value=300)
    with pytest.raises(InvalidValue) as e:
        _med(db, personas["nurse"], personas.patient_a, name="Zyxomab")
    assert e.value.field == "name_checked"
    assert _med(db, personas["nurse"], personas.patient_a, name="Zyxomab", name_checked=True).name == "Zyxomab"


def test_onset_and_start_dates_cannot_be_in_the_future():
    tomorrow = date.today() + timedelta(days=1)
    with pytest.raises(Exception, match="onset date cannot be in the future"):
        DiagnosisCreate(code="F41.1", onset_date=date(2030, 3, 1))
    with pytest.raises(Exception, match="future"):
        MedicationCreate(name="sertraline", dose_value=50, dose_unit="mg", start_date=tomorrow)
    with pytest.raises(Exception, match="future"):
        TrialCreate(kind="medication", name="sertraline", start_date=tomorrow)


def test_diagnosis_allergy_trial_and_weight_corrections_keep_history(db, personas):
    nurse, pid = personas["nurse"], personas.patient_a
    d = patients.add_diagnosis(db=db, actor=nurse, patient_id=pid, data=DiagnosisCreate(code="F41.1"))
    corrections.edit_diagnosis(db=db, actor=nurse, patient_id=pid, entry_id=d.id,
                               data=DiagnosisEdit(version=1, reason="in remission since summer",
                                                  status="in_remission"))
    a = patients.add_allergy(db=db, actor=nurse, patient_id=pid, data=AllergyCreate(substance="penicillin"))
    corrections.edit_allergy(db=db, actor=nurse, patient_id=pid, entry_id=a.id,
                             data=AllergyEdit(version=1, reason="reaction confirmed", reaction="hives",
                                              severity="moderate"))
    t = patients.add_trial(db=db, actor=nurse, patient_id=pid,
                           data=TrialCreate(kind="medication", name="sertraline", dose_mg_per_day=100))
    corrections.edit_trial(db=db, actor=nurse, patient_id=pid, entry_id=t.id,
                           data=TrialEdit(version=1, reason="records say 150", dose_mg_per_day=150))
    m = patients.add_measurement(db=db, actor=nurse, patient_id=pid, data=MeasurementCreate(weight="170 kg"))
    assert _chart(db, nurse, pid).latest_weight_kg == 170
    corrections.mark_entered_in_error(db=db, actor=nurse, patient_id=pid, entity="measurement", entry_id=m.id,
                                      data=EnteredInError(version=1, reason="scale not zeroed"))
    clinical = _chart(db, nurse, pid)
    assert next(x for x in clinical.diagnoses if x.id == d.id).status == "in_remission"
    assert next(x for x in clinical.allergies if x.id == a.id).reaction == "hives"
    assert next(x for x in clinical.trials if x.id == t.id).dose_mg_per_day == 150
    assert clinical.latest_weight_kg == 70  # the weight entered in error no longer counts
    assert {(r.entity, r.action) for r in clinical.revisions} == {
        ("diagnosis", "edit"), ("allergy", "edit"), ("trial", "edit"), ("measurement", "entered_in_error")}
    assert next(r for r in clinical.revisions if r.entity == "measurement").before["weight_kg"] == 170
    first = next(x.id for x in clinical.measurements if not x.entered_in_error)
    corrections.edit_measurement(db=db, actor=nurse, patient_id=pid, entry_id=first,
                                 data=MeasurementEdit(version=1, reason="re-weighed", weight="71 kg"))
    assert _chart(db, nurse, pid).latest_weight_kg == 71


def test_a_correction_needs_a_reason_and_the_therapist_cannot_correct(db, personas):
    m = _med(db, personas["nurse"], personas.patient_a)
    with pytest.raises(Exception, match="at least 3 characters"):
        EnteredInError(version=1, reason="")
    from ketacare.services.errors import Forbidden
    with pytest.raises(Forbidden):
        corrections.mark_entered_in_error(db=db, actor=personas["therapist"], patient_id=personas.patient_a,
                                          entity="medication", entry_id=m.id,
                                          data=EnteredInError(version=1, reason="not mine to change"))
    with db.session() as s:
        assert s.scalars(select(RecordRevision)).all() == []


def _new(**kw) -> PatientCreate:
    data = {"given_name": "Alice", "family_name": "Anders", "date_of_birth": date(1985, 3, 4),
            "sex_at_birth": "female", **kw}
    return PatientCreate(**data)


@pytest.mark.parametrize("given, family", [("Alice", "Anders"), ("alice", "ANDERS"), ("Alise", "Anders"),
                                           ("Anders", "Alice"), ("Ali", "Anders")])
def test_a_possible_duplicate_is_shown_before_a_new_patient_is_created(db, personas, given, family):
    front = personas["frontdesk"]
    with pytest.raises(InvalidValue) as e:
        patients.create_patient(db=db, actor=front, data=_new(given_name=given, family_name=family))
    assert e.value.field == "confirm_not_duplicate" and "Anders, Alice (" in e.value.message
    created = patients.create_patient(db=db, actor=front, data=_new(given_name=given, family_name=family,
                                                                       confirm_not_duplicate=True))
    assert created.id not in (personas.patient_a, personas.patient_b)


def test_a_different_name_or_birth_date_is_no_duplicate(db, personas):
    front = personas["frontdesk"]
    patients.create_patient(db=db, actor=front, data=_new(given_name="Maria", family_name="Lopez"))
    patients.create_patient(db=db, actor=front, data=_new(date_of_birth=date(1985, 3, 5)))


def test_a_patient_under_18_warns_until_confirmed(db, personas):
    born = date.today().replace(year=date.today().year - 16)
    with pytest.raises(InvalidValue) as e:
        patients.create_patient(db=db, actor=personas["frontdesk"], data=_new(given_name="Teen", family_name="Ager",
                                                                              date_of_birth=born))
    assert e.value.field == "confirm_under_18" and "16, younger than 18" in e.value.message
    patients.create_patient(db=db, actor=personas["frontdesk"], data=_new(
        given_name="Teen", family_name="Ager", date_of_birth=born, confirm_under_18=True))
