"""Account administration: accounts, roles, deactivation, unlocking, sessions, one-time password links.

A change that gives an account access to patient data (a new account or a role of
`policy.second_approval_roles()`, a portal login linked to a patient) waits for a second administrator
(`approvals.py`); the local command line acts at once.
"""

from __future__ import annotations

import re
import secrets
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ketacare.domain.errors import InvalidValue, InvalidValues
from ketacare.services import clock
from ketacare.services.access import passwords
from ketacare.services.access.actor import Actor
from ketacare.services.access.auth import token_digest
from ketacare.services.access.people import user_signature
from ketacare.services.access.policy import account_roles, is_patient_role, needs_second_approval
from ketacare.services.access.schemas import (
    AccountChangeRead,
    AccountOutcome,
    AccountRequest,
    LockRead,
    Profile,
    SessionRead,
    UserDetailRead,
)
from ketacare.services.uow import UnitOfWork
from ketacare.store.db import Database
from ketacare.store.tables import AuthSession, LoginThrottle, Patient, User
from ketacare.store.tables.account_admin import AccountChange, PasswordLink

LINK_HOURS = 24  # a reset link or portal invitation works once, within this many hours


def detail(u: User) -> UserDetailRead:
    """Return an account as the administration pages show it."""
    r = UserDetailRead.model_validate(u)
    r.totp_enabled = bool(u.totp_secret)
    r.signature = user_signature(u)
    return r


def acts_at_once(actor: Actor) -> bool:
    """Return True for the local command line, whose changes need no second administrator."""
    return actor.user_id is None


def find(s: Session, username: str) -> User:
    """Return the account `username` or refuse naming the field."""
    u = s.scalar(select(User).where(User.username == (username or "").strip().lower()))
    if u is None:
        raise InvalidValue("username", f"no account is named {username}")
    return u


def end_sessions(s: Session, user_id: int, *, keep: int | None = None) -> int:
    """Revoke every open login of `user_id` (but `keep`); return how many ended."""
    now = clock.now()
    stmt = update(AuthSession).where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
    if keep is not None:
        stmt = stmt.where(AuthSession.id != keep)
    return int(s.execute(stmt.values(revoked_at=now)).rowcount or 0)  # type: ignore[attr-defined]


def _check_request(s: Session, data: AccountRequest) -> None:
    errors: dict[str, str] = {}
    if s.scalar(select(User.id).where(User.username == data.username)) is not None:
        errors["username"] = f"the username {data.username} is taken"
    if is_patient_role(data.role):
        if data.patient_id is None:
            errors["patient_id"] = "a portal login needs the patient's record id"
        elif s.get(Patient, data.patient_id) is None:
            errors["patient_id"] = "no patient has that record id"
    elif data.patient_id is not None:
        errors["patient_id"] = "only a portal login links to a patient record"
    if errors:
        raise InvalidValues(errors)


def _new_user(s: Session, data: AccountRequest, password_hash: str, *, must_change: bool) -> User:
    now = clock.now()
    u = User(
        username=data.username,
        display_name=data.display_name,
        credentials=data.credentials,
        licence_number=data.licence_number,
        role=data.role,
        password_hash=password_hash,
        patient_id=data.patient_id,
        is_active=True,
        must_change_password=must_change,
        created_at=now,
        password_changed_at=now,
    )
    s.add(u)
    s.flush()
    return u


def _pending(s: Session, actor: Actor, kind: str, username: str, payload: dict[str, object]) -> AccountChange:
    row = AccountChange(
        kind=kind,
        username=username,
        payload=payload,
        status="pending",
        requested_by_id=actor.user_id,
        requested_by=actor.username,
        requested_at=clock.now(),
    )
    s.add(row)
    s.flush()
    return row


