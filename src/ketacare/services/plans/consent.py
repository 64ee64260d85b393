"""Informed consent as a signed document (issue 16 point 1): the documents in force per route, the patient's
signature (portal, or a clinic tablet witnessed by the signed-in staff member), the prescriber's re-authenticated
countersignature, withdrawal, and the status the session pre-check reads. Every read and write is authorized and
audited (resource "consent")."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.domain.errors import InvalidValue, InvalidValues
from ketacare.domain.plans.consent import ConsentTemplate, consent_templates, document_digest
from ketacare.domain.plans.consent_status import (
    ConsentStatus,
    SignedConsent,
    add_months,
    consent_status,
    document_in_force,
)
from ketacare.services import clock
from ketacare.services.access import Actor, signing
from ketacare.services.errors import Conflict, NotFound
from ketacare.services.plans.consent_schemas import (
    ConsentCountersignIn,
    ConsentDocumentRead,
    ConsentSignatureRead,
    ConsentSignIn,
    ConsentStatusRead,
    ConsentWithdrawIn,
    DocumentStatusRead,
    PatientConsentsRead,
)
from ketacare.services.uow import UnitOfWork
from ketacare.store.db import Database
from ketacare.store.tables import Patient, User
from ketacare.store.tables.plans import ConsentSignature

RESOURCE = "consent"
COUNTERSIGN = "consent_countersign"  # signatures.toml action
_POINT = re.compile(r"[ML]")


def templates() -> Mapping[str, ConsentTemplate]:
    """Return the consent documents shipped (one seam, so tests can stand in a new version)."""
    return consent_templates()


def documents(on: date | None = None) -> list[ConsentDocumentRead]:
    """Return every consent document effective on `on` (default today), by id; no patient data."""
    day = on or clock.now().date()
    return [_document_read(t) for t in templates().values() if t.effective <= day]


def _document_read(t: ConsentTemplate) -> ConsentDocumentRead:
    return ConsentDocumentRead(
        id=t.id,
        version=t.version,
        title=t.title,
        routes=list(t.routes),
        effective=t.effective,
        valid_months=t.valid_months,
        reconsent_on_new_version=t.reconsent_on_new_version,
    )


def document(template_id: str, on: date | None = None) -> ConsentTemplate:
    """Return the document `template_id` effective on `on` (default today), or refuse naming `template_id`."""
    t = templates().get(template_id)
    if t is None:
        raise InvalidValue("template_id", f"there is no consent document {template_id!r}")
    if t.effective > (on or clock.now().date()):
        raise InvalidValue("template_id", f"this document takes effect on {t.effective.isoformat()}")
    return t


def document_for_route(route: str, on: date | None = None) -> ConsentTemplate | None:
    """Return the document in force for `route` on `on` (default today), or None."""
    return document_in_force(templates(), route, on or clock.now().date())


def _signed(row: ConsentSignature) -> SignedConsent:
    return SignedConsent(
        id=row.id,
        template_id=row.template_id,
        version=row.template_version,
        routes=tuple(row.routes),
        signed_at=row.signed_at,
        expires_at=row.expires_at,
        countersigned_at=row.countersigned_at,
        withdrawn_at=row.withdrawn_at,
    )


def _rows(s: Session, patient_id: int) -> list[ConsentSignature]:
    return list(
        s.scalars(
            select(ConsentSignature)
            .where(ConsentSignature.patient_id == patient_id)
            .order_by(ConsentSignature.signed_at.desc(), ConsentSignature.id.desc())
        )
    )


def _status_read(status: ConsentStatus, rows: list[ConsentSignature], at: datetime) -> ConsentStatusRead:
    row = next((r for r in rows if r.id == status.signature_id), None)
    return ConsentStatusRead(
        route=status.route,
        status=status.status,
        reason=status.reason,
        in_force=status.in_force,
        at=at,
        signature_id=status.signature_id,
        template_id=status.template_id,
        version=status.version,
        current_version=status.current_version,
        signed_at=row.signed_at if row else None,
        countersigned_at=row.countersigned_at if row else None,
        expires_at=row.expires_at if row else None,
    )


def status_in_session(s: Session, patient_id: int, route: str, at: datetime) -> ConsentStatusRead:
    """Return the consent status for (patient, route, `at`) inside a caller's authorized transaction (the session
    pre-check reads it this way; the caller has authorized and audits its own read)."""
    rows = _rows(s, patient_id)
    return _status_read(consent_status(map(_signed, rows), templates(), route, at), rows, at)


def statuses_in_sessions(
    s: Session, keys: Iterable[tuple[int, str]], at: datetime
) -> dict[tuple[int, str], ConsentStatusRead]:
    """Return the consent status of each (patient, route) at `at` in one statement (the live board's chairs)."""
    wanted = set(keys)
    pids = sorted({pid for pid, _ in wanted})
    rows: dict[int, list[ConsentSignature]] = {pid: [] for pid in pids}
    if pids:
        for row in s.scalars(
            select(ConsentSignature)
            .where(ConsentSignature.patient_id.in_(pids))
            .order_by(ConsentSignature.signed_at.desc(), ConsentSignature.id.desc())
        ):
            rows[row.patient_id].append(row)
    return {
        (pid, route): _status_read(consent_status(map(_signed, rows[pid]), templates(), route, at), rows[pid], at)
        for pid, route in wanted
    }


def _names(s: Session, rows: list[ConsentSignature]) -> dict[int, str]:
    ids = {
        i
        for r in rows
        for i in (r.signed_by, r.witnessed_by, r.countersigned_by, r.withdrawn_recorded_by)
        if i is not None
    }
    if not ids:
        return {}
    return {u.id: u.display_name or u.username for u in s.scalars(select(User).where(User.id.in_(ids)))}


def _read(row: ConsentSignature, names: Mapping[int, str]) -> ConsentSignatureRead:
    t = templates().get(row.template_id)

    def name(user_id: int | None) -> str | None:
        return None if user_id is None else names.get(user_id, f"user #{user_id}")

    return ConsentSignatureRead(
        id=row.id,
        patient_id=row.patient_id,
        template_id=row.template_id,
        template_version=row.template_version,
        title=t.title if t else row.template_id,
        document_sha256=row.document_sha256,
        routes=list(row.routes),
        indication=row.indication,
        typed_name=row.typed_name,
        signature_kind=row.signature_kind,
        signature_svg_path=row.signature_svg_path,
        signed_at=row.signed_at,
        signed_via=row.signed_via,
        signed_by_name=name(row.signed_by),
        witnessed_by_name=name(row.witnessed_by),
        expires_at=row.expires_at,
        countersigned_at=row.countersigned_at,
        countersigned_by_name=name(row.countersigned_by),
        countersign_meaning=row.countersign_meaning,
        withdrawn_at=row.withdrawn_at,
        withdrawn_reason=row.withdrawn_reason,
        version=row.version,
    )


def _patient(s: Session, patient_id: int) -> Patient:
    p = s.get(Patient, patient_id)
    if p is None:
        raise NotFound("patient")
    return p


def patient_consents(*, db: Database, actor: Actor, patient_id: int) -> PatientConsentsRead:
    """Return the patient's consent status per document in force and every signature (one audited view)."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("read", RESOURCE, patient_id=patient_id)
        s, now = uow.session, clock.now()
        p = _patient(s, patient_id)
        rows = _rows(s, patient_id)
        signed = [_signed(r) for r in rows]
        statuses = [
            DocumentStatusRead(
                document=_document_read(t),
                status=_status_read(consent_status(signed, templates(), t.routes[0], now), rows, now),
            )
            for t in templates().values()
            if t.effective <= now.date()
        ]
        names = _names(s, rows)
        uow.audit("view", RESOURCE, rows[0].id if rows else None, patient_id=patient_id)
        return PatientConsentsRead(
            patient_id=patient_id,
            patient_name=f"{p.given_name} {p.family_name}",
            mrn=p.mrn,
            statuses=statuses,
            signatures=[_read(r, names) for r in rows],
        )


def consent_status_for(
    *, db: Database, actor: Actor, patient_id: int, route: str, at: datetime | None = None
) -> ConsentStatusRead:
    """Return whether a signed consent is in force for (patient, `route`, `at` default now), with the reason."""
    if at is not None and at.tzinfo is None:
        raise InvalidValue("at", "give the moment with its time zone (e.g. 2026-11-30T09:00:00Z)")
    with UnitOfWork(db, actor) as uow:
        uow.authorize("read", RESOURCE, patient_id=patient_id)
        _patient(uow.session, patient_id)
        out = status_in_session(uow.session, patient_id, route, at or clock.now())
        uow.audit("view", RESOURCE, out.signature_id, patient_id=patient_id, details={"route": route})
        return out


def _name_matches(typed: str, p: Patient) -> bool:
    words = set(re.sub(r"[^\w\s'-]", " ", typed.casefold()).split())
    return all(part.casefold() in words for n in (p.given_name, p.family_name) for part in n.split())


def _check_signature(data: ConsentSignIn, p: Patient, t: ConsentTemplate) -> None:
    errors: dict[str, str] = {}
    if data.version != t.version:
        errors["version"] = (
            f"the document changed while you read it (you read version {data.version}, now {t.version}): "
            "read it again before signing"
        )
    if not data.read_confirmed:
        errors["read_confirmed"] = "tick the box to confirm you have read the whole document"
    if not data.typed_name:
        errors["typed_name"] = "type your full name"
    elif not _name_matches(data.typed_name, p):
        errors["typed_name"] = f"type the name on your record: {p.given_name} {p.family_name}"
    if data.signature_kind == "drawn":
        if len(_POINT.findall(data.signature_svg_path or "")) < 3:
            errors["signature"] = "draw your signature in the box (or choose to sign with a click)"
    elif not data.click_signed:
        errors["signature"] = "tick 'I sign this consent' to sign with a click"
    if errors:
        raise InvalidValues(errors)


def sign_consent(*, db: Database, actor: Actor, patient_id: int, data: ConsentSignIn) -> ConsentSignatureRead:
    """Store the patient's signature of the version they read. In the portal the patient signs on their own
    account; on a clinic tablet the signed-in staff member is recorded as the witness."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("sign" if data.signed_via == "portal" else "witness", RESOURCE, patient_id=patient_id)
        s, now = uow.session, clock.now()
        p = _patient(s, patient_id)
        t = document(data.template_id, now.date())
        _check_signature(data, p, t)
        row = ConsentSignature(
            patient_id=patient_id,
            template_id=t.id,
            template_version=t.version,
            document_sha256=document_digest(t),
            routes=list(t.routes),
            indication=data.indication,
            typed_name=data.typed_name,
            signature_kind=data.signature_kind,
            signature_svg_path=data.signature_svg_path if data.signature_kind == "drawn" else None,
            signed_at=now,
            signed_via=data.signed_via,
            signed_by=actor.user_id,
            witnessed_by=actor.user_id if data.signed_via == "clinic_tablet" else None,
            expires_at=add_months(now, t.valid_months),
        )
        s.add(row)
        s.flush()
        uow.audit(
            "sign",
            RESOURCE,
            row.id,
            patient_id=patient_id,
            details={
                "signing": "consent_patient",
                "template": t.id,
                "version": t.version,
                "via": data.signed_via,
                "kind": data.signature_kind,
            },
        )
        return _read(row, _names(s, [row]))


def _own_row(s: Session, patient_id: int, signature_id: int) -> ConsentSignature:
    row = s.get(ConsentSignature, signature_id)
    if row is None or row.patient_id != patient_id:
        raise NotFound("consent signature")
    return row


def countersign_consent(
    *, db: Database, actor: Actor, patient_id: int, signature_id: int, data: ConsentCountersignIn
) -> ConsentSignatureRead:
    """Record the prescriber's countersignature (re-authenticated, with its meaning from signatures.toml)."""
    confirmed = signing.confirm(
        db=db,
        actor=actor,
        action=COUNTERSIGN,
        credentials=data,
        policy=("countersign", RESOURCE),
        resource_id=signature_id,
        patient_id=patient_id,
    )
    with UnitOfWork(db, actor) as uow:
        uow.authorize("countersign", RESOURCE, patient_id=patient_id)
        s, now = uow.session, clock.now()
        row = _own_row(s, patient_id, signature_id)
        if row.version != data.version:
            raise Conflict("consent signature", row.version, data.version)
        if row.countersigned_at is not None:
            raise InvalidValue("signature", "this consent is countersigned already")
        if row.withdrawn_at is not None:
            raise InvalidValue("signature", "the patient withdrew this consent: it cannot be countersigned")
        current = templates().get(row.template_id)
        if current is None or (current.version != row.template_version and current.reconsent_on_new_version):
            raise InvalidValue(
                "signature",
                "the patient signed a version no longer in force: they sign the current one first",
            )
        row.countersigned_by, row.countersigned_at = actor.user_id, now
        row.countersign_meaning, row.countersign_method = confirmed.meaning, confirmed.method
        s.flush()
        uow.audit(
            "sign",
            RESOURCE,
            row.id,
            patient_id=patient_id,
            details={"signing": COUNTERSIGN, **confirmed.audit_details()},
        )
        return _read(row, _names(s, [row]))


def withdraw_consent(
    *, db: Database, actor: Actor, patient_id: int, signature_id: int, data: ConsentWithdrawIn
) -> ConsentSignatureRead:
    """Record that the patient withdrew this consent (when, and the reason they gave); nothing is deleted."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("withdraw", RESOURCE, patient_id=patient_id)
        s, now = uow.session, clock.now()
        row = _own_row(s, patient_id, signature_id)
        at = data.withdrawn_at or now
        if at.tzinfo is None:
            raise InvalidValue("withdrawn_at", "give the time with its zone")
        if row.withdrawn_at is not None:
            raise InvalidValue("reason", "this consent was withdrawn already")
        if at < row.signed_at or at > now:
            raise InvalidValue("withdrawn_at", "the withdrawal falls between the signature and now")
        row.withdrawn_at, row.withdrawn_reason, row.withdrawn_recorded_by = at, data.reason, actor.user_id
        s.flush()
        uow.audit("update", RESOURCE, row.id, patient_id=patient_id, details={"withdrawn": True})
        return _read(row, _names(s, [row]))
