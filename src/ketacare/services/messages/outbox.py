"""The message outbox: which reminders are due now, change notices, and the sender that delivers each one once.

Every message is a row of `message_log` before it is sent; its `dedupe_key` is unique (one reminder per appointment
time and rule, one notice per appointment version), so running the sender every minute, or twice at once, cannot
send a message twice. A row is marked `sending` and committed before the SMTP conversation and `sent` after it:
a crash in between leaves it `sending` (shown in the log, never sent again) rather than risk a duplicate.
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ketacare.config import Settings
from ketacare.domain import formatting
from ketacare.domain import messages as core
from ketacare.services import clinic, clock
from ketacare.services.access import Actor, system_actor
from ketacare.services.messages import smtp
from ketacare.services.messages.preferences import opted_out
from ketacare.services.messages.schemas import SendReport
from ketacare.services.messages.templates import in_force
from ketacare.services.uow import UnitOfWork
from ketacare.store.db import Database
from ketacare.store.tables import Patient
from ketacare.store.tables.measurement import ReminderOutbox
from ketacare.store.tables.messages import MessageLog
from ketacare.store.tables.scheduling import Appointment, Site

BATCH = 200  # messages delivered per run at most; the next run takes the rest
RESOURCE = "message"
QUESTIONNAIRE_TEMPLATE = "questionnaire_due"  # wording: clinic settings (reminder subject and introduction)


def _lead(rule: core.ReminderRule) -> timedelta:
    """Return the longest time before an appointment `rule` can send (a day of slack for the clock changes)."""
    if rule.hours_before is not None:
        return timedelta(hours=rule.hours_before + 24)
    return timedelta(days=(rule.days_before or 0) + 2)


def _audit_row(uow: UnitOfWork, row: MessageLog) -> None:
    uow.audit(
        "create" if row.attempts == 0 else "update",
        RESOURCE,
        row.id,
        patient_id=row.patient_id,
        outcome="failure" if row.status == "failed" else "success",
        details={
            "kind": row.kind,
            "template": row.template_id,
            "template_version": row.template_version,
            "status": row.status,
            "attempt": row.attempts,
            "appointment_id": row.appointment_id,
        },
    )


def _new_row(
    s: Session,
    *,
    key: str,
    patient: Patient,
    kind: str,
    template: core.MessageTemplate,
    due_at: datetime,
    now: datetime,
    appointment_id: int | None = None,
    previous_starts_at: datetime | None = None,
    skip: str | None = None,
) -> MessageLog:
    if skip is None and not template.essential and opted_out(s, patient.id):
        skip = "the patient opted out of non-essential messages"
    if skip is None and not patient.email:
        skip = "no email address on the record"
    row = MessageLog(
        dedupe_key=key,
        patient_id=patient.id,
        appointment_id=appointment_id,
        kind=kind,
        template_id=template.id,
        essential=template.essential,
        due_at=due_at,
        status="skipped" if skip else "queued",
        detail=skip,
        previous_starts_at=previous_starts_at,
        attempts=0,
        next_attempt_at=None if skip else now,
        created_at=now,
    )
    s.add(row)
    s.flush()
    return row


def queue_change(uow: UnitOfWork, appointment: Appointment, *, previous_starts_at: datetime | None) -> None:
    """Queue the notice of a moved (`previous_starts_at` given) or cancelled appointment, in the caller's
    transaction. Essential: it goes to patients who opted out of reminders. Past appointments get none."""
    now = clock.now()
    shown = previous_starts_at or appointment.starts_at
    if shown <= now:
        return
    template_id = "appointment_changed" if previous_starts_at is not None else "appointment_cancelled"
    s = uow.session
    patient = s.get(Patient, appointment.patient_id)
    if patient is None:
        return
    row = _new_row(
        s,
        key=f"change:{appointment.id}:v{appointment.version}:{template_id}",
        patient=patient,
        kind="change",
        template=core.shipped_templates()[template_id],
        due_at=now,
        now=now,
        appointment_id=appointment.id,
        previous_starts_at=previous_starts_at,
    )
    _audit_row(uow, row)


def _reminder_key(appointment: Appointment, rule: core.ReminderRule) -> str:
    return f"reminder:{appointment.id}:{rule.id}:{appointment.starts_at.isoformat()}"


def queue_due(*, db: Database, actor: Actor, now: datetime, tz: tzinfo) -> tuple[int, int]:
    """Add to the log every appointment reminder whose local time has come (queued, or skipped with why); return
    (queued, skipped). Of several due for one appointment and template (booked late), only the latest goes."""
    rules = core.reminder_rules()
    templates = core.shipped_templates()
    horizon = now + max(_lead(r) for r in rules)
    queued = skipped = 0
    with UnitOfWork(db, actor) as uow:
        uow.authorize("send", "messages")
        s = uow.session
        appts = list(
            s.scalars(
                select(Appointment).where(
                    Appointment.status == "booked", Appointment.starts_at > now, Appointment.starts_at <= horizon
                )
            )
        )
        if not appts:
            return 0, 0
        known = set(
            s.scalars(
                select(MessageLog.dedupe_key).where(MessageLog.appointment_id.in_([a.id for a in appts]))
            )
        )
        for a in appts:
            due = [
                (core.send_at(r, a.starts_at, tz), r)
                for r in rules
                if core.applies_to(r, a.type_id, a.dosing) and core.send_at(r, a.starts_at, tz) <= now
            ]
            latest: dict[str, datetime] = {}
            for t, r in due:
                latest[r.template] = max(t, latest.get(r.template, t))
            patient = None
            for t, r in sorted(due, key=lambda d: d[0]):
                key = _reminder_key(a, r)
                if key in known:
                    continue
                patient = patient or s.get(Patient, a.patient_id)
                if patient is None:
                    break
                row = _new_row(
                    s,
                    key=key,
                    patient=patient,
                    kind="reminder",
                    template=templates[r.template],
                    due_at=t,
                    now=now,
                    appointment_id=a.id,
                    skip=None if t == latest[r.template] else "a later reminder for this appointment replaced it",
                )
                known.add(key)
                _audit_row(uow, row)
                queued += row.status == "queued"
                skipped += row.status == "skipped"
    return queued, skipped


def _values(
    s: Session, row: MessageLog, c: clinic.ClinicSettingsRead, tz: tzinfo
) -> tuple[dict[str, str], str | None]:
    """Return the placeholders' values for `row`, or a reason not to send it any more."""
    values = {"clinic_name": c.name, "clinic_phone": c.phone or "", "site_name": c.name, "site_address": c.address}
    a = s.get(Appointment, row.appointment_id) if row.appointment_id is not None else None
    if a is None:
        return values, None
    if row.kind == "reminder":
        if a.status != "booked" or not row.dedupe_key.endswith(a.starts_at.isoformat()):
            return values, "the appointment was moved or cancelled since"
        if a.starts_at <= clock.now():
            return values, "the appointment time has passed"
    site = s.get(Site, a.site_id)
    if site is not None:
        values["site_name"], values["site_address"] = site.name, site.address or c.address
    values |= core.when_values(a.starts_at, tz, c.locale)
    if row.previous_starts_at is not None:
        values |= core.when_values(row.previous_starts_at, tz, c.locale, prefix="previous_")
    return values, None


