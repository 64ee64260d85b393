"""Issue 13 item 5: signatures that mean something (21 CFR Part 11 style): the signer re-authenticates at the
moment of signing, a failure stores nothing and counts towards throttling, and the meaning is recorded."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from ketacare.domain.errors import InvalidValue
from ketacare.services import clock
from ketacare.services.access import signing, totp, users
from ketacare.services.dosing import orders as dose_orders
from ketacare.services.dosing.schemas import DoseOrderCreate, DoseOrderSign, DoubleCheckCreate
from ketacare.services.errors import TooManyAttempts
from ketacare.store.tables import AuditEvent, LoginThrottle, User
from ketacare.store.tables.dosing import DoseOrderRecord
from tests.conftest import PASSWORD


def _draft(db, personas, patient_id=None):
    if patient_id is not None:
        from ketacare.services.patients import records
        from ketacare.services.patients.schemas import MeasurementCreate

        records.add_measurement(db=db, actor=personas["system"], patient_id=patient_id,
                                data=MeasurementCreate(height="180 cm"))
    return dose_orders.create_order(
        db=db, actor=personas["prescriber"], patient_id=patient_id or personas.patient_a,
        data=DoseOrderCreate(protocol_id="iv-standard"),
    )


def _sign(db, personas, o, **credentials):
    return dose_orders.sign_order(
        db=db, actor=personas["prescriber"], patient_id=o.patient_id, order_id=o.id,
        data=DoseOrderSign(version=o.version, **credentials),
    )


def _status(db, order_id):
    with db.session() as s:
        return s.get(DoseOrderRecord, order_id).status


@pytest.mark.parametrize("credentials,words", [({}, "enter your password"),
                                               ({"password": "not-my-password"}, "does not match your account")])
def test_signing_without_the_right_password_stores_nothing(db, personas, credentials, words):
    o = _draft(db, personas)
    with pytest.raises(InvalidValue, match=words) as e:
        _sign(db, personas, o, **credentials)
    assert e.value.field == "password" and _status(db, o.id) == "draft"


def test_signing_records_the_meaning_with_the_signature_and_in_the_audit_trail(db, personas):
    o = _draft(db, personas)
    signed = _sign(db, personas, o, password=PASSWORD)
    assert signed.status == "signed" and signed.signed_meaning == "approved"
    checked = dose_orders.double_check_order(
        db=db, actor=personas["nurse"], patient_id=personas.patient_a, order_id=o.id,
        data=DoubleCheckCreate(version=signed.version, check_weight_kg=70, check_dose_mg=35, check_rate_ml_per_h=150,
                               password=PASSWORD),
    )
    assert checked.match
    read = dose_orders.get_order(db=db, actor=personas["prescriber"], patient_id=personas.patient_a, order_id=o.id)
    assert (read.signed_meaning, read.double_checked_meaning) == ("approved", "reviewed")
    assert signing.meaning(read.double_checked_meaning).label == "Reviewed"
    with db.session() as s:
        details = s.scalars(select(AuditEvent.details).where(AuditEvent.action == "sign",
                                                             AuditEvent.resource_type == "dose_order",
                                                             AuditEvent.outcome == "success")).all()
    found = [json.loads(d) for d in details]
    assert any(d.get("meaning") == "approved" and d.get("reauthenticated_by") == "password" for d in found)


def test_failed_signing_passwords_count_towards_throttling(db, personas, monkeypatch):
    o = _draft(db, personas)
    from ketacare.config import Settings

    monkeypatch.setattr(signing, "get_settings", lambda: Settings(login_max_failures=3))
    for _ in range(3):
        with pytest.raises(InvalidValue):
            _sign(db, personas, o, password="not-my-password")
    with pytest.raises(TooManyAttempts) as e:  # even the right password waits now
        _sign(db, personas, o, password=PASSWORD)
    assert e.value.field == "password" and _status(db, o.id) == "draft"
    with db.session() as s:
        counted = {r.kind: r.failures for r in s.scalars(select(LoginThrottle)
                                                          .where(LoginThrottle.username == "prescriber"))}
    assert counted == {"signing": 3, "account": 3}
    with db.session() as s:
        failed = s.scalars(select(AuditEvent).where(AuditEvent.action == "sign", AuditEvent.outcome != "success")).all()
    assert len(failed) == 4 and all(e.resource_type == "dose_order" for e in failed)


def test_a_totp_user_signs_with_a_code_used_once(db, personas):
    users.enable_totp(db=db, actor=personas["admin"], username="prescriber")
    with db.session() as s:
        secret = s.scalar(select(User).where(User.username == "prescriber")).totp_secret
    assert signing.credential_field(db=db, actor=personas["prescriber"]) == "totp_code"
    o = _draft(db, personas)
    with pytest.raises(InvalidValue) as e:
        _sign(db, personas, o, password=PASSWORD)  # the code is what this account signs with
    assert e.value.field == "totp_code"
    code = totp.code_at(secret, clock.now())
    assert _sign(db, personas, o, totp_code=code).signed_meaning == "approved"
    other = _draft(db, personas, personas.patient_b)
    with pytest.raises(InvalidValue) as e:
        _sign(db, personas, other, totp_code=code)  # the same code cannot sign twice
    assert e.value.field == "totp_code" and _status(db, other.id) == "draft"


def test_every_signing_action_has_a_meaning():
    for action in ("eligibility_accept", "eligibility_override", "dose_order_sign", "dose_order_double_check",
                   "session_record_sign", "session_record_countersign"):
        assert signing.meaning_of(action).key in ("authored", "reviewed", "approved")
