"""Alarms through the services on SQLite and PostgreSQL: a HIGH alarm latches after its condition resolves until
a nurse acknowledges it with the action taken, a flapping condition stays one alarm, a condition back within
the clinic's window reopens its alarm, and the sweep escalates an unacknowledged HIGH."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from ketacare.domain.errors import InvalidValue
from ketacare.services.sessions import alerts as session_alerts
from ketacare.services.sessions import record, vitals
from ketacare.services.sessions.schemas import AlertAck, GatewayReading
from ketacare.store.tables import AuditEvent
from ketacare.store.tables.sessions import SessionAlert
from tests.services import test_sessions as base

fake_clock, capabilities = base.fake_clock, base.capabilities  # the sessions tests' fixtures
_new, _start = base._new, base._start

acknowledge_alert = session_alerts.acknowledge_alert
sweep = session_alerts.sweep_overdue


def _post(personas, sid, at, sbp, dbp, tag):
    return vitals.record_batch(
        db=personas.db,
        actor=personas["nurse"],
        session_id=sid,
        readings=[GatewayReading(client_id=tag, measured_at=at, sbp=sbp, dbp=dbp, hr=80, spo2=98, rr=14)],
    )


def _alarms(personas, sid):
    with personas.db.session() as s:
        return s.scalars(
            select(SessionAlert).where(SessionAlert.session_id == sid).order_by(SessionAlert.id)
        ).all()


def _ack(personas, sid, alert_id, action, who="nurse"):
    return acknowledge_alert(
        db=personas.db,
        actor=personas[who],
        session_id=sid,
        alert_id=alert_id,
        data=AlertAck(action_taken=action),
    )


def test_182_112_stays_latched_after_a_normal_reading_until_acknowledged_with_the_action(
    personas, fake_clock, capabilities
):
    sid = _new(personas)
    _start(personas, sid, fake_clock)
    t = fake_clock.t
    fake_clock.advance(3)
    res = _post(personas, sid, t + timedelta(minutes=2), 182, 112, "g-1")
    assert len(res.alerts_raised) == 1
    res = _post(personas, sid, t + timedelta(minutes=2, seconds=5), 128, 82, "g-2")
    assert res.alerts_resolved == []  # the condition is over; the alarm is not
    (a,) = _alarms(personas, sid)
    assert a.resolved_at is None and a.cleared_at == t + timedelta(minutes=2, seconds=5)
    assert a.priority == "high" and a.latching and "back within limits" in a.clear_reason
    view = record.get_session(db=personas.db, actor=personas["nurse"], session_id=sid)
    (shown,) = [x for x in view.alerts if x.id == a.id]
    assert shown.status == "resolved_unacknowledged" and shown.status_text == "resolved, not acknowledged"
    assert shown.needs_acknowledgement
    with pytest.raises(ValidationError):
        AlertAck(action_taken="   ")  # the action taken is required
    done = _ack(personas, sid, a.id, "rechecked 130/84 manual cuff; Dr Okafor informed")
    assert done.status == "resolved" and done.acknowledged_by == "Nurse"
    assert done.action_taken.startswith("rechecked 130/84")
    assert [x.action_taken for x in done.acknowledgements] == [
        "rechecked 130/84 manual cuff; Dr Okafor informed"
    ]
    (a,) = _alarms(personas, sid)
    assert a.resolved_at == fake_clock.t and a.resolution == "acknowledged after the condition resolved"
    with pytest.raises(InvalidValue):
        _ack(personas, sid, a.id, "again")
    with personas.db.session() as s:
        ev = s.scalars(
            select(AuditEvent).where(
                AuditEvent.resource_type == "session_alert",
                AuditEvent.resource_id == str(a.id),
                AuditEvent.action == "acknowledge",
            )
        ).one()
    assert ev.actor_username == "nurse" and '"closed":true' in ev.details


def test_flapping_is_one_alarm_and_a_return_within_the_window_reopens_it(personas, fake_clock, capabilities):
    sid = _new(personas)
    _start(personas, sid, fake_clock)
    t = fake_clock.t
    fake_clock.advance(30)
    k = 0
    for _ in range(4):  # very high -> severe -> normal, every 5 s
        for sbp, dbp in ((204, 121), (186, 106), (140, 86)):
            _post(personas, sid, t + timedelta(minutes=5, seconds=5 * k), sbp, dbp, f"f-{k}")
            k += 1
    (a,) = _alarms(personas, sid)
    assert a.resolved_at is None and a.cleared_at is not None and a.peak_rule_id == "bp_very_high"
    assert a.reraised == 3 and {e["rule"] for e in a.events} == {"bp_very_high", "bp_severe"}
    _ack(personas, sid, a.id, "infusion paused; prescriber called")
    closed = _alarms(personas, sid)[0]
    assert closed.resolved_at is not None
    # 8 minutes after it closed (window 10 min) the pressure is severe again: the same alarm, still acknowledged
    fake_clock.advance(8)
    res = _post(personas, sid, fake_clock.t, 185, 100, "f-back")
    assert res.alerts_raised == []
    (again,) = _alarms(personas, sid)
    assert again.id == a.id and again.resolved_at is None and again.acknowledged_at is not None
    assert again.events[-1]["kind"] == "reopened"


def test_the_sweep_escalates_an_unacknowledged_high_alarm_once(personas, fake_clock, capabilities):
    sid = _new(personas)
    _start(personas, sid, fake_clock)
    t = fake_clock.t
    _post(personas, sid, t + timedelta(minutes=1), 186, 104, "e-1")
    fake_clock.t = t + timedelta(minutes=2, seconds=30)
    sweep(db=personas.db, now=fake_clock.t)
    assert _alarms(personas, sid)[0].escalated_at is None  # 1.5 min unacknowledged: escalates after 2
    fake_clock.t = t + timedelta(minutes=3)
    sweep(db=personas.db, now=fake_clock.t)
    (a,) = _alarms(personas, sid)
    assert a.escalated_at == fake_clock.t and a.events[-1]["kind"] == "escalated"
    view = record.get_session(db=personas.db, actor=personas["nurse"], session_id=sid)
    assert [x.escalated for x in view.alerts] == [True]
    fake_clock.advance(1)
    sweep(db=personas.db, now=fake_clock.t)
    with personas.db.session() as s:
        n = s.scalars(
            select(AuditEvent).where(
                AuditEvent.resource_type == "session_alert",
                AuditEvent.resource_id == str(a.id),
                AuditEvent.action == "update",
            )
        ).all()
    assert len(n) == 1 and n[0].actor_username == "system:monitor" and '"escalated"' in n[0].details
    done = _ack(personas, sid, a.id, "BP rechecked 170/98; infusion paused")
    assert done.status == "acknowledged" and not done.escalated


def test_resuming_waits_for_a_latched_high_alarm_to_be_acknowledged(personas, fake_clock, capabilities):
    sid = _new(personas)
    _start(personas, sid, fake_clock)
    t = fake_clock.t
    fake_clock.advance(3)
    _post(personas, sid, t + timedelta(minutes=1), 186, 104, "p-1")
    assert base._ev(personas, sid, "pause").allowed
    _post(personas, sid, t + timedelta(minutes=2), 130, 82, "p-2")  # the condition is over, the alarm latched
    refused = base._ev(personas, sid, "resume")
    assert not refused.allowed and [g.id for g in refused.failed_guards] == ["no_unresolved_high_alert"]
    (a,) = _alarms(personas, sid)
    _ack(personas, sid, a.id, "BP 130/82 on recheck; prescriber agrees to resume")
    assert base._ev(personas, sid, "resume").allowed
