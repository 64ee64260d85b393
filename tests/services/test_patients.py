"""Patient record use cases on SQLite and PostgreSQL: units, refusals that store nothing, locking, search."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select

from ketacare.domain.errors import InvalidValue
from ketacare.services.errors import Conflict, Forbidden, HiddenByPolicy
from ketacare.services.patients import records as patients
from ketacare.services.patients.schemas import (
    DiagnosisCreate,
    MeasurementCreate,
    MedicationCreate,
    PatientCreate,
    PatientUpdate,
    TrialCreate,
)
from ketacare.store.tables import AuditEvent, BodyMeasurement, Patient


def _count(db, table) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(table))


def _new(db, actor, **kw) -> int:
    data = {"given_name": "Cara", "family_name": "Doyle", "date_of_birth": date(1990, 1, 2), "sex_at_birth": "female",
            "confirm_not_duplicate": True}  # many test patients share a birth date and a name on purpose
    data.update(kw)
    return patients.create_patient(db=db, actor=actor, data=PatientCreate(**data)).id


def test_180_lb_is_stored_as_81_65_kg(db, personas):
    pid = _new(db, personas["nurse"], weight="180 lb", height="5 ft 9 in")
    chart = patients.get_chart(db=db, actor=personas["prescriber"], patient_id=pid)
    assert chart.clinical.latest_weight_kg == 81.65
    assert chart.clinical.latest_height_cm == 175.3
    assert chart.clinical.latest_bmi_kg_per_m2 == 26.6
    assert chart.clinical.measurements[0].entered_as == "180 lb / 5 ft 9 in"


@pytest.mark.parametrize("weight,words", [("1800 kg", "plausible adult range"), ("82", "needs a unit"),
                                          ("82 stone", "unknown weight unit")])
def test_bad_weights_are_refused_and_nothing_is_stored(db, personas, weight, words):
    before = (_count(db, Patient), _count(db, BodyMeasurement), _count(db, AuditEvent))
    with pytest.raises(ValidationError) as e:
        PatientCreate(given_name="X", family_name="Y", date_of_birth=date(1990, 1, 1), sex_at_birth="male",
                      weight=weight)
    assert e.value.errors()[0]["loc"] == ("weight",)
    assert words in str(e.value)
    assert (_count(db, Patient), _count(db, BodyMeasurement), _count(db, AuditEvent)) == before


def test_duplicate_mrn_is_refused_with_the_field(db, personas):
    _new(db, personas["frontdesk"], mrn="K123")
    with pytest.raises(InvalidValue) as e:
        _new(db, personas["frontdesk"], mrn="k123")
    assert e.value.field == "mrn"


def test_front_desk_cannot_record_weight(db, personas):
    before = _count(db, Patient)
    with pytest.raises(InvalidValue, match="nurse records weight"):
        _new(db, personas["frontdesk"], weight="70 kg")
    assert _count(db, Patient) == before


def test_update_with_a_stale_version_is_a_conflict_naming_the_current_version(db, personas):
    pid = _new(db, personas["frontdesk"])
    first = patients.update_patient(db=db, actor=personas["frontdesk"], patient_id=pid,
                                    data=PatientUpdate(version=1, phone="+1 555 000 1111"))
    assert first.version == 2
    with pytest.raises(Conflict) as e:
        patients.update_patient(db=db, actor=personas["nurse"], patient_id=pid,
                                data=PatientUpdate(version=1, phone="+1 555 999 9999"))
    assert e.value.current_version == 2
    assert "current version is 2" in str(e.value)
    chart = patients.get_chart(db=db, actor=personas["prescriber"], patient_id=pid)
    assert chart.patient.phone == "+1 555 000 1111"


def test_two_concurrent_edits_one_wins_one_conflicts(db, personas):
    pid = _new(db, personas["frontdesk"])
    results: list[object] = []
    barrier = threading.Barrier(2)

    def edit(actor, phone):
        barrier.wait()
        try:
            results.append(patients.update_patient(db=db, actor=actor, patient_id=pid,
                                                   data=PatientUpdate(version=1, phone=phone)))
        except Conflict as e:
            results.append(e)

    threads = [threading.Thread(target=edit, args=(personas["frontdesk"], "+1 555 111")),
               threading.Thread(target=edit, args=(personas["nurse"], "+1 555 222"))]
    [t.start() for t in threads]
    [t.join() for t in threads]
    conflicts = [r for r in results if isinstance(r, Conflict)]
    wins = [r for r in results if not isinstance(r, Conflict)]
    assert len(conflicts) == 1 and len(wins) == 1
    final = patients.get_chart(db=db, actor=personas["prescriber"], patient_id=pid).patient
    assert final.version == 2 and final.phone == wins[0].phone


def test_search_by_name_prefix_mrn_and_date_of_birth(db, personas):
    a = _new(db, personas["frontdesk"], given_name="Zoë", family_name="Smythe", mrn="K900001",
             date_of_birth=date(1971, 5, 6))
    b = _new(db, personas["frontdesk"], given_name="John", family_name="Smith", mrn="K900002")
    actor = personas["prescriber"]

    def ids(q):
        return {p.id for p in patients.search_patients(db=db, actor=actor, q=q).items}

    assert ids("smi") == {b}
    assert ids("SM") == {a, b}
    assert ids("zoe") == {a}  # accents folded
    assert ids("smythe, z") == {a}
    assert ids("john smi") == {b}
    assert ids("K90000") == {a, b}
    assert ids("1971-05-06") == {a}
    with pytest.raises(InvalidValue):
        patients.search_patients(db=db, actor=actor, q="1971-02-30")


def test_paging(db, personas):
    for i in range(7):
        _new(db, personas["frontdesk"], family_name=f"Page{i}")
    page = patients.search_patients(db=db, actor=personas["nurse"], q="page", page=2, per_page=3)
    assert page.total == 7 and [p.family_name for p in page.items] == ["Page3", "Page4", "Page5"]


def test_clinical_entries(db, personas):
    pid = personas.patient_a
    nurse = personas["nurse"]
    patients.add_diagnosis(db=db, actor=nurse, patient_id=pid, data=DiagnosisCreate(code="F41.1"))
    patients.add_medication(db=db, actor=nurse, patient_id=pid, data=MedicationCreate(
        name="clonazepam", dose_value=0.5, dose_unit="mg", times_per_day=2))
    patients.add_trial(db=db, actor=nurse, patient_id=pid, data=TrialCreate(
        kind="medication", name="sertraline", dose_mg_per_day=150, start_date=date(2024, 1, 1),
        end_date=date(2024, 3, 25), adherence="good", outcome="no_response"))
    patients.add_measurement(db=db, actor=nurse, patient_id=pid, data=MeasurementCreate(weight="71.2 kg"))
    chart = patients.get_chart(db=db, actor=personas["therapist"], patient_id=pid)
    assert chart.clinical.diagnoses[0].icd11 == "6B00"
    assert chart.clinical.trials[0].weeks == 12.0
    assert chart.clinical.latest_weight_kg == 71.2
    assert chart.clinical.medications[0].times_per_day == 2


def test_front_desk_sees_demographics_only(db, personas):
    chart = patients.get_chart(db=db, actor=personas["frontdesk"], patient_id=personas.patient_a)
    assert chart.clinical is None and "diagnoses" in chart.sections_hidden


def test_patient_sees_own_record_and_not_anothers(db, personas):
    own = patients.get_chart(db=db, actor=personas["patient_a"], patient_id=personas.patient_a)
    assert own.patient.given_name == "Alice" and own.clinical is not None
    with pytest.raises(HiddenByPolicy):
        patients.get_chart(db=db, actor=personas["patient_a"], patient_id=personas.patient_b)


def test_roles_that_may_not_write_are_refused(db, personas):
    for role in ("therapist", "researcher", "admin", "patient_a"):
        with pytest.raises((Forbidden, HiddenByPolicy)):
            patients.add_diagnosis(db=db, actor=personas[role], patient_id=personas.patient_a,
                                   data=DiagnosisCreate(code="gad"))
