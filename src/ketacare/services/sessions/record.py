"""The session record: the plain data that is serialized canonically and signed, the esketamine REMS check,
signing, addenda chained to the signature, verification, and the session page read (and its PDF export)."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.domain.eligibility import drug_classes, generic_name
from ketacare.domain.errors import InvalidValue
from ketacare.domain.sessions import (
    EventRecord,
    RemsSessionRecord,
    VitalReading,
    canonical_json,
    concomitant_hints,
    delivered_dose,
    record_digest,
    rems_missing_fields,
)
from ketacare.domain.sessions.session import (
    allowed_events,
)
from ketacare.domain.sessions.side_effects import grade_label
from ketacare.services import clock, plans
from ketacare.services.access import Actor, people, roles_for, signing
from ketacare.services.sessions.alerts import alert_read, alert_rules
from ketacare.services.sessions.assessments import assessment_status
from ketacare.services.sessions.checklist import record_parts
from ketacare.services.sessions.common import (
    dosing_weight,
    open_session,
    patient_label,
    people_names,
    session_patient,
    signatures,
    vital_rows,
)
from ketacare.services.sessions.facts import consent_summary, order_summary
from ketacare.services.sessions.pump import bag_concentration, domain_events, dose_summary, pump_rows
from ketacare.services.sessions.schemas import (
    RECORD_FORMAT,
    RECORD_FORMATS,
    AddendumCreate,
    AddendumResult,
    AddendumRow,
    AlarmLimit,
    AlertRead,
    PumpEventRow,
    RecordAcknowledgement,
    RecordAcknowledgements,
    RecordAlert,
    RecordAssessment,
    RecordDose,
    RecordPatient,
    RecordPrint,
    RecordPumpEvent,
    RecordRescue,
    RecordSideEffect,
    RecordVital,
    RemsMissing,
    SessionDetail,
    SessionFields,
    SessionRecord,
    SessionRescue,
    SessionSideEffect,
    SignatureRead,
    SignRequest,
    TransitionRow,
    Verification,
    VitalRow,
)
from ketacare.services.sessions.vital_corrections import vitals_in_error
from ketacare.services.sessions.workflow import guard_status
from ketacare.services.uow import UnitOfWork
from ketacare.store.db import Database
from ketacare.store.tables import Medication
from ketacare.store.tables.sessions import (
    InfusionSession,
    RescueGivenRow,
    SessionAddendum,
    SessionAlert,
    SessionSignature,
    SessionTransition,
    SideEffectRow,
    VitalSign,
)

SIGNING_ROLES = roles_for("sign", "infusion_session")


def _transitions(s: Session, sess: InfusionSession) -> list[TransitionRow]:
    return [
        TransitionRow(
            event=t.event,
            from_=t.from_state,
            to=t.to_state,
            allowed=t.allowed,
            failed_guards=t.failed_guards,
            overrides=t.overrides,
            reason=t.reason,
            by=t.by_username,
            role=t.role,
            at=t.at,
        )
        for t in s.scalars(
            select(SessionTransition)
            .where(SessionTransition.session_id == sess.id)
            .order_by(SessionTransition.id)
        )
    ]


def _alerts(s: Session, sess: InfusionSession) -> list[AlertRead]:
    """Return the session's alerts, oldest first."""
    return [
        alert_read(a)
        for a in s.scalars(
            select(SessionAlert).where(SessionAlert.session_id == sess.id).order_by(SessionAlert.id)
        )
    ]


def _side_effects(s: Session, sess: InfusionSession) -> list[SessionSideEffect]:
    return [
        SessionSideEffect(
            id=x.id,
            type=x.type,
            grade=x.grade,
            grade_label=grade_label(x.grade),
            onset_at=x.onset_at,
            resolved_at=x.resolved_at,
            resolution=x.resolution,
            description=x.description,
        )
        for x in s.scalars(
            select(SideEffectRow).where(SideEffectRow.session_id == sess.id).order_by(SideEffectRow.id)
        )
    ]


