"""Separation of duties: account changes that wait for a second administrator, and portal invitations."""

from __future__ import annotations

import secrets
import smtplib
from email.message import EmailMessage

from sqlalchemy import select

from ketacare.config import Settings
from ketacare.domain.errors import InvalidValue
from ketacare.services import clock
from ketacare.services.access import passwords
from ketacare.services.access.accounts import (
    LINK_HOURS,
    _change_read,
    _check_request,
    _new_user,
    detail,
    end_sessions,
    find,
    new_link,
)
from ketacare.services.access.actor import Actor
from ketacare.services.access.policy import patient_role
from ketacare.services.access.schemas import AccountChangeRead, AccountRequest, UserDetailRead
from ketacare.services.errors import Forbidden, ServiceError
from ketacare.services.uow import UnitOfWork
from ketacare.store.db import Database
from ketacare.store.tables import Patient
from ketacare.store.tables.account_admin import AccountChange


class OwnChange(Forbidden):
    """The requester of an account change tried to approve it."""

    def __init__(self) -> None:
        ServiceError.__init__(self, "you asked for this change: a second administrator approves it")
        self.action, self.resource = "approve", "user"


# The account's password hash travels apart from its request (stored hash, or a random one for an invitation).
NO_PASSWORD = "-"  # noqa: S105 (a placeholder, never hashed or stored)


def _without_secret(payload: dict[str, object]) -> dict[str, object]:
    """The request without the temporary password's hash, which is kept only while the request waits."""
    return {k: v for k, v in payload.items() if k != "password_hash"}


def list_changes(*, db: Database, actor: Actor, limit: int = 100) -> list[AccountChangeRead]:
    """Return account changes, pending first, newest first (the security page)."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("read", "security")
        rows = uow.session.scalars(
            select(AccountChange)
            .order_by(AccountChange.status != "pending", AccountChange.requested_at.desc())
            .limit(limit)
        ).all()
        uow.audit("view", "security", details={"changes": len(rows)})
        return [_change_read(r) for r in rows]


def _decidable(uow: UnitOfWork, change_id: int, actor: Actor) -> AccountChange:
    uow.authorize("approve", "user")
    row = uow.session.get(AccountChange, change_id)
    if row is None:
        raise InvalidValue("change", "no account change has that id")
    if row.status != "pending":
        raise InvalidValue("change", f"this change was already {row.status} by {row.decided_by}")
    if row.requested_by_id is not None and row.requested_by_id == actor.user_id:
        uow.refuse_as("approve", "user")
        raise OwnChange()
    return row


def approve(*, db: Database, actor: Actor, change_id: int) -> UserDetailRead:
    """Carry out a pending change as the second administrator (never the one who asked for it)."""
    with UnitOfWork(db, actor) as uow:
        row = _decidable(uow, change_id, actor)
        s, p = uow.session, dict(row.payload)
        if row.kind == "role":
            u = find(s, row.username)
            if u.role != p["from_role"]:
                raise InvalidValue("change", f"{u.username} is now {u.role}, not {p['from_role']}: ask again")
            u.role = str(p["role"])
            end_sessions(s, u.id)
        else:
            hashed = str(p.pop("password_hash"))
            data = AccountRequest(username=row.username, password=NO_PASSWORD, **p)
            _check_request(s, data)
            u = _new_user(s, data, hashed, must_change=True)
        row.status, row.decided_by_id, row.decided_by, row.decided_at = (
            "approved",
            actor.user_id,
            actor.username,
            clock.now(),
        )
        row.payload = _without_secret(row.payload)
        uow.audit(
            "approve",
            "user",
            u.id,
            patient_id=u.patient_id,
            details={"change": row.kind, "request": row.id, "requested_by": row.requested_by, "role": u.role},
        )
        return detail(u)


def reject(*, db: Database, actor: Actor, change_id: int, note: str = "") -> AccountChangeRead:
    """Turn a pending change down (its requester may withdraw it too)."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("approve", "user")
        row = uow.session.get(AccountChange, change_id)
        if row is None or row.status != "pending":
            raise InvalidValue("change", "no pending account change has that id")
        row.status, row.decided_by_id, row.decided_by, row.decided_at = (
            "rejected",
            actor.user_id,
            actor.username,
            clock.now(),
        )
        row.payload = _without_secret(row.payload)
        row.note = " ".join(note.split()) or None
        uow.audit("reject", "user", row.username, details={"change": row.kind, "request": row.id})
        return _change_read(row)


def invite_patient(
    *, db: Database, actor: Actor, settings: Settings, patient_id: int, username: str, display_name: str
) -> UserDetailRead:
    """Create a portal login that only the patient can open: a one-time link goes to the email on their record.

    Nobody else learns a password, so no second administrator is needed.
    """
    if not settings.smtp_host:
        raise InvalidValue(
            "patient_id",
            "no email server is configured (KETACARE_SMTP_HOST): ask a second "
            "administrator to approve a portal login instead",
        )
    data = AccountRequest(
        username=username, display_name=display_name, role=patient_role(), password=NO_PASSWORD, patient_id=patient_id
    )
    with UnitOfWork(db, actor) as uow:
        uow.authorize("create", "user")
        s = uow.session
        _check_request(s, data)
        patient = s.get(Patient, patient_id)
        if patient is None:  # _check_request refused an unknown record already
            raise InvalidValue("patient_id", "no patient has that record id")
        if not patient.email:
            raise InvalidValue(
                "patient_id", "the patient's record has no email address to send the invitation to"
            )
        u = _new_user(s, data, passwords.hash_password(secrets.token_urlsafe(32)), must_change=False)
        token = new_link(s, u, "invitation", actor.username)
        uow.audit("invite", "user", u.id, patient_id=patient_id, details={"username": u.username})
        _send_invitation(
            settings, patient.email, u.username, f"{settings.public_url.rstrip('/')}/password/{token}"
        )
        return detail(u)


def _send_invitation(settings: Settings, to: str, username: str, url: str) -> None:
    msg = EmailMessage()
    msg["Subject"] = "Your login to the clinic's patient portal"
    msg["From"] = settings.smtp_from
    msg["To"] = to
    msg.set_content(
        f"Your clinic has made you a login to its patient portal.\n\nUsername: {username}\n\n"
        f"Choose your password here (the link works once, for {LINK_HOURS} hours):\n{url}\n\n"
        "If you did not expect this email, tell the clinic.\n"
    )
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=15) as smtp:
            smtp.send_message(msg)
    except (OSError, smtplib.SMTPException) as e:
        raise InvalidValue(
            "patient_id",
            f"the invitation could not be sent ({type(e).__name__}): nothing was "
            "created; try again or ask a second administrator to approve a portal login",
        ) from e
