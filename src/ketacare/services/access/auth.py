"""Authentication: password login with throttling and TOTP (no replay), opaque session tokens, logout."""

from __future__ import annotations

import functools
import hashlib
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ketacare.config import Settings
from ketacare.services import clock
from ketacare.services.access import emergency, notices, passwords, session_cache, throttle, totp
from ketacare.services.access.actor import Actor
from ketacare.services.access.policy import is_patient_role, may, totp_requirable_roles
from ketacare.services.access.schemas import LoginNoticeRead, LoginRequest
from ketacare.services.errors import TooManyAttempts, Unauthenticated
from ketacare.services.uow import UnitOfWork
from ketacare.store.db import Database
from ketacare.store.tables import AuthSession, User

LAST_SEEN_RESOLUTION = timedelta(seconds=60)
# A hash to verify against when the username is unknown, so both paths cost the same time; likewise a secret.
_DUMMY_SECRET = totp.new_secret()


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
    device_token: str  # the known-device cookie to set (refreshed at every sign-in)
    notice: LoginNoticeRead | None  # failed attempts since the last sign-in, shown once
    must_enrol_totp: bool  # the clinic requires a one-time code of this role and none is enrolled yet


GENERIC_REFUSAL = "wrong username, password or one-time code"


def _refusal(user: User | None, data: LoginRequest, now: datetime) -> tuple[str | None, int | None]:
    """Why this login attempt is refused (None when it is not) and the TOTP step to store.

    The password is checked even for an unknown user and the code even without a secret, so that every
    refusal costs about the same time; the caller answers them all with one message."""
    ok = passwords.verify_password(user.password_hash if user else _dummy_hash(), data.password)
    secret = user.totp_secret if user else None
    step = totp.accept(secret or _DUMMY_SECRET, data.totp_code, now, user.totp_last_step if user else None)
    if not ok or user is None:
        return "wrong username or password", None
    if not user.is_active:
        return "account disabled", None
    if secret and step is None:
        return "one-time code missing, wrong or used before", None
    return None, step if secret else None


def totp_required(settings: Settings, user: User) -> bool:
    """Whether the clinic requires a one-time code of this user's role (and the policy allows requiring it)."""
    return user.role in settings.totp_roles and user.role in totp_requirable_roles()


def login(
    *,
    db: Database,
    settings: Settings,
    data: LoginRequest,
    address: str | None,
    device: str | None = None,
) -> LoginResult:
    """Check a username and password (and TOTP code if enrolled); return a new session token or raise.

    `device` is the known-device cookie, if the browser sent one: a device that signed in to this account before
    is judged by its own failures only, so others failing on the account cannot keep its owner out."""
    attempt = Actor(user_id=None, username=data.username[:64], role="anonymous", address=address)
    outcome: Exception | None = None
    result: LoginResult | None = None
    with UnitOfWork(db, attempt) as uow:
        s, now = uow.session, clock.now()
        user = s.scalar(select(User).where(User.username == data.username))
        device_id = throttle.known_device(s, settings, device, user.id if user else None)
        counters = throttle.counters(s, settings, data.username, address, device_id)
        wait = counters.wait_s(now)
        if wait:
            uow.audit("login_failed", "account", data.username, outcome="denied", reason="delayed after failures")
            outcome = TooManyAttempts(wait)
        else:
            reason, step = _refusal(user, data, now)
            if reason is not None:
                counters.fail(now, settings.login_lockout_base_seconds)
                if user is not None:
                    notices.record_failure(s, settings, user, address, now)
                uow.audit("login_failed", "account", data.username, outcome="failure", reason=reason)
                outcome = Unauthenticated(GENERIC_REFUSAL)
            elif user is not None:  # no refusal means the user exists
                counters.succeed()
                if step is not None:
                    user.totp_last_step = step
                result = _start_session(uow, settings, user, data.password, address, device_id)
    if outcome is not None:
        raise outcome
    assert result is not None  # noqa: S101 - narrows the type; ensured above
    return result


def _start_session(
    uow: UnitOfWork, settings: Settings, user: User, password: str, address: str | None, device_id: str | None
) -> LoginResult:
    s, now = uow.session, clock.now()
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
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
    enrol = totp_required(settings, user) and not user.totp_secret
    actor = _actor(user, address, sess.id, enrol)
    uow.actor = actor
    uow.audit(
        "login",
        "account",
        user.id,
        patient_id=user.patient_id if is_patient_role(user.role) else None,
        details={"known_device": device_id is not None},
    )
    return LoginResult(
        token=token,
        actor=actor,
        expires_at=expires,
        device_token=throttle.device_token(s, settings, user.id, device_id),
        notice=notices.deliver(s, user.id, now),
        must_enrol_totp=enrol,
    )


