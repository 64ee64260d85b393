"""Authentication: password login with throttling and optional TOTP, opaque session tokens, logout."""

from __future__ import annotations

import functools
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.config import Settings
from ketacare.services import clock
from ketacare.services.access import passwords, totp
from ketacare.services.access.actor import Actor
from ketacare.services.access.policy import is_patient_role
from ketacare.services.access.schemas import LoginRequest
from ketacare.services.errors import TooManyAttempts, Unauthenticated
from ketacare.services.uow import UnitOfWork
from ketacare.store.db import Database
from ketacare.store.tables import AuthSession, LoginThrottle, User

LAST_SEEN_RESOLUTION = timedelta(seconds=60)
MAX_LOCK_S = 3600
# A hash to verify against when the username is unknown, so both paths cost the same time.
@functools.cache
def _dummy_hash() -> str:
    """Return a hash to verify against for unknown users (same work as a real check); made at first use, since
    hashing at import cost every app process ~1 s of CPU at start."""
    return passwords.hash_password("no-such-user-dummy-password")


def token_digest(token: str) -> str:
    """Return the SHA-256 hex digest under which a session token is stored (never the token itself)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class LoginResult:
    token: str
    actor: Actor
    expires_at: datetime


def _throttle(s: Session, key: str) -> LoginThrottle:
    row = s.get(LoginThrottle, key)
    if row is None:
        row = LoginThrottle(key=key, failures=0)
        s.add(row)
    return row


def _locked_for(row: LoginThrottle, now: datetime) -> int:
    if row.locked_until and row.locked_until > now:
        return max(1, int((row.locked_until - now).total_seconds() + 0.999))
    return 0


def _fail(row: LoginThrottle, now: datetime, settings: Settings) -> None:
    row.failures = (row.failures or 0) + 1
    row.last_failure_at = now
    over = row.failures - settings.login_max_failures
    if over >= 0:
        row.locked_until = now + timedelta(
            seconds=min(MAX_LOCK_S, settings.login_lockout_base_seconds * 2**over)
        )


def _refusal(user: User | None, data: LoginRequest, now: datetime) -> str | None:
    """Why this login attempt is refused, or None; the password is checked even for an unknown user."""
    ok = passwords.verify_password(user.password_hash if user else _dummy_hash(), data.password)
    if not ok or user is None:
        return "wrong username or password"
    if not user.is_active:
        return "account disabled"
    if user.totp_secret and not (data.totp_code and totp.verify(user.totp_secret, data.totp_code, now)):
        return "one-time code missing or wrong"
    return None


def login(*, db: Database, settings: Settings, data: LoginRequest, address: str | None) -> LoginResult:
    """Check a username and password (and TOTP code if enrolled); return a new session token or raise."""
    attempt = Actor(user_id=None, username=data.username[:64], role="anonymous", address=address)
    outcome: Exception | None = None
    result: LoginResult | None = None
    with UnitOfWork(db, attempt) as uow:
        s, now = uow.session, clock.now()
        user_row = _throttle(s, f"user:{data.username}")
        addr_row = _throttle(s, f"addr:{address or 'unknown'}")
        wait = max(_locked_for(user_row, now), _locked_for(addr_row, now))
        if wait:
            uow.audit("login_failed", "account", data.username, outcome="denied", reason="locked out")
            outcome = TooManyAttempts(wait)
        else:
            user = s.scalar(select(User).where(User.username == data.username))
            reason = _refusal(user, data, now)
            if reason is not None:
                _fail(user_row, now, settings)
                _fail(addr_row, now, settings)
                uow.audit("login_failed", "account", data.username, outcome="failure", reason=reason)
                outcome = Unauthenticated(
                    "enter the 6-digit code from your authenticator app"
                    if "one-time" in reason
                    else "wrong username or password"
                )
            elif user is not None:  # no refusal means the user exists
                user_row.failures, user_row.locked_until = 0, None
                addr_row.failures, addr_row.locked_until = 0, None
                if passwords.needs_rehash(user.password_hash):
                    user.password_hash = passwords.hash_password(data.password)
                token = secrets.token_urlsafe(32)
                expires = now + timedelta(hours=settings.session_absolute_hours)
                sess = AuthSession(
                    token_hash=token_digest(token),
                    user_id=user.id,
                    created_at=now,
                    last_seen_at=now,
                    expires_at=expires,
                    address=address,
                )
                s.add(sess)
                s.flush()
                actor = Actor(
                    user_id=user.id,
                    username=user.username,
                    role=user.role,
                    patient_id=user.patient_id,
                    address=address,
                    session_id=sess.id,
                )
                uow.actor = actor
                uow.audit(
                    "login",
                    "account",
                    user.id,
                    patient_id=user.patient_id if is_patient_role(user.role) else None,
                )
                result = LoginResult(token=token, actor=actor, expires_at=expires)
    if outcome is not None:
        raise outcome
    assert result is not None  # noqa: S101 - narrows the type; ensured above
    return result


def resolve(*, db: Database, settings: Settings, token: str | None, address: str | None) -> Actor | None:
    """Return the actor for a session token, or None when it is unknown, revoked, idle or expired."""
    if not token or len(token) > 200:
        return None
    with db.session() as s:
        now = clock.now()
        row = s.scalar(select(AuthSession).where(AuthSession.token_hash == token_digest(token)))
        if row is None or row.revoked_at is not None or row.expires_at <= now:
            return None
        if now - row.last_seen_at > timedelta(minutes=settings.session_idle_minutes):
            return None
        user = s.get(User, row.user_id)
        if user is None or not user.is_active:
            return None
        if now - row.last_seen_at > LAST_SEEN_RESOLUTION:
            row.last_seen_at = now
        return Actor(
            user_id=user.id,
            username=user.username,
            role=user.role,
            patient_id=user.patient_id,
            address=address,
            session_id=row.id,
        )


def logout(*, db: Database, actor: Actor) -> None:
    """Revoke the actor's current session token."""
    with UnitOfWork(db, actor) as uow:
        if actor.session_id is not None:
            row = uow.session.get(AuthSession, actor.session_id)
            if row is not None and row.revoked_at is None:
                row.revoked_at = clock.now()
        uow.audit("logout", "account", actor.user_id)
