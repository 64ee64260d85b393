"""A person's own account: change the password, set it by a one-time link, enrol a second factor."""

from __future__ import annotations

from dataclasses import dataclass

import segno
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.domain.errors import InvalidValue, InvalidValues
from ketacare.services import clock
from ketacare.services.access import passwords, totp
from ketacare.services.access.accounts import _lock_keys, end_sessions
from ketacare.services.access.actor import Actor
from ketacare.services.access.auth import token_digest
from ketacare.services.access.schemas import PasswordChange
from ketacare.services.uow import UnitOfWork
from ketacare.store.db import Database
from ketacare.store.tables import User
from ketacare.store.tables.account_admin import PasswordLink


def _set_password(user: User, new: str, confirm: str) -> None:
    """Check and store a new password (the holder chose it: no change is forced any more)."""
    if new != confirm:
        raise InvalidValue("confirm_password", "the two new passwords differ: type the same password twice")
    passwords.check_password_policy(new, user.username, (user.display_name,))
    user.password_hash = passwords.hash_password(new)
    user.password_changed_at = clock.now()
    user.must_change_password = False


def change_password(*, db: Database, actor: Actor, data: PasswordChange) -> int:
    """Change the actor's own password; every other login of theirs ends. Return how many ended."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("change_password", "account")
        u = uow.session.get(User, actor.user_id)
        if u is None:
            raise InvalidValue("current_password", "this login has no account")
        if not passwords.verify_password(u.password_hash, data.current_password):
            raise InvalidValue("current_password", "that is not your current password")
        if data.new_password == data.current_password:
            raise InvalidValue("new_password", "choose a password different from the current one")
        _set_password(u, data.new_password, data.confirm_password)
        ended = end_sessions(uow.session, u.id, keep=actor.session_id)
        uow.audit("change_password", "account", u.id, details={"other_sessions_ended": ended})
        return ended


@dataclass(frozen=True)
class LinkTarget:
    username: str
    purpose: str


def _usable_link(s: Session, token: str) -> PasswordLink | None:
    if not token or len(token) > 200:
        return None
    row = s.scalar(select(PasswordLink).where(PasswordLink.token_hash == token_digest(token)))
    if row is None or row.used_at is not None or row.expires_at <= clock.now():
        return None
    return row


def check_link(*, db: Database, token: str) -> LinkTarget | None:
    """Return whose password a one-time link sets, or None when it is unknown, used or expired."""
    with db.session() as s:
        row = _usable_link(s, token)
        if row is None:
            return None
        u = s.get(User, row.user_id)
        return None if u is None or not u.is_active else LinkTarget(u.username, row.purpose)


def set_password_by_link(*, db: Database, actor: Actor, token: str, new_password: str, confirm: str) -> str:
    """Set a password with a one-time link (reset or invitation); the link then stops working. Return the username."""
    with UnitOfWork(db, actor) as uow:
        s = uow.session
        row = _usable_link(s, token)
        u = None if row is None else s.get(User, row.user_id)
        if row is None or u is None or not u.is_active:
            raise InvalidValue(
                "token", "this link has expired or was already used: ask the clinic for a new one"
            )
        _set_password(u, new_password, confirm)
        row.used_at = clock.now()
        ended = end_sessions(s, u.id)
        for r in _lock_keys(s, u.username):
            r.failures, r.locked_until = 0, None
        uow.actor = Actor(
            user_id=u.id, username=u.username, role=u.role, patient_id=u.patient_id, address=actor.address
        )
        uow.audit("reset_password", "account", u.id, details={"link": row.purpose, "sessions_ended": ended})
        return u.username


@dataclass(frozen=True)
class TotpEnrolment:
    secret: str
    uri: str
    qr_svg: str  # an inline SVG made here (segno), never by a third-party service


def totp_enrolment(actor: Actor, secret: str | None = None) -> TotpEnrolment:
    """Return a new (or the given) secret with its provisioning URI and QR code to scan."""
    secret = secret or totp.new_secret()
    uri = totp.provisioning_uri(secret, actor.username)
    svg = segno.make(uri, error="m").svg_inline(scale=4, dark="#000", light="#fff", omitsize=False)
    return TotpEnrolment(secret=secret, uri=uri, qr_svg=svg)


def confirm_totp(*, db: Database, actor: Actor, secret: str, code: str) -> None:
    """Turn the second factor on once the person shows a code from the secret they scanned."""
    errors: dict[str, str] = {}
    if len(secret) < 16 or len(secret) > 64 or not secret.isalnum():
        errors["secret"] = "start the enrolment again"  # noqa: S105 (a message, not a secret)
    if not (code.isdigit() and len(code) == 6):
        errors["code"] = "enter the 6-digit code your authenticator app shows"
    if errors:
        raise InvalidValues(errors)
    with UnitOfWork(db, actor) as uow:
        uow.authorize("enrol_totp", "account")
        u = uow.session.get(User, actor.user_id)
        if u is None:
            raise InvalidValue("code", "this login has no account")
        if not totp.verify(secret, code, clock.now()):
            raise InvalidValue(
                "code", "that code does not match: check the phone's clock and try the next code"
            )
        u.totp_secret = secret
        uow.audit("update", "account", u.id, details={"totp": "enrolled"})
