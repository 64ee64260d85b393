"""Failed sign-in notices for the account owner: collected while it happens, shown at the next sign-in, and
emailed once when the account has an address and SMTP is set."""

from __future__ import annotations

import logging
import smtplib
from datetime import datetime
from email.message import EmailMessage

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.config import Settings
from ketacare.domain.formatting import date_time, zone
from ketacare.services.access.actor import Actor
from ketacare.services.access.schemas import LoginNoticeRead
from ketacare.services.uow import UnitOfWork
from ketacare.store.db import Database
from ketacare.store.tables import LoginNotice, User

MAX_ADDRESSES = 10
log = logging.getLogger(__name__)


def _pending(s: Session, user_id: int) -> LoginNotice | None:
    return s.scalars(
        select(LoginNotice)
        .where(LoginNotice.user_id == user_id, LoginNotice.delivered_at.is_(None))
        .order_by(LoginNotice.id.desc())
        .limit(1)
    ).first()


def record_failure(s: Session, settings: Settings, user: User, address: str | None, now: datetime) -> None:
    """Count a failed sign-in on `user`'s account; email the owner once when failures reach the threshold."""
    notice = _pending(s, user.id)
    if notice is None:
        notice = LoginNotice(user_id=user.id, failures=0, first_failure_at=now, last_failure_at=now, addresses=[])
        s.add(notice)
    notice.failures = (notice.failures or 0) + 1
    notice.last_failure_at = now
    where = address or "unknown"
    if where not in notice.addresses and len(notice.addresses) < MAX_ADDRESSES:
        notice.addresses = [*notice.addresses, where]
    if (
        user.email
        and settings.smtp_host
        and notice.emailed_at is None
        and notice.failures >= settings.login_max_failures
    ):
        notice.emailed_at = now if _email(settings, user.email, notice) else None


def _email(settings: Settings, to: str, notice: LoginNotice) -> bool:
    """Send the owner a plain notice (no patient data); return whether it was handed to the SMTP server."""
    tz = zone(settings.timezone)
    msg = EmailMessage()
    msg["From"] = settings.smtp_from
    msg["To"] = to
    msg["Subject"] = "Failed sign-in attempts on your clinic account"
    msg.set_content(
        f"There were {notice.failures} failed sign-in attempts on your account, the first at "
        f"{date_time(notice.first_failure_at, tz)}, from {', '.join(notice.addresses)}.\n\n"
        "If this was not you, tell your clinic's administrator. Your account stays usable from devices you "
        "signed in with before.\n"
    )
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=10) as smtp:
            smtp.send_message(msg)
        return True
    except (OSError, smtplib.SMTPException) as e:
        log.warning("login notice email not sent: %s", type(e).__name__)
        return False


def deliver(s: Session, user_id: int, now: datetime) -> LoginNoticeRead | None:
    """Mark the pending notice as shown at this sign-in and return it (None when nothing failed)."""
    notice = _pending(s, user_id)
    if notice is None:
        return None
    notice.delivered_at = now
    s.flush()
    return LoginNoticeRead.model_validate(notice)


def latest(*, db: Database, actor: Actor) -> LoginNoticeRead | None:
    """Return the actor's own most recent notice shown at a sign-in (None when there never was one)."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("read", "account")
        notice = uow.session.scalars(
            select(LoginNotice)
            .where(LoginNotice.user_id == actor.user_id, LoginNotice.delivered_at.is_not(None))
            .order_by(LoginNotice.id.desc())
            .limit(1)
        ).first()
        return None if notice is None else LoginNoticeRead.model_validate(notice)
