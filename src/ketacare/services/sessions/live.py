"""The live session page: open its stream (authorized and audited once, like the page), read the session for each
update without a further audit event, the alert limits of each vital, and the observation timer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from ketacare.domain.sessions.limits import VitalFlag, VitalLimit, flag_value, vital_limits
from ketacare.services import clock
from ketacare.services.access import Actor
from ketacare.services.sessions.alerts import alert_rules
from ketacare.services.sessions.board import ACTIVE_STATES
from ketacare.services.sessions.common import open_session, vital_rows
from ketacare.services.sessions.facts import order_summary
from ketacare.services.sessions.pump import dose_summary
from ketacare.services.sessions.record import _alerts as session_alerts
from ketacare.services.sessions.record import _pump_events as pump_events
from ketacare.services.sessions.record import _vital_row as vital_row
from ketacare.services.sessions.rules import default_session_rules
from ketacare.services.sessions.schemas import LiveSession, SessionDetail
from ketacare.services.sessions.workflow import guard_status
from ketacare.services.uow import UnitOfWork
from ketacare.store.db import Database

ACTIVE = ACTIVE_STATES  # the states the live board shows


def open_live(*, db: Database, actor: Actor, session_id: int) -> int:
    """Authorize `actor` to follow session `session_id` live and audit it as a view; return its patient's id."""
    with UnitOfWork(db, actor) as uow:
        sess = open_session(uow, session_id, "read")
        uow.audit("view", "infusion_session", sess.id, patient_id=sess.patient_id, details={"live": True})
        return sess.patient_id


def live_session(*, db: Database, actor: Actor, session_id: int) -> LiveSession:
    """Return the live parts of the session page, for an update of a stream `open_live` authorized and audited.

    Authorized again on every update (a revoked grant stops the updates); not audited per update."""
    with UnitOfWork(db, actor) as uow:
        sess = open_session(uow, session_id, "read")
        s, now = uow.session, clock.now()
        dose_until = sess.infusion_ended_at or now if sess.state not in ("infusing", "paused") else now
        return LiveSession(
            id=sess.id,
            patient_id=sess.patient_id,
            chair=sess.chair,
            product=sess.product,
            state=sess.state,
            scheduled_at=sess.scheduled_at,
            infusion_started_at=sess.infusion_started_at,
            infusion_ended_at=sess.infusion_ended_at,
            vitals=[vital_row(v) for v in vital_rows(s, sess.id)],
            alerts=session_alerts(s, sess)[::-1],
            infusion_events=pump_events(s, sess),
            dose=dose_summary(s, sess, dose_until, with_pk=True),
            guards=guard_status(s, sess, now),
            order=order_summary(s, sess),
        )


@cache
def limits() -> tuple[VitalLimit, ...]:
    """Return the clinic's alert limits per vital (from the alert rules the engine uses)."""
    return vital_limits(alert_rules())


def vital_flag(vital: str, value: float | None) -> VitalFlag | None:
    """Return how `value` of `vital` (sbp, dbp, hr, spo2, rr) lies beyond an alert limit, or None."""
    return flag_value(vital, value, limits())


@dataclass(frozen=True)
class ObservationTimer:
    """The observation a patient needs before discharge: from `since` for `needed_min` minutes."""

    since: datetime
    needed_min: float
    what: str  # what the time counts from, in words

    @property
    def ends_at(self) -> datetime:
        return self.since + timedelta(minutes=self.needed_min)

    def remaining_min(self, now: datetime) -> float:
        return max(0.0, (self.ends_at - now).total_seconds() / 60.0)


def observation_timer(s: SessionDetail | LiveSession) -> ObservationTimer | None:
    """Return the observation timer of an active session once it runs (None before it starts or once it ended).

    Esketamine counts from administration (the REMS form), ketamine infusions from the end of the infusion; the
    minimum times are the settings the discharge guards read."""
    if s.state not in ACTIVE:
        return None
    settings = default_session_rules().settings
    if s.product == "esketamine":
        if s.infusion_started_at is None:
            return None
        return ObservationTimer(s.infusion_started_at, settings.esketamine_observation_min, "since administration")
    if s.infusion_ended_at is None:
        return None
    return ObservationTimer(s.infusion_ended_at, settings.iv_observation_min, "since the end of the infusion")
