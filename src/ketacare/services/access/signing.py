"""Electronic signatures (21 CFR Part 11 style): the signer re-authenticates at the moment of signing, and each
signing action records what the signature means (authored, reviewed, approved; data in signatures.toml)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from ketacare.config import get_settings
from ketacare.domain.datafiles import load_toml
from ketacare.domain.errors import InvalidValue
from ketacare.services import clock
from ketacare.services.access import passwords, throttle, totp
from ketacare.services.access.actor import Actor
from ketacare.services.access.schemas import SigningCredentials
from ketacare.services.errors import TooManyAttempts
from ketacare.services.uow import UnitOfWork
from ketacare.store.db import Database
from ketacare.store.tables import User

FIELDS = ("password", "totp_code")  # the signing credential's field names, in forms and API bodies


@dataclass(frozen=True)
class Meaning:
    key: str  # "authored", "reviewed", "approved"
    label: str
    statement: str


@dataclass(frozen=True)
class Signing:
    """A confirmed signer for one signing action: what the signature means and how the signer proved it."""

    action: str
    meaning: str
    label: str
    statement: str
    method: str  # "password" or "totp"

    def audit_details(self) -> dict[str, str]:
        """The facts an audit event of the signature keeps."""
        return {"meaning": self.meaning, "reauthenticated_by": self.method}

    def as_action(self, action: str) -> Signing:
        """The same confirmed signer for another signing action (e.g. a countersignature)."""
        m = meaning_of(action)
        return Signing(action=action, meaning=m.key, label=m.label, statement=m.statement, method=self.method)


@cache
def _table() -> dict[str, dict[str, dict[str, str]]]:
    table = load_toml("ketacare.services.access.data", "signatures.toml")
    for name, action in table["actions"].items():
        if action["meaning"] not in table["meanings"]:
            raise ValueError(f"signatures.toml: {name} names an unknown meaning {action['meaning']!r}")
    return table


def meaning(key: str | None) -> Meaning | None:
    """Return the meaning `key` stored with a signature (None for a signature from before meanings were kept)."""
    m = _table()["meanings"].get(key or "")
    return None if m is None or key is None else Meaning(key=key, label=m["label"], statement=m["statement"])


def meaning_of(action: str) -> Meaning:
    """Return what signing `action` (e.g. "dose_order_sign") means."""
    found = meaning(_table()["actions"][action]["meaning"])
    if found is None:  # cannot happen: _table() checked every action's meaning
        raise ValueError(f"signatures.toml: {action} has no known meaning")
    return found


def credential_field(*, db: Database, actor: Actor) -> str:
    """Return which credential signing asks of this actor: "totp_code" when they use TOTP, else "password"."""
    if actor.user_id is None:
        return "password"
    with db.session() as s:
        user = s.get(User, actor.user_id)
        return "totp_code" if user is not None and user.totp_secret else "password"


def _check(user: User, credentials: SigningCredentials, field: str) -> tuple[bool, int | None]:
    """Return whether the credential is right and the TOTP step to store (None for a password)."""
    if field == "totp_code":
        step = totp.accept(user.totp_secret or "", credentials.totp_code, clock.now(), user.totp_last_step)
        return step is not None, step
    return passwords.verify_password(user.password_hash, credentials.password or ""), None


def confirm(
    *,
    db: Database,
    actor: Actor,
    action: str,
    credentials: SigningCredentials,
    policy: tuple[str, str],
    resource_id: object,
    patient_id: int | None = None,
) -> Signing:
    """Check that `actor` may sign (`policy`: action, resource) and re-authenticate them for signing `action`.

    Runs in its own transaction before the signature's: a wrong password or code is refused with HTTP 422 naming
    the field, stores nothing of the signature, and counts towards the signer's throttling (HTTP 429 once
    delayed); a one-time code is used up so that it cannot sign twice."""
    m = meaning_of(action)
    field = credential_field(db=db, actor=actor)
    given = credentials.totp_code if field == "totp_code" else credentials.password
    settings = get_settings()
    refusal: Exception | None = None
    policy_action, resource_type = policy
    with UnitOfWork(db, actor) as uow:
        uow.authorize(policy_action, resource_type, patient_id=patient_id)
        if actor.user_id is None:
            raise InvalidValue(field, "a signature needs a person's own account: sign in as yourself to sign")
        if not given:
            raise InvalidValue(field, _ask(field))
        s, now = uow.session, clock.now()
        user = s.get(User, actor.user_id)
        if user is None or not user.is_active:
            raise InvalidValue(field, "this account cannot sign")
        counters = throttle.signing_counters(s, settings, user.username, actor.address)
        wait = counters.wait_s(now)
        ok, step = (False, None) if wait else _check(user, credentials, field)
        if not ok:
            if not wait:
                counters.fail(now, settings.login_lockout_base_seconds)
            uow.audit(
                "sign",
                resource_type,
                resource_id,
                patient_id=patient_id,
                outcome="denied" if wait else "failure",
                reason="delayed after failed re-authentication" if wait else "re-authentication failed",
                details={"signing": action, "meaning": m.key},
            )
            refusal = TooManyAttempts(wait, field) if wait else InvalidValue(field, _wrong(field))
        else:
            counters.succeed()
            if step is not None:
                user.totp_last_step = step
    if refusal is not None:
        raise refusal
    method = "totp" if field == "totp_code" else "password"
    return Signing(action=action, meaning=m.key, label=m.label, statement=m.statement, method=method)


def _ask(field: str) -> str:
    if field == "totp_code":
        return "enter the 6-digit code from your authenticator app to sign"
    return "enter your password to sign"


def _wrong(field: str) -> str:
    if field == "totp_code":
        return "that code is not right or was used already: enter the current code from your authenticator app"
    return "it does not match your account: enter your own password to sign"
