"""Rapid response and the next-day call: the response of each dosing session (baseline, 4 h, 24 h), the nurse's
list of calls due, and recording a call (a risk answer raises a safety alert, as a questionnaire's does)."""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.domain.errors import InvalidValue
from ketacare.domain.measurement import load_instrument
from ketacare.domain.plans.followup import assess_answers, call_due_at, call_form, call_status
from ketacare.domain.plans.response import Score, rapid_response, response_definition
from ketacare.services import clinic, clock, measurement
from ketacare.services.access import Actor
from ketacare.services.errors import NotFound
from ketacare.services.plans.schemas import (
    CallCreate,
    CallQuestionRead,
    CallRead,
    CallSheet,
    CallTask,
    SessionResponse,
    TimepointRead,
    TimepointScore,
)
from ketacare.services.uow import UnitOfWork
from ketacare.store.db import Database
from ketacare.store.tables import Patient
from ketacare.store.tables.measurement import QuestionnaireResponse
from ketacare.store.tables.plans import FollowupCall
from ketacare.store.tables.sessions import InfusionSession

RESOURCE = "followup_call"


# --- rapid response -------------------------------------------------------------------------------------------


def _scores(s: Session, patient_id: int, instrument_id: str) -> list[Score]:
    rows = s.scalars(
        select(QuestionnaireResponse).where(
            QuestionnaireResponse.patient_id == patient_id,
            QuestionnaireResponse.instrument_id == instrument_id,
            QuestionnaireResponse.entered_in_error.is_(False),
            QuestionnaireResponse.total.is_not(None),
        )
    )
    return [Score(total=r.total, at=r.answered_at, response_id=r.id) for r in rows if r.total is not None]


def _point(sc: Score | None) -> TimepointScore | None:
    return None if sc is None else TimepointScore(total=sc.total, at=sc.at, response_id=sc.response_id)


def session_response(
    s: Session, sess: InfusionSession, scores: list[Score], instrument_id: str
) -> SessionResponse:
    """Return the rapid response of one session from the patient's scores of `instrument_id` (no authorization)."""
    d = response_definition()
    r = rapid_response(
        instrument_id,
        scores,
        infusion_started_at=sess.infusion_started_at,
        infusion_ended_at=sess.infusion_ended_at,
        definition=d,
    )
    return SessionResponse(
        session_id=sess.id,
        patient_id=sess.patient_id,
        infusion_ended_at=sess.infusion_ended_at,
        instrument_id=instrument_id,
        instrument_name=load_instrument(instrument_id).short_name,
        baseline=_point(r.baseline),
        timepoints=[
            TimepointRead(id=t.id, label=t.label, score=_point(t.score), change_pct=t.change_pct)
            for t in r.timepoints
        ],
        responder=r.responder,
        why=r.why,
        definition=d.label,
        source=r.source,
    )


def _instrument(instrument_id: str | None) -> str:
    iid = instrument_id or response_definition().default_instrument
    try:
        load_instrument(iid)
    except (InvalidValue, KeyError, FileNotFoundError):
        raise InvalidValue("instrument_id", f"'{iid}' is not an instrument of this clinic") from None
    return iid


def rapid_response_for_patient(
    *, db: Database, actor: Actor, patient_id: int, instrument_id: str | None = None
) -> list[SessionResponse]:
    """Return the rapid response of each dosing session of a patient (newest first) on the primary instrument
    (`instrument_id`, e.g. from the individual plan; default: response.toml's default instrument)."""
    iid = _instrument(instrument_id)
    with UnitOfWork(db, actor) as uow:
        uow.authorize("read", "scores", patient_id=patient_id)
        s = uow.session
        if s.get(Patient, patient_id) is None:
            raise NotFound("patient")
        sessions = list(
            s.scalars(
                select(InfusionSession)
                .where(
                    InfusionSession.patient_id == patient_id, InfusionSession.infusion_started_at.is_not(None)
                )
                .order_by(InfusionSession.infusion_started_at.desc())
            )
        )
        scores = _scores(s, patient_id, iid)
        uow.audit(
            "view",
            "rapid_response",
            patient_id=patient_id,
            details={"instrument": iid, "sessions": len(sessions)},
        )
        return [session_response(s, sess, scores, iid) for sess in sessions]