def request_account(
    *, db: Database, actor: Actor, data: AccountRequest, temporary: bool = True
) -> AccountOutcome:
    """Create an account whose holder sets their own password at first login, or ask a second administrator.

    Only the local command line may set a final password (`temporary=False`), e.g. for its own first account.
    """
    passwords.check_password_policy(data.password, data.username, (data.display_name,))
    with UnitOfWork(db, actor) as uow:
        uow.authorize("create", "user")
        s = uow.session
        _check_request(s, data)
        if s.scalar(
            select(AccountChange.id).where(
                AccountChange.username == data.username, AccountChange.status == "pending"
            )
        ):
            raise InvalidValue("username", f"a request for {data.username} is already waiting for approval")
        hashed = passwords.hash_password(data.password)
        if needs_second_approval(data.role) and not acts_at_once(actor):
            kind = "link_patient" if is_patient_role(data.role) else "create"
            payload: dict[str, object] = {
                **data.model_dump(exclude={"password", "username"}),
                "password_hash": hashed,
            }
            row = _pending(s, actor, kind, data.username, payload)
            uow.audit(
                "request",
                "user",
                data.username,
                patient_id=data.patient_id,
                details={"change": kind, "role": data.role, "request": row.id},
            )
            return AccountOutcome(pending=_change_read(row))
        u = _new_user(s, data, hashed, must_change=temporary or not acts_at_once(actor))
        uow.audit("create", "user", u.id, details={"username": u.username, "role": u.role})
        return AccountOutcome(user=detail(u))


def _change_read(row: AccountChange) -> AccountChangeRead:
    r = AccountChangeRead.model_validate(row)
    r.payload = {k: v for k, v in row.payload.items() if k != "password_hash"}
    return r


def change_role(*, db: Database, actor: Actor, username: str, role: str) -> AccountOutcome:
    """Give an account another role: at once when it grants no patient data, else after a second administrator."""
    if role not in account_roles():
        raise InvalidValue("role", f"choose one of {', '.join(account_roles())}")
    with UnitOfWork(db, actor) as uow:
        uow.authorize("update", "user")
        s = uow.session
        u = find(s, username)
        if u.role == role:
            raise InvalidValue("role", f"{u.username} already has the role {role}")
        if is_patient_role(role) or is_patient_role(u.role):
            raise InvalidValue("role", "a portal login and a staff account are separate accounts")
        if u.id == actor.user_id:
            raise InvalidValue("role", "another administrator changes your own role")
        if needs_second_approval(role) and not acts_at_once(actor):
            row = _pending(s, actor, "role", u.username, {"role": role, "from_role": u.role})
            uow.audit("request", "user", u.id, details={"change": "role", "role": role, "request": row.id})
            return AccountOutcome(pending=_change_read(row))
        uow.audit("update", "user", u.id, details={"role": role, "from_role": u.role})
        u.role = role
        end_sessions(s, u.id)  # the new role applies from the next login
        return AccountOutcome(user=detail(u))


def get_user(*, db: Database, actor: Actor, username: str) -> UserDetailRead:
    """Return one account."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("read", "user")
        u = find(uow.session, username)
        uow.audit("view", "user", u.id)
        return detail(u)


def set_active(*, db: Database, actor: Actor, username: str, active: bool) -> UserDetailRead:
    """Deactivate an account (every login ends at once: its next request is refused) or reactivate it."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("deactivate", "user")
        u = find(uow.session, username)
        if u.id == actor.user_id:
            raise InvalidValue("username", "you cannot deactivate your own account")
        if u.is_active == active:
            raise InvalidValue("username", f"{u.username} is already {'active' if active else 'deactivated'}")
        u.is_active = active
        u.deactivated_at = None if active else clock.now()
        ended = 0 if active else end_sessions(uow.session, u.id)
        uow.audit("reactivate" if active else "deactivate", "user", u.id, details={"sessions_ended": ended})
        return detail(u)


def _lock_keys(s: Session, username: str) -> list[LoginThrottle]:
    """The throttle rows of one account, whatever else their key holds (e.g. the address of a per-pair counter):
    every key naming the username as a whole word, except the counters of an address alone."""
    word = re.compile(rf"(?<![a-z0-9._-]){re.escape(username)}(?![a-z0-9._-])")
    rows = s.scalars(select(LoginThrottle).where(LoginThrottle.key.contains(username, autoescape=True))).all()
    return [r for r in rows if not r.key.startswith("addr:") and word.search(r.key)]


def locks(*, db: Database, actor: Actor, username: str) -> list[LockRead]:
    """Return the failed-login counters of an account (locked or not)."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("read", "user")
        u = find(uow.session, username)
        return [
            LockRead(key=r.key, failures=r.failures or 0, locked_until=r.locked_until)
            for r in _lock_keys(uow.session, u.username)
            if r.failures
        ]


def unlock(*, db: Database, actor: Actor, username: str) -> int:
    """Clear an account's failed-login counters and lock; return how many counters were cleared."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("unlock", "user")
        u = find(uow.session, username)
        rows = _lock_keys(uow.session, u.username)
        for r in rows:
            r.failures, r.locked_until = 0, None
        uow.audit("unlock", "user", u.id, details={"counters": len(rows)})
        return len(rows)


