"""One-time questionnaire links for patients who do not log in.

A link is signed (HMAC-SHA256 with the clinic's link key), bound to one patient, one instrument and a due date,
expires, and works once: using it stores the response and the link's nonce in the same transaction, so a second
use (or two at once) is refused and stores nothing. The key comes from KETACARE_LINK_KEY, or is generated once and
kept in clinic_meta.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ketacare.config import Settings
from ketacare.domain.errors import InvalidValue
from ketacare.domain.measurement import load_instrument
from ketacare.services import clock
from ketacare.services.access import Actor, patient_role
from ketacare.services.errors import NotFound, ServiceError
from ketacare.services.measurement.responses import audit_stored, store_response
from ketacare.services.measurement.schemas import LinkCreate, LinkRead, ResponseCreate
from ketacare.services.uow import UnitOfWork
from ketacare.store.db import Database
from ketacare.store.tables import ClinicMeta, Patient
from ketacare.store.tables.measurement import CONTEXTS, QuestionnaireLinkUse, SafetyAlert

META_KEY = "questionnaire_link_key"


class LinkRefused(ServiceError):
    """The link is not valid: tampered, expired or already used (the page says which, and stores nothing)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class LinkClaims:
    patient_id: int
    instrument_id: str
    context: str
    due_date: date
    expires_at: datetime
    nonce: str


@dataclass(frozen=True)
class LinkSubmission:
    response_id: int
    patient_id: int
    instrument_id: str
    total: float | None
    severity: str | None
    flags: list[str]
    alert_id: int | None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def link_key(s: Session, settings: Settings) -> bytes:
    """Return the HMAC key: the configured one, else the one kept in clinic_meta (created on first use)."""
    if settings.link_key:
        return settings.link_key.encode()
    row = s.get(ClinicMeta, META_KEY)
    if row is None:
        row = ClinicMeta(key=META_KEY, value=secrets.token_hex(32))
        s.add(row)
        s.flush()
    return row.value.encode()


def sign(key: bytes, claims: LinkClaims) -> str:
    """Return the token for `claims` (payload.signature, URL-safe)."""
    payload = ".".join(
        [
            "v1",
            str(claims.patient_id),
            claims.instrument_id,
            claims.context,
            claims.due_date.strftime("%Y%m%d"),
            str(int(claims.expires_at.timestamp())),
            claims.nonce,
        ]
    ).encode()
    sig = hmac.new(key, payload, hashlib.sha256).digest()
    return f"{_b64(payload)}.{_b64(sig)}"


def verify(key: bytes, token: str) -> LinkClaims:
    """Return the claims of a well-signed token (expiry and use are checked by the caller)."""
    try:
        payload_b64, sig_b64 = token.split(".")
        payload, sig = _unb64(payload_b64), _unb64(sig_b64)
    except (ValueError, TypeError):
        raise LinkRefused("invalid", "This link is not valid. Ask your clinic for a new one.") from None
    if not hmac.compare_digest(hmac.new(key, payload, hashlib.sha256).digest(), sig):
        raise LinkRefused("invalid", "This link is not valid. Ask your clinic for a new one.")
    v, pid, iid, ctx, due, exp, nonce = payload.decode().split(".")
    return LinkClaims(
        patient_id=int(pid),
        instrument_id=iid,
        context=ctx,
        due_date=datetime.strptime(due, "%Y%m%d").date(),
        expires_at=datetime.fromtimestamp(int(exp), tz=UTC),
        nonce=nonce,
    )


def make_link(
    s: Session,
    settings: Settings,
    *,
    patient_id: int,
    instrument_id: str,
    due_date: date,
    context: str = "follow_up",
    valid_days: int = 7,
) -> LinkRead:
    """Create a signed link inside the caller's transaction (no audit here: the caller audits)."""
    instrument = load_instrument(instrument_id)
    if instrument.rater != "patient":
        raise InvalidValue(
            "instrument_id", f"{instrument.short_name} is rated by a clinician, not sent to patients"
        )
    if context not in CONTEXTS:
        raise InvalidValue("context", f"must be one of {', '.join(CONTEXTS)}")
    expires = datetime.combine(due_date + timedelta(days=valid_days), time(23, 59, 59), tzinfo=UTC)
    claims = LinkClaims(patient_id, instrument.id, context, due_date, expires, secrets.token_urlsafe(12))
    token = sign(link_key(s, settings), claims)
    return LinkRead(
        url=f"{settings.public_url.rstrip('/')}/q/{token}",
        token=token,
        instrument_id=instrument.id,
        due_date=due_date,
        expires_at=expires,
    )