def _actor(user: User, address: str | None, session_id: int, enrol: bool) -> Actor:
    return Actor(
        user_id=user.id,
        username=user.username,
        role=user.role,
        patient_id=user.patient_id,
        address=address,
        session_id=session_id,
        pending="enrol_totp" if enrol else None,
    )


_RESOLVE = (
    select(
        AuthSession.id,
        AuthSession.revoked_at,
        AuthSession.expires_at,
        AuthSession.last_seen_at,
        User.id.label("user_id"),
        User.username,
        User.role,
        User.patient_id,
        User.is_active,
        User.totp_secret.is_not(None).label("has_totp"),
        User.must_change_password,
    )
    .join(User, User.id == AuthSession.user_id)
)


def rehearse(s: Session) -> None:
    """Run the token lookup once with a digest no session has (a new process compiles it before its first
    request); nothing is read, written or audited."""
    s.execute(_RESOLVE.where(AuthSession.token_hash == token_digest("rehearsal: no such token"))).first()


def remembered(*, db: Database, settings: Settings, token: str | None, address: str | None) -> Actor | None:
    """Return the actor for a session token this process resolved a few seconds ago (`session_cache`), else None
    (no database work: the event loop may call it; `resolve` does the rest in a worker thread)."""
    if not token or len(token) > 200 or not settings.auth_cache_seconds:
        return None
    now = clock.now()
    fresh_for = min(LAST_SEEN_RESOLUTION, timedelta(minutes=settings.session_idle_minutes))
    hit = session_cache.get(db.url, token_digest(token), now, timedelta(seconds=settings.auth_cache_seconds), fresh_for)
    return None if hit is None else _cached_actor(hit, address)


def resolve(*, db: Database, settings: Settings, token: str | None, address: str | None) -> Actor | None:
    """Return the actor for a session token, or None when it is unknown, revoked, idle or expired.

    Every request asks, so a resolved session is remembered for a few seconds (`session_cache`); otherwise the
    session and its user are read in one statement (columns, not ORM objects), and the sliding expiry is written
    at most once per LAST_SEEN_RESOLUTION per session."""
    if not token or len(token) > 200:
        return None
    digest, now = token_digest(token), clock.now()
    idle = timedelta(minutes=settings.session_idle_minutes)
    ttl = timedelta(seconds=settings.auth_cache_seconds)
    fresh_for = min(LAST_SEEN_RESOLUTION, idle)
    if ttl:
        hit = session_cache.get(db.url, digest, now, ttl, fresh_for)
        if hit is not None:
            return _cached_actor(hit, address)
    with db.session() as s:
        row = s.execute(_RESOLVE.where(AuthSession.token_hash == digest)).first()
        if row is None or row.revoked_at is not None or row.expires_at <= now:
            return None
        if now - row.last_seen_at > idle:
            return None
        if not row.is_active:
            return None
        last_seen = row.last_seen_at
        if now - last_seen > LAST_SEEN_RESOLUTION:
            s.execute(update(AuthSession).where(AuthSession.id == row.id).values(last_seen_at=now))
            last_seen = now
        enrol = row.role in settings.totp_roles and row.role in totp_requirable_roles() and not row.has_totp
        entry = session_cache.CachedSession(
            session_id=row.id,
            user_id=row.user_id,
            username=row.username,
            role=row.role,
            patient_id=row.patient_id,
            enrol_totp=enrol,
            must_change_password=row.must_change_password,
            expires_at=row.expires_at,
            last_seen_at=last_seen,
            remembered_at=now,
        )
        actor = _cached_actor(entry, address)
        if may(actor, "break_glass", "emergency_access") and emergency.open_window(s, row.user_id, now):
            return replace(actor, break_glass=True)  # never remembered: the window's end must count at once
    if ttl:
        session_cache.put(db.url, digest, entry)
    return actor


def _cached_actor(entry: session_cache.CachedSession, address: str | None) -> Actor:
    return Actor(
        user_id=entry.user_id,
        username=entry.username,
        role=entry.role,
        patient_id=entry.patient_id,
        address=address,
        session_id=entry.session_id,
        pending="enrol_totp" if entry.enrol_totp else None,
        must_change_password=entry.must_change_password,
    )


def logout(*, db: Database, actor: Actor) -> None:
    """Revoke the actor's current session token."""
    with UnitOfWork(db, actor) as uow:
        if actor.session_id is not None:
            row = uow.session.get(AuthSession, actor.session_id)
            if row is not None and row.revoked_at is None:
                row.revoked_at = clock.now()
        uow.audit("logout", "account", actor.user_id)