def _rescue(s: Session, sess: InfusionSession) -> list[SessionRescue]:
    return [
        SessionRescue(
            id=r.id,
            drug=r.drug,
            dose_mg=r.dose_mg,
            route=r.route,
            indication=r.indication,
            given_at=r.given_at,
            by=r.given_by_name,
            side_effect_id=r.side_effect_id,
        )
        for r in s.scalars(
            select(RescueGivenRow).where(RescueGivenRow.session_id == sess.id).order_by(RescueGivenRow.id)
        )
    ]


def _pump_events(s: Session, sess: InfusionSession) -> list[PumpEventRow]:
    return [
        PumpEventRow(
            id=e.id,
            kind=e.kind,
            at=e.at,
            rate_ml_per_h=e.rate_ml_per_h,
            rate_mg_per_min=e.rate_mg_per_min,
            concentration_mg_per_ml=e.concentration_mg_per_ml,
            bolus_mg=e.bolus_mg,
            bolus_ml=e.bolus_ml,
        )
        for e in pump_rows(s, sess.id)
    ]


def _record_dose(s: Session, sess: InfusionSession) -> RecordDose | None:
    """Return the dose delivered by the pump events up to the end of the infusion (None without events)."""
    rows = pump_rows(s, sess.id)
    if not rows:
        return None
    end = sess.infusion_ended_at or sess.discharged_at or sess.aborted_at or rows[-1].at
    d = delivered_dose(
        domain_events(rows),
        concentration_mg_per_ml=bag_concentration(sess, rows),
        weight_kg=dosing_weight(s, sess),
        ordered_dose_mg=sess.planned_dose_mg,
        until=max(end, rows[-1].at),
        t0=rows[0].at,
    )
    return RecordDose(
        delivered_mg=round(d.delivered_mg, 3),
        delivered_mg_per_kg=None if d.delivered_mg_per_kg is None else round(d.delivered_mg_per_kg, 4),
        ordered_mg=d.ordered_mg,
    )


def session_record(s: Session, sess: InfusionSession, version: str = RECORD_FORMAT) -> SessionRecord:
    """Return the session record in record format `version` (what is serialized canonically and signed:
    `SessionRecord.signed_data()`)."""
    p = session_patient(s, sess)
    record = SessionRecord(
        format=version,
        session=SessionFields.model_validate(sess),
        patient=RecordPatient(
            id=p.id, mrn=p.mrn, name=f"{p.family_name}, {p.given_name}", dob=p.date_of_birth
        ),
        transitions=_transitions(s, sess),
        infusion_events=[RecordPumpEvent(**e.model_dump(exclude={"id"})) for e in _pump_events(s, sess)],
        vitals=[RecordVital.model_validate(v) for v in vital_rows(s, sess.id)],
        alerts=[RecordAlert(**a.model_dump(exclude={"version"})) for a in _alerts(s, sess)],
        side_effects=[
            RecordSideEffect(**x.model_dump(exclude={"id", "grade_label"})) for x in _side_effects(s, sess)
        ],
        rescue=[RecordRescue(**r.model_dump(exclude={"id"})) for r in _rescue(s, sess)],
        dose=_record_dose(s, sess),
    )
    if "order" in RECORD_FORMATS[version][0]:
        order, discharge, escort, instructions = record_parts(s, sess)
        record.order, record.discharge, record.escort, record.instructions = order, discharge, escort, instructions
        record.assessments = [
            RecordAssessment.model_validate(a.model_dump()) for a in assessment_status(s, sess)
        ]
    if "acknowledgements" in RECORD_FORMATS[version][0]:
        acks = plans.acknowledgements(s, sess.id)
        record.acknowledgements = RecordAcknowledgements(
            instructions_version=(sess.discharge_checklist or {}).get("instructions_version")
            or (acks[0].instructions_version if acks else None),
            items=[
                RecordAcknowledgement(party=a.party, name=a.name, instructions_version=a.instructions_version,
                                      at=a.acknowledged_at, recorded_by=a.recorded_by_username)
                for a in acks
            ],
        )
    return record