def issue_link(
    *, db: Database, actor: Actor, settings: Settings, patient_id: int, data: LinkCreate
) -> LinkRead:
    """Issue a one-time questionnaire link for a patient (staff hand it over or send it)."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("write", "scores", patient_id=patient_id)
        if uow.session.get(Patient, patient_id) is None:
            raise NotFound("patient")
        link = make_link(
            uow.session,
            settings,
            patient_id=patient_id,
            instrument_id=data.instrument_id,
            due_date=data.due_date,
            context=data.context,
            valid_days=data.valid_days,
        )
        uow.audit(
            "create",
            "questionnaire_link",
            patient_id=patient_id,
            details={
                "instrument": link.instrument_id,
                "due_date": str(data.due_date),
                "expires": link.expires_at,
            },
        )
        return link


def _check(s: Session, settings: Settings, token: str, now: datetime) -> LinkClaims:
    claims = verify(link_key(s, settings), token)
    if now > claims.expires_at:
        raise LinkRefused(
            "expired",
            f"This link expired on {claims.expires_at:%Y-%m-%d}. Ask your clinic for a new one; nothing was saved.",
        )
    if s.get(QuestionnaireLinkUse, claims.nonce) is not None:
        raise LinkRefused(
            "used", "This link has already been used, so it cannot be used again. Nothing was saved."
        )
    return claims


def open_link(*, db: Database, settings: Settings, token: str) -> LinkClaims:
    """Return what a link asks for, or refuse it (invalid, expired, used)."""
    with db.session() as s:
        return _check(s, settings, token, clock.now())


def link_actor(claims: LinkClaims, address: str | None) -> Actor:
    """The actor a link submission is recorded as: the patient the link was made for, with no login."""
    return Actor(
        user_id=None,
        username=f"link:patient:{claims.patient_id}",
        role=patient_role(),
        patient_id=claims.patient_id,
        address=address,
    )


def submit_via_link(
    *,
    db: Database,
    settings: Settings,
    token: str,
    answers: dict[str, int | None],
    address: str | None = None,
    declined: list[str] | None = None,
) -> LinkSubmission:
    """Store the answers given through a one-time link; refuse a reused, expired or forged link (nothing stored)."""
    with db.session() as s:
        claims = _check(s, settings, token, clock.now())
    actor = link_actor(claims, address)
    try:
        with UnitOfWork(db, actor) as uow:
            uow.authorize("write", "scores", patient_id=claims.patient_id)
            s = uow.session
            now = clock.now()
            _check(s, settings, token, now)
            use = QuestionnaireLinkUse(
                nonce=claims.nonce,
                patient_id=claims.patient_id,
                instrument_id=claims.instrument_id,
                due_date=claims.due_date,
                used_at=now,
            )
            s.add(use)
            s.flush()  # a concurrent second use fails here on the primary key
            r, result, alert = store_response(
                s,
                patient_id=claims.patient_id,
                data=ResponseCreate(
                    instrument_id=claims.instrument_id,
                    answers=answers,
                    context=claims.context,
                    declined=declined or [],
                ),
                answered_by_role="patient",
                answered_by_user_id=None,
                via="link",
                now=now,
            )
            use.response_id = r.id
            audit_stored(uow, r, alert)
            return LinkSubmission(
                response_id=r.id,
                patient_id=r.patient_id,
                instrument_id=r.instrument_id,
                total=r.total,
                severity=r.severity,
                flags=json.loads(r.flags),
                alert_id=alert.id if isinstance(alert, SafetyAlert) else None,
            )
    except IntegrityError:
        raise LinkRefused(
            "used", "This link has already been used, so it cannot be used again. Nothing was saved."
        ) from None
