"""The clinic's rescue formulary (issue #12) and the session uses that depend on it: configure entries
(prescribers; versioned, audited, retired entries kept), record a rescue dose checked against the entry, and mark
a side effect resolved.

Ketacare ships no rescue doses: the table starts empty and every entry names who approved it and its source.
The clinical checks (dose within the range, doses and total per session) are `domain.sessions.side_effects`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.domain.errors import InvalidValue
from ketacare.domain.sessions.side_effects import (
    RescueEntry,
    RescueGiven,
    SideEffect,
    check_rescue_dose,
    clinic_entry,
    dose_to_mg,
    dose_units,
    grade_label,
)
from ketacare.services import clock
from ketacare.services.access import Actor, people
from ketacare.services.errors import Conflict, NotFound
from ketacare.services.refs import RecordRef, Version
from ketacare.services.uow import UnitOfWork
from ketacare.store.db import Database
from ketacare.store.tables.sessions import (
    InfusionSession,
    RescueFormularyEntry,
    RescueGivenRow,
    SessionSignature,
    SideEffectRow,
)

Short = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
Long = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class FormularyEntryIn(_Strict):
    """A rescue medicine the clinic allows: single-dose range and session limits in `dose_unit` (mg|microgram)."""

    drug: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] = ""
    route: Annotated[str, StringConstraints(strip_whitespace=True, max_length=16)] = ""
    indications: list[str] = []
    dose_min: float | None = None
    dose_max: float | None = None
    dose_unit: Annotated[str, StringConstraints(strip_whitespace=True, max_length=16)] = ""
    max_doses_per_session: int | None = Field(None, le=100)  # at least 1: checked with the other rules
    max_total_per_session: float | None = None
    approved_by: Short = ""
    source: Long = ""
    note: Long = ""


class FormularyEntryUpdate(FormularyEntryIn):
    version: Version


class FormularyRetire(_Strict):
    version: Version
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class FormularyEntryRead(BaseModel):
    id: int
    drug: str
    route: str
    indications: list[str]
    dose_unit: str
    dose_min: float
    dose_max: float
    max_doses_per_session: int
    max_total_per_session: float | None
    approved_by: str
    source: str
    note: str
    active: bool
    retired_at: datetime | None
    retired_by: str | None
    retire_reason: str | None
    updated_by: str
    updated_at: datetime
    version: int


class RescueGive(_Strict):
    """A rescue dose: the formulary entry, the dose with its unit, what it treats, when (default now)."""

    entry_id: RecordRef
    dose: float | None = None
    dose_unit: Annotated[str, StringConstraints(strip_whitespace=True, max_length=16)] = ""
    side_effect_id: RecordRef | None = None
    indication: Annotated[str, StringConstraints(strip_whitespace=True, max_length=32)] | None = None
    given_at: datetime | None = None


class RescueRead(BaseModel):
    id: int
    entry_id: int
    drug: str
    route: str
    dose_mg: float
    indication: str
    side_effect_id: int | None
    given_at: datetime
    given_by: str


class SideEffectResolve(_Strict):
    resolved_at: datetime | None = None
    resolution: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class SideEffectRead(BaseModel):
    id: int
    type: str
    grade: int
    grade_label: str
    onset_at: datetime
    resolved_at: datetime | None
    resolution: str | None
    description: str | None


# ---------------------------------------------------------------- formulary


def _read(e: RescueFormularyEntry) -> FormularyEntryRead:
    per = dose_units()[e.dose_unit]
    return FormularyEntryRead(
        id=e.id,
        drug=e.drug,
        route=e.route,
        indications=list(e.indications),
        dose_unit=e.dose_unit,
        dose_min=round(e.min_dose_mg / per, 6),
        dose_max=round(e.max_dose_mg / per, 6),
        max_doses_per_session=e.max_doses_per_session,
        max_total_per_session=None
        if e.max_total_mg_per_session is None
        else round(e.max_total_mg_per_session / per, 6),
        approved_by=e.approved_by,
        source=e.source,
        note=e.note or "",
        active=e.retired_at is None,
        retired_at=e.retired_at,
        retired_by=e.retired_by_name,
        retire_reason=e.retire_reason,
        updated_by=e.updated_by_name,
        updated_at=e.updated_at,
        version=e.version,
    )


def _domain_entry(e: RescueFormularyEntry) -> RescueEntry:
    return RescueEntry(
        id=str(e.id),
        drug=e.drug,
        indications=tuple(e.indications),
        routes=(e.route,),
        max_single_dose_mg=e.max_dose_mg,
        min_single_dose_mg=e.min_dose_mg,
        max_doses_per_session=e.max_doses_per_session,
        max_total_mg_per_session=e.max_total_mg_per_session,
        enabled=e.retired_at is None,
        defined_by=e.approved_by,
        source=e.source,
        note=e.note or "",
    )


def _validated(data: FormularyEntryIn) -> RescueEntry:
    return clinic_entry(
        entry_id="new",
        drug=data.drug,
        route=data.route,
        indications=data.indications,
        dose_min=data.dose_min,
        dose_max=data.dose_max,
        dose_unit=data.dose_unit,
        max_doses_per_session=data.max_doses_per_session,
        max_total_per_session=data.max_total_per_session,
        approved_by=data.approved_by,
        source=data.source,
        note=data.note,
    )


def _apply(row: RescueFormularyEntry, entry: RescueEntry, data: FormularyEntryIn) -> None:
    row.drug, row.route, row.indications = entry.drug, entry.routes[0], list(entry.indications)
    row.dose_unit = data.dose_unit
    row.min_dose_mg, row.max_dose_mg = entry.min_single_dose_mg, entry.max_single_dose_mg  # type: ignore[assignment]
    row.max_doses_per_session = entry.max_doses_per_session  # type: ignore[assignment]
    row.max_total_mg_per_session = entry.max_total_mg_per_session
    row.approved_by, row.source, row.note = entry.defined_by, entry.source, data.note or None


def _audit_details(row: RescueFormularyEntry) -> dict[str, object]:
    return {
        "drug": row.drug,
        "route": row.route,
        "indications": list(row.indications),
        "dose_unit": row.dose_unit,
        "min_dose_mg": row.min_dose_mg,
        "max_dose_mg": row.max_dose_mg,
        "max_doses_per_session": row.max_doses_per_session,
        "max_total_mg_per_session": row.max_total_mg_per_session,
        "approved_by": row.approved_by,
        "source": row.source,
        "version": row.version,
    }


def list_entries(*, db: Database, actor: Actor, include_retired: bool = True) -> list[FormularyEntryRead]:
    """Return the clinic's rescue formulary: active entries first (by drug), then retired ones."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("read", "rescue_formulary")
        q = select(RescueFormularyEntry)
        if not include_retired:
            q = q.where(RescueFormularyEntry.retired_at.is_(None))
        rows = list(uow.session.scalars(q))
        rows.sort(key=lambda e: (e.retired_at is not None, e.drug.lower(), e.route, e.id))
        return [_read(e) for e in rows]