def record_format(canonical: str) -> str:
    """Return the record format a signature was made in (read from its canonical text)."""
    try:
        fmt_name = json.loads(canonical).get("format")
    except (ValueError, AttributeError):
        fmt_name = None
    if fmt_name not in RECORD_FORMATS:
        raise InvalidValue("format", f"unknown session record format {fmt_name!r}")
    return str(fmt_name)


def signed_format(s: Session, sess: InfusionSession) -> str:
    """Return the format this session's record is signed in: the first signature's, else the newest format."""
    sigs = signatures(s, sess.id)
    try:
        return record_format(sigs[0].canonical) if sigs else RECORD_FORMAT
    except InvalidValue:  # an altered signature: verification says so; the record reads in the newest format
        return RECORD_FORMAT


def rems_medication_hints(s: Session, sess: InfusionSession) -> dict[str, list[str]] | None:
    """Return the active medications beside each REMS concomitant-medication question (None for racemic ketamine)."""
    if sess.product != "esketamine":
        return None
    meds = s.scalars(
        select(Medication)
        .where(Medication.patient_id == sess.patient_id, Medication.active.is_(True))
        .order_by(Medication.id)
    )
    listed = []
    for m in meds:
        generic = generic_name(m.name)
        shown = m.name if generic == m.name.strip().lower() else f"{m.name} ({generic})"
        listed.append((shown, drug_classes(generic)))
    return concomitant_hints(listed)


def rems_check(s: Session, sess: InfusionSession) -> list[RemsMissing] | None:
    """Return the esketamine REMS form fields still missing (None for racemic ketamine)."""
    if sess.product != "esketamine":
        return None
    t0 = sess.infusion_started_at
    readings: list[VitalReading] = []
    if t0 is not None:
        for v in vital_rows(s, sess.id):
            try:
                readings.append(
                    VitalReading(
                        sbp=v.sbp_mmhg,
                        dbp=v.dbp_mmhg,
                        hr=v.hr_per_min,
                        spo2=v.spo2_pct,
                        rr=v.rr_per_min,
                        t_min=(v.measured_at - t0).total_seconds() / 60.0,
                    )
                )
            except InvalidValue:
                continue
    end = sess.discharged_at or sess.aborted_at
    d = dose_summary(s, sess, end or clock.now())

    def ev(occ: bool | None, res: bool | None) -> EventRecord | None:
        return None if occ is None else EventRecord(occ, res if occ else None)

    base_ok = None
    if sess.prechecks_passed_at is not None:
        base_ok = not any(
            o.get("guard_id") == "baseline_vitals_within_limits" for o in (sess.overrides or [])
        )
    record = RemsSessionRecord(
        readings=tuple(readings),
        monitoring_end_min=None if (end is None or t0 is None) else (end - t0).total_seconds() / 60.0,
        sedation=ev(sess.sedation_occurred, sess.sedation_resolved),
        dissociation=ev(sess.dissociation_occurred, sess.dissociation_resolved),
        respiratory_depression=ev(sess.respiratory_depression_occurred, sess.respiratory_depression_resolved),
        vitals_acceptable_before_administration=base_ok,
        vitals_acceptable_before_completion=None if sess.discharged_at is None else True,
        dose_mg=d.delivered_mg or sess.planned_dose_mg,
        lot_number=sess.lot_number,
        could_have_left_min=sess.could_have_left_min,
        enrolled=sess.rems_enrolled,
        first_treatment=sess.rems_first_treatment,
        concomitant_benzodiazepines=sess.concomitant_benzodiazepines,
        concomitant_non_benzodiazepine_hypnotics=sess.concomitant_non_benzodiazepine_hypnotics,
        concomitant_psychostimulants=sess.concomitant_psychostimulants,
        concomitant_maois=sess.concomitant_maois,
        concomitant_opioids=sess.concomitant_opioids,
    )
    return [
        RemsMissing(field=m.field, message=m.message, source=m.source) for m in rems_missing_fields(record)
    ]


