"""Informed consent through the services, on SQLite and PostgreSQL (issue 16 point 1): the patient signs (portal or
a witnessed clinic tablet), the prescriber countersigns re-authenticated, withdrawal, refusals naming fields, and
the acceptance: a session cannot pass pre-checks without a signed consent in force for its route; a new consent
version requires re-consent where the clinic says so."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from ketacare.domain.errors import InvalidValue
from ketacare.domain.plans import consent_templates, parse_consent_template
from ketacare.services import clock, dosing, eligibility, measurement
from ketacare.services.errors import Forbidden, HiddenByPolicy
from ketacare.services.plans import consent
from ketacare.services.plans.consent_schemas import ConsentCountersignIn, ConsentWithdrawIn
from ketacare.services.sessions import record, vitals, workflow
from ketacare.services.sessions.schemas import SessionChecks, SessionCreate, TransitionRequest, VitalIn
from ketacare.store.tables import AuditEvent
from ketacare.store.tables.plans import ConsentSignature
from tests.conftest import PASSWORD
from tests.consent_support import give_consent, sign_in

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: T0)


def _count(db) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(ConsentSignature)) or 0


def _status(personas, route="iv"):
    return consent.consent_status_for(
        db=personas.db, actor=personas["nurse"], patient_id=personas.patient_a, route=route
    )


def test_patient_signs_in_the_portal_and_the_prescriber_countersigns(personas):
    pid = personas.patient_a
    row = consent.sign_consent(
        db=personas.db, actor=personas["patient_a"], patient_id=pid, data=sign_in(personas, "patient_a")
    )
    assert row.signed_via == "portal" and row.witnessed_by_name is None and row.template_version == "1.0"
    assert (
        row.routes == ["iv"]
        and row.signature_svg_path.startswith("M10 10")
        and len(row.document_sha256) == 64
    )
    assert row.expires_at == T0.replace(year=2027)  # 12 months: the clinic's validity
    st = _status(personas)
    assert st.status == "not_countersigned" and "countersignature" in st.reason
    done = consent.countersign_consent(
        db=personas.db,
        actor=personas["prescriber"],
        patient_id=pid,
        signature_id=row.id,
        data=ConsentCountersignIn(version=row.version, password=PASSWORD),
    )
    assert done.countersigned_by_name == "Prescriber" and done.countersign_meaning == "approved"
    st = _status(personas)
    assert st.in_force and st.version == "1.0" and st.signed_at == T0
    assert _status(personas, "sc").status == "missing"  # the IV document does not cover a subcutaneous course
    with personas.db.session() as s:
        events = [
            (e.action, json.loads(e.details).get("signing"))
            for e in s.scalars(
                select(AuditEvent).where(AuditEvent.patient_id == pid, AuditEvent.resource_type == "consent")
            )
        ]
    assert {("sign", "consent_patient"), ("sign", "consent_countersign"), ("view", None)} <= set(events)


def test_a_nurse_witnesses_a_signature_on_the_clinic_tablet(personas):
    data = sign_in(
        personas,
        "patient_a",
        signed_via="clinic_tablet",
        signature_kind="click",
        signature_svg_path=None,
        click_signed=True,
    )
    row = consent.sign_consent(
        db=personas.db, actor=personas["nurse"], patient_id=personas.patient_a, data=data
    )
    assert (
        row.signed_via == "clinic_tablet"
        and row.witnessed_by_name == "Nurse"
        and row.signature_kind == "click"
    )


def test_a_refused_signature_names_each_field_and_stores_nothing(personas):
    data = sign_in(
        personas, "patient_a", read_confirmed=False, typed_name="Alice Smith", signature_svg_path="M1 1"
    )
    with pytest.raises(InvalidValue) as e:
        consent.sign_consent(
            db=personas.db, actor=personas["patient_a"], patient_id=personas.patient_a, data=data
        )
    assert set(e.value.errors) == {"read_confirmed", "typed_name", "signature"}
    assert "Alice Anders" in e.value.errors["typed_name"]
    stale = sign_in(personas, "patient_a", version="0.9")
    with pytest.raises(InvalidValue) as e:
        consent.sign_consent(
            db=personas.db, actor=personas["patient_a"], patient_id=personas.patient_a, data=stale
        )
    assert e.value.field == "version" and "changed while you read it" in e.value.message
    assert _count(personas.db) == 0


def test_who_may_sign_witness_and_countersign(personas):
    pid = personas.patient_a
    with pytest.raises(HiddenByPolicy):  # another patient's record does not exist for patient B
        consent.sign_consent(
            db=personas.db, actor=personas["patient_b"], patient_id=pid, data=sign_in(personas, "patient_a")
        )
    tablet = sign_in(personas, "patient_a", signed_via="clinic_tablet")
    with pytest.raises(Forbidden):
        consent.sign_consent(db=personas.db, actor=personas["frontdesk"], patient_id=pid, data=tablet)
    row = consent.sign_consent(db=personas.db, actor=personas["nurse"], patient_id=pid, data=tablet)
    with pytest.raises(Forbidden):
        consent.countersign_consent(
            db=personas.db,
            actor=personas["nurse"],
            patient_id=pid,
            signature_id=row.id,
            data=ConsentCountersignIn(version=1, password=PASSWORD),
        )
    with pytest.raises(InvalidValue) as e:
        consent.countersign_consent(
            db=personas.db,
            actor=personas["prescriber"],
            patient_id=pid,
            signature_id=row.id,
            data=ConsentCountersignIn(version=1, password="wrong"),
        )
    assert e.value.field == "password"
    assert _status(personas).status == "not_countersigned"


def test_a_withdrawal_ends_the_consent_and_keeps_the_record(personas):
    sid = give_consent(personas)
    out = consent.withdraw_consent(
        db=personas.db,
        actor=personas["patient_a"],
        patient_id=personas.patient_a,
        signature_id=sid,
        data=ConsentWithdrawIn(reason="I changed my mind"),
    )
    assert out.withdrawn_reason == "I changed my mind" and out.countersigned_at is not None
    assert _status(personas).status == "withdrawn"
    with pytest.raises(InvalidValue):
        consent.withdraw_consent(
            db=personas.db,
            actor=personas["nurse"],
            patient_id=personas.patient_a,
            signature_id=sid,
            data=ConsentWithdrawIn(reason="again"),
        )


# --- acceptance: the session pre-check reads the consent on file ------------------------------------------------


@dataclass
class Order:
    id: int = 1
    route: str = "iv"
    status: str = "double_checked"
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


@pytest.fixture
def ready_session(personas, monkeypatch):
    """A checked-in session of patient A with everything but the consent: dose order, questionnaires and
    eligibility stand in (read through their packages); confirmations and baseline vitals are recorded."""
    pre = [
        SimpleNamespace(instrument_id="gad7", context="pre_session"),
        SimpleNamespace(instrument_id="cssrs_screen", context="pre_session"),
    ]
    evaluation = SimpleNamespace(status="accepted", decision="eligible", override_decision=None)
    monkeypatch.setattr(dosing, "usable_order", lambda s, pid: Order())
    monkeypatch.setattr(measurement, "responses_for_session", lambda s, sid: pre)
    monkeypatch.setattr(eligibility, "current_evaluation", lambda s, pid: evaluation)
    # the guard facts read these for all the sessions they are asked about at once
    monkeypatch.setattr(dosing, "usable_order_by_patient", lambda s, pids: {p: Order() for p in pids})
    monkeypatch.setattr(measurement, "responses_for_sessions", lambda s, sids: {i: pre for i in sids})
    monkeypatch.setattr(eligibility, "current_evaluations", lambda s, pids: {p: evaluation for p in pids})
    db, nurse = personas.db, personas["nurse"]
    sid = workflow.create_session(
        db=db,
        actor=nurse,
        data=SessionCreate(
            patient_id=personas.patient_a,
            chair="Chair 1",
            planned_dose_mg=35,
            planned_duration_min=40,
            concentration_mg_per_ml=1.0,
        ),
    ).id
    workflow.apply_event(db=db, actor=nurse, session_id=sid, data=TransitionRequest(event="check_in"))
    v = record.get_session(db=db, actor=nurse, session_id=sid)
    workflow.update_checks(
        db=db,
        actor=nurse,
        session_id=sid,
        data=SessionChecks(
            version=v.version,
            escort_confirmed=True,
            pregnancy_test_negative=True,
            last_food_at=T0 - timedelta(hours=3),
            last_liquid_at=T0 - timedelta(hours=1),
        ),
    )
    vitals.record_session_reading(
        db=db, actor=nurse, session_id=sid, data=VitalIn(sbp=124, dbp=78, hr=72, spo2=98, rr=14)
    )
    return sid


def _pass(personas, sid):
    return workflow.apply_event(
        db=personas.db,
        actor=personas["nurse"],
        session_id=sid,
        data=TransitionRequest(event="pass_prechecks"),
    )


def test_a_session_cannot_pass_pre_checks_without_a_signed_consent_in_force_for_its_route(
    personas, ready_session
):
    sid = ready_session
    r = _pass(personas, sid)
    assert not r.allowed and [g.id for g in r.failed_guards] == ["consent_on_file"]
    assert "no signed consent covers the route 'iv'" in r.failed_guards[0].message
    # signed for another route (esketamine by nose) does not count for this IV session
    give_consent(personas, template_id="esketamine-nasal")
    assert not _pass(personas, sid).allowed
    # signed for IV but not countersigned: still refused, and the page says why
    row = consent.sign_consent(
        db=personas.db,
        actor=personas["patient_a"],
        patient_id=personas.patient_a,
        data=sign_in(personas, "patient_a"),
    )
    r = _pass(personas, sid)
    assert not r.allowed and "countersignature" in r.failed_guards[0].message
    consent.countersign_consent(
        db=personas.db,
        actor=personas["prescriber"],
        patient_id=personas.patient_a,
        signature_id=row.id,
        data=ConsentCountersignIn(version=row.version, password=PASSWORD),
    )
    page = record.get_session(db=personas.db, actor=personas["nurse"], session_id=sid)
    assert page.consent.in_force and page.consent.version == "1.0" and page.consent.signed_at == T0
    assert page.consent.title == consent_templates()["racemic-iv"].title
    assert _pass(personas, sid).allowed
    with personas.db.session() as s:  # the audit keeps which consent the pre-check relied on
        ev = s.scalars(select(AuditEvent).where(AuditEvent.resource_type == "infusion_session",
                                                AuditEvent.details.contains('"consent"'))).one()  # fmt: skip
        assert json.loads(ev.details)["consent"]["version"] == "1.0"


@pytest.mark.parametrize("reconsent", [True, False])
def test_a_new_consent_version_requires_re_consent_where_the_clinic_says_so(
    personas, ready_session, monkeypatch, reconsent
):
    give_consent(personas)
    raw = copy.deepcopy(consent_templates()["racemic-iv"].raw)
    raw["version"], raw["reconsent"]["on_new_version"] = "1.1", reconsent
    monkeypatch.setattr(
        consent, "templates", lambda: {**consent_templates(), "racemic-iv": parse_consent_template(raw)}
    )
    r = _pass(personas, ready_session)
    assert r.allowed is (not reconsent)
    if reconsent:
        assert "read and sign version 1.1" in r.failed_guards[0].message
        assert _status(personas).status == "superseded"
        consent.sign_consent(
            db=personas.db,
            actor=personas["patient_a"],
            patient_id=personas.patient_a,
            data=sign_in(personas, "patient_a", version="1.1"),
        )
        assert _status(personas).status == "not_countersigned"