def get_entry(*, db: Database, actor: Actor, entry_id: int) -> FormularyEntryRead:
    """Return one formulary entry (active or retired)."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("read", "rescue_formulary")
        row = uow.session.get(RescueFormularyEntry, entry_id)
        if row is None:
            raise NotFound("formulary entry")
        return _read(row)


def add_entry(*, db: Database, actor: Actor, data: FormularyEntryIn) -> FormularyEntryRead:
    """Add a rescue medicine to the clinic's formulary (prescribers); refused unless complete and consistent."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("configure", "rescue_formulary")
        entry = _validated(data)
        now = clock.now()
        row = RescueFormularyEntry(
            created_by=actor.user_id, created_at=now, updated_by_name=actor.username, updated_at=now
        )
        _apply(row, entry, data)
        uow.session.add(row)
        uow.session.flush()
        uow.audit("create", "rescue_formulary_entry", row.id, details=_audit_details(row))
        return _read(row)


def _locked(s: Session, entry_id: int, version: int) -> RescueFormularyEntry:
    row = s.get(RescueFormularyEntry, entry_id)
    if row is None:
        raise NotFound("formulary entry")
    if row.version != version:
        raise Conflict("formulary entry", row.version, version)
    return row


def update_entry(
    *, db: Database, actor: Actor, entry_id: int, data: FormularyEntryUpdate
) -> FormularyEntryRead:
    """Change an active entry (send the version you read; a stale edit gets 409 with the current version)."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("configure", "rescue_formulary")
        row = _locked(uow.session, entry_id, data.version)
        if row.retired_at is not None:
            raise InvalidValue("entry", "a retired entry cannot be changed: add a new entry instead")
        entry = _validated(data)
        before = _audit_details(row)
        _apply(row, entry, data)
        row.updated_by_name, row.updated_at = actor.username, clock.now()
        uow.session.flush()
        after = _audit_details(row)
        changed = {k: [before[k], after[k]] for k in after if k != "version" and before[k] != after[k]}
        uow.audit(
            "update", "rescue_formulary_entry", row.id, details={"changed": changed, "version": row.version}
        )
        return _read(row)


def retire_entry(*, db: Database, actor: Actor, entry_id: int, data: FormularyRetire) -> FormularyEntryRead:
    """Retire an entry with a reason: it is kept (past doses name it) but cannot be chosen for new doses."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("configure", "rescue_formulary")
        row = _locked(uow.session, entry_id, data.version)
        if row.retired_at is not None:
            raise InvalidValue("entry", f"already retired by {row.retired_by_name}")
        now = clock.now()
        row.retired_at, row.retired_by_name, row.retire_reason = now, actor.username, data.reason
        row.updated_by_name, row.updated_at = actor.username, now
        uow.session.flush()
        uow.audit(
            "update",
            "rescue_formulary_entry",
            row.id,
            details={"retired": True, "reason": data.reason, "version": row.version},
        )
        return _read(row)


