"""Reading the audit trail: the admin view with filters, a patient's "who looked at my record", verify."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from pathlib import Path

from sqlalchemy import Select, func, select
from sqlalchemy.exc import SQLAlchemyError

from ketacare.services.access import audit_keys
from ketacare.services.access.actor import Actor
from ketacare.services.access.audit import ChainReport, Finding, verify_chain
from ketacare.services.access.audit_checkpoints import load_checkpoints
from ketacare.services.access.audit_keys import AuditKey
from ketacare.services.access.policy import is_patient_role
from ketacare.services.access.schemas import AuditEventRead, AuditFilter, AuditPage, AuditRow
from ketacare.services.uow import UnitOfWork
from ketacare.store.db import Database
from ketacare.store.tables import AuditEvent, Patient

MAX_ROWS = 500


def list_events(
    *,
    db: Database,
    actor: Actor,
    username: str | None = None,
    patient_id: int | None = None,
    action: str | None = None,
    outcome: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
) -> list[AuditEventRead]:
    """Return audit events, newest first, filtered (admins)."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("read", "audit")
        q = select(AuditEvent)
        if username:
            q = q.where(AuditEvent.actor_username == username)
        if patient_id is not None:
            q = q.where(AuditEvent.patient_id == patient_id)
        if action:
            q = q.where(AuditEvent.action == action)
        if outcome:
            q = q.where(AuditEvent.outcome == outcome)
        if since:
            q = q.where(AuditEvent.occurred_at >= since)
        if until:
            q = q.where(AuditEvent.occurred_at < until)
        rows = uow.session.scalars(
            q.order_by(AuditEvent.seq.desc()).limit(min(max(limit, 1), MAX_ROWS))
        ).all()
        out = [AuditEventRead.model_validate(r) for r in rows]
        uow.audit(
            "view",
            "audit",
            details={
                "filters": {
                    "username": username,
                    "patient_id": patient_id,
                    "action": action,
                    "outcome": outcome,
                }
            },
        )
        return out


PER_PAGE = 50
EXPORT_MAX_ROWS = 100_000


def _day_start_utc(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=tz).astimezone(UTC)


def _filtered(f: AuditFilter, tz: tzinfo) -> Select[AuditEvent, str]:
    q = select(AuditEvent, Patient.mrn).outerjoin(Patient, Patient.id == AuditEvent.patient_id)
    if f.username:
        q = q.where(AuditEvent.actor_username == f.username)
    if f.mrn:
        q = q.where(Patient.mrn == f.mrn.upper())
    if f.action:
        q = q.where(AuditEvent.action == f.action)
    if f.outcome:
        q = q.where(AuditEvent.outcome == f.outcome)
    if f.date_from:
        q = q.where(AuditEvent.occurred_at >= _day_start_utc(f.date_from, tz))
    if f.date_to:
        q = q.where(AuditEvent.occurred_at < _day_start_utc(f.date_to + timedelta(days=1), tz))
    return q


def _filters_for_audit(f: AuditFilter) -> dict[str, object]:
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in f.model_dump(exclude_none=True).items()}


def search_events(
    *, db: Database, actor: Actor, filters: AuditFilter, tz: tzinfo, page: int = 1, per_page: int = PER_PAGE
) -> AuditPage:
    """Return one page of audit events, newest first; dates are whole local days in `tz` (admins)."""
    per_page = min(max(per_page, 1), MAX_ROWS)
    with UnitOfWork(db, actor) as uow:
        uow.authorize("read", "audit")
        q = _filtered(filters, tz)
        total = uow.session.scalar(select(func.count()).select_from(q.subquery())) or 0
        pages = max(1, -(-total // per_page))
        page = min(max(page, 1), pages)
        rows = uow.session.execute(
            q.order_by(AuditEvent.seq.desc()).offset((page - 1) * per_page).limit(per_page)
        ).all()
        events = [AuditRow.model_validate({**AuditEventRead.model_validate(e).model_dump(), "mrn": mrn})
                  for e, mrn in rows]
        uow.audit("view", "audit", details={"filters": _filters_for_audit(filters), "page": page})
        return AuditPage(events=events, total=total, page=page, pages=pages, per_page=per_page)


def export_events(*, db: Database, actor: Actor, filters: AuditFilter, tz: tzinfo) -> list[AuditRow]:
    """Return every matching event (oldest first, at most EXPORT_MAX_ROWS) for a CSV export, audited as an export."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("read", "audit")
        rows = uow.session.execute(
            _filtered(filters, tz).order_by(AuditEvent.seq).limit(EXPORT_MAX_ROWS)
        ).all()
        out = [AuditRow.model_validate({**AuditEventRead.model_validate(e).model_dump(), "mrn": mrn})
               for e, mrn in rows]
        uow.audit("export", "audit", details={"filters": _filters_for_audit(filters), "rows": len(out),
                                              "format": "csv"})
        return out


def access_log(*, db: Database, actor: Actor, patient_id: int, limit: int = 200) -> list[AuditEventRead]:
    """Return who viewed or changed a patient's record (the patient's own "who looked at my record")."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("read", "access_log", patient_id=patient_id)
        rows = uow.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.patient_id == patient_id)
            .order_by(AuditEvent.seq.desc())
            .limit(min(max(limit, 1), MAX_ROWS))
        ).all()
        uow.audit("view", "access_log", patient_id, patient_id=patient_id)
        events = [AuditEventRead.model_validate(r) for r in rows]
        if actor.patient_id is not None:
            events = [_without_other_patients(e, actor) for e in events]
        return events


def _without_other_patients(event: AuditEventRead, viewer: Actor) -> AuditEventRead:
    """Hide who another patient's portal account is (e.g. its refused attempt on this record) from a patient."""
    if not is_patient_role(event.actor_role) or event.actor_username == viewer.username:
        return event
    return event.model_copy(update={"actor_username": "another portal account", "address": None})


def verify(
    *, db: Database, actor: Actor, key: AuditKey | None = None, checkpoint_directory: Path | None = None
) -> ChainReport:
    """Verify the chain (seals, database guards, signed checkpoints) and record the outcome; never raise on a break."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("verify", "audit")
    key = key if key is not None else audit_keys.current()
    checkpoints, bad = load_checkpoints(checkpoint_directory, key) if checkpoint_directory else ([], [])
    with db.sessions() as s:
        report = verify_chain(s, key=key, checkpoints=checkpoints).with_findings(bad)
    try:
        with UnitOfWork(db, actor) as uow:
            uow.audit(
                "verify",
                "audit",
                outcome="success" if report.ok else "failure",
                reason=report.problem,
                details={"checked": report.checked, "findings": len(report.findings)},
            )
    except SQLAlchemyError as exc:
        problem = f"the verification could not be recorded: {exc.__class__.__name__}"
        report = report.with_findings([Finding(None, problem)])
    return report