def sessions(*, db: Database, actor: Actor, username: str) -> list[SessionRead]:
    """Return an account's open logins, newest first."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("read", "user")
        u = find(uow.session, username)
        now = clock.now()
        rows = uow.session.scalars(
            select(AuthSession)
            .where(
                AuthSession.user_id == u.id, AuthSession.revoked_at.is_(None), AuthSession.expires_at > now
            )
            .order_by(AuthSession.last_seen_at.desc())
        ).all()
        return [SessionRead.model_validate(r) for r in rows]


def revoke_sessions(*, db: Database, actor: Actor, username: str, session_id: int | None = None) -> int:
    """End one login of an account, or all of them; return how many ended."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("revoke_sessions", "user")
        s = uow.session
        u = find(s, username)
        if session_id is None:
            ended = end_sessions(s, u.id)
        else:
            row = s.get(AuthSession, session_id)
            if row is None or row.user_id != u.id:
                raise InvalidValue("session_id", f"{u.username} has no login with that id")
            ended = 0 if row.revoked_at is not None else 1
            row.revoked_at = row.revoked_at or clock.now()
        uow.audit("revoke", "user", u.id, details={"sessions_ended": ended, "session": session_id})
        return ended


def new_link(s: Session, user: User, purpose: str, created_by: str) -> str:
    """Store a one-time password link for `user` (its token hashed) and return the token, shown once."""
    token = secrets.token_urlsafe(32)
    now = clock.now()
    s.execute(  # an older unused link of the same account stops working
        update(PasswordLink)
        .where(PasswordLink.user_id == user.id, PasswordLink.used_at.is_(None))
        .values(used_at=now)
    )
    s.add(
        PasswordLink(
            token_hash=token_digest(token),
            user_id=user.id,
            purpose=purpose,
            created_by=created_by,
            created_at=now,
            expires_at=now + timedelta(hours=LINK_HOURS),
        )
    )
    return token


def reset_link(*, db: Database, actor: Actor, username: str) -> str:
    """Make a one-time link (valid LINK_HOURS hours) with which the account holder sets a new password."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("reset_password", "user")
        u = find(uow.session, username)
        if not u.is_active:
            raise InvalidValue("username", f"{u.username} is deactivated: reactivate the account first")
        token = new_link(uow.session, u, "reset", actor.username)
        uow.audit("reset_password", "user", u.id, details={"valid_hours": LINK_HOURS})
        return token


def remove_totp(*, db: Database, actor: Actor, username: str) -> UserDetailRead:
    """Remove an account's second factor (a lost phone); the holder enrols again from their account page."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("update", "user")
        u = find(uow.session, username)
        if not u.totp_secret:
            raise InvalidValue("username", f"{u.username} has no second factor")
        u.totp_secret = None
        uow.audit("update", "user", u.id, details={"totp": "removed"})
        return detail(u)


def update_profile(*, db: Database, actor: Actor, username: str, data: Profile) -> UserDetailRead:
    """Change the name, credentials and licence number an account's signatures show."""
    with UnitOfWork(db, actor) as uow:
        own = username == actor.username
        uow.authorize("update_profile" if own else "update", "account" if own else "user")
        u = find(uow.session, username)
        before = {"display_name": u.display_name, "credentials": u.credentials, "licence": u.licence_number}
        u.display_name, u.credentials, u.licence_number = (
            data.display_name,
            data.credentials,
            data.licence_number,
        )
        uow.audit("update", "user", u.id, details={"profile": "changed", "before": before})
        return detail(u)


def list_accounts(*, db: Database, actor: Actor) -> list[UserDetailRead]:
    """Return every account, by role and username."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("list", "user")
        rows = uow.session.scalars(select(User).order_by(User.role, User.username)).all()
        uow.audit("list", "user", details={"results": len(rows)})
        return [detail(u) for u in rows]


def detail_of(*, db: Database, actor: Actor) -> UserDetailRead:
    """Return the actor's own account (their account page)."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("read", "account")
        u = uow.session.get(User, actor.user_id)
        if u is None:
            raise InvalidValue("username", "this login has no account")
        return detail(u)