# ---------------------------------------------------------------- session uses


def _session_for_chart(uow: UnitOfWork, session_id: int) -> InfusionSession:
    sess = uow.session.get(InfusionSession, session_id)
    if sess is None:
        raise NotFound("session")
    uow.authorize("chart", "infusion_session", patient_id=sess.patient_id)
    signed = uow.session.scalar(select(SessionSignature.id).where(SessionSignature.session_id == sess.id))
    if signed is not None:
        raise InvalidValue("session", "the session record is signed: later changes are added as addenda")
    return sess


def _minutes(sess: InfusionSession, at: datetime) -> float:
    t0 = sess.infusion_started_at or sess.checked_in_at or sess.scheduled_at
    return (at - t0).total_seconds() / 60.0


def give_rescue(*, db: Database, actor: Actor, session_id: int, data: RescueGive) -> RescueRead:
    """Record a rescue dose from the clinic's formulary: refused outside the entry's range or session limits."""
    with UnitOfWork(db, actor) as uow:
        s = uow.session
        sess = _session_for_chart(uow, session_id)
        row = s.get(RescueFormularyEntry, data.entry_id)
        if row is None:
            raise InvalidValue("entry_id", "choose a medicine from the clinic's rescue formulary")
        if row.retired_at is not None:
            raise InvalidValue("entry_id", f"{row.drug} {row.route} was retired from the formulary")
        side_effect = None
        if data.side_effect_id is not None:
            side_effect = s.get(SideEffectRow, data.side_effect_id)
            if side_effect is None or side_effect.session_id != sess.id:
                raise InvalidValue("side_effect_id", "choose a side effect recorded in this session")
        indication = data.indication or (side_effect.type if side_effect else None)
        if not indication:
            raise InvalidValue("indication", "say what it treats: choose the side effect or the indication")
        if side_effect is not None and indication != side_effect.type:
            raise InvalidValue("indication", "the indication differs from the side effect it is linked to")
        dose_mg = dose_to_mg(data.dose, data.dose_unit, "dose", "dose_unit")
        now = clock.now()
        at = data.given_at or now
        if at > now:
            raise InvalidValue("given_at", "a dose cannot be recorded in the future")
        earlier = [
            RescueGiven(
                r.entry_id, r.dose_mg, r.route, r.indication, _minutes(sess, r.given_at), r.given_by_name
            )
            for r in s.scalars(
                select(RescueGivenRow).where(
                    RescueGivenRow.session_id == sess.id, RescueGivenRow.entry_id == str(row.id)
                )
            )
        ]
        given = RescueGiven(str(row.id), dose_mg, row.route, indication, _minutes(sess, at), actor.username)
        try:
            check_rescue_dose({str(row.id): _domain_entry(row)}, given, earlier)
        except InvalidValue as e:
            field = {"dose_mg": "dose", "route": "entry_id"}.get(e.field, e.field)
            raise InvalidValue(field, e.message) from None
        rx = RescueGivenRow(
            session_id=sess.id,
            entry_id=str(row.id),
            drug=row.drug,
            dose_mg=dose_mg,
            route=row.route,
            indication=indication,
            side_effect_id=None if side_effect is None else side_effect.id,
            given_at=at,
            given_by=actor.user_id,
            given_by_name=people.signature_of(s, actor),
            created_at=now,
        )
        s.add(rx)
        s.flush()
        uow.audit(
            "administer",
            "rescue_medication",
            rx.id,
            patient_id=sess.patient_id,
            details={
                "drug": rx.drug,
                "dose_mg": rx.dose_mg,
                "route": rx.route,
                "formulary_entry": row.id,
                "formulary_version": row.version,
                "side_effect_id": rx.side_effect_id,
            },
        )
        return RescueRead(
            id=rx.id,
            entry_id=row.id,
            drug=rx.drug,
            route=rx.route,
            dose_mg=rx.dose_mg,
            indication=rx.indication,
            side_effect_id=rx.side_effect_id,
            given_at=rx.given_at,
            given_by=rx.given_by_name,
        )


