"""Email reminders for due questionnaires: at most three per due item, each recorded in the outbox and audited.

Each attempt is also a row of the message log (`services/messages`), so the front desk sees every message in one
place; a patient who opted out of non-essential messages gets none (`ketacare messages send` runs this too).

Each reminder carries a fresh one-time link. The email says as little as possible (no diagnosis, no scores).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage

from sqlalchemy import func, select

from ketacare.config import Settings
from ketacare.domain import formatting
from ketacare.domain.measurement import load_instrument
from ketacare.services import clinic, clock, messages
from ketacare.services.access import Actor, system_actor
from ketacare.services.measurement.links import make_link
from ketacare.services.measurement.schedule import statuses_for
from ketacare.services.uow import UnitOfWork
from ketacare.store.db import Database
from ketacare.store.tables import Patient
from ketacare.store.tables.measurement import ReminderOutbox

MAX_REMINDERS = 3  # per due item (issue #4)
MIN_HOURS_BETWEEN = 24  # clinic-configurable default, not from a guideline


@dataclass
class ReminderReport:
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)


def _message(
    settings: Settings,
    c: clinic.ClinicSettingsRead,
    to: str,
    instrument_name: str,
    url: str,
    expires: datetime,
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = settings.smtp_from
    msg["To"] = to
    msg["Subject"] = c.reminder_subject  # the clinic's own words (clinic settings)
    lines = [
        "Hello,",
        "",
        f"{c.reminder_intro} ({instrument_name})",
        "",
        f"Open it here: {url}",
        "",
        f"The link works once and until {formatting.friendly_date(expires, formatting.zone(c.timezone))}.",
        "",
        "If you feel unsafe or are thinking about hurting yourself, do not wait for your clinic:",
    ]
    lines += [f"  {line.name} ({line.country}): {line.number}. {line.when}" for line in c.crisis_lines]
    if c.phone:
        lines += [f"  {c.name}: {c.phone}"]
    msg.set_content("\n".join(lines) + "\n")
    return msg


def send_reminders(
    *, db: Database, settings: Settings, actor: Actor | None = None, now: datetime | None = None
) -> ReminderReport:
    """Send reminder emails for due and overdue patient questionnaires through the configured SMTP server."""
    messages.require_smtp(settings)
    actor = actor or system_actor("reminders")
    now = now or clock.now()
    c = clinic.current(db, settings)
    report = ReminderReport()
    with messages.Mailer(settings) as mailer, UnitOfWork(db, actor) as uow:
        uow.authorize("write", "scores")
        s = uow.session
        plist = list(s.scalars(select(Patient).where(Patient.email.is_not(None)).order_by(Patient.id)))
        sts = statuses_for(s, plist, now=now, plan_id=c.assessment_plan)
        for p in plist:
            email = p.email
            if email is None:  # selected with an email only
                continue
            for st in sts.get(p.id, []):
                if (
                    st.status not in ("due", "overdue")
                    or st.item.rater != "patient"
                    or messages.opted_out(s, p.id)  # questionnaire reminders are non-essential
                ):
                    continue
                count, last = s.execute(
                    select(func.count(), func.max(ReminderOutbox.created_at)).where(
                        ReminderOutbox.patient_id == p.id,
                        ReminderOutbox.due_key == st.item.key,
                        ReminderOutbox.status == "sent",
                    )
                ).one()
                if count >= MAX_REMINDERS or (last and now - last < timedelta(hours=MIN_HOURS_BETWEEN)):
                    report.skipped += 1
                    continue
                link = make_link(
                    s,
                    settings,
                    patient_id=p.id,
                    instrument_id=st.item.instrument_id,
                    due_date=st.item.opens_at.date(),
                    context=st.item.context,
                    valid_days=max(1, (st.item.overdue_at.date() - st.item.opens_at.date()).days + 7),
                )
                name = load_instrument(st.item.instrument_id).short_name
                msg = _message(settings, c, email, name, link.url, link.expires_at)
                row = ReminderOutbox(
                    patient_id=p.id,
                    due_key=st.item.key,
                    instrument_id=st.item.instrument_id,
                    due_at=st.item.opens_at,
                    attempt=count + 1,
                    to_address=email,
                    subject=str(msg["Subject"]),
                    status="queued",
                    created_at=now,
                )
                s.add(row)
                error = mailer.send(msg)
                if error is None:
                    row.status, row.sent_at = "sent", clock.now()
                    report.sent += 1
                else:
                    row.status, row.error = "failed", error[:500]
                    report.failed += 1
                    report.errors.append(row.error)
                s.flush()
                messages.log_questionnaire(s, row, clinic_version=c.version, now=now)
                uow.audit(
                    "create",
                    "reminder_email",
                    row.id,
                    patient_id=p.id,
                    outcome="success" if row.status == "sent" else "failure",
                    details={
                        "instrument": st.item.instrument_id,
                        "due": st.item.key,
                        "attempt": row.attempt,
                    },
                )
    return report
