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
from ketacare.services.sessions.common import open_session
from ketacare.services.sessions.record import _detail
from ketacare.services.sessions.rules import default_session_rules
from ketacare.services.sessions.schemas import SessionDetail
from ketacare.services.uow import UnitOfWork
from ketacare.store.db import Database

ACTIVE = ("checked_in", "prechecks_passed", "infusing", "paused", "recovery")


def open_live(*, db: Database, actor: Actor, session_id: int) -> int:
    """Authorize `actor` to follow session `session_id` live and audit it as a view; return its patient's id."""
    with UnitOfWork(db, actor) as uow:
        sess = open_session(uow, session_id, "read")
        uow.audit("view", "infusion_session", sess.id, patient_id=sess.patient_id, details={"live": True})
        return sess.patient_id


def live_session(*, db: Database, actor: Actor, session_id: int) -> SessionDetail:
    """Return what the session page shows, for a live update of a stream `open_live` authorized and audited.

    Authorized again on every update (a revoked grant stops the updates); not audited per update."""
    with UnitOfWork(db, actor) as uow:
        sess = open_session(uow, session_id, "read")
        return _detail(uow.session, sess, clock.now())


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


def observation_timer(s: SessionDetail) -> ObservationTimer | None:
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
