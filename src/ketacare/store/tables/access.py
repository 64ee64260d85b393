"""Staff and patient accounts, login sessions, login throttling and failed-login notices."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column

from ketacare.store.tables.base import IDENTIFIER, Base, UTCDateTime


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), info=IDENTIFIER)
    role: Mapped[str] = mapped_column(String(32))
    password_hash: Mapped[str] = mapped_column(String(255))
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"), index=True)
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    # The newest 30-second TOTP step accepted: a code of this step or an earlier one is never accepted again.
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    email: Mapped[str | None] = mapped_column(String(254), info=IDENTIFIER)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(Integer, default=1)
    # Profile shown wherever the user signs (issue 13): "Dr Alice Ng, MD"; the licence number beside it on records.
    credentials: Mapped[str | None] = mapped_column(String(40))
    licence_number: Mapped[str | None] = mapped_column(String(64), info=IDENTIFIER)
    # Set when an administrator created the account or reset its password: the user chooses their own first.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    deactivated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __mapper_args__ = {"version_id_col": version}


class AuthSession(Base):
    """A login: only the SHA-256 of the opaque token is stored."""

    __tablename__ = "auth_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    address: Mapped[str | None] = mapped_column(String(64))


class LoginThrottle(Base):
    """Failed-login counters: per account and address ("pair"), per account ("account"), per known device."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), default="pair")
    username: Mapped[str | None] = mapped_column(String(64), index=True)
    address: Mapped[str | None] = mapped_column(String(64))
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class LoginNotice(Base):
    """Failed sign-in attempts on an account, shown to its owner at their next sign-in (and emailed once)."""

    __tablename__ = "login_notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    first_failure_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_failure_at: Mapped[datetime] = mapped_column(UTCDateTime())
    addresses: Mapped[list[Any]] = mapped_column(JSON, default=list)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    emailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
