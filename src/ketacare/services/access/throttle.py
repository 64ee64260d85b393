"""Sign-in throttling that protects without locking out: progressive delays per account and address, an
account-wide delay that a known device skips, known-device cookies, and what an administrator sees and clears.

Why this shape: behind a proxy or NAT a whole clinic shares one address, so a counter per address alone would let
one mistyped (or hostile) account stop everyone; a counter per account alone would let anyone keep a named
account locked. Failures therefore count per (account, address) pair and, with a higher threshold, per account;
a device that signed in to the account before (a signed cookie) is judged only by its own failures.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from ketacare.config import Settings
from ketacare.services import clock
from ketacare.services.access.actor import Actor
from ketacare.services.access.schemas import ThrottleRead
from ketacare.services.uow import UnitOfWork
from ketacare.store.db import Database
from ketacare.store.tables import ClinicMeta, LoginThrottle

DEVICE_COOKIE = "kc_device"
DEVICE_COOKIE_DAYS = 365
DEVICE_KEY_META = "device_cookie_key"
MAX_DELAY_S = 900  # a delay never exceeds 15 min: a delay, not a lock
FORGET_AFTER = timedelta(hours=1)  # failures older than this (and no delay running) are forgotten


def _pair_key(username: str, address: str | None) -> str:
    return f"pair:{username}|{address or 'unknown'}"


def _row(s: Session, key: str, kind: str, username: str, address: str | None) -> LoginThrottle:
    row = s.get(LoginThrottle, key)
    if row is None:
        row = LoginThrottle(key=key, kind=kind, username=username, address=address, failures=0)
        s.add(row)
    return row


@dataclass
class Counters:
    """The counters one attempt counts on, how many free failures each allows, and the ones that judge it."""

    rows: list[tuple[LoginThrottle, int]]
    judged_by: tuple[str, ...] = ("pair", "account", "device", "signing")

    def wait_s(self, now: datetime) -> int:
        """Seconds this attempt must wait (0: it may be tried now)."""
        return max((_remaining(r, now) for r, _ in self.rows if r.kind in self.judged_by), default=0)

    def fail(self, now: datetime, base_s: int) -> None:
        """Count a failure; past its free failures each counter delays the next attempt progressively."""
        for row, free in self.rows:
            if row.last_failure_at and now - row.last_failure_at > FORGET_AFTER and not _remaining(row, now):
                row.failures = 0
            row.failures = (row.failures or 0) + 1
            row.last_failure_at = now
            over = row.failures - free
            if over >= 0:
                row.locked_until = now + timedelta(seconds=min(MAX_DELAY_S, base_s * 2 ** min(over, 20)))

    def succeed(self) -> None:
        """Clear the counters of this address or device (the account-wide one only decays or is cleared)."""
        for row, _ in self.rows:
            if row.kind != "account":
                row.failures, row.locked_until = 0, None


def _remaining(row: LoginThrottle, now: datetime) -> int:
    if row.locked_until and row.locked_until > now:
        return max(1, int((row.locked_until - now).total_seconds() + 0.999))
    return 0


def counters(
    s: Session, settings: Settings, username: str, address: str | None, device_id: str | None
) -> Counters:
    """Return the counters for an attempt: the known device's own, else the (account, address) pair's and the
    account's (whose threshold is higher, so that guessing from many addresses is slowed too)."""
    if device_id is not None:
        row = _row(s, f"device:{device_id}", "device", username, address)
        return Counters([(row, settings.login_max_failures)])
    pair = _row(s, _pair_key(username, address), "pair", username, address)
    account = _row(s, f"account:{username}", "account", username, None)
    return Counters([(pair, settings.login_max_failures), (account, settings.login_account_max_failures)])


def signing_counters(s: Session, settings: Settings, username: str, address: str | None) -> Counters:
    """Return the counters for re-authenticating to sign: the signer's own (only a signed-in user can fail it,
    so failed logins by others never stop a signature), and the account's, which a failure also counts on."""
    own = _row(s, f"signing:{username}", "signing", username, address)
    account = _row(s, f"account:{username}", "account", username, None)
    return Counters(
        [(own, settings.login_max_failures), (account, settings.login_account_max_failures)], ("signing",)
    )


# ------------------------------------------------------------------------------------------ known devices


def _device_key(s: Session, settings: Settings) -> bytes:
    if settings.device_key:
        return settings.device_key.encode()
    row = s.get(ClinicMeta, DEVICE_KEY_META)
    if row is None:
        row = ClinicMeta(key=DEVICE_KEY_META, value=secrets.token_hex(32))
        s.add(row)
        s.flush()
    return row.value.encode()


def _mac(key: bytes, payload: str) -> str:
    return hmac.new(key, payload.encode(), hashlib.sha256).hexdigest()[:40]


def device_token(s: Session, settings: Settings, user_id: int, device_id: str | None = None) -> str:
    """Return the signed known-device cookie value for `user_id` (a new device id unless one is given)."""
    payload = f"v1.{user_id}.{device_id or secrets.token_hex(12)}"
    return f"{payload}.{_mac(_device_key(s, settings), payload)}"


def known_device(s: Session, settings: Settings, token: str | None, user_id: int | None) -> str | None:
    """Return the device id when `token` is a valid known-device cookie of this user, else None."""
    if not token or user_id is None or len(token) > 200:
        return None
    payload, _, mac = token.rpartition(".")
    parts = payload.split(".")
    if len(parts) != 3 or parts[0] != "v1" or parts[1] != str(user_id):
        return None
    if not hmac.compare_digest(mac, _mac(_device_key(s, settings), payload)):
        return None
    return parts[2]


# ------------------------------------------------------------------------------------------ administrator


def list_state(*, db: Database, actor: Actor) -> list[ThrottleRead]:
    """Return every counter with failures, newest first, with the delay still to run."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("read", "login_throttle")
        now = clock.now()
        rows = uow.session.scalars(
            select(LoginThrottle)
            .where(LoginThrottle.failures > 0)
            .order_by(LoginThrottle.last_failure_at.desc())
            .limit(500)
        ).all()
        uow.audit("list", "login_throttle", details={"results": len(rows)})
        return [
            ThrottleRead(
                key=r.key,
                kind=r.kind,
                username=r.username,
                address=r.address,
                failures=r.failures,
                last_failure_at=r.last_failure_at,
                delayed_until=r.locked_until if _remaining(r, now) else None,
                delay_s=_remaining(r, now),
            )
            for r in rows
        ]


def clear(*, db: Database, actor: Actor, username: str | None = None, key: str | None = None) -> int:
    """Clear the counters of an account (every address and device) or one counter; return how many."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("clear", "login_throttle")
        condition = or_(
            LoginThrottle.username == (username or "").strip().lower(), LoginThrottle.key == (key or "")
        )
        cleared = len(uow.session.scalars(select(LoginThrottle.key).where(condition)).all())
        uow.session.execute(delete(LoginThrottle).where(condition))
        uow.audit(
            "update", "login_throttle", username or key, details={"cleared": cleared, "step": "unlock"}
        )
        return cleared
