"""Demo follow-up (issue 16): sessions discharged yesterday whose next-day calls are due today (one already done),
and GAD-7 scores 4 h and 24 h after recent sessions, so the rapid response shows on the chart and session pages."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import numpy as np
from sqlalchemy import select

from ketacare.demo.patients import DemoContext
from ketacare.demo.sessions import _actor, _session, clock_now_real
from ketacare.services import clinic, clock, measurement, plans
from ketacare.services.access import Actor
from ketacare.store.db import Database
from ketacare.store.tables.sessions import InfusionSession

ORDER = 55  # after the demo sessions (50)

# One completed call's answers: nothing of concern.
CALM_CALL: dict[str, str | list[str]] = {
    "suicidal_thoughts": "no", "feels_safe": "yes", "side_effects": ["headache"], "mood": "better",
    "sleep": "normal", "driving_advice_kept": "yes",
}  # fmt: skip


def _gad7(db: Database, nurse: Actor, pid: int, sid: int | None, total: int, at: datetime, context: str) -> None:
    """Enter a GAD-7 of about `total` points for the session, answered at `at`."""
    answers = [min(3, max(0, total // 7 + (1 if i < total % 7 else 0))) for i in range(7)]
    measurement.submit_response(db=db, actor=nurse, patient_id=pid, data=measurement.ResponseCreate(
        instrument_id="gad7", answers=answers, context=context, session_id=sid, answered_at=at))


def _baseline(db: Database, sid: int) -> int:
    """Return the pre-session GAD-7 total of the session (the demo sessions enter one)."""
    from ketacare.store.tables.measurement import QuestionnaireResponse

    with db.session() as s:
        total = s.scalar(select(QuestionnaireResponse.total).where(
            QuestionnaireResponse.session_id == sid, QuestionnaireResponse.instrument_id == "gad7",
            QuestionnaireResponse.context == "pre_session"))
    return int(total or 12)


def _scores(db: Database, nurse: Actor, sess: InfusionSession, fall_4h: float, fall_24h: float | None) -> None:
    """Enter the 4 h (and 24 h) GAD-7 after a session: `fall_*` is the fraction below the baseline."""
    if sess.infusion_ended_at is None:
        return
    base = _baseline(db, sess.id)
    end = sess.infusion_ended_at
    # not linked to the session: a response linked after signing would alter the signed record (the rapid response
    # finds these scores by their time after the infusion)
    _gad7(db, nurse, sess.patient_id, None, round(base * (1 - fall_4h)), end + timedelta(hours=4), "post_session")
    if fall_24h is not None:
        _gad7(db, nurse, sess.patient_id, None, round(base * (1 - fall_24h)), end + timedelta(hours=23),
              "follow_up_24h")


def _discharged(db: Database) -> list[InfusionSession]:
    with db.session() as s:
        return list(s.scalars(select(InfusionSession).where(InfusionSession.state == "discharged")
                              .order_by(InfusionSession.discharged_at)))


def extend(ctx: DemoContext) -> None:
    """Add three sessions discharged yesterday (calls due today; one done) and 4 h / 24 h scores after sessions."""
    rng = np.random.default_rng(ctx.rng.randint(0, 2**31))
    db, nurse = ctx.db, _actor(ctx, "nurse")
    now = clock_now_real().replace(microsecond=0)
    tz = clinic.zone(db)
    yesterday = (now.astimezone(tz) - timedelta(days=1)).date()
    with db.session() as s:
        busy = set(s.scalars(select(InfusionSession.patient_id).where(InfusionSession.state != "discharged")))
    pids = [p for p in ctx.patient_ids if p not in busy][:3]
    for k, pid in enumerate(pids):
        start = datetime.combine(yesterday, time(9 + 2 * k, 0), tzinfo=tz).astimezone(now.tzinfo)
        _session(ctx, pid, f"Chair {k + 1}", start, live=False, rng=rng)
    sessions = _discharged(db)
    real_now = clock.now
    try:
        for i, sess in enumerate(sessions):
            if sess.discharged_at is None or sess.infusion_ended_at is None:
                continue
            recent = sess.discharged_at.astimezone(tz).date() == yesterday
            falls = [(0.4, 0.6), (0.3, 0.35), (0.5, 0.55), (0.2, 0.25)][i % 4]
            due_24h = sess.infusion_ended_at + timedelta(hours=23) <= now
            clock.now = lambda: now  # noqa: B023 - the scores and calls are entered "now"
            _scores(db, nurse, sess, falls[0], falls[1] if due_24h and (not recent or i % 2 == 0) else None)
            if recent and i % 3 != 0:
                continue  # calls still due today
            called = min(now - timedelta(minutes=20), sess.discharged_at + timedelta(hours=20))
            if called <= sess.discharged_at:
                continue
            plans.record_call(db=db, actor=nurse, session_id=sess.id, data=plans.CallCreate(
                reached=True, answers=CALM_CALL, notes="Feels calmer; slept well.", called_at=called))
    finally:
        clock.now = real_now