def resolve_side_effect(
    *, db: Database, actor: Actor, session_id: int, side_effect_id: int, data: SideEffectResolve
) -> SideEffectRead:
    """Mark a side effect resolved: when (default now, not before its onset, not in the future) and how."""
    with UnitOfWork(db, actor) as uow:
        s = uow.session
        sess = _session_for_chart(uow, session_id)
        row = s.get(SideEffectRow, side_effect_id)
        if row is None or row.session_id != sess.id:
            raise NotFound("side effect")
        if row.resolved_at is not None:
            raise InvalidValue("resolved_at", f"already marked resolved at {row.resolved_at:%H:%M} UTC")
        now = clock.now()
        at = data.resolved_at or now
        if at > now:
            raise InvalidValue("resolved_at", "the resolution time is in the future")
        try:
            SideEffect(
                type=row.type,  # type: ignore[arg-type]
                grade=row.grade,
                onset_min=_minutes(sess, row.onset_at),
                resolved_min=_minutes(sess, at),
                description=row.description or "",
            )
        except InvalidValue as e:
            raise InvalidValue("resolved_at" if e.field == "resolved_min" else e.field, e.message) from None
        row.resolved_at, row.resolution, row.resolved_by = at, data.resolution, actor.user_id
        s.flush()
        uow.audit(
            "update",
            "side_effect",
            row.id,
            patient_id=sess.patient_id,
            details={"resolved": True, "resolution": data.resolution},
        )
        return SideEffectRead(
            id=row.id,
            type=row.type,
            grade=row.grade,
            grade_label=grade_label(row.grade),
            onset_at=row.onset_at,
            resolved_at=row.resolved_at,
            resolution=row.resolution,
            description=row.description,
        )