def sign_session(*, db: Database, actor: Actor, session_id: int, data: SignRequest) -> SignatureRead:
    """Sign the finished record as nurse or prescriber (re-authenticated): canonical JSON and its SHA-256 are
    stored with what the signature means (the first signer authored it, the second approves it)."""
    signed = signing.confirm(
        db=db,
        actor=actor,
        action="session_record_sign",
        credentials=data,
        policy=("sign", "infusion_session"),
        resource_id=session_id,
    )
    with UnitOfWork(db, actor) as uow:
        sess = open_session(uow, session_id, "sign")
        s = uow.session
        if actor.role not in SIGNING_ROLES:
            raise InvalidValue("role", "only the nurse and the prescriber sign a session record")
        if sess.state not in ("discharged", "aborted"):
            raise InvalidValue(
                "session", f"the session is {sess.state}: sign once it is discharged or aborted"
            )
        sigs = signatures(s, sess.id)
        if any(g.role == actor.role for g in sigs):
            raise InvalidValue("role", f"the {actor.role} signature is already on this record")
        canon = canonical_json(session_record(s, sess, signed_format(s, sess)).signed_data())
        digest = hashlib.sha256(canon).hexdigest()
        if data.digest and data.digest != digest:
            raise InvalidValue(
                "digest", "the record changed since you reviewed it: review it again before signing"
            )
        if sigs and sigs[0].digest_sha256 != digest:
            raise InvalidValue("digest", "the record no longer matches the first signature: it was altered")
        if sigs:
            signed = signed.as_action("session_record_countersign")
        now = clock.now()
        sig = SessionSignature(
            session_id=sess.id,
            role=actor.role,
            user_id=actor.user_id,
            username=actor.username,
            digest_sha256=digest,
            canonical=canon.decode("utf-8"),
            signed_at=now,
            meaning=signed.meaning,
        )
        s.add(sig)
        s.flush()
        uow.audit(
            "sign",
            "infusion_session",
            sess.id,
            patient_id=sess.patient_id,
            details={"sha256": digest, "role": actor.role, **signed.audit_details()},
        )
        by = people.signature_of(s, actor)
    return SignatureRead(role=sig.role, by=by, sha256=digest, signed_at=now, meaning=sig.meaning)


def _addendum_digest(prev: str, text: str, author: str, role: str, at: datetime) -> str:
    return record_digest({"prev": prev, "text": text, "author": author, "role": role, "at": at})


def add_addendum(*, db: Database, actor: Actor, session_id: int, data: AddendumCreate) -> AddendumResult:
    """Add a later change to a signed record: chained to the signed digest, never an edit."""
    with UnitOfWork(db, actor) as uow:
        sess = open_session(uow, session_id)
        s = uow.session
        sigs = signatures(s, sess.id)
        if not sigs:
            raise InvalidValue("session", "the record is not signed yet: change it directly")
        last = s.scalars(
            select(SessionAddendum)
            .where(SessionAddendum.session_id == sess.id)
            .order_by(SessionAddendum.id.desc())
            .limit(1)
        ).first()
        prev = last.digest_sha256 if last else sigs[0].digest_sha256
        now = clock.now()
        digest = _addendum_digest(prev, data.text, actor.username, actor.role, now)
        row = SessionAddendum(
            session_id=sess.id,
            text=data.text,
            author_id=actor.user_id,
            author_name=actor.username,
            role=actor.role,
            prev_digest=prev,
            digest_sha256=digest,
            at=now,
        )
        s.add(row)
        s.flush()
        uow.audit(
            "create", "session_addendum", row.id, patient_id=sess.patient_id, details={"session_id": sess.id}
        )
    return AddendumResult(id=row.id, sha256=digest, prev_sha256=prev)


