"""The patient's own copy of the whole record (issue 15, right of access): complete, for the patient and their
clinicians only, audited, and naming no other patient."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ketacare.services import patients
from ketacare.services.errors import Forbidden, HiddenByPolicy
from ketacare.services.patients.schemas import MeasurementCreate
from ketacare.store.tables import AuditEvent


def test_the_patient_downloads_every_part_of_their_record_and_it_is_audited(db, personas):
    patients.add_measurement(
        db=db, actor=personas["nurse"], patient_id=personas.patient_a, data=MeasurementCreate(weight="71 kg")
    )
    with pytest.raises(HiddenByPolicy):
        patients.get_chart(db=db, actor=personas["patient_b"], patient_id=personas.patient_a)
    e = patients.export_record(db=db, actor=personas["patient_a"], patient_id=personas.patient_a)
    assert e.tables["patients"][0]["id"] == personas.patient_a
    assert sorted(r["weight_kg"] for r in e.tables["body_measurements"]) == [70.0, 71.0]
    assert all(r["patient_id"] == personas.patient_a for r in e.tables["body_measurements"])
    assert not any("hash" in col for rows in e.tables.values() for r in rows for col in r)
    assert personas["patient_b"].username not in e.model_dump_json()
    with db.session() as s:
        last = s.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)).one()
    assert (last.action, last.resource_type, last.patient_id) == (
        "export",
        "patient_record",
        personas.patient_a,
    )


def test_only_the_patient_and_their_clinicians_may_export(db, personas):
    assert patients.export_record(db=db, actor=personas["prescriber"], patient_id=personas.patient_a).mrn
    with pytest.raises(HiddenByPolicy):
        patients.export_record(db=db, actor=personas["patient_b"], patient_id=personas.patient_a)
    with pytest.raises(Forbidden):
        patients.export_record(db=db, actor=personas["frontdesk"], patient_id=personas.patient_a)