def rapid_response_for_session(
    *, db: Database, actor: Actor, session_id: int, instrument_id: str | None = None
) -> SessionResponse:
    """Return the rapid response of one session (the session page shows it)."""
    iid = _instrument(instrument_id)
    with UnitOfWork(db, actor) as uow:
        sess = uow.session.get(InfusionSession, session_id)
        if sess is None:
            raise NotFound("infusion session")
        uow.authorize("read", "scores", patient_id=sess.patient_id)
        out = session_response(uow.session, sess, _scores(uow.session, sess.patient_id, iid), iid)
        uow.audit(
            "view", "rapid_response", session_id, patient_id=sess.patient_id, details={"instrument": iid}
        )
        return out


# --- the next-day call ----------------------------------------------------------------------------------------


def _calls(s: Session, session_ids: list[int]) -> dict[int, list[FollowupCall]]:
    out: dict[int, list[FollowupCall]] = {i: [] for i in session_ids}
    if session_ids:
        for c in s.scalars(
            select(FollowupCall)
            .where(FollowupCall.session_id.in_(session_ids))
            .order_by(FollowupCall.called_at, FollowupCall.id)
        ):
            out[c.session_id].append(c)
    return out


def _task(
    sess: InfusionSession, p: Patient, calls: list[FollowupCall], now: datetime, tz: tzinfo
) -> CallTask:
    if sess.discharged_at is None:
        raise InvalidValue("session", "the next-day call follows a discharged session")
    done = any(c.outcome == "completed" for c in calls)
    return CallTask(
        session_id=sess.id,
        patient_id=p.id,
        patient_name=f"{p.family_name}, {p.given_name}",
        mrn=p.mrn,
        discharged_at=sess.discharged_at,
        due_at=call_due_at(sess.discharged_at, tz),
        status=call_status(sess.discharged_at, now, tz, done=done),
        attempts=len(calls),
        last_attempt_at=calls[-1].called_at if calls else None,
    )


def call_tasks(*, db: Database, actor: Actor, include_done: bool = True) -> list[CallTask]:
    """Return the next-day calls: due today and overdue first (by due time), then those done today.

    A call belongs to every session discharged in the last `drop_after_days` days (call_form); a call not yet due
    (discharged today) is left out.
    """
    tz = clinic.zone(db)
    now = clock.now()
    form = call_form()
    with UnitOfWork(db, actor) as uow:
        uow.authorize("list", RESOURCE)
        s = uow.session
        rows = s.execute(
            select(InfusionSession, Patient)
            .join(Patient, Patient.id == InfusionSession.patient_id)
            .where(
                InfusionSession.state == "discharged",
                InfusionSession.discharged_at >= now - timedelta(days=form.drop_after_days + 1),
            )
        ).all()
        calls = _calls(s, [sess.id for sess, _ in rows])
        today = now.astimezone(tz).date()
        tasks = []
        for sess, p in rows:
            t = _task(sess, p, calls[sess.id], now, tz)
            if t.status == "not_yet_due":
                continue
            if t.status == "done":
                last = t.last_attempt_at
                if not include_done or last is None or last.astimezone(tz).date() != today:
                    continue
            tasks.append(t)
        order = {"overdue": 0, "due": 1, "done": 2}
        tasks.sort(key=lambda t: (order[t.status], t.due_at, t.patient_name))
        uow.audit("list", RESOURCE, details={"results": len(tasks)})
        return tasks


def _question_reads() -> list[CallQuestionRead]:
    f = call_form()
    return [
        CallQuestionRead(
            id=q.id,
            label=q.label,
            kind=q.kind,
            options=[(o, f.option_labels.get(o, o)) for o in q.options],
            risk_when=list(q.risk_when),
            concern_when=list(q.concern_when),
            source=q.source,
        )
        for q in f.questions
    ]


def _discharged(s: Session, session_id: int) -> InfusionSession:
    sess = s.get(InfusionSession, session_id)
    if sess is None:
        raise NotFound("infusion session")
    return sess