def verify_record(s: Session, sess: InfusionSession) -> Verification:
    """Recompute the canonical digest and the addendum chain; say whether the signed record is intact."""
    sigs = signatures(s, sess.id)
    current = record_digest(session_record(s, sess, signed_format(s, sess)).signed_data())
    problems = []
    for g in sigs:
        if hashlib.sha256(g.canonical.encode("utf-8")).hexdigest() != g.digest_sha256:
            problems.append(f"the stored {g.role} signature does not match its own canonical text")
        try:
            version = record_format(g.canonical)
        except InvalidValue:
            problems.append(f"the stored {g.role} signature names no known record format")
            continue
        if g.digest_sha256 != record_digest(session_record(s, sess, version).signed_data()):
            problems.append(f"the record no longer matches the {g.role} signature")
    prev = sigs[0].digest_sha256 if sigs else None
    for a in s.scalars(
        select(SessionAddendum).where(SessionAddendum.session_id == sess.id).order_by(SessionAddendum.id)
    ):
        if (
            a.prev_digest != prev
            or _addendum_digest(a.prev_digest, a.text, a.author_name, a.role, a.at) != a.digest_sha256
        ):
            problems.append(f"addendum {a.id} is altered or out of chain")
        prev = a.digest_sha256
    return Verification(signed=bool(sigs), current_sha256=current, intact=not problems, problems=problems)


def _vital_row(v: VitalSign) -> VitalRow:
    return VitalRow(
        id=v.id,
        measured_at=v.measured_at,
        received_at=v.received_at,
        sbp=v.sbp_mmhg,
        dbp=v.dbp_mmhg,
        hr=v.hr_per_min,
        spo2=v.spo2_pct,
        rr=v.rr_per_min,
        temp_c=v.temp_c,
        on_oxygen=v.on_oxygen,
        context=v.context,
        source=v.source,
        device_id=v.device_id,
        conflict_of=v.conflict_of,
    )


def _addenda(s: Session, sess: InfusionSession) -> list[AddendumRow]:
    rows = s.scalars(
        select(SessionAddendum).where(SessionAddendum.session_id == sess.id).order_by(SessionAddendum.id)
    ).all()
    names = people.names_by_username(s, (a.author_name for a in rows))
    return [
        AddendumRow(
            id=a.id,
            text=a.text,
            by=names.get(a.author_name, a.author_name),
            role=a.role,
            at=a.at,
            sha256=a.digest_sha256,
            prev_sha256=a.prev_digest,
        )
        for a in rows
    ]


def _signed_by(s: Session, sigs: list[SessionSignature]) -> list[SignatureRead]:
    """The record's signatures, each named with the signer's full name and credentials."""
    names = people.names_by_username(s, (g.username for g in sigs))
    return [
        SignatureRead(
            role=g.role,
            by=names.get(g.username, g.username),
            sha256=g.digest_sha256,
            signed_at=g.signed_at,
            meaning=g.meaning,
        )
        for g in sigs
    ]


def _detail(s: Session, sess: InfusionSession, now: datetime) -> SessionDetail:
    """Return what the session page shows: the record, its rows, dose and PK curve, checks, signatures."""
    p = session_patient(s, sess)
    dose_until = sess.infusion_ended_at or now if sess.state not in ("infusing", "paused") else now
    return SessionDetail(
        **SessionFields.model_validate(sess).model_dump(),
        version=sess.version,
        overrides=sess.overrides or [],
        patient=patient_label(p),
        vitals=[_vital_row(v) for v in vital_rows(s, sess.id)],
        vitals_in_error=vitals_in_error(s, sess.patient_id, sess.id),
        alerts=_alerts(s, sess)[::-1],
        transitions=_transitions(s, sess),
        infusion_events=_pump_events(s, sess),
        side_effects=_side_effects(s, sess),
        rescue=_rescue(s, sess),
        signatures=_signed_by(s, signatures(s, sess.id)),
        addenda=_addenda(s, sess),
        dose=dose_summary(s, sess, dose_until, with_pk=True),
        guards=guard_status(s, sess, now),
        assessments=assessment_status(s, sess),
        events_possible=[str(e) for e in allowed_events(sess.state)],
        rems_missing=rems_check(s, sess),
        rems_hints=rems_medication_hints(s, sess),
        verification=verify_record(s, sess),
        order=order_summary(s, sess),
        consent=consent_summary(s, sess, now),
    )


