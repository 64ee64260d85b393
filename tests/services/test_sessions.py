"""Infusion sessions through the services, on SQLite and PostgreSQL: guards, overrides, idempotent vitals,
one alert per condition, signing and addenda."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import DBAPIError

from ketacare.domain.errors import InvalidValue
from ketacare.services import clock, dosing, eligibility, measurement, plans
from ketacare.services.sessions import alerts as session_alerts
from ketacare.services.sessions import board, pump, record, side_effects, vitals, workflow
from ketacare.services.sessions.schemas import (
    AddendumCreate,
    AlertAck,
    GatewayReading,
    InfusionEventCreate,
    OverrideIn,
    SessionChecks,
    SessionCreate,
    SideEffectCreate,
    SignRequest,
    TransitionRequest,
    VitalIn,
)
from ketacare.store.tables import AuditEvent
from ketacare.store.tables.sessions import InfusionSession, SessionAlert, SessionTransition, VitalSign
from tests.conftest import PASSWORD

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self) -> None:
        self.t = T0

    def __call__(self) -> datetime:
        return self.t

    def advance(self, minutes: float) -> None:
        self.t += timedelta(minutes=minutes)


@pytest.fixture
def fake_clock(monkeypatch) -> FakeClock:
    c = FakeClock()
    monkeypatch.setattr(clock, "now", c)
    return c


@dataclass
class Order:
    id: int = 1
    route: str = "iv"
    signed_at: datetime | None = T0
    double_checked_at: datetime | None = T0
    dose_mg: float = 35.0
    mg_per_kg: float | None = None
    weight_basis: str | None = None
    policy_weight_basis: str | None = None
    weight_basis_chosen: bool | None = None
    weight_basis_reason: str | None = None
    mg_per_kg_actual_weight: float | None = None
    computed_dose_mg: float | None = None


@dataclass
class Response:
    instrument_id: str
    context: str = "pre_session"


@dataclass
class Evaluation:
    status: str = "accepted"
    decision: str = "eligible"
    override_decision: str | None = None


@pytest.fixture
def capabilities(monkeypatch):
    """Stand-ins for the dose order, pre-session questionnaires, eligibility evaluation and signed consent (read by
    the session facts through the dosing, measurement, eligibility and plans packages), so each test sets those
    facts directly."""
    state = {"order": Order(), "responses": [Response("gad7"), Response("cssrs_screen")], "eligible": True,
             "consent": True}  # fmt: skip
    monkeypatch.setattr(plans, "status_in_session", lambda s, pid, route, at: _consent(route, at, state["consent"]))
    monkeypatch.setattr(plans, "statuses_in_sessions",
                        lambda s, keys, at: {k: _consent(k[1], at, state["consent"]) for k in keys})  # fmt: skip
    monkeypatch.setattr(dosing, "usable_order", lambda s, pid: state["order"])
    monkeypatch.setattr(measurement, "responses_for_session", lambda s, sid: state["responses"])
    monkeypatch.setattr(
        eligibility, "current_evaluation", lambda s, pid: Evaluation() if state["eligible"] else None
    )
    # the guard facts read these for all the sessions they are asked about at once
    monkeypatch.setattr(
        dosing, "usable_order_by_patient", lambda s, pids: {p: state["order"] for p in pids if state["order"]}
    )
    monkeypatch.setattr(measurement, "responses_for_sessions", lambda s, sids: {i: state["responses"] for i in sids})
    monkeypatch.setattr(
        eligibility,
        "current_evaluations",
        lambda s, pids: {p: Evaluation() if state["eligible"] else None for p in pids},
    )
    return state


def _acknowledged(personas, sid):
    """The patient and the escort acknowledge the discharge instructions (discharge waits for both)."""
    for party, name in (("patient", "Ada Patient"), ("escort", "Sam Escort")):
        plans.acknowledge(db=personas.db, actor=personas["nurse"], session_id=sid,
                          data=plans.AcknowledgementIn(party=party, name=name, instructions_version=0))


def _consent(route, at, in_force: bool) -> plans.ConsentStatusRead:
    return plans.ConsentStatusRead(
        route=route, status="in_force" if in_force else "missing", in_force=in_force, at=at,
        reason="version 1.0 signed and countersigned" if in_force else "no signed consent covers the route",
        version="1.0" if in_force else None, signed_at=T0 - timedelta(days=3) if in_force else None,
    )  # fmt: skip


def _ev(personas, sid, event, who="nurse", **kw):
    return workflow.apply_event(
        db=personas.db, actor=personas[who], session_id=sid, data=TransitionRequest(event=event, **kw)
    )


def _new(personas, product="racemic_ketamine"):
    return workflow.create_session(
        db=personas.db,
        actor=personas["nurse"],
        data=SessionCreate(
            patient_id=personas.patient_a,
            chair="Chair 1",
            product=product,
            planned_dose_mg=35,
            planned_duration_min=40,
            concentration_mg_per_ml=1.0,
        ),
    ).id


def _ready(personas, sid, fake_clock):
    """Check in, record baseline vitals and every confirmation the pre-checks need."""
    _ev(personas, sid, "check_in")
    v = record.get_session(db=personas.db, actor=personas["nurse"], session_id=sid)
    workflow.update_checks(
        db=personas.db,
        actor=personas["nurse"],
        session_id=sid,
        data=SessionChecks(
            version=v.version,
            escort_confirmed=True,
            pregnancy_test_negative=True,
            last_food_at=fake_clock.t - timedelta(hours=3),
            last_liquid_at=fake_clock.t - timedelta(hours=1),
        ),
    )
    vitals.record_session_reading(
        db=personas.db,
        actor=personas["nurse"],
        session_id=sid,
        data=VitalIn(sbp=124, dbp=78, hr=72, spo2=98, rr=14),
    )


def _start(personas, sid, fake_clock):
    _ready(personas, sid, fake_clock)
    assert _ev(personas, sid, "pass_prechecks").allowed
    r = _ev(personas, sid, "start_infusion")
    assert r.allowed and r.state == "infusing"


def test_no_path_to_infusing_without_the_guards(personas, fake_clock, capabilities):
    capabilities["consent"] = False
    sid = _new(personas)
    with pytest.raises(InvalidValue):
        _ev(personas, sid, "start_infusion")  # not meaningful from scheduled
    _ev(personas, sid, "check_in")
    with pytest.raises(InvalidValue):
        _ev(personas, sid, "start_infusion")  # pre-checks first
    r = _ev(personas, sid, "pass_prechecks")
    assert not r.allowed and r.state == "checked_in"
    failed = {g.id for g in r.failed_guards}
    assert {
        "consent_on_file",
        "baseline_vitals_within_limits",
        "fasting_confirmed",
        "escort_confirmed",
    } <= failed
    with personas.db.session() as s:
        rows = s.scalars(select(SessionTransition).where(SessionTransition.session_id == sid)).all()
        assert [(t.event, t.allowed) for t in rows] == [("check_in", True), ("pass_prechecks", False)]
        assert rows[1].failed_guards and rows[1].by_username == "nurse"


def test_every_guard_passing_reaches_infusing_and_a_later_failure_stops_the_start(
    personas, fake_clock, capabilities
):
    sid = _new(personas)
    _ready(personas, sid, fake_clock)
    assert _ev(personas, sid, "pass_prechecks").allowed
    capabilities["order"] = None  # the order was cancelled between pre-check and chair
    r = _ev(personas, sid, "start_infusion")
    assert not r.allowed and "dose_order_signed" in {g.id for g in r.failed_guards}
    capabilities["order"] = Order()
    assert _ev(personas, sid, "start_infusion").state == "infusing"


def test_an_override_needs_a_reason_and_an_allowed_role_and_is_audited(personas, fake_clock, capabilities):
    capabilities["eligible"] = False
    sid = _new(personas)
    _ready(personas, sid, fake_clock)
    ov = OverrideIn(guard_ids=["eligibility_current"], reason="re-evaluation booked; seen today by Dr Okafor")
    r = _ev(personas, sid, "pass_prechecks", override=ov)  # nurse: not an allowed role
    assert not r.allowed and "not allowed" in r.failed_guards[0].message
    r = _ev(personas, sid, "pass_prechecks", who="prescriber", override=ov)
    assert r.allowed and r.overrides_used[0].role == "prescriber"
    with pytest.raises(ValidationError):
        OverrideIn(guard_ids=["eligibility_current"], reason="  ")
    with personas.db.session() as s:
        ev = s.scalars(select(AuditEvent).where(AuditEvent.action == "override")).all()
        assert len(ev) == 1 and ev[0].reason.startswith("re-evaluation")
    # consent cannot be overridden by anyone
    capabilities["consent"] = False
    sid2 = _new(personas)
    _ev(personas, sid2, "check_in")
    r = _ev(
        personas,
        sid2,
        "pass_prechecks",
        who="prescriber",
        override=OverrideIn(guard_ids=["consent_on_file"], reason="patient agreed verbally"),
    )
    assert not r.allowed and "consent_on_file" in {g.id for g in r.failed_guards}


def test_missing_order_questionnaires_and_evaluation_count_as_absent_facts_with_a_named_reason(
    personas, fake_clock
):
    sid = _new(personas)
    _ready(personas, sid, fake_clock)
    r = _ev(personas, sid, "pass_prechecks")
    msgs = {g.id: g.message for g in r.failed_guards}
    assert not r.allowed
    assert "no usable" in msgs["dose_order_signed"] and "questionnaires_done" in msgs
    assert "no accepted, current eligibility evaluation" in msgs["eligibility_current"]


def test_a_database_error_reading_another_capability_raises_instead_of_reading_as_a_missing_fact(
    personas, fake_clock
):
    sid = _new(personas)
    _ready(personas, sid, fake_clock)
    with personas.db.session() as s:
        s.execute(text("ALTER TABLE dose_orders RENAME TO dose_orders_gone"))
        s.commit()
    with pytest.raises(DBAPIError):
        _ev(personas, sid, "pass_prechecks")
    with personas.db.session() as s:
        state = s.scalar(select(InfusionSession.state).where(InfusionSession.id == sid))
        refused = s.scalar(
            select(func.count())
            .select_from(SessionTransition)
            .where(SessionTransition.session_id == sid, SessionTransition.event == "pass_prechecks")
        )
    assert state == "checked_in" and refused == 0


def _batch(n, start, **vals):
    return [
        GatewayReading(client_id=f"mon7-{k}", measured_at=start + timedelta(minutes=k), **vals)
        for k in range(n)
    ]


def test_a_batch_reposted_after_a_timeout_stores_each_reading_once(personas, fake_clock, capabilities):
    sid = _new(personas)
    _start(personas, sid, fake_clock)
    fake_clock.advance(12)
    batch = _batch(10, T0 + timedelta(minutes=1), sbp=130, dbp=80, hr=75, spo2=98, rr=14)
    first = vitals.record_batch(db=personas.db, actor=personas["nurse"], session_id=sid, readings=batch)
    again = vitals.record_batch(db=personas.db, actor=personas["nurse"], session_id=sid, readings=batch)
    assert (first.stored, first.duplicates) == (10, 0)
    assert (again.stored, again.duplicates) == (0, 10)
    with personas.db.session() as s:
        n = s.scalar(
            select(func.count())
            .select_from(VitalSign)
            .where(VitalSign.session_id == sid, VitalSign.source == "gateway")
        )
        row = s.scalars(select(VitalSign).where(VitalSign.client_id == "mon7-3")).one()
    assert n == 10
    assert row.measured_at == T0 + timedelta(minutes=4) and row.received_at == fake_clock.t


def _post(personas, sid, *readings):
    return vitals.record_batch(
        db=personas.db, actor=personas["nurse"], session_id=sid, readings=list(readings)
    )


def _reading(client_id, minute, device=None, **vals):
    vals = {"sbp": 130, "dbp": 80, "hr": 75, "spo2": 98, "rr": 14} | vals
    return GatewayReading(
        client_id=client_id, device_id=device, measured_at=T0 + timedelta(minutes=minute), **vals
    )


def test_the_same_client_id_on_another_patients_session_is_stored_not_called_a_duplicate(
    personas, fake_clock, capabilities
):
    a = _new(personas)
    b = _started_for(personas, fake_clock, personas.patient_b)
    _start(personas, a, fake_clock)
    fake_clock.advance(10)
    first = _post(personas, a, _reading("mon-0001", 2))
    other = _post(personas, b, _reading("mon-0001", 2))
    assert (first.stored, first.duplicates) == (1, 0)
    assert (other.stored, other.duplicates) == (1, 0)


def test_two_monitors_with_colliding_ids_keep_both_readings(personas, fake_clock, capabilities):
    sid = _new(personas)
    _start(personas, sid, fake_clock)
    fake_clock.advance(10)
    res = _post(
        personas, sid, _reading("0001", 2, device="monitor-A"), _reading("0001", 2, device="monitor-B", hr=92)
    )
    assert (res.stored, res.duplicates, res.conflicts) == (2, 0, [])
    with personas.db.session() as s:
        hrs = sorted(
            s.scalars(
                select(VitalSign.hr_per_min).where(VitalSign.session_id == sid, VitalSign.client_id == "0001")
            )
        )
    assert hrs == [75, 92]


def test_a_reading_resent_with_other_values_is_kept_as_a_conflict_and_raises_its_alert(
    personas, fake_clock, capabilities
):
    sid = _new(personas)
    _start(personas, sid, fake_clock)
    fake_clock.advance(10)
    _post(personas, sid, _reading("mon-0001", 2, device="bay-1"))
    res = _post(personas, sid, _reading("mon-0001", 2, device="bay-1", hr=160))
    assert res.stored == 1 and res.duplicates == 0 and len(res.conflicts) == 1
    assert res.alerts_raised, "HR 160 must be evaluated, not dropped"
    again = _post(personas, sid, _reading("mon-0001", 2, device="bay-1", hr=160))
    assert (again.stored, again.duplicates, again.conflicts) == (0, 1, [])
    page = record.get_session(db=personas.db, actor=personas["nurse"], session_id=sid)
    kept = [v for v in page.vitals if v.conflict_of is not None]
    assert [v.hr for v in kept] == [160] and kept[0].conflict_of == res.conflicts[0].conflicts_with


def test_186_over_104_held_raises_one_alert_and_the_acknowledgement_records_who_and_what(
    personas, fake_clock, capabilities
):
    sid = _new(personas)
    _start(personas, sid, fake_clock)
    fake_clock.advance(30)
    high = [
        GatewayReading(
            client_id=f"bp-{k}",
            measured_at=T0 + timedelta(minutes=5 * k + 1),
            sbp=186,
            dbp=104,
            hr=88,
            spo2=97,
            rr=14,
        )
        for k in range(5)
    ]
    res = vitals.record_batch(db=personas.db, actor=personas["nurse"], session_id=sid, readings=high[:2])
    res2 = vitals.record_batch(db=personas.db, actor=personas["nurse"], session_id=sid, readings=high[2:])
    assert len(res.alerts_raised) == 1 and res2.alerts_raised == []
    with personas.db.session() as s:
        alerts = s.scalars(select(SessionAlert).where(SessionAlert.session_id == sid)).all()
    assert len(alerts) == 1
    a = alerts[0]
    assert a.rule_id == "bp_severe" and a.priority == "high" and "pause" in a.actions
    assert a.advice.startswith("Recheck BP") and "186/104" in a.trigger
    acked = session_alerts.acknowledge_alert(
        db=personas.db,
        actor=personas["nurse"],
        session_id=sid,
        alert_id=a.id,
        data=AlertAck(action_taken="rechecked: 184/102, prescriber called"),
    )
    assert acked.acknowledged_by == "Nurse" and acked.action_taken.startswith("rechecked")
    assert acked.status == "acknowledged"
    with pytest.raises(InvalidValue):
        session_alerts.acknowledge_alert(
            db=personas.db,
            actor=personas["prescriber"],
            session_id=sid,
            alert_id=a.id,
            data=AlertAck(action_taken="again"),
        )
    # the pressure comes down past the margin: resolved, and a new rise would alert again
    vitals.record_batch(
        db=personas.db,
        actor=personas["nurse"],
        session_id=sid,
        readings=[GatewayReading(client_id="bp-ok", measured_at=T0 + timedelta(minutes=27), sbp=150, dbp=92)],
    )
    with personas.db.session() as s:
        a = s.get(SessionAlert, a.id)
    assert a.resolved_at is not None and "back within limits" in a.resolution


def _to_discharge(personas, sid, fake_clock, capabilities):
    _start(personas, sid, fake_clock)
    pump.add_infusion_event(
        db=personas.db,
        actor=personas["nurse"],
        session_id=sid,
        data=InfusionEventCreate(kind="start", rate_ml_per_h=52.5, at=fake_clock.t),
    )
    fake_clock.advance(40)
    pump.add_infusion_event(
        db=personas.db,
        actor=personas["nurse"],
        session_id=sid,
        data=InfusionEventCreate(kind="stop", at=fake_clock.t),
    )
    side_effects.add_side_effect(
        db=personas.db,
        actor=personas["nurse"],
        session_id=sid,
        data=SideEffectCreate(type="nausea", grade=1, onset_at=fake_clock.t - timedelta(minutes=10)),
    )
    assert _ev(personas, sid, "end_infusion").state == "recovery"
    fake_clock.advance(65)
    vitals.record_session_reading(
        db=personas.db,
        actor=personas["nurse"],
        session_id=sid,
        data=VitalIn(sbp=128, dbp=80, hr=74, spo2=98, rr=14),
    )
    v = record.get_session(db=personas.db, actor=personas["nurse"], session_id=sid)
    assert v.dose.delivered_mg == pytest.approx(35.0)
    workflow.update_checks(
        db=personas.db,
        actor=personas["nurse"],
        session_id=sid,
        data=SessionChecks(
            version=v.version,
            aldrete_score=10,
            aldrete_respiration_spo2_full=True,
            dissociation_resolved=True,
            sedation_resolved=True,
            escort_present=True,
        ),
    )
    _acknowledged(personas, sid)
    r = _ev(personas, sid, "discharge")
    assert r.allowed, r.failed_guards


def test_signing_stores_the_canonical_digest_and_later_changes_are_addenda(
    personas, fake_clock, capabilities
):
    sid = _new(personas)
    _to_discharge(personas, sid, fake_clock, capabilities)
    with pytest.raises(InvalidValue) as e:  # signing asks for the password again, at that moment
        record.sign_session(db=personas.db, actor=personas["nurse"], session_id=sid,
                            data=SignRequest(password="not-my-password"))
    assert e.value.field == "password"
    assert record.get_session(db=personas.db, actor=personas["nurse"], session_id=sid).signatures == []
    signed = SignRequest(password=PASSWORD)
    a = record.sign_session(db=personas.db, actor=personas["nurse"], session_id=sid, data=signed)
    b = record.sign_session(db=personas.db, actor=personas["prescriber"], session_id=sid, data=signed)
    assert a.sha256 == b.sha256 and len(a.sha256) == 64
    assert (a.meaning, b.meaning) == ("authored", "approved")  # the first signer authored it, the second approves
    with pytest.raises(InvalidValue):
        record.sign_session(db=personas.db, actor=personas["nurse"], session_id=sid, data=signed)
    v = record.get_session(db=personas.db, actor=personas["nurse"], session_id=sid)
    with pytest.raises(InvalidValue):
        workflow.update_checks(
            db=personas.db,
            actor=personas["nurse"],
            session_id=sid,
            data=SessionChecks(version=v.version, aldrete_score=9),
        )
    with pytest.raises(InvalidValue):
        vitals.record_session_reading(
            db=personas.db, actor=personas["nurse"], session_id=sid, data=VitalIn(hr=70)
        )
    add = record.add_addendum(
        db=personas.db,
        actor=personas["prescriber"],
        session_id=sid,
        data=AddendumCreate(text="Patient phoned next day: well, no nausea."),
    )
    assert add.prev_sha256 == a.sha256
    v = record.get_session(db=personas.db, actor=personas["nurse"], session_id=sid)
    assert v.verification.intact and v.addenda[0].text.startswith("Patient phoned")
    with personas.db.session() as s:  # someone edits a stored reading behind the application's back
        s.execute(update(VitalSign).where(VitalSign.session_id == sid).values(sbp_mmhg=110))
    v = record.get_session(db=personas.db, actor=personas["nurse"], session_id=sid)
    assert not v.verification.intact


def test_screening_vitals_are_kept_for_the_eligibility_evaluation(personas, fake_clock):
    vitals.record_patient_reading(
        db=personas.db,
        actor=personas["nurse"],
        patient_id=personas.patient_b,
        data=VitalIn(sbp=142, dbp=88, hr=80),
    )
    with personas.db.session() as s:
        row = vitals.latest_vitals(s, personas.patient_b, context="screening")
    assert (row.sbp_mmhg, row.dbp_mmhg, row.context) == (142, 88, "screening")


def test_a_reading_with_diastolic_above_systolic_is_refused(personas, fake_clock, capabilities):
    sid = _new(personas)
    _ev(personas, sid, "check_in")
    with pytest.raises(InvalidValue):
        vitals.record_session_reading(
            db=personas.db, actor=personas["nurse"], session_id=sid, data=VitalIn(sbp=80, dbp=120)
        )


def _started_for(personas, fake_clock, patient_id):
    sid = workflow.create_session(
        db=personas.db,
        actor=personas["nurse"],
        data=SessionCreate(
            patient_id=patient_id,
            chair=f"Chair {patient_id}",
            product="racemic_ketamine",
            planned_dose_mg=35,
            planned_duration_min=40,
            concentration_mg_per_ml=1.0,
        ),
    ).id
    _start(personas, sid, fake_clock)
    return sid


def _monitor_feed(prefix: str, start: datetime) -> list[GatewayReading]:
    """A 70-minute feed: a rise over baseline, a severe stretch, a BP gap, a sustained tachycardia, a SpO2 dip."""
    out = []
    for k in range(70):
        sbp, dbp, hr, spo2 = 130, 82, 80, 97
        if 5 <= k < 12:
            sbp, dbp = 168, 96  # +44 over the 124/78 baseline
        if 12 <= k < 18:
            sbp, dbp = 186, 104
        if 40 <= k < 50:
            hr = 128
        if k in (55, 56):
            spo2 = 90
        bp = {} if 22 <= k < 40 else {"sbp": sbp, "dbp": dbp}
        out.append(
            GatewayReading(
                client_id=f"{prefix}-{k}",
                measured_at=start + timedelta(minutes=k),
                hr=hr,
                spo2=spo2,
                rr=14,
                **bp,
            )
        )
    return out


def _alerts_of(personas, sid, start):
    with personas.db.session() as s:
        rows = s.scalars(select(SessionAlert).where(SessionAlert.session_id == sid).order_by(SessionAlert.id))
        return [
            (
                a.rule_id,
                a.raised_at - start,
                a.resolved_at and a.resolved_at - start,
                a.resolution,
                a.trigger,
                a.cleared_at and a.cleared_at - start,
                tuple((e["kind"], e["rule"], e["at"]) for e in a.events),
            )
            for a in rows
        ]


def test_a_batch_raises_and_resolves_exactly_what_reading_by_reading_did(personas, fake_clock, capabilities):
    one_by_one = _started_for(personas, fake_clock, personas.patient_a)
    batched = _started_for(personas, fake_clock, personas.patient_b)
    start = fake_clock.t
    fake_clock.advance(75)
    for r in _monitor_feed("single", start):
        vitals.record_batch(db=personas.db, actor=personas["nurse"], session_id=one_by_one, readings=[r])
    feed = _monitor_feed("batch", start)
    res = vitals.record_batch(db=personas.db, actor=personas["nurse"], session_id=batched, readings=feed)
    expected = _alerts_of(personas, one_by_one, start)
    assert _alerts_of(personas, batched, start) == expected
    rules = [
        rule for a in expected for _kind, rule, _at in a[-1]
    ]  # every rule that alarmed, as alarm history
    assert {"bp_rise", "bp_severe", "bp_overdue", "hr_high_sustained", "spo2_low"} <= set(rules)
    # a rise that turned severe is one alarm of the BP group, not two
    bp_high = [a for a in expected if {"bp_rise", "bp_severe"} & {rule for _k, rule, _t in a[-1]}]
    assert len(bp_high) == 1
    assert len(res.alerts_raised) == len(expected) and res.stored == 70
    with personas.db.session() as s:
        events = s.scalars(
            select(AuditEvent).where(
                AuditEvent.resource_type == "vital_signs", AuditEvent.resource_id == str(batched)
            )
        ).all()
        alert_events = s.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.resource_type == "session_alert", AuditEvent.patient_id == personas.patient_b)
        )
    batch_events = [e for e in events if '"gateway"' in e.details]
    assert len(batch_events) == 1  # one audit event for the 70 readings, not one per reading
    assert '"first":"batch-0"' in batch_events[0].details and '"last":"batch-69"' in batch_events[0].details
    assert '"stored":70' in batch_events[0].details
    assert alert_events == len(expected)


def _bp(personas, sid, client_id, at, sbp=128, dbp=80):
    return vitals.record_batch(
        db=personas.db,
        actor=personas["nurse"],
        session_id=sid,
        readings=[
            GatewayReading(client_id=client_id, measured_at=at, sbp=sbp, dbp=dbp, hr=76, spo2=98, rr=14)
        ],
    )


def test_a_silent_monitor_raises_one_overdue_alert_from_the_sweep(personas, fake_clock, capabilities):
    sid = _new(personas)
    _start(personas, sid, fake_clock)
    _bp(personas, sid, "m-1", fake_clock.t + timedelta(minutes=1))
    fake_clock.advance(21)  # the last BP (and SpO2) was 20 min ago; nothing has arrived since
    assert session_alerts.sweep_overdue(db=personas.db, now=fake_clock.t) == 2
    with personas.db.session() as s:
        alerts = s.scalars(select(SessionAlert).where(SessionAlert.session_id == sid)).all()
        bp = [a for a in alerts if a.rule_id == "bp_overdue"]
        assert len(bp) == 1 and bp[0].resolved_at is None and bp[0].raised_at == fake_clock.t
        assert "for 20 min" in bp[0].trigger
        ev = s.scalars(
            select(AuditEvent).where(
                AuditEvent.resource_type == "session_alert", AuditEvent.resource_id == str(bp[0].id)
            )
        ).one()
        assert ev.actor_username == "system:monitor" and ev.action == "create"
    fake_clock.advance(1)
    assert (
        session_alerts.sweep_overdue(db=personas.db, now=fake_clock.t) == 0
    )  # already alerting: nothing new
    with personas.db.session() as s:
        assert (
            s.scalar(select(func.count()).select_from(SessionAlert).where(SessionAlert.session_id == sid))
            == 2
        )
    res = _bp(personas, sid, "m-2", fake_clock.t)  # the monitor is back
    with personas.db.session() as s:
        a = s.get(SessionAlert, bp[0].id)
        assert a.resolved_at is not None and a.resolution == "reading received"
    assert bp[0].id in res.alerts_resolved
    assert session_alerts.sweep_overdue(db=personas.db, now=fake_clock.t) == 0


def test_the_sweep_leaves_sessions_with_recent_readings_and_ended_sessions_alone(
    personas, fake_clock, capabilities
):
    sid = _new(personas)
    _start(personas, sid, fake_clock)
    fake_clock.advance(5)
    _bp(personas, sid, "r-1", fake_clock.t)
    fake_clock.advance(5)
    assert session_alerts.sweep_overdue(db=personas.db, now=fake_clock.t) == 0
    assert _ev(personas, sid, "end_infusion").state == "recovery"
    fake_clock.advance(60)  # overdue rules keep running in recovery until discharge (issue 11 point 5)
    assert session_alerts.sweep_overdue(db=personas.db, now=fake_clock.t) == 2
    assert _ev(personas, sid, "abort", reason="patient left against advice").state == "aborted"
    fake_clock.advance(60)
    assert session_alerts.sweep_overdue(db=personas.db, now=fake_clock.t) == 0


@pytest.fixture
def with_scores(capabilities):
    """The real questionnaire store for the discharge assessments (the pre-session stand-ins stay)."""
    return capabilities


def _rate(personas, sid, instrument, answers, context):
    from ketacare.services.measurement import responses as measurement
    from ketacare.services.measurement.schemas import ResponseCreate

    return measurement.submit_response(
        db=personas.db,
        actor=personas["nurse"],
        patient_id=personas.patient_a,
        data=ResponseCreate(instrument_id=instrument, answers=answers, context=context, session_id=sid),
    )


def _in_recovery(personas, sid, fake_clock):
    _start(personas, sid, fake_clock)
    pump.add_infusion_event(
        db=personas.db,
        actor=personas["nurse"],
        session_id=sid,
        data=InfusionEventCreate(kind="start", rate_ml_per_h=52.5, at=fake_clock.t),
    )
    fake_clock.advance(40)
    pump.add_infusion_event(
        db=personas.db,
        actor=personas["nurse"],
        session_id=sid,
        data=InfusionEventCreate(kind="stop", at=fake_clock.t),
    )
    assert _ev(personas, sid, "end_infusion").state == "recovery"
    fake_clock.advance(65)
    vitals.record_session_reading(
        db=personas.db,
        actor=personas["nurse"],
        session_id=sid,
        data=VitalIn(sbp=128, dbp=80, hr=74, spo2=98, rr=14),
    )
    v = record.get_session(db=personas.db, actor=personas["nurse"], session_id=sid)
    workflow.update_checks(
        db=personas.db,
        actor=personas["nurse"],
        session_id=sid,
        data=SessionChecks(version=v.version, escort_present=True),
    )
    _acknowledged(personas, sid)


ALDRETE_10 = {
    i: 2
    for i in (
        "aldrete_activity",
        "aldrete_respiration",
        "aldrete_circulation",
        "aldrete_consciousness",
        "aldrete_spo2",
    )
}


def test_discharge_assessments_entered_for_the_session_satisfy_the_discharge_checks(
    personas, fake_clock, with_scores
):
    sid = _new(personas)
    _in_recovery(personas, sid, fake_clock)
    listed = {
        a.id: a
        for a in record.get_session(db=personas.db, actor=personas["nurse"], session_id=sid).assessments
    }
    assert set(listed) == {"anxiety_scale", "cssrs", "cadss6", "moaas", "aldrete"}
    assert all(a.status == "due" for a in listed.values())
    assert listed["aldrete"].entry_url == (
        f"/patients/{personas.patient_a}/questionnaires/aldrete?session_id={sid}&context=post_session"
    )
    r = _ev(personas, sid, "discharge")
    assert not r.allowed
    assert {"aldrete_at_threshold", "sedation_resolved", "dissociation_resolved"} <= {
        g.id for g in r.failed_guards
    }

    _rate(personas, sid, "cadss6", [0, 1, 0, 0, 0, 0], "during_session")
    _rate(personas, sid, "moaas", [4], "during_session")  # lethargic: not yet resolved
    _rate(personas, sid, "aldrete", ALDRETE_10, "post_session")
    r = _ev(personas, sid, "discharge")
    failed = {g.id: g.message for g in r.failed_guards}
    assert not r.allowed and set(failed) == {"sedation_resolved"}
    assert "MOAA/S 4" in failed["sedation_resolved"]

    fake_clock.advance(10)
    _rate(personas, sid, "moaas", [5], "post_session")  # fully alert now
    v = record.get_session(db=personas.db, actor=personas["nurse"], session_id=sid)
    listed = {a.id: a for a in v.assessments}
    assert listed["moaas"].status == "done" and listed["moaas"].total == 5
    assert listed["cadss6"].total == 1 and listed["aldrete"].total == 10
    assert listed["cssrs"].status == "due"  # the pre-session stand-ins are not stored responses
    assert _ev(personas, sid, "discharge").allowed
    with personas.db.session() as s:
        ev = s.scalars(
            select(AuditEvent)
            .where(AuditEvent.resource_type == "infusion_session", AuditEvent.resource_id == str(sid))
            .order_by(AuditEvent.seq.desc())
        ).first()
    assert '"to":"discharged"' in ev.details
    assert "instrument: MOAA/S 5" in ev.details and "instrument: CADSS-6 1" in ev.details
    assert "instrument: Modified Aldrete 10" in ev.details


def test_a_nurse_confirmation_still_satisfies_the_discharge_checks_and_the_record_says_so(
    personas, fake_clock, with_scores
):
    sid = _new(personas)
    _in_recovery(personas, sid, fake_clock)
    _rate(personas, sid, "cadss6", [2, 2, 1, 1, 0, 0], "during_session")  # 6: above the resolved threshold
    _rate(personas, sid, "aldrete", dict(ALDRETE_10, aldrete_consciousness=1), "post_session")  # 9
    r = _ev(personas, sid, "discharge")
    failed = {g.id: g.message for g in r.failed_guards}
    assert set(failed) == {"sedation_resolved", "dissociation_resolved"}
    assert "CADSS-6 6" in failed["dissociation_resolved"]
    v = record.get_session(db=personas.db, actor=personas["nurse"], session_id=sid)
    workflow.update_checks(
        db=personas.db,
        actor=personas["nurse"],
        session_id=sid,
        data=SessionChecks(version=v.version, dissociation_resolved=True, sedation_resolved=True),
    )
    v = record.get_session(db=personas.db, actor=personas["nurse"], session_id=sid)
    assert v.guards.evidence == {
        "aldrete_at_threshold": v.guards.evidence["aldrete_at_threshold"],
        "sedation_resolved": "nurse confirmation",
        "dissociation_resolved": "nurse confirmation",
    }
    assert v.guards.evidence["aldrete_at_threshold"].startswith("instrument: Modified Aldrete 9")
    assert _ev(personas, sid, "discharge").allowed


def test_a_response_cannot_be_linked_to_another_patients_session(personas, fake_clock, capabilities):
    from ketacare.services.measurement import responses as measurement
    from ketacare.services.measurement.schemas import ResponseCreate

    sid = _new(personas)  # patient A's session
    with pytest.raises(InvalidValue) as e:
        measurement.submit_response(
            db=personas.db,
            actor=personas["nurse"],
            patient_id=personas.patient_b,
            data=ResponseCreate(instrument_id="moaas", answers=[5], context="post_session", session_id=sid),
        )
    assert e.value.field == "session_id"


def test_opening_the_board_is_in_each_patients_access_log(personas, fake_clock, capabilities):
    from ketacare.services.access import audit_views

    sid = _started_for(personas, fake_clock, personas.patient_a)
    chairs = board.board_snapshot(db=personas.db, actor=personas["nurse"])
    assert [c.session_id for c in chairs] == [sid]
    log = audit_views.access_log(db=personas.db, actor=personas["patient_a"], patient_id=personas.patient_a)
    assert any(e.resource_type == "session_board" and e.actor_username == "nurse" for e in log)


# ---- issue 11 points 1, 2 and 5: a real session is refused discharge while oxygenation, breathing or a high
# alert is not settled; overdue alerts keep running in recovery ----


def _recovery(personas, sid, fake_clock):
    """Infuse for 40 min, end the infusion, and confirm everything a nurse confirms before discharge."""
    _start(personas, sid, fake_clock)
    pump.add_infusion_event(
        db=personas.db,
        actor=personas["nurse"],
        session_id=sid,
        data=InfusionEventCreate(kind="start", rate_ml_per_h=52.5, at=fake_clock.t),
    )
    fake_clock.advance(40)
    pump.add_infusion_event(
        db=personas.db,
        actor=personas["nurse"],
        session_id=sid,
        data=InfusionEventCreate(kind="stop", at=fake_clock.t),
    )
    assert _ev(personas, sid, "end_infusion").state == "recovery"
    fake_clock.advance(70)
    v = record.get_session(db=personas.db, actor=personas["nurse"], session_id=sid)
    workflow.update_checks(
        db=personas.db,
        actor=personas["nurse"],
        session_id=sid,
        data=SessionChecks(
            version=v.version,
            aldrete_score=9,
            aldrete_respiration_spo2_full=True,
            dissociation_resolved=True,
            sedation_resolved=True,
            escort_present=True,
        ),
    )
    _acknowledged(personas, sid)


def _reading_now(personas, sid, **kw):
    return vitals.record_session_reading(
        db=personas.db, actor=personas["nurse"], session_id=sid, data=VitalIn(**kw)
    )


def _discharge_failed(personas, sid):
    r = _ev(personas, sid, "discharge")
    return r, {g.id: g.message for g in r.failed_guards}


def test_the_issue_patient_is_refused_discharge_and_told_why(personas, fake_clock, capabilities):
    sid = _new(personas)
    _recovery(personas, sid, fake_clock)
    _reading_now(personas, sid, sbp=128, dbp=80, hr=74, spo2=88, rr=8)  # raises spo2_low and rr_low (high)
    r, failed = _discharge_failed(personas, sid)
    assert not r.allowed and r.state == "recovery"
    assert "SpO2 88 % is below 93 %" in failed["spo2_at_discharge"]
    assert "respiratory rate 8 /min is below 10" in failed["rr_at_discharge"]
    assert "2 unresolved" in failed["no_open_high_alert"]
    page = record.get_session(db=personas.db, actor=personas["nurse"], session_id=sid)
    assert {"spo2_at_discharge", "rr_at_discharge", "no_open_high_alert"} <= {
        g.id for g in page.guards.failed
    }

    fake_clock.advance(5)
    _reading_now(personas, sid, sbp=126, dbp=80, hr=72, spo2=97, rr=14)  # both alerts resolve on their own
    r, failed = _discharge_failed(personas, sid)
    assert set(failed) == {"no_open_high_alert"} and "2 never acknowledged" in failed["no_open_high_alert"]
    with personas.db.session() as s:
        ids = s.scalars(select(SessionAlert.id).where(SessionAlert.session_id == sid)).all()
    for aid in ids:
        session_alerts.acknowledge_alert(
            db=personas.db,
            actor=personas["nurse"],
            session_id=sid,
            alert_id=aid,
            data=AlertAck(action_taken="stimulated, repositioned; SpO2 97 % on room air"),
        )
    assert _ev(personas, sid, "discharge").allowed


def test_stale_or_oxygen_assisted_readings_do_not_clear_discharge(personas, fake_clock, capabilities):
    sid = _new(personas)
    _recovery(personas, sid, fake_clock)
    _reading_now(personas, sid, sbp=128, dbp=80, hr=74, spo2=97, rr=14, on_oxygen=True)
    _, failed = _discharge_failed(personas, sid)
    assert set(failed) == {"spo2_at_discharge"} and "supplemental oxygen" in failed["spo2_at_discharge"]
    _reading_now(personas, sid, spo2=96, on_oxygen=False)
    fake_clock.advance(16)
    _, failed = _discharge_failed(personas, sid)
    assert "16 min old" in failed["spo2_at_discharge"] and "16 min old" in failed["rr_at_discharge"]
    _reading_now(personas, sid, sbp=126, dbp=80, hr=72, spo2=96, rr=13)
    assert _ev(personas, sid, "discharge").allowed


def test_aldrete_total_alone_is_not_enough_without_full_respiration_and_spo2(
    personas, fake_clock, capabilities
):
    sid = _new(personas)
    _recovery(personas, sid, fake_clock)
    _reading_now(personas, sid, sbp=128, dbp=80, hr=74, spo2=97, rr=14)
    v = record.get_session(db=personas.db, actor=personas["nurse"], session_id=sid)
    workflow.update_checks(
        db=personas.db,
        actor=personas["nurse"],
        session_id=sid,
        data=SessionChecks(version=v.version, aldrete_respiration_spo2_full=False),
    )
    _, failed = _discharge_failed(personas, sid)
    assert set(failed) == {"aldrete_at_threshold"}
    assert "full points for respiration and SpO2" in failed["aldrete_at_threshold"]


def test_overdue_alerts_keep_running_through_recovery_until_discharge(personas, fake_clock, capabilities):
    sid = _new(personas)
    _start(personas, sid, fake_clock)
    assert _ev(personas, sid, "end_infusion").state == "recovery"
    vitals.record_batch(
        db=personas.db,
        actor=personas["nurse"],
        session_id=sid,
        readings=[
            GatewayReading(
                client_id="rec-1", measured_at=fake_clock.t, sbp=130, dbp=82, hr=74, spo2=97, rr=14
            )
        ],
    )
    fake_clock.advance(9)
    assert session_alerts.sweep_overdue(db=personas.db, now=fake_clock.t) == 0
    fake_clock.advance(12)  # 21 min without SpO2 or BP in recovery
    assert session_alerts.sweep_overdue(db=personas.db, now=fake_clock.t) == 2
    with personas.db.session() as s:
        rules = set(s.scalars(select(SessionAlert.rule_id).where(SessionAlert.session_id == sid)))
    assert rules == {"spo2_overdue", "bp_overdue_recovery"}


def test_the_session_record_shows_the_orders_weight_basis_choice(personas, fake_clock, capabilities):
    from ketacare.reports.sessions import render_pdf

    capabilities["order"] = Order(
        dose_mg=48.0,
        mg_per_kg=0.5,
        weight_basis="actual",
        policy_weight_basis="ideal",
        weight_basis_chosen=True,
        weight_basis_reason="the trials dosed on actual weight",
        mg_per_kg_actual_weight=0.5,
    )
    sid = _new(personas)
    v = record.get_session(db=personas.db, actor=personas["nurse"], session_id=sid)
    o = v.order
    assert (o.weight_basis, o.policy_weight_basis, o.weight_basis_chosen) == (
        "actual",
        "ideal",
        True,
    )
    assert o.weight_basis_reason == "the trials dosed on actual weight"
    printed = record.record_for_pdf(db=personas.db, actor=personas["nurse"], session_id=sid)
    assert render_pdf(printed).startswith(b"%PDF")


def test_a_session_naming_no_dose_order_is_refused_and_nothing_stored(personas):
    with pytest.raises(InvalidValue, match="dose_order_id"):
        workflow.create_session(
            db=personas.db,
            actor=personas["nurse"],
            data=SessionCreate(patient_id=personas.patient_a, chair="Chair 1", dose_order_id=999999),
        )
    with personas.db.session() as s:
        from ketacare.store.tables.sessions import InfusionSession

        assert s.scalar(select(func.count()).select_from(InfusionSession)) == 0


def test_the_board_loads_every_chair_at_once_and_shows_what_each_chair_shows_alone(
    personas, fake_clock, capabilities
):
    """The board's batched loading (issue #12: 24 chairs in a few queries) gives each chair exactly what the
    one-chair live update and the session page give: last 20 readings, open alerts, dose per kg from the right
    weight."""
    a = _started_for(personas, fake_clock, personas.patient_a)  # 70 kg from the patient's record
    start = fake_clock.t
    pump.add_infusion_event(
        db=personas.db,
        actor=personas["nurse"],
        session_id=a,
        data=InfusionEventCreate(kind="start", rate_mg_per_min=35 / 40, at=start),
    )
    fake_clock.advance(30)
    severe = [
        GatewayReading(
            client_id=f"brd-severe-{k}", measured_at=start + timedelta(minutes=k), sbp=186, dbp=104, hr=80
        )
        for k in range(22, 27)
    ]
    feed = _monitor_feed("brd", start)[:22] + severe  # minutes 0-26, ending in a severe stretch
    vitals.record_batch(db=personas.db, actor=personas["nurse"], session_id=a, readings=feed)
    b = workflow.create_session(
        db=personas.db,
        actor=personas["nurse"],
        data=SessionCreate(
            patient_id=personas.patient_b,
            chair="Chair 2",
            planned_dose_mg=45,
            weight_kg=88,
            concentration_mg_per_ml=1.0,
        ),
    ).id
    _ready(personas, b, fake_clock)  # checked in, one baseline reading, no pump events

    snapshot = board.board_snapshot(db=personas.db, actor=personas["nurse"], audit_view=False)
    on_board = {c.session_id: c for c in snapshot}
    assert set(on_board) == {a, b}
    for sid in (a, b):
        assert on_board[sid] == board.board_chair(db=personas.db, actor=personas["nurse"], session_id=sid)
        page = record.get_session(db=personas.db, actor=personas["nurse"], session_id=sid)
        assert on_board[sid].dose == page.dose.model_copy(update={"pk": None})

    ca, cb = on_board[a], on_board[b]
    # the last 20 of 27 readings: minutes 7-26 of the feed (168, 186, back to 130) and the severe stretch
    assert ca.trend.sbp == [168] * 5 + [186] * 6 + [130] * 4 + [186] * 5
    assert ca.latest["sbp"].value == 186 and ca.latest["sbp"].at == start + timedelta(minutes=26)
    assert ca.dose.delivered_mg == pytest.approx(35 / 40 * 30, abs=0.01)
    assert ca.dose.delivered_mg_per_kg == pytest.approx(35 / 40 * 30 / 70, abs=0.001)
    assert ca.alerts and ca.alerts[0].priority == "high"  # the severe stretch, still open
    assert cb.dose.delivered_mg == 0.0 and cb.trend.sbp == [124]  # no pump event yet
    assert cb.guards.event == "pass_prechecks"
