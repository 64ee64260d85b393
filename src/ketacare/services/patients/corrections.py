"""Corrections without losing history: edit, stop, change a dose or mark "entered in error", with a reason.

An entry is never deleted or overwritten silently: each correction checks the version the editor read, changes
the entry, and adds a `record_revisions` row holding the entry before and after with the reason, in the same
transaction as its audit event. Other capabilities (vitals, questionnaire responses) record their corrections
with `record_revision` and read them with `revisions_for`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Connection, Integer, bindparam, select
from sqlalchemy.orm import Session

from ketacare.domain import units
from ketacare.domain.errors import InvalidValue
from ketacare.services import clock
from ketacare.services.access import Actor
from ketacare.services.errors import Conflict, NotFound
from ketacare.services.patients.medication_names import check_medication
from ketacare.services.patients.schemas import (
    AllergyEdit,
    DiagnosisEdit,
    EnteredInError,
    MeasurementEdit,
    MedicationEdit,
    MedicationRead,
    MedicationStop,
    RevisionRead,
    TrialEdit,
)
from ketacare.services.uow import UnitOfWork
from ketacare.store.db import Database
from ketacare.store.tables import (
    Allergy,
    BodyMeasurement,
    Diagnosis,
    Medication,
    RecordRevision,
    TreatmentTrial,
    User,
)

# The record's correctable entries: entity name -> (table, audit resource type, columns shown in the history).
_ENTRIES: dict[str, tuple[type[Any], str, tuple[str, ...]]] = {
    "diagnosis": (Diagnosis, "diagnosis", ("display", "status", "onset_date", "note")),
    "medication": (
        Medication,
        "medication",
        ("name", "dose_value", "dose_unit", "times_per_day", "route", "end_date", "active", "note"),
    ),
    "allergy": (Allergy, "allergy", ("substance", "reaction", "severity", "status")),
    "trial": (
        TreatmentTrial,
        "treatment_trial",
        ("name", "dose_mg_per_day", "sessions", "weeks", "adherence", "outcome", "reason_stopped", "note"),
    ),
    "measurement": (BodyMeasurement, "body_measurement", ("weight_kg", "height_cm", "entered_as")),
}
ENTITIES = tuple(_ENTRIES)


def _plain(v: object) -> object:
    return v.isoformat() if isinstance(v, date | datetime) else v


def snapshot(row: object, columns: Sequence[str]) -> dict[str, object]:
    """Return the named columns of `row` as JSON-ready values (dates as ISO text)."""
    return {c: _plain(getattr(row, c)) for c in columns}


def record_revision(
    s: Session,
    actor: Actor,
    *,
    patient_id: int,
    entity: str,
    entity_id: int,
    action: str,
    reason: str,
    before: dict[str, object],
    after: dict[str, object],
) -> RecordRevision:
    """Add one correction to the history (no authorization: the calling use case has authorized)."""
    rev = RecordRevision(
        patient_id=patient_id,
        entity=entity,
        entity_id=entity_id,
        action=action,
        reason=reason,
        before=before,
        after=after,
        changed_by=actor.user_id,
        changed_at=clock.now(),
    )
    s.add(rev)
    s.flush()
    return rev


_REVISIONS = (
    select(RecordRevision, User.display_name)
    .outerjoin(User, User.id == RecordRevision.changed_by)
    .where(RecordRevision.patient_id == bindparam("patient_id"))
    .order_by(RecordRevision.changed_at.desc(), RecordRevision.id.desc())
)


# The same, as rows (Core): for a read with nothing pending in its session (the chart).
_REVISION_ROWS = (
    select(*RecordRevision.__table__.c, User.__table__.c.display_name)
    .outerjoin(User.__table__, User.__table__.c.id == RecordRevision.__table__.c.changed_by)
    .where(RecordRevision.__table__.c.patient_id == bindparam("patient_id", type_=Integer))
    .order_by(RecordRevision.__table__.c.changed_at.desc(), RecordRevision.__table__.c.id.desc())
)


def revision_rows(conn: Connection, patient_id: int) -> list[RevisionRead]:
    """Return every correction of a patient's entries, newest first, read as rows on `conn`."""
    out = []
    for row in conn.execute(_REVISION_ROWS, {"patient_id": patient_id}):
        r = RevisionRead.model_validate(row)
        r.changed_by_name = row.display_name or ""
        out.append(r)
    return out