def get_session(*, db: Database, actor: Actor, session_id: int) -> SessionDetail:
    """Return everything the session page shows (one view event in the audit trail)."""
    with UnitOfWork(db, actor) as uow:
        sess = open_session(uow, session_id, "read")
        out = _detail(uow.session, sess, clock.now())
        uow.audit("view", "infusion_session", sess.id, patient_id=sess.patient_id)
        return out


def _usernames(d: SessionDetail, r: SessionRecord) -> set[str]:
    """Return every user name the printed record mentions (to print each person's name)."""
    names = {t.by for t in d.transitions} | {x.by for x in d.rescue} | {g.by for g in d.signatures}
    names |= {a.by for a in d.addenda} | {k.by for a in d.alerts for k in a.acknowledgements}
    names |= {a.acknowledged_by for a in d.alerts if a.acknowledged_by}
    if r.order:
        names |= {n for n in (r.order.signed_by_name, r.order.double_checked_by_name) if n}
    if r.discharge:
        names |= {r.discharge.by} | {i.by for i in r.discharge.items if i.by}
    if r.escort:
        names |= {n for n in (r.escort.confirmed_by, r.escort.present_by) if n}
    if r.instructions and r.instructions.by:
        names.add(r.instructions.by)
    if r.acknowledgements:
        names |= {a.recorded_by for a in r.acknowledgements.items}
    return names


def alarm_limits() -> list[AlarmLimit]:
    """Return the least extreme high-priority threshold per vital sign and direction (where a HIGH alarm starts)."""
    best: dict[tuple[str, bool], AlarmLimit] = {}
    for rule in alert_rules():
        if rule.kind != "threshold" or rule.priority != "high":
            continue
        for c in rule.conditions:
            if c.vital not in ("sbp", "dbp", "hr", "spo2", "rr"):
                continue
            key = (c.vital, c.high)
            old = best.get(key)
            if old is None or (c.value < old.value if c.high else c.value > old.value):
                best[key] = AlarmLimit.model_validate({"vital": c.vital, "op": c.op, "value": c.value})
    order = ("sbp", "dbp", "hr", "spo2", "rr")
    return [best[k] for k in sorted(best, key=lambda k: (order.index(k[0]), k[1]))]


def record_for_pdf(*, db: Database, actor: Actor, session_id: int) -> RecordPrint:
    """Return what the printed record shows: the session page data, the record in its signed format (order,
    checklist, escort, instructions, assessments), the patient's date of birth and people's names (audited as an
    export)."""
    with UnitOfWork(db, actor) as uow:
        sess = open_session(uow, session_id, "read")
        s = uow.session
        detail = _detail(s, sess, clock.now())
        version = signed_format(s, sess)
        rec = session_record(s, sess)  # printed in the newest format; `signed_format` says what was signed
        names = people_names(s, _usernames(detail, rec))
        uow.audit("view", "infusion_session", sess.id, patient_id=sess.patient_id)
        uow.audit(
            "export", "infusion_session", session_id, patient_id=sess.patient_id, details={"format": "pdf"}
        )
    return RecordPrint(
        detail=detail,
        record=rec,
        signed_format=version if detail.signatures else None,
        names=names,
        limits=alarm_limits(),
    )