def call_sheet(*, db: Database, actor: Actor, session_id: int) -> CallSheet:
    """Return the call page of a session: the task, the questions, earlier attempts and the rapid response."""
    tz = clinic.zone(db)
    phone = clinic.current(db).phone
    with UnitOfWork(db, actor) as uow:
        s = uow.session
        sess = _discharged(s, session_id)
        uow.authorize("read", RESOURCE, patient_id=sess.patient_id)
        if sess.discharged_at is None:
            raise InvalidValue("session", "the next-day call follows a discharged session")
        p = s.get(Patient, sess.patient_id)
        if p is None:
            raise NotFound("patient")
        calls = _calls(s, [sess.id])[sess.id]
        iid = response_definition().default_instrument
        resp = session_response(s, sess, _scores(s, sess.patient_id, iid), iid)
        uow.audit("view", RESOURCE, session_id, patient_id=sess.patient_id)
        return CallSheet(
            task=_task(sess, p, calls, clock.now(), tz),
            questions=_question_reads(),
            calls=[CallRead.model_validate(c) for c in calls],
            response=resp,
            clinic_phone=phone,
        )


def record_call(*, db: Database, actor: Actor, session_id: int, data: CallCreate) -> CallRead:
    """Record a next-day call attempt (who and when); a completed call needs every answer, and a risk answer
    raises a safety alert for the patient's clinician. A second completed call for a session is refused."""
    now = clock.now()
    with UnitOfWork(db, actor) as uow:
        s = uow.session
        sess = _discharged(s, session_id)
        uow.authorize("write", RESOURCE, patient_id=sess.patient_id)
        if sess.state != "discharged" or sess.discharged_at is None:
            raise InvalidValue("session", "the next-day call follows a discharged session")
        called_at = data.called_at or now
        if called_at.tzinfo is None:
            raise InvalidValue("called_at", "give the time with a time zone")
        if called_at > now:
            raise InvalidValue("called_at", "a call cannot be in the future")
        if called_at < sess.discharged_at:
            raise InvalidValue("called_at", "the call must come after the discharge")
        previous = _calls(s, [sess.id])[sess.id]
        done = [c for c in previous if c.outcome == "completed"]
        if done:
            raise InvalidValue("reached", f"this call was already completed by {done[0].by_username}")
        risk: tuple[str, ...] = ()
        concerns: tuple[str, ...] = ()
        answers: dict[str, str | list[str]] = {}
        if data.reached:
            assessment = assess_answers(data.answers)
            risk, concerns = assessment.risk, assessment.concerns
            answers = dict(data.answers)
        elif data.answers:
            raise InvalidValue("reached", "answers are recorded only when the patient was reached")
        alert = None
        if risk:
            alert = measurement.raise_safety_alert(
                s, patient_id=sess.patient_id, kind="followup_call_risk", now=now
            )
        call = FollowupCall(
            session_id=sess.id,
            patient_id=sess.patient_id,
            outcome="completed" if data.reached else "not_reached",
            form_version=call_form().version,
            answers=answers,
            risk_items=list(risk),
            concern_items=list(concerns),
            safety_alert_id=alert.id if alert else None,
            notes=data.notes or None,
            by_user_id=actor.user_id,
            by_username=actor.username,
            called_at=called_at,
        )
        s.add(call)
        s.flush()
        uow.audit(
            "create",
            RESOURCE,
            call.id,
            patient_id=sess.patient_id,
            details={
                "session": sess.id,
                "outcome": call.outcome,
                "risk": list(risk),
                "concerns": list(concerns),
            },
        )
        if alert is not None:
            uow.audit(
                "create",
                "safety_alert",
                alert.id,
                patient_id=sess.patient_id,
                details={"kind": alert.kind, "assigned_to": alert.assigned_to, "followup_call": call.id},
            )
        return CallRead.model_validate(call)


def calls_for_patient(*, db: Database, actor: Actor, patient_id: int) -> list[CallRead]:
    """Return every next-day call of a patient, newest first (the chart lists them)."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("read", RESOURCE, patient_id=patient_id)
        rows = uow.session.scalars(
            select(FollowupCall)
            .where(FollowupCall.patient_id == patient_id)
            .order_by(FollowupCall.called_at.desc(), FollowupCall.id.desc())
        )
        out = [CallRead.model_validate(c) for c in rows]
        uow.audit("list", RESOURCE, patient_id=patient_id, details={"results": len(out)})
        return out
