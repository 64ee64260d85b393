"""User accounts: create, list, enrol a second factor (by an administrator, or by the user themselves)."""

from __future__ import annotations

from sqlalchemy import select

from ketacare.domain.errors import InvalidValue
from ketacare.services import clock
from ketacare.services.access import passwords, totp
from ketacare.services.access.actor import Actor
from ketacare.services.access.policy import is_patient_role, needs_second_approval
from ketacare.services.access.schemas import TotpEnrolment, TotpSecret, UserCreate, UserRead
from ketacare.services.uow import UnitOfWork
from ketacare.store.db import Database
from ketacare.store.tables import Patient, User


def _read(u: User) -> UserRead:
    r = UserRead.model_validate(u)
    r.totp_enabled = bool(u.totp_secret)
    return r


def create_user(*, db: Database, actor: Actor, data: UserCreate) -> UserRead:
    """Create an account after checking the password policy; the password is stored only as argon2id."""
    passwords.check_password_policy(data.password, data.username)
    with UnitOfWork(db, actor) as uow:
        uow.authorize("create", "user")
        if needs_second_approval(data.role) and actor.user_id is not None:
            raise InvalidValue(
                "role",
                f"a {data.role} account needs a second administrator's approval: request it on the Users page",
            )
        s = uow.session
        if s.scalar(select(User.id).where(User.username == data.username)) is not None:
            raise InvalidValue("username", f"the username {data.username} is taken")
        if data.patient_id is not None and s.get(Patient, data.patient_id) is None:
            raise InvalidValue("patient_id", "no patient has that id")
        now = clock.now()
        u = User(
            username=data.username,
            display_name=data.display_name,
            role=data.role,
            password_hash=passwords.hash_password(data.password),
            patient_id=data.patient_id,
            is_active=True,
            created_at=now,
            password_changed_at=now,
        )
        s.add(u)
        s.flush()
        uow.audit("create", "user", u.id, details={"username": u.username, "role": u.role})
        return _read(u)


def list_users(*, db: Database, actor: Actor) -> list[UserRead]:
    """Return every account (admins)."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("list", "user")
        rows = uow.session.scalars(select(User).order_by(User.role, User.username)).all()
        uow.audit("list", "user", details={"results": len(rows)})
        return [_read(u) for u in rows]


def enable_totp(*, db: Database, actor: Actor, username: str) -> str:
    """Enrol a staff account in TOTP; return the provisioning URI to scan (shown once)."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("update", "user")
        u = uow.session.scalar(select(User).where(User.username == username))
        if u is None:
            raise InvalidValue("username", f"no account named {username}")
        if is_patient_role(u.role):
            raise InvalidValue("username", "the second factor is for staff accounts")
        u.totp_secret = totp.new_secret()
        uow.audit("update", "user", u.id, details={"totp": "enabled"})
        return totp.provisioning_uri(u.totp_secret, u.username)


def new_totp_secret(*, actor: Actor, secret: str | None = None) -> TotpSecret:
    """Return a fresh secret (or `secret`, shown again) and its otpauth:// URI for the actor to enter in an
    authenticator; nothing is stored until the user confirms it with a code."""
    secret = secret or totp.new_secret()
    return TotpSecret(secret=secret, uri=totp.provisioning_uri(secret, actor.username))


def enrol_own_totp(*, db: Database, actor: Actor, data: TotpEnrolment) -> UserRead:
    """Enrol the actor's own authenticator: the password and a current code of the new secret confirm it."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("enrol_totp", "account")
        u = uow.session.get(User, actor.user_id) if actor.user_id is not None else None
        if u is None:
            raise InvalidValue("username", "only a signed-in user enrols their own authenticator")
        if u.totp_secret:
            raise InvalidValue("totp_code", "this account has an authenticator already: ask an administrator")
        if not passwords.verify_password(u.password_hash, data.password):
            raise InvalidValue("password", "it does not match your account: enter your own password")
        step = totp.accept(data.secret, data.totp_code, clock.now(), None)
        if step is None:
            raise InvalidValue(
                "totp_code", "that code does not match: check the app's clock and enter the current code"
            )
        u.totp_secret, u.totp_last_step = data.secret, step
        uow.audit("update", "user", u.id, details={"totp": "enrolled by the user"})
        return _read(u)