def revisions_for(
    s: Session, patient_id: int, entity: str | None = None, entity_id: int | None = None
) -> list[RevisionRead]:
    """Return the corrections of a patient's entries (optionally one entity/entry), newest first."""
    q = _REVISIONS  # every chart read asks for all of a patient's: that statement is built once
    if entity is not None:
        q = q.where(RecordRevision.entity == entity)
    if entity_id is not None:
        q = q.where(RecordRevision.entity_id == entity_id)
    out = []
    for rev, name in s.execute(q, {"patient_id": patient_id}):
        r = RevisionRead.model_validate(rev)
        r.changed_by_name = name or ""
        out.append(r)
    return out


# Columns an edit cannot empty: an explicit null for them means "leave as it is".
_KEEP_WHEN_NULL = frozenset({"status", "dose_value", "dose_unit", "route", "severity", "adherence", "outcome"})


def _changes(data: BaseModel) -> dict[str, object]:
    """Return the fields the editor sent (without version and reason), minus nulls for columns that need a value."""
    sent = data.model_dump(exclude_unset=True, exclude={"version", "reason"})
    return {k: v for k, v in sent.items() if v is not None or k not in _KEEP_WHEN_NULL}


def _load(s: Session, entity: str, patient_id: int, entry_id: int, version: int) -> Any:
    if entity not in _ENTRIES:
        raise NotFound("entry")
    table = _ENTRIES[entity][0]
    row = s.get(table, entry_id)
    if row is None or row.patient_id != patient_id:
        raise NotFound(entity)
    if row.version != version:
        raise Conflict(entity, current_version=row.version, sent_version=version)
    return row


def _is_in_error(entity: str, row: Any) -> bool:
    if entity in ("diagnosis", "allergy"):
        return bool(row.status == "entered_in_error")
    return bool(row.entered_in_error)


def _apply(
    uow: UnitOfWork, entity: str, row: Any, action: str, reason: str, changes: dict[str, object]
) -> RevisionRead:
    """Change `row`, keep the history row and audit it; refuse an entry already marked entered in error."""
    table, resource, columns = _ENTRIES[entity]
    if _is_in_error(entity, row):
        raise InvalidValue(
            "reason", f"this {entity} was marked entered in error; it can no longer be changed"
        )
    before = snapshot(row, (*columns, "version"))
    for k, v in changes.items():
        setattr(row, k, v)
    uow.session.flush()
    after = snapshot(row, (*columns, "version"))
    rev = record_revision(
        uow.session,
        uow.actor,
        patient_id=row.patient_id,
        entity=entity,
        entity_id=row.id,
        action=action,
        reason=reason,
        before=before,
        after=after,
    )
    changed = sorted(k for k in after if before.get(k) != after[k] and k != "version")
    uow.audit(
        "update",
        resource,
        row.id,
        patient_id=row.patient_id,
        details={"correction": action, "reason": reason[:500], "fields": changed},
    )
    return RevisionRead.model_validate(rev)


def mark_entered_in_error(
    *, db: Database, actor: Actor, patient_id: int, entity: str, entry_id: int, data: EnteredInError
) -> RevisionRead:
    """Mark an entry "entered in error": out of the active lists and the clinical logic, kept in the history."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("write", "patient_clinical", patient_id=patient_id)
        row = _load(uow.session, entity, patient_id, entry_id, data.version)
        if entity in ("diagnosis", "allergy"):
            changes: dict[str, object] = {"status": "entered_in_error"}
        else:
            changes = {"entered_in_error": True}
            if entity == "medication":
                changes["active"] = False
        return _apply(uow, entity, row, "entered_in_error", data.reason, changes)


def edit_diagnosis(
    *, db: Database, actor: Actor, patient_id: int, entry_id: int, data: DiagnosisEdit
) -> RevisionRead:
    """Correct a diagnosis's status, onset date or note."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("write", "patient_clinical", patient_id=patient_id)
        row = _load(uow.session, "diagnosis", patient_id, entry_id, data.version)
        changes = _changes(data)
        return _apply(uow, "diagnosis", row, "edit", data.reason, changes)