def _claim(
    db: Database, actor: Actor, row_id: int, settings: Settings, c: clinic.ClinicSettingsRead, tz: tzinfo
) -> EmailMessage | None:
    """Mark one due row `sending` and return its email; None if another sender took it or it is no longer due."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("send", "messages")
        s = uow.session
        taken = s.execute(
            update(MessageLog)
            .where(MessageLog.id == row_id, MessageLog.status.in_(("queued", "failed")))
            .values(status="sending")
        )
        if taken.rowcount != 1:  # type: ignore[attr-defined]
            return None
        row = s.get(MessageLog, row_id)
        if row is None:
            return None
        s.refresh(row)
        patient = s.get(Patient, row.patient_id)
        values, stale = _values(s, row, c, tz)
        if stale is None and (patient is None or not patient.email):
            stale = "no email address on the record"
        if stale is None and not row.essential and opted_out(s, row.patient_id):
            stale = "the patient opted out of non-essential messages"
        if stale is not None or patient is None or not patient.email:
            row.status, row.detail, row.next_attempt_at = "skipped", stale, None
            _audit_row(uow, row)
            return None
        template = in_force(s)[row.template_id]
        msg = EmailMessage()
        msg["From"] = formataddr((c.name, settings.smtp_from))
        msg["To"] = patient.email
        msg["Subject"] = core.render(template.subject, values)
        msg["Message-ID"] = make_msgid(domain=settings.smtp_from.rpartition("@")[2] or "localhost")
        msg.set_content(core.render(template.body, values))
        row.template_version, row.to_address = template.version, patient.email
        row.subject = str(msg["Subject"])[:200]
        return msg


def _finish(db: Database, actor: Actor, row_id: int, error: str | None, now: datetime) -> None:
    retry = core.retry_policy()
    with UnitOfWork(db, actor) as uow:
        uow.authorize("send", "messages")
        row = uow.session.get(MessageLog, row_id)
        if row is None:
            return
        row.attempts += 1
        if error is None:
            row.status, row.sent_at, row.detail, row.next_attempt_at = "sent", clock.now(), None, None
        else:
            row.status, row.detail = "failed", error[:500]
            gave_up = row.attempts >= retry.max_attempts
            row.next_attempt_at = None if gave_up else now + retry.next_delay(row.attempts)
            if gave_up:
                row.detail = f"gave up after {row.attempts} attempts: {row.detail}"
        _audit_row(uow, row)


def deliver(
    *, db: Database, settings: Settings, actor: Actor, now: datetime, c: clinic.ClinicSettingsRead
) -> tuple[int, int, list[str]]:
    """Send every queued or failed message whose time has come; return (sent, failed, errors)."""
    tz = formatting.zone(c.timezone)
    with db.session() as s:
        ids = list(
            s.scalars(
                select(MessageLog.id)
                .where(MessageLog.status.in_(("queued", "failed")), MessageLog.next_attempt_at <= now)
                .order_by(MessageLog.due_at, MessageLog.id)
                .limit(BATCH)
            )
        )
    sent = failed = 0
    errors: list[str] = []
    with smtp.Mailer(settings) as mailer:
        for row_id in ids:
            msg = _claim(db, actor, row_id, settings, c, tz)
            if msg is None:
                continue
            error = mailer.send(msg)
            _finish(db, actor, row_id, error, now)
            if error is None:
                sent += 1
            else:
                failed += 1
                errors.append(f"message {row_id}: {error}")
    return sent, failed, errors


def send_due(
    *, db: Database, settings: Settings, actor: Actor | None = None, now: datetime | None = None
) -> SendReport:
    """Queue the reminders whose local time has come and send every due message once (safe to run every minute)."""
    smtp.require(settings)
    actor = actor or system_actor("messages")
    now = now or clock.now()
    c = clinic.current(db, settings)
    try:
        queued, skipped = queue_due(db=db, actor=actor, now=now, tz=formatting.zone(c.timezone))
    except IntegrityError:  # another sender queued the same reminders at the same moment: theirs stand
        queued = skipped = 0
    sent, failed, errors = deliver(db=db, settings=settings, actor=actor, now=now, c=c)
    return SendReport(queued=queued, sent=sent, failed=failed, skipped=skipped, errors=errors)


def log_questionnaire(s: Session, sent: ReminderOutbox, *, clinic_version: int, now: datetime) -> None:
    """Copy one questionnaire reminder attempt (`services/measurement/reminders.py`) into the message log; its
    wording is the clinic settings' reminder subject and introduction, so the version is the settings version."""
    s.add(
        MessageLog(
            dedupe_key=f"questionnaire:{sent.id}",
            patient_id=sent.patient_id,
            kind="questionnaire",
            template_id=QUESTIONNAIRE_TEMPLATE,
            template_version=clinic_version,
            essential=False,
            due_at=sent.due_at,
            status=sent.status if sent.status in ("sent", "failed") else "queued",
            detail=sent.error,
            to_address=sent.to_address,
            subject=sent.subject,
            attempts=1,
            created_at=now,
            sent_at=sent.sent_at,
        )
    )
