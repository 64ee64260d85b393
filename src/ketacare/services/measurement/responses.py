"""Measurement-based care use cases: store questionnaire answers, recompute scores, escalate suicide risk.

Every item answer is stored; totals, bands and flags are recomputed by the domain scorer from those answers and
never typed in. A `suicide_risk` flag raises an urgent safety alert for the patient's primary clinician in the
same transaction as the response. `latest_scores` and `responses_for_session` take an SQLAlchemy Session and do
no authorization: they are for other use cases that have already authorized their caller.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from functools import cache

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ketacare.domain.datafiles import load_toml
from ketacare.domain.errors import InvalidValue
from ketacare.domain.measurement import evaluate_outcomes, load_instrument, score, validate_answers
from ketacare.domain.measurement.safety import check_safety_answers, declined_flags
from ketacare.domain.measurement.scoring import ScoreResult
from ketacare.services import clock, patients
from ketacare.services.access import Actor
from ketacare.services.errors import Conflict, NotFound
from ketacare.services.measurement.schemas import (
    AlertAcknowledge,
    AlertRead,
    CrisisResources,
    InstrumentSeries,
    ResponseCreate,
    ResponseRead,
    ScoreHistory,
    ScoreSummary,
    SeriesPoint,
)
from ketacare.services.uow import UnitOfWork
from ketacare.store.db import Database
from ketacare.store.tables import Patient
from ketacare.store.tables.measurement import (
    CONTEXTS,
    QuestionnaireItemAnswer,
    QuestionnaireResponse,
    SafetyAlert,
)
from ketacare.store.tables.sessions import InfusionSession, SessionSignature

URGENT_FLAGS = ("suicide_risk", "safety_item_declined")
FOLLOWUP_CALL_RISK = "followup_call_risk"  # a risk answer in the next-day call (services/plans)
VIA = ("clinician", "portal", "link")


@cache
def crisis_resources() -> CrisisResources:
    """Return the crisis resources shown to a patient after a risk answer (clinics set local numbers)."""
    return CrisisResources.model_validate(load_toml("ketacare.services.measurement", "crisis_resources.toml"))


def _summary(r: QuestionnaireResponse) -> ScoreSummary:
    return ScoreSummary(
        response_id=r.id,
        instrument_id=r.instrument_id,
        total=r.total,
        severity=r.severity,
        answered_at=r.answered_at,
        context=r.context,
        session_id=r.session_id,
        flags=json.loads(r.flags or "[]"),
        entered_in_error=bool(r.entered_in_error),
    )


def _read(
    r: QuestionnaireResponse,
    answers: dict[str, float | None],
    result: ScoreResult | None = None,
    alert_id: int | None = None,
) -> ResponseRead:
    return ResponseRead(
        **_summary(r).model_dump(),
        patient_id=r.patient_id,
        instrument_version=r.instrument_version,
        answered_by_role=r.answered_by_role,
        answered_by_user_id=r.answered_by_user_id,
        via=r.via,
        answers=answers,
        subscales=dict(result.subscales) if result else {},
        reason=result.reason if result else None,
        alert_id=alert_id,
    )


def store_response(
    s: Session,
    *,
    patient_id: int,
    data: ResponseCreate,
    answered_by_role: str,
    answered_by_user_id: int | None,
    via: str,
    now: datetime,
) -> tuple[QuestionnaireResponse, ScoreResult, SafetyAlert | None]:
    """Score `data` with the domain scorer, store the response with every item answer, raise any alert."""
    if via not in VIA:
        raise InvalidValue("via", f"must be one of {', '.join(VIA)}")
    if data.context not in CONTEXTS:
        raise InvalidValue("context", f"must be one of {', '.join(CONTEXTS)}")
    instrument = load_instrument(data.instrument_id)
    result = score(instrument.id, data.answers)
    declined = set(data.declined)
    check_safety_answers(instrument, validate_answers(instrument, data.answers), declined)
    flags = [*result.flags, *declined_flags(instrument, declined)]
    answered_at = data.answered_at or now
    if answered_at.tzinfo is None:
        raise InvalidValue("answered_at", "give the time with a time zone (e.g. 2026-11-26T09:30:00Z)")
    if answered_at > now:
        raise InvalidValue("answered_at", "a questionnaire cannot be answered in the future")
    patient = s.get(Patient, patient_id)
    if patient is None:
        raise NotFound("patient")
    if data.session_id is not None:
        _check_session(s, patient_id, data.session_id)
    r = QuestionnaireResponse(
        patient_id=patient_id,
        instrument_id=instrument.id,
        instrument_version=instrument.version,
        context=data.context,
        session_id=data.session_id,
        answered_by_role=answered_by_role,
        answered_by_user_id=answered_by_user_id,
        via=via,
        answered_at=answered_at,
        total=None if result.total is None else float(result.total),
        severity=result.severity,
        flags=json.dumps(flags),
        created_at=now,
    )
    s.add(r)
    s.flush()
    s.add_all(
        QuestionnaireItemAnswer(
            response_id=r.id,
            item_id=item.id,
            value=None if v is None else float(v),
            declined=item.id in declined,
        )
        for item, v in zip(instrument.items, result.answers, strict=True)
    )
    alert = None
    urgent = [f for f in flags if f in URGENT_FLAGS]
    if urgent:
        alert = SafetyAlert(
            patient_id=patient_id,
            response_id=r.id,
            kind=urgent[0],
            assigned_to=patient.primary_clinician_id,
            raised_at=now,
        )
        s.add(alert)
    s.flush()
    return r, result, alert


def raise_safety_alert(s: Session, *, patient_id: int, kind: str, now: datetime) -> SafetyAlert:
    """Raise a safety alert from an answer given outside a questionnaire (e.g. a next-day call) for the
    patient's clinician, as a questionnaire's urgent flag does; the caller audits it."""
    if kind not in (*URGENT_FLAGS, FOLLOWUP_CALL_RISK):
        raise ValueError(f"unknown safety alert kind {kind!r}")
    patient = s.get(Patient, patient_id)
    if patient is None:
        raise NotFound("patient")
    alert = SafetyAlert(patient_id=patient_id, response_id=None, kind=kind,
                        assigned_to=patient.primary_clinician_id, raised_at=now)
    s.add(alert)
    s.flush()
    return alert


def _check_session(s: Session, patient_id: int, session_id: int) -> None:
    """Refuse a response linked to a session that does not exist, is another patient's, or whose record is signed.

    A signed session record is closed: a score linked to it afterwards would change what the signatures cover (and
    the record would then fail verification). A later score (a next-day GAD-7, say) stays on the patient's record,
    where trends and the plan show it by its time.
    """
    owner = s.execute(select(InfusionSession.patient_id).where(InfusionSession.id == session_id)).scalar()
    if owner is None or owner != patient_id:
        raise InvalidValue("session_id", "there is no infusion session with this number for this patient")
    if s.execute(select(SessionSignature.id).where(SessionSignature.session_id == session_id).limit(1)).first():
        raise InvalidValue(
            "session_id",
            "this session's record is already signed, so a score cannot be added to it; save the score without "
            "the session (it stays on the patient's record by its time) and note it in an addendum if needed",
        )


def audit_stored(uow: UnitOfWork, r: QuestionnaireResponse, alert: SafetyAlert | None) -> None:
    """Queue the audit events for a stored response (and the alert it raised)."""
    uow.audit(
        "create",
        "questionnaire_response",
        r.id,
        patient_id=r.patient_id,
        details={
            "instrument": r.instrument_id,
            "context": r.context,
            "via": r.via,
            "flags": json.loads(r.flags),
        },
    )
    if alert is not None:
        uow.audit(
            "create",
            "safety_alert",
            alert.id,
            patient_id=r.patient_id,
            details={"kind": alert.kind, "assigned_to": alert.assigned_to, "response_id": r.id},
        )


def submit_response(
    *, db: Database, actor: Actor, patient_id: int, data: ResponseCreate, via: str | None = None
) -> ResponseRead:
    """Store a questionnaire answered by the patient (portal) or entered by a clinician; scores recomputed."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("write", "scores", patient_id=patient_id)
        role = "patient" if actor.patient_id is not None else "clinician"  # who answered, not an access role
        r, result, alert = store_response(
            uow.session,
            patient_id=patient_id,
            data=data,
            answered_by_role=role,
            answered_by_user_id=actor.user_id,
            via=via or ("portal" if role == "patient" else "clinician"),
            now=clock.now(),
        )
        audit_stored(uow, r, alert)
        answers = {item_id: v for item_id, v in _answers(uow.session, [r.id]).get(r.id, [])}
        read = _read(r, answers, result, alert.id if alert else None)
        read.declined = sorted(set(data.declined))
        return read