def edit_medication(
    *, db: Database, actor: Actor, patient_id: int, entry_id: int, data: MedicationEdit
) -> RevisionRead:
    """Change a medication's dose (checked against the drug list's usual maximum), route or note."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("write", "patient_clinical", patient_id=patient_id)
        row = _load(uow.session, "medication", patient_id, entry_id, data.version)
        changes = _changes(data)
        if not row.active:
            raise InvalidValue("dose_value", "this medication was stopped; record a new one to restart it")
        dose = data.dose_value if data.dose_value is not None else row.dose_value
        unit = data.dose_unit if data.dose_unit is not None else row.dose_unit
        per_day = changes["times_per_day"] if "times_per_day" in changes else row.times_per_day
        check_medication(row.name, dose, unit, per_day, True)  # type: ignore[arg-type]
        keys = ("dose_value", "dose_unit", "times_per_day")
        dose_changed = any(changes.get(k, getattr(row, k)) != getattr(row, k) for k in keys)
        return _apply(uow, "medication", row, "change_dose" if dose_changed else "edit", data.reason, changes)


def stop_medication(
    *, db: Database, actor: Actor, patient_id: int, medication_id: int, data: MedicationStop
) -> MedicationRead:
    """Mark a medication stopped on `end_date` (kept on the record with the reason, never deleted)."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("write", "patient_clinical", patient_id=patient_id)
        m = _load(uow.session, "medication", patient_id, medication_id, data.version)
        if not m.active:
            raise InvalidValue("end_date", "this medication is already stopped")
        if m.start_date and data.end_date < m.start_date:
            raise InvalidValue("end_date", "the stop date is before the start date")
        reason = data.reason or "stopped"
        _apply(uow, "medication", m, "stop", reason, {"active": False, "end_date": data.end_date})
        return MedicationRead.model_validate(m)


def edit_allergy(
    *, db: Database, actor: Actor, patient_id: int, entry_id: int, data: AllergyEdit
) -> RevisionRead:
    """Correct an allergy's reaction or severity, or mark it no longer active."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("write", "patient_clinical", patient_id=patient_id)
        row = _load(uow.session, "allergy", patient_id, entry_id, data.version)
        changes = _changes(data)
        return _apply(uow, "allergy", row, "edit", data.reason, changes)


def edit_trial(
    *, db: Database, actor: Actor, patient_id: int, entry_id: int, data: TrialEdit
) -> RevisionRead:
    """Correct a prior treatment trial (dose, sessions, duration, adherence, outcome)."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("write", "patient_clinical", patient_id=patient_id)
        row = _load(uow.session, "trial", patient_id, entry_id, data.version)
        changes = _changes(data)
        if row.kind == "psychotherapy" and changes.get("dose_mg_per_day") is not None:
            raise InvalidValue(
                "dose_mg_per_day", "a psychotherapy trial has sessions, not a dose in mg a day"
            )
        return _apply(uow, "trial", row, "edit", data.reason, changes)


def edit_measurement(
    *, db: Database, actor: Actor, patient_id: int, entry_id: int, data: MeasurementEdit
) -> RevisionRead:
    """Correct a weight or height (typed with its unit, stored in kg and cm)."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("write", "patient_clinical", patient_id=patient_id)
        row = _load(uow.session, "measurement", patient_id, entry_id, data.version)
        changes: dict[str, object] = {}
        if data.weight:
            changes["weight_kg"] = units.parse_weight(data.weight)
        if data.height:
            changes["height_cm"] = units.parse_height(data.height)
        if not changes:
            raise InvalidValue("weight", "enter the corrected weight, height, or both")
        changes["entered_as"] = " / ".join(x for x in (data.weight, data.height) if x)[:40]
        return _apply(uow, "measurement", row, "edit", data.reason, changes)


def entry_history(
    *, db: Database, actor: Actor, patient_id: int, entity: str, entry_id: int
) -> list[RevisionRead]:
    """Return one entry's corrections, newest first (each with the entry before and after and the reason)."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("read", "patient_clinical", patient_id=patient_id)
        if entity not in _ENTRIES:
            raise NotFound("entry")
        row = uow.session.get(_ENTRIES[entity][0], entry_id)
        if row is None or row.patient_id != patient_id:
            raise NotFound(entity)
        out = revisions_for(uow.session, patient_id, entity, entry_id)
        uow.audit("view", "record_revision", entry_id, patient_id=patient_id, details={"entity": entity})
        return out
