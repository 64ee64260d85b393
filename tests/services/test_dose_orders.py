"""Dose orders through the services, on SQLite and PostgreSQL: compute from the record, sign, check, cancel."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from ketacare.domain.errors import InvalidValue
from ketacare.services import clock
from ketacare.services.access import Actor
from ketacare.services.dosing import orders as dose_orders
from ketacare.services.dosing.schemas import (
    DoseOrderCancel,
    DoseOrderCreate,
    DoseOrderSign,
    DoubleCheckCreate,
)
from ketacare.services.errors import Conflict, Forbidden
from ketacare.services.patients import records as patients
from ketacare.services.patients.schemas import MeasurementCreate, PatientCreate
from ketacare.store.tables import AuditEvent
from ketacare.store.tables.dosing import DoseOrderRecord
from tests.conftest import PASSWORD


def _count(db) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(DoseOrderRecord))


def _events(db, resource="dose_order"):
    with db.session() as s:
        return s.execute(
            select(AuditEvent.action, AuditEvent.outcome, AuditEvent.details, AuditEvent.actor_username)
            .where(AuditEvent.resource_type == resource)
            .order_by(AuditEvent.seq)
        ).all()


def _woman_96(db, personas) -> int:
    p = patients.create_patient(
        db=db,
        actor=personas["system"],
        data=PatientCreate(
            given_name="Wanda",
            family_name="Weiss",
            date_of_birth=date(1980, 6, 1),
            sex_at_birth="female",
            weight="96 kg",
            height="165 cm",
        ),
    )
    return p.id


def _signed(db, personas, patient_id=None):
    pid = patient_id or personas.patient_a
    o = dose_orders.create_order(
        db=db, actor=personas["prescriber"], patient_id=pid, data=DoseOrderCreate(protocol_id="iv-standard")
    )
    return dose_orders.sign_order(
        db=db,
        actor=personas["prescriber"],
        patient_id=pid,
        order_id=o.id,
        data=DoseOrderSign(version=o.version, password=PASSWORD),
    )


def test_the_96_kg_165_cm_woman_is_dosed_on_ideal_weight_with_three_candidates(db, personas):
    pid = _woman_96(db, personas)
    with pytest.raises(InvalidValue) as e:  # BMI 35: the prescriber chooses the basis (issue 11 point 4)
        dose_orders.create_order(
            db=db, actor=personas["prescriber"], patient_id=pid, data=DoseOrderCreate(protocol_id="iv-standard")
        )
    assert e.value.field == "weight_basis" and _count(db) == 0
    o = dose_orders.create_order(
        db=db,
        actor=personas["prescriber"],
        patient_id=pid,
        data=DoseOrderCreate(protocol_id="iv-standard", weight_basis="ideal"),
    )
    assert o.status == "draft" and o.weight_basis_chosen
    assert o.mg_per_kg_actual_weight == pytest.approx(0.297) and o.computed_dose_mg == pytest.approx(28.455)
    assert o.weight_kg == 96.0 and o.height_cm == 165.0 and o.sex == "female"
    assert round(o.bmi_kg_per_m2, 1) == 35.3
    assert o.policy_weight_basis == "ideal" and o.weight_basis == "ideal"
    assert o.dosing_weight_kg == pytest.approx(56.91)
    assert o.dose_mg == 28.5 and o.mg_per_kg == 0.5
    doses = {c.basis: (c.dose_mg, c.policy) for c in o.candidates}
    assert doses == {"actual": (48.0, False), "ideal": (28.5, True), "adjusted": (36.3, False)}
    assert o.draw_volume_ml == 2.85 and o.diluent_volume_ml == 97.15 and o.final_volume_ml == 100.0
    assert o.final_concentration_mg_per_ml == 0.285
    assert o.rate_ml_per_h == 150.0 and o.duration_min == 40.0
    assert o.planned_end - o.planned_start == timedelta(minutes=40)
    assert o.order_json.dose_mg == 28.5
    assert _events(db)[-1].action == "create"


def test_overriding_the_weight_basis_needs_a_reason_and_is_audited(db, personas):
    pid = _woman_96(db, personas)
    with pytest.raises(InvalidValue) as e:
        dose_orders.create_order(
            db=db,
            actor=personas["prescriber"],
            patient_id=pid,
            data=DoseOrderCreate(protocol_id="iv-standard", weight_basis="adjusted"),
        )
    assert e.value.field == "weight_basis_reason"
    o = dose_orders.create_order(
        db=db,
        actor=personas["prescriber"],
        patient_id=pid,
        data=DoseOrderCreate(
            protocol_id="iv-standard", weight_basis="adjusted", weight_basis_reason="partial response on IBW"
        ),
    )
    assert o.weight_basis == "adjusted" and o.policy_weight_basis == "ideal" and o.dose_mg == 36.3
    assert [e.action for e in _events(db)][-2:] == ["create", "override"]


def test_a_hard_limit_refuses_and_stores_nothing(db, personas):
    before = _count(db)
    with pytest.raises(InvalidValue) as e:
        dose_orders.create_order(
            db=db,
            actor=personas["prescriber"],
            patient_id=personas.patient_a,
            data=DoseOrderCreate(protocol_id="iv-standard", mg_per_kg=1.5, soft_limit_reason="escalation"),
        )
    assert e.value.field == "mg_per_kg" and "hard limit" in e.value.message
    assert _count(db) == before
    assert [ev for ev in _events(db) if ev.action == "create"] == []


def test_a_soft_limit_needs_a_reason(db, personas):
    data = {"protocol_id": "iv-standard", "mg_per_kg": 0.75}
    with pytest.raises(InvalidValue) as e:
        dose_orders.create_order(
            db=db, actor=personas["prescriber"], patient_id=personas.patient_a, data=DoseOrderCreate(**data)
        )
    assert e.value.field == "mg_per_kg"
    preview = dose_orders.preview_order(
        db=db, actor=personas["prescriber"], patient_id=personas.patient_a, data=DoseOrderCreate(**data)
    )
    assert not preview.ok and not preview.refused_hard and preview.needs == ["soft_limit_reason"]
    o = dose_orders.create_order(
        db=db,
        actor=personas["prescriber"],
        patient_id=personas.patient_a,
        data=DoseOrderCreate(**data, soft_limit_reason="partial response at 0.5 mg/kg"),
    )
    assert o.dose_mg == 52.5
    assert o.limit_messages[0].reason == "partial response at 0.5 mg/kg"
    assert o.limit_messages[0].source


def test_a_stale_weight_needs_confirmation(db, personas):
    sysact = personas["system"]
    p = patients.create_patient(
        db=db,
        actor=sysact,
        data=PatientCreate(given_name="Old", family_name="Weight", date_of_birth=date(1970, 1, 1),
                           sex_at_birth="male"),
    )
    patients.add_measurement(
        db=db, actor=sysact, patient_id=p.id,
        data=MeasurementCreate(weight="80 kg", height="180 cm", measured_at=clock.now() - timedelta(days=60)),
    )
    with pytest.raises(InvalidValue) as e:
        dose_orders.create_order(
            db=db, actor=personas["prescriber"], patient_id=p.id, data=DoseOrderCreate(protocol_id="iv-standard")
        )
    assert e.value.field == "weight" and "re-weigh or confirm" in e.value.message
    o = dose_orders.create_order(
        db=db,
        actor=personas["prescriber"],
        patient_id=p.id,
        data=DoseOrderCreate(protocol_id="iv-standard", weight_confirmation="patient weighed, unchanged"),
    )
    assert o.weight_confirmation == "patient weighed, unchanged" and o.dose_mg == 40.0


def test_no_weight_or_height_on_the_record_is_refused_with_a_clear_message(db, personas):
    with pytest.raises(InvalidValue) as e:
        dose_orders.create_order(
            db=db, actor=personas["prescriber"], patient_id=personas.patient_b,
            data=DoseOrderCreate(protocol_id="iv-standard"),
        )
    assert e.value.field == "height" and "no height on the record" in e.value.message
    p = patients.create_patient(
        db=db, actor=personas["system"],
        data=PatientCreate(given_name="No", family_name="Weight", date_of_birth=date(1990, 1, 1),
                           sex_at_birth="female"),
    )
    with pytest.raises(InvalidValue) as e:
        dose_orders.create_order(
            db=db, actor=personas["prescriber"], patient_id=p.id, data=DoseOrderCreate(protocol_id="iv-standard")
        )
    assert e.value.field == "weight"


def test_only_prescribers_create_and_sign(db, personas):
    for role in ("nurse", "therapist", "frontdesk"):
        with pytest.raises(Forbidden):
            dose_orders.create_order(
                db=db, actor=personas[role], patient_id=personas.patient_a,
                data=DoseOrderCreate(protocol_id="iv-standard"),
            )
    o = dose_orders.create_order(
        db=db, actor=personas["prescriber"], patient_id=personas.patient_a,
        data=DoseOrderCreate(protocol_id="iv-standard"),
    )
    with pytest.raises(Forbidden):
        dose_orders.sign_order(db=db, actor=personas["nurse"], patient_id=personas.patient_a, order_id=o.id,
                               data=DoseOrderSign(version=o.version, password=PASSWORD))


def test_sign_then_independent_double_check_makes_the_order_usable(db, personas):
    pid = personas.patient_a
    o = _signed(db, personas)
    assert o.status == "signed" and o.signed_by == personas["prescriber"].user_id
    with db.session() as s:
        assert dose_orders.usable_order(s, pid) is None
    task = dose_orders.double_check_task(db=db, actor=personas["nurse"], patient_id=pid, order_id=o.id)
    dumped = task.model_dump()
    assert "dose_mg" not in dumped and "weight_kg" not in dumped and "rate_ml_per_h" not in dumped
    assert task.asks_weight and task.asks_rate
    out = dose_orders.double_check_order(
        db=db, actor=personas["nurse"], patient_id=pid, order_id=o.id,
        data=DoubleCheckCreate(version=o.version, check_weight_kg=70.0, check_dose_mg=35.0,
                               check_rate_ml_per_h=150.0, password=PASSWORD),
    )
    assert out.match and out.status == "double_checked"
    with db.session() as s:
        usable = dose_orders.usable_order(s, pid)
    assert usable is not None and usable.id == o.id and usable.double_checked_by == personas["nurse"].user_id
    actions = [e.action for e in _events(db)]
    assert actions[-3:] == ["sign", "view", "update"]


def test_the_signer_cannot_double_check(db, personas):
    o = _signed(db, personas)
    with pytest.raises(InvalidValue) as e:
        dose_orders.double_check_order(
            db=db, actor=personas["prescriber"], patient_id=personas.patient_a, order_id=o.id,
            data=DoubleCheckCreate(version=o.version, check_weight_kg=70.0, check_dose_mg=35.0,
                                   check_rate_ml_per_h=150.0, password=PASSWORD),
        )
    assert e.value.field == "double_check" and "signed" in e.value.message


def test_a_second_prescriber_may_double_check(db, personas):
    from ketacare.services.access import users
    from ketacare.services.access.schemas import UserCreate
    from tests.conftest import PASSWORD

    u = users.create_user(db=db, actor=personas["system"],
                          data=UserCreate(username="drtwo", display_name="Dr Two", role="prescriber",
                                          password=PASSWORD))
    o = _signed(db, personas)
    out = dose_orders.double_check_order(
        db=db, actor=Actor(u.id, "drtwo", "prescriber"), patient_id=personas.patient_a, order_id=o.id,
        data=DoubleCheckCreate(version=o.version, check_weight_kg=70.0, check_dose_mg=35.0,
                               check_rate_ml_per_h=150.0, password=PASSWORD),
    )
    assert out.match


def test_a_mismatch_blocks_and_is_recorded_and_audited(db, personas):
    pid = personas.patient_a
    o = _signed(db, personas)
    out = dose_orders.double_check_order(
        db=db, actor=personas["nurse"], patient_id=pid, order_id=o.id,
        data=DoubleCheckCreate(version=o.version, check_weight_kg=70.0, check_dose_mg=53.0,
                               check_rate_ml_per_h=150.0, password=PASSWORD),
    )
    assert not out.match and out.status == "signed" and out.differing_fields == ["dose_mg"]
    assert "35" not in out.message  # the order's dose is not revealed to the checker
    with db.session() as s:
        assert dose_orders.usable_order(s, pid) is None
    stored = dose_orders.get_order(db=db, actor=personas["prescriber"], patient_id=pid, order_id=o.id)
    assert stored.status == "signed" and len(stored.double_check_entries) == 1
    assert stored.double_check_entries[0].match is False
    ev = [e for e in _events(db) if e.action == "update"][-1]
    assert ev.outcome == "failure" and json.loads(ev.details)["differing_fields"] == ["dose_mg"]
    # a second, correct check (re-read version) completes it
    out2 = dose_orders.double_check_order(
        db=db, actor=personas["nurse"], patient_id=pid, order_id=o.id,
        data=DoubleCheckCreate(version=out.version, check_weight_kg=70.0, check_dose_mg=35.0,
                               check_rate_ml_per_h=150.0, password=PASSWORD),
    )
    assert out2.match


def test_stale_versions_conflict_on_sign_check_and_cancel(db, personas):
    pid = personas.patient_a
    o = dose_orders.create_order(db=db, actor=personas["prescriber"], patient_id=pid,
                                 data=DoseOrderCreate(protocol_id="iv-standard"))
    signed = dose_orders.sign_order(db=db, actor=personas["prescriber"], patient_id=pid, order_id=o.id,
                                    data=DoseOrderSign(version=o.version, password=PASSWORD))
    with pytest.raises(Conflict):
        dose_orders.cancel_order(db=db, actor=personas["prescriber"], patient_id=pid, order_id=o.id,
                                 data=DoseOrderCancel(version=o.version, reason="x"))
    with pytest.raises(Conflict):
        dose_orders.double_check_order(
            db=db, actor=personas["nurse"], patient_id=pid, order_id=o.id,
            data=DoubleCheckCreate(version=o.version, check_weight_kg=70, check_dose_mg=35,
                                   check_rate_ml_per_h=150, password=PASSWORD),
        )
    with pytest.raises(InvalidValue):
        dose_orders.sign_order(db=db, actor=personas["prescriber"], patient_id=pid, order_id=o.id,
                               data=DoseOrderSign(version=signed.version, password=PASSWORD))


def test_cancel_with_reason_makes_an_order_unusable(db, personas):
    pid = personas.patient_a
    o = _signed(db, personas)
    out = dose_orders.double_check_order(
        db=db, actor=personas["nurse"], patient_id=pid, order_id=o.id,
        data=DoubleCheckCreate(version=o.version, check_weight_kg=70, check_dose_mg=35, check_rate_ml_per_h=150,
                               password=PASSWORD),
    )
    c = dose_orders.cancel_order(db=db, actor=personas["prescriber"], patient_id=pid, order_id=o.id,
                                 data=DoseOrderCancel(version=out.version, reason="session postponed"))
    assert c.status == "cancelled" and c.cancel_reason == "session postponed"
    with db.session() as s:
        assert dose_orders.usable_order(s, pid) is None
    with pytest.raises(Forbidden):
        dose_orders.cancel_order(db=db, actor=personas["nurse"], patient_id=pid, order_id=o.id,
                                 data=DoseOrderCancel(version=c.version, reason="x"))


def test_a_second_session_within_20_hours_is_refused(db, personas):
    pid = personas.patient_a
    _signed(db, personas)
    start = clock.now().replace(second=0, microsecond=0) + timedelta(hours=2)
    with pytest.raises(InvalidValue) as e:
        dose_orders.create_order(db=db, actor=personas["prescriber"], patient_id=pid,
                                 data=DoseOrderCreate(protocol_id="iv-standard", planned_start=start,
                                                      soft_limit_reason="x"))
    assert e.value.field == "start" and "hard limit" in e.value.message


def test_fixed_dose_protocol_needs_no_weight(db, personas):
    o = dose_orders.create_order(
        db=db, actor=personas["prescriber"], patient_id=personas.patient_b,
        data=DoseOrderCreate(protocol_id="oral",
                             planned_start=datetime(2030, 1, 2, 9, 0, tzinfo=UTC)),
    )
    assert o.dose_mg == 50.0 and o.weight_kg is None and o.rate_ml_per_h is None
    assert dose_orders.order_curve(o) is None


def test_the_curve_of_an_iv_order_has_a_band_around_the_median(db, personas):
    o = _signed(db, personas)
    c = dose_orders.order_curve(o)
    med, lo, hi = c.at(40.0)
    assert lo < med < hi
    assert 150 < c.cmax_ng_per_ml < 350  # 35 mg over 40 min at 70 kg, Kamp 2020: ~253 ng/mL


# --- blinded reads while an order awaits its independent double check --------------------------------------

WITHHELD = (
    "weight_kg", "previous_weight_kg", "bmi_kg_per_m2", "dosing_weight_kg", "mg_per_kg", "dose_mg",
    "delivered_mg_per_kg", "vial_strength_mg_per_ml", "draw_volume_ml", "diluent_volume_ml", "final_volume_ml",
    "final_concentration_mg_per_ml", "volume_ml", "rate_ml_per_h", "limit_messages", "order_json",
)


def _assert_blinded(o):
    assert o.blinded is True and "independent double check" in o.blinded_reason
    dumped = o.model_dump()
    withheld = {k: dumped[k] for k in WITHHELD}
    assert withheld == dict.fromkeys(WITHHELD), withheld  # withheld as None, never 0
    assert o.candidates == [] and dose_orders.order_curve(o) is None
    for e in o.double_check_entries:
        assert e.check_weight_kg is None and e.check_dose_mg is None and e.check_rate_ml_per_h is None


def _assert_full(o):
    assert o.blinded is False and o.blinded_reason is None
    assert o.dose_mg == 35.0 and o.weight_kg == 70.0 and o.rate_ml_per_h == 150.0 and o.mg_per_kg == 0.5
    assert o.order_json.dose_mg == 35.0 and o.limit_messages is not None


def _second_prescriber(db, personas) -> Actor:
    from ketacare.services.access import users
    from ketacare.services.access.schemas import UserCreate
    from tests.conftest import PASSWORD

    u = users.create_user(db=db, actor=personas["system"],
                          data=UserCreate(username="drtwo", display_name="Dr Two", role="prescriber",
                                          password=PASSWORD))
    return Actor(u.id, "drtwo", "prescriber")


def test_a_nurse_reading_a_signed_order_sees_no_weight_dose_or_rate(db, personas):
    pid = personas.patient_a
    o = _signed(db, personas)
    nurse = personas["nurse"]
    got = dose_orders.get_order(db=db, actor=nurse, patient_id=pid, order_id=o.id)
    _assert_blinded(got)
    assert got.status == "signed" and got.duration_min == 40.0 and got.version == o.version
    view = _events(db)[-1]
    assert view.action == "view" and json.loads(view.details) == {"blinded": True}
    listed = dose_orders.list_orders(db=db, actor=nurse, patient_id=pid)
    assert [x.id for x in listed] == [o.id]
    _assert_blinded(listed[0])
    ev = _events(db)[-1]
    assert ev.action == "list" and json.loads(ev.details)["blinded"] is True
    # the double-check form still works from the blinded read
    task = dose_orders.double_check_task(db=db, actor=nurse, patient_id=pid, order_id=o.id)
    assert task.blocked_reason is None and task.asks_weight and task.asks_rate


def test_the_author_signer_and_system_see_the_signed_order(db, personas):
    pid = personas.patient_a
    o = _signed(db, personas)
    for who in ("prescriber", "system"):
        got = dose_orders.get_order(db=db, actor=personas[who], patient_id=pid, order_id=o.id)
        _assert_full(got)
        assert "blinded" not in json.loads(_events(db)[-1].details or "{}")
        _assert_full(dose_orders.list_orders(db=db, actor=personas[who], patient_id=pid)[0])


def test_a_second_prescriber_is_blinded_until_the_check(db, personas):
    pid = personas.patient_a
    two = _second_prescriber(db, personas)
    o = _signed(db, personas)
    _assert_blinded(dose_orders.get_order(db=db, actor=two, patient_id=pid, order_id=o.id))
    dose_orders.double_check_order(
        db=db, actor=two, patient_id=pid, order_id=o.id,
        data=DoubleCheckCreate(version=o.version, check_weight_kg=70.0, check_dose_mg=35.0,
                               check_rate_ml_per_h=150.0, password=PASSWORD),
    )
    _assert_full(dose_orders.get_order(db=db, actor=two, patient_id=pid, order_id=o.id))


def test_a_failed_check_hides_the_entries_numbers_and_a_passing_check_unblinds(db, personas):
    pid = personas.patient_a
    nurse = personas["nurse"]
    o = _signed(db, personas)
    out = dose_orders.double_check_order(
        db=db, actor=nurse, patient_id=pid, order_id=o.id,
        data=DoubleCheckCreate(version=o.version, check_weight_kg=70.0, check_dose_mg=53.0,
                               check_rate_ml_per_h=150.0, password=PASSWORD),
    )
    assert not out.match
    got = dose_orders.get_order(db=db, actor=nurse, patient_id=pid, order_id=o.id)
    _assert_blinded(got)
    assert len(got.double_check_entries) == 1 and got.double_check_entries[0].match is False
    assert got.double_check_entries[0].differing_fields == ["dose_mg"]
    signer_view = dose_orders.get_order(db=db, actor=personas["prescriber"], patient_id=pid, order_id=o.id)
    assert signer_view.double_check_entries[0].check_dose_mg == 53.0
    dose_orders.double_check_order(
        db=db, actor=nurse, patient_id=pid, order_id=o.id,
        data=DoubleCheckCreate(version=out.version, check_weight_kg=70.0, check_dose_mg=35.0,
                               check_rate_ml_per_h=150.0, password=PASSWORD),
    )
    after = dose_orders.get_order(db=db, actor=nurse, patient_id=pid, order_id=o.id)
    _assert_full(after)
    assert after.status == "double_checked" and after.double_check_entries[0].check_dose_mg == 53.0
    assert "blinded" not in json.loads(_events(db)[-1].details or "{}")
    assert dose_orders.order_curve(after) is not None
    _assert_full(dose_orders.list_orders(db=db, actor=nurse, patient_id=pid)[0])


def test_a_draft_is_blinded_for_the_nurse_and_a_cancelled_order_is_not(db, personas):
    pid = personas.patient_a
    draft = dose_orders.create_order(
        db=db, actor=personas["prescriber"], patient_id=pid, data=DoseOrderCreate(protocol_id="iv-standard")
    )
    seen = dose_orders.get_order(db=db, actor=personas["nurse"], patient_id=pid, order_id=draft.id)
    assert seen.blinded and seen.dose_mg is None and seen.rate_ml_per_h is None
    _assert_full(dose_orders.get_order(db=db, actor=personas["prescriber"], patient_id=pid, order_id=draft.id))
    dose_orders.cancel_order(db=db, actor=personas["prescriber"], patient_id=pid, order_id=draft.id,
                             data=DoseOrderCancel(version=draft.version, reason="wrong protocol"))
    _assert_full(dose_orders.get_order(db=db, actor=personas["nurse"], patient_id=pid, order_id=draft.id))


# ---- issue 11 points 3 and 4 ----


def test_an_entered_oral_dose_is_stored_exactly_and_limits_see_it(db, personas):
    def order(dose, **kw):
        return dose_orders.create_order(
            db=db,
            actor=personas["prescriber"],
            patient_id=personas.patient_b,
            data=DoseOrderCreate(
                protocol_id="oral", dose_mg=dose, planned_start=datetime(2030, 1, 2, 9, 0, tzinfo=UTC), **kw
            ),
        )

    assert order(60).dose_mg == 60.0  # was rounded to 50 mg without a word
    with pytest.raises(InvalidValue) as e:
        order(160)  # above the 150 mg soft limit: was stored as 150 mg with no reason
    assert e.value.field == "dose_mg" and "160 mg" in e.value.message and _count(db) == 1
    with pytest.raises(InvalidValue) as e:
        order(62, vial_strength_mg_per_ml=50)
    assert "60 mg or 65 mg" in e.value.message and _count(db) == 1
    preview = dose_orders.preview_order(
        db=db,
        actor=personas["prescriber"],
        patient_id=personas.patient_b,
        data=DoseOrderCreate(protocol_id="oral", dose_mg=62, vial_strength_mg_per_ml=50),
    )
    assert not preview.ok and preview.error_field == "dose_mg" and preview.nearest_mg == [60.0, 65.0]


def test_at_bmi_30_or_more_the_preview_shows_the_choices_and_the_order_stores_the_choice(db, personas):
    pid = _woman_96(db, personas)
    preview = dose_orders.preview_order(
        db=db, actor=personas["prescriber"], patient_id=pid, data=DoseOrderCreate(protocol_id="iv-standard")
    )
    assert not preview.ok and preview.error_field == "weight_basis" and preview.needs == ["weight_basis"]
    opts = preview.basis_options
    assert opts.choice_required and opts.recommended == "ideal"
    assert [(c.basis, c.dose_mg, c.mg_per_kg_actual) for c in opts.candidates] == [
        ("actual", 48.0, 0.5),
        ("adjusted", 36.3, 0.378),
        ("ideal", 28.5, 0.297),
    ]
    o = dose_orders.create_order(
        db=db,
        actor=personas["prescriber"],
        patient_id=pid,
        data=DoseOrderCreate(
            protocol_id="iv-standard", weight_basis="actual", weight_basis_reason="trials dosed on actual weight"
        ),
    )
    with db.session() as s:
        row = s.get(DoseOrderRecord, o.id)
        assert (row.weight_basis, row.weight_basis_chosen, row.weight_basis_reason) == (
            "actual",
            True,
            "trials dosed on actual weight",
        )
        assert row.mg_per_kg_actual_weight == 0.5 and row.dose_mg == 48.0 and row.computed_dose_mg == 48.0
    below = dose_orders.create_order(
        db=db,
        actor=personas["prescriber"],
        patient_id=personas.patient_a,
        data=DoseOrderCreate(protocol_id="iv-standard"),
    )
    assert below.weight_basis == "actual" and below.weight_basis_chosen is False  # nothing changes below 30