def _answers(s: Session, response_ids: Sequence[int]) -> dict[int, list[tuple[str, float | None]]]:
    out: dict[int, list[tuple[str, float | None]]] = {}
    if not response_ids:
        return out
    rows = s.execute(
        select(
            QuestionnaireItemAnswer.response_id,
            QuestionnaireItemAnswer.item_id,
            QuestionnaireItemAnswer.value,
        )
        .where(QuestionnaireItemAnswer.response_id.in_(list(response_ids)))
        .order_by(QuestionnaireItemAnswer.id)
    )
    for rid, item_id, value in rows:
        out.setdefault(rid, []).append((item_id, value))
    return out


def _declined(s: Session, response_ids: Sequence[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    if not response_ids:
        return out
    rows = s.execute(
        select(QuestionnaireItemAnswer.response_id, QuestionnaireItemAnswer.item_id).where(
            QuestionnaireItemAnswer.response_id.in_(list(response_ids)),
            QuestionnaireItemAnswer.declined.is_(True),
        )
    )
    for rid, item_id in rows:
        out.setdefault(rid, []).append(item_id)
    return out


def list_responses(
    *, db: Database, actor: Actor, patient_id: int, instrument_id: str | None = None, limit: int = 500
) -> list[ResponseRead]:
    """List a patient's responses, newest first, each with its item answers."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("read", "scores", patient_id=patient_id)
        s = uow.session
        if s.get(Patient, patient_id) is None:
            raise NotFound("patient")
        q = select(QuestionnaireResponse).where(QuestionnaireResponse.patient_id == patient_id)
        if instrument_id:
            q = q.where(QuestionnaireResponse.instrument_id == instrument_id)
        rows = s.scalars(
            q.order_by(QuestionnaireResponse.answered_at.desc(), QuestionnaireResponse.id.desc()).limit(limit)
        ).all()
        answers = _answers(s, [r.id for r in rows])
        declined = _declined(s, [r.id for r in rows])
        uow.audit("view", "questionnaire_response", patient_id=patient_id, details={"count": len(rows)})
        out = [_read(r, dict(answers.get(r.id, []))) for r in rows]
        for read in out:
            read.declined = declined.get(read.response_id, [])
        return out


def latest_scores(
    session: Session,
    patient_id: int,
    *,
    instrument_ids: Iterable[str] | None = None,
    context: str | None = None,
    session_id: int | None = None,
    since: datetime | None = None,
) -> list[ScoreSummary]:
    """Return the newest response per instrument for a patient (filters optional); no authorization here."""
    q = select(QuestionnaireResponse).where(
        QuestionnaireResponse.patient_id == patient_id, QuestionnaireResponse.entered_in_error.is_(False)
    )
    if instrument_ids is not None:
        q = q.where(QuestionnaireResponse.instrument_id.in_(list(instrument_ids)))
    if context is not None:
        q = q.where(QuestionnaireResponse.context == context)
    if session_id is not None:
        q = q.where(QuestionnaireResponse.session_id == session_id)
    if since is not None:
        q = q.where(QuestionnaireResponse.answered_at >= since)
    rows = session.scalars(
        q.order_by(QuestionnaireResponse.answered_at.desc(), QuestionnaireResponse.id.desc())
    ).all()
    seen: dict[str, ScoreSummary] = {}
    for r in rows:
        seen.setdefault(r.instrument_id, _summary(r))
    return sorted(seen.values(), key=lambda x: x.instrument_id)


def responses_for_session(session: Session, session_id: int) -> list[ScoreSummary]:
    """Return every response linked to an infusion session, oldest first; no authorization here."""
    return responses_for_sessions(session, [session_id])[session_id]


def latest_scores_by_session(
    session: Session, session_ids: Iterable[int]
) -> dict[int, dict[str, ScoreSummary]]:
    """Return `latest_scores(..., session_id=...)` for many infusion sessions in one statement: per session id, the
    newest response per instrument (not entered in error), keyed by instrument id; no authorization here."""
    out: dict[int, dict[str, ScoreSummary]] = {i: {} for i in session_ids}
    if not out:
        return out
    rows = session.scalars(
        select(QuestionnaireResponse)
        .where(QuestionnaireResponse.session_id.in_(sorted(out)), QuestionnaireResponse.entered_in_error.is_(False))
        .order_by(QuestionnaireResponse.answered_at.desc(), QuestionnaireResponse.id.desc())
    )
    for r in rows:
        out[r.session_id or 0].setdefault(r.instrument_id, _summary(r))  # every row has a session
    return out


def responses_for_sessions(session: Session, session_ids: Iterable[int]) -> dict[int, list[ScoreSummary]]:
    """Return every response linked to each of these infusion sessions, oldest first, in one statement, keyed by
    session id; no authorization here."""
    out: dict[int, list[ScoreSummary]] = {i: [] for i in session_ids}
    if not out:
        return out
    rows = session.scalars(
        select(QuestionnaireResponse)
        .where(QuestionnaireResponse.session_id.in_(sorted(out)))
        .order_by(QuestionnaireResponse.answered_at, QuestionnaireResponse.id)
    )
    for r in rows:
        out[r.session_id or 0].append(_summary(r))  # every row has a session (selected by it)
    return out


def session_times(session: Session, patient_id: int) -> list[datetime]:
    """Return the start times of a patient's infusion sessions that were not aborted (scheduled time until the
    infusion starts), oldest first."""
    start = func.coalesce(InfusionSession.infusion_started_at, InfusionSession.scheduled_at)
    q = select(start).where(
        InfusionSession.patient_id == patient_id, start.is_not(None), InfusionSession.aborted_at.is_(None)
    )
    return [t if t.tzinfo else t.replace(tzinfo=UTC) for t in session.execute(q.order_by(start)).scalars()]


def score_history(*, db: Database, actor: Actor, patient_id: int) -> ScoreHistory:
    """Return each instrument's totals over time with change from baseline and response/remission outcomes."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("read", "scores", patient_id=patient_id)
        s = uow.session
        if s.get(Patient, patient_id) is None:
            raise NotFound("patient")
        rows = s.scalars(
            select(QuestionnaireResponse)
            .where(
                QuestionnaireResponse.patient_id == patient_id,
                QuestionnaireResponse.total.is_not(None),
                QuestionnaireResponse.entered_in_error.is_(False),
            )
            .order_by(QuestionnaireResponse.answered_at, QuestionnaireResponse.id)
        ).all()
        by_instrument: dict[str, list[QuestionnaireResponse]] = {}
        for r in rows:
            by_instrument.setdefault(r.instrument_id, []).append(r)
        series = [_series(iid, rs) for iid, rs in sorted(by_instrument.items())]
        uow.audit("view", "score_history", patient_id=patient_id, details={"responses": len(rows)})
        return ScoreHistory(patient_id=patient_id, series=series, session_times=session_times(s, patient_id))


def _series(instrument_id: str, rows: list[QuestionnaireResponse]) -> InstrumentSeries:
    instrument = load_instrument(instrument_id)
    base_row = next((r for r in rows if r.context == "baseline"), rows[0])
    baseline_total = int(base_row.total) if base_row.total is not None else None
    points = []
    for r in rows:
        if r.total is None:  # the caller selects scored responses only
            continue
        total = int(r.total)
        if instrument.outcomes and baseline_total is not None and r.id != base_row.id:
            o = evaluate_outcomes(instrument_id, baseline_total, total)
            change, pct, outcomes = o.change, o.percent_change, o.outcomes
        else:
            change = None if baseline_total is None else total - baseline_total
            pct, outcomes = None, {}
        points.append(
            SeriesPoint(
                response_id=r.id,
                answered_at=r.answered_at,
                total=r.total,
                severity=r.severity,
                context=r.context,
                change=change,
                percent_change=pct,
                outcomes=outcomes,
            )
        )
    bands = instrument.band_set()
    return InstrumentSeries(
        instrument_id=instrument.id,
        short_name=instrument.short_name,
        name=instrument.name,
        min_total=instrument.min_total,
        max_total=instrument.max_total,
        bands=[(b.min, b.max, b.label) for b in bands.bands] if bands else [],
        baseline=next((p for p in points if p.response_id == base_row.id), None),
        points=points,
        outcome_notes={o.id: f"{o.note} [{o.source}]" for o in instrument.outcomes},
    )


# --- safety alerts -----------------------------------------------------------------------------------------


def _alert_read(s: Session, a: SafetyAlert) -> AlertRead:
    p = s.get(Patient, a.patient_id)
    r = s.get(QuestionnaireResponse, a.response_id) if a.response_id else None
    detail = ""
    if r is not None:
        name = load_instrument(r.instrument_id).short_name
        what = (
            "a safety question answered 'prefer not to answer'"
            if a.kind == "safety_item_declined"
            else a.kind.replace("_", " ")
        )
        detail = f"{name} answered {r.answered_at:%Y-%m-%d %H:%M} UTC via {r.via}: {what}"
    elif a.kind == "therapy_risk_check":  # raised by services/therapy; the note itself may be private
        detail = "a positive risk check at an integration therapy visit: speak with the therapist"
    elif a.kind == FOLLOWUP_CALL_RISK:  # raised by services/plans from the next-day call's answers
        detail = "a risk answer in the next-day call after a session (see the patient's next-day calls)"
    read = AlertRead.model_validate(a)
    read.patient_name = f"{p.family_name}, {p.given_name}" if p else ""
    read.mrn = p.mrn if p else ""
    read.instrument_id = r.instrument_id if r else None
    read.total = r.total if r else None
    read.detail = detail
    return read


def open_alerts(
    s: Session, *, assigned_to: int | None = None, patient_id: int | None = None
) -> list[SafetyAlert]:
    """Return unacknowledged alerts (for one clinician: assigned to them, the unassigned ones, and every alert
    of a patient whose care team includes them), oldest first."""
    q = select(SafetyAlert).where(SafetyAlert.acknowledged_at.is_(None))
    if assigned_to is not None:
        q = q.where(
            (SafetyAlert.assigned_to == assigned_to)
            | SafetyAlert.assigned_to.is_(None)
            | SafetyAlert.patient_id.in_(patients.my_patient_ids(assigned_to))
        )
    if patient_id is not None:
        q = q.where(SafetyAlert.patient_id == patient_id)
    return list(s.scalars(q.order_by(SafetyAlert.raised_at, SafetyAlert.id)))


def list_alerts(
    *, db: Database, actor: Actor, mine: bool = True, include_acknowledged: bool = False, limit: int = 200
) -> list[AlertRead]:
    """List open urgent alerts (the actor's own and unassigned ones when `mine`), then recent acknowledged."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("read", "safety_alert")
        s = uow.session
        rows = open_alerts(s, assigned_to=actor.user_id if mine and actor.user_id else None)
        if include_acknowledged:
            q = select(SafetyAlert).where(SafetyAlert.acknowledged_at.is_not(None))
            if mine and actor.user_id:
                q = q.where(
                    (SafetyAlert.assigned_to == actor.user_id)
                    | SafetyAlert.patient_id.in_(patients.my_patient_ids(actor.user_id))
                )
            rows += list(s.scalars(q.order_by(SafetyAlert.acknowledged_at.desc()).limit(20)))
        out = [_alert_read(s, a) for a in rows[:limit]]
        uow.audit("list", "safety_alert", details={"open": sum(a.acknowledged_at is None for a in rows)})
        return out


def acknowledge_alert(*, db: Database, actor: Actor, alert_id: int, data: AlertAcknowledge) -> AlertRead:
    """Acknowledge an urgent alert with the action taken (required); refused if someone changed it first."""
    with UnitOfWork(db, actor) as uow:
        s = uow.session
        a = s.get(SafetyAlert, alert_id)
        uow.authorize("acknowledge", "safety_alert", patient_id=a.patient_id if a else None)
        if a is None:
            raise NotFound("alert")
        if a.version != data.version:
            raise Conflict("alert", current_version=a.version, sent_version=data.version)
        if a.acknowledged_at is not None:
            raise Conflict("alert", current_version=a.version, sent_version=data.version)
        text = data.action_taken.strip()
        if len(text) < 10:
            raise InvalidValue("action_taken", "say what was done (at least 10 characters)")
        a.acknowledged_at = clock.now()
        a.acknowledged_by = actor.user_id
        a.action_taken = text
        s.flush()
        uow.audit(
            "acknowledge",
            "safety_alert",
            a.id,
            patient_id=a.patient_id,
            details={"kind": a.kind, "action_taken": text[:500]},
        )
        return _alert_read(s, a)


def mark_response_entered_in_error(
    *, db: Database, actor: Actor, patient_id: int, response_id: int, data: patients.InErrorReason
) -> ResponseRead:
    """Mark a questionnaire response entered in error: kept with the reason, left out of trends and due lists."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("write", "scores", patient_id=patient_id)
        s = uow.session
        r = s.get(QuestionnaireResponse, response_id)
        if r is None or r.patient_id != patient_id:
            raise NotFound("questionnaire response")
        if r.entered_in_error:
            raise InvalidValue("reason", "this response is already marked entered in error")
        if r.session_id is not None and s.execute(
            select(SessionSignature.id).where(SessionSignature.session_id == r.session_id).limit(1)
        ).first():
            raise InvalidValue(
                "response_id",
                f"this response is part of the signed record of session {r.session_id}, which cannot change; add "
                "an addendum to that record saying it was entered in error and why",
            )
        columns = ("instrument_id", "context", "answered_at", "total", "severity", "entered_in_error")
        before = patients.snapshot(r, columns)
        r.entered_in_error = True
        s.flush()
        patients.record_revision(
            s,
            actor,
            patient_id=patient_id,
            entity="questionnaire_response",
            entity_id=r.id,
            action="entered_in_error",
            reason=data.reason,
            before=before,
            after=patients.snapshot(r, columns),
        )
        uow.audit(
            "update",
            "questionnaire_response",
            r.id,
            patient_id=patient_id,
            details={"correction": "entered_in_error", "reason": data.reason[:500]},
        )
        return _read(r, dict(_answers(s, [r.id]).get(r.id, [])))
