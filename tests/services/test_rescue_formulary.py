"""The clinic's rescue formulary and side effects through the services, on SQLite and PostgreSQL: it ships empty,
prescribers configure it (versioned, audited, retired entries kept), a rescue dose is checked against the entry,
and a side effect is marked resolved."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select

from ketacare.domain.errors import InvalidValue
from ketacare.services.errors import Conflict, Forbidden
from ketacare.services.sessions import formulary, record, side_effects
from ketacare.services.sessions.formulary import (
    FormularyEntryIn,
    FormularyEntryUpdate,
    FormularyRetire,
    RescueGive,
    SideEffectResolve,
)
from ketacare.services.sessions.schemas import SideEffectCreate
from ketacare.store.tables import AuditEvent
from ketacare.store.tables.sessions import RescueFormularyEntry, RescueGivenRow
from tests.services.test_sessions import _new, _start, capabilities, fake_clock  # noqa: F401 (fixtures)

ONDANSETRON = dict(
    drug="ondansetron", route="iv", indications=["nausea", "vomiting"], dose_min=4, dose_max=8, dose_unit="mg",
    max_doses_per_session=2, max_total_per_session=12, approved_by="Dr A. Okafor, medical director",
    source="Clinic rescue protocol v3 (2026)",
)  # fmt: skip


def _add(personas, **over):
    return formulary.add_entry(
        db=personas.db, actor=personas["prescriber"], data=FormularyEntryIn(**{**ONDANSETRON, **over})
    )


def _count(db, table) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(table)) or 0


def _audit(db, resource_type):
    with db.session() as s:
        return list(
            s.scalars(select(AuditEvent).where(AuditEvent.resource_type == resource_type).order_by(AuditEvent.seq))
        )


def test_the_formulary_ships_empty_and_only_prescribers_configure_it(personas):
    assert formulary.list_entries(db=personas.db, actor=personas["nurse"]) == []
    for role in ("nurse", "therapist", "frontdesk", "admin", "researcher"):
        with pytest.raises(Forbidden):
            formulary.add_entry(db=personas.db, actor=personas[role], data=FormularyEntryIn(**ONDANSETRON))
    assert _count(personas.db, RescueFormularyEntry) == 0
    e = _add(personas)
    assert (e.drug, e.route, e.dose_min, e.dose_max, e.dose_unit) == ("ondansetron", "iv", 4, 8, "mg")
    assert e.active and e.version == 1 and e.approved_by.startswith("Dr A. Okafor")
    listed = formulary.list_entries(db=personas.db, actor=personas["nurse"])
    assert [x.id for x in listed] == [e.id]
    created = _audit(personas.db, "rescue_formulary_entry")
    assert [(a.action, a.actor_username) for a in created] == [("create", "prescriber")]
    assert '"max_dose_mg":8.0' in created[0].details
    denied = [a for a in _audit(personas.db, "rescue_formulary") if a.outcome == "denied"]
    assert {a.actor_role for a in denied} >= {"nurse", "frontdesk"}


def test_microgram_doses_are_stored_in_mg_and_shown_in_the_clinics_unit(personas):
    e = _add(personas, drug="clonidine", route="po", indications=["raised_bp"], dose_min=75, dose_max=150,
             dose_unit="microgram", max_doses_per_session=1, max_total_per_session=None)  # fmt: skip
    assert (e.dose_min, e.dose_max, e.dose_unit, e.max_total_per_session) == (75, 150, "microgram", None)
    with personas.db.session() as s:
        row = s.get(RescueFormularyEntry, e.id)
        assert (row.min_dose_mg, row.max_dose_mg) == pytest.approx((0.075, 0.15))


@pytest.mark.parametrize(
    "over,field",
    [
        ({"drug": " "}, "drug"),
        ({"route": "rectal"}, "route"),
        ({"indications": []}, "indications"),
        ({"indications": ["hiccups"]}, "indications"),
        ({"dose_min": None}, "dose_min"),
        ({"dose_max": 0}, "dose_max"),
        ({"dose_min": 8, "dose_max": 4}, "dose_max"),
        ({"dose_unit": ""}, "dose_unit"),
        ({"dose_unit": "mL"}, "dose_unit"),
        ({"max_doses_per_session": 0}, "max_doses_per_session"),
        ({"max_doses_per_session": None}, "max_doses_per_session"),
        ({"max_total_per_session": 6}, "max_total_per_session"),
        ({"approved_by": ""}, "approved_by"),
        ({"source": ""}, "source"),
    ],
)
def test_an_incomplete_entry_is_refused_naming_the_field_and_nothing_is_stored(personas, over, field):
    with pytest.raises(InvalidValue) as exc:
        _add(personas, **over)
    assert exc.value.field == field
    assert _count(personas.db, RescueFormularyEntry) == 0
    assert _audit(personas.db, "rescue_formulary_entry") == []


def test_edits_are_versioned_and_audited_and_retired_entries_are_kept(personas):
    e = _add(personas)
    data = FormularyEntryUpdate(**{**ONDANSETRON, "dose_max": 6, "max_total_per_session": 12}, version=e.version)
    e2 = formulary.update_entry(db=personas.db, actor=personas["prescriber"], entry_id=e.id, data=data)
    assert (e2.dose_max, e2.version) == (6, 2)
    with pytest.raises(Conflict) as stale:  # a second prescriber still holding version 1
        formulary.update_entry(db=personas.db, actor=personas["prescriber"], entry_id=e.id, data=data)
    assert stale.value.current_version == 2
    assert formulary.get_entry(db=personas.db, actor=personas["nurse"], entry_id=e.id).dose_max == 6
    with pytest.raises(Forbidden):
        formulary.retire_entry(db=personas.db, actor=personas["nurse"], entry_id=e.id,
                               data=FormularyRetire(version=2, reason="replaced"))  # fmt: skip
    r = formulary.retire_entry(db=personas.db, actor=personas["prescriber"], entry_id=e.id,
                               data=FormularyRetire(version=2, reason="replaced by the oral form"))  # fmt: skip
    assert not r.active and r.retire_reason == "replaced by the oral form" and r.retired_by == "prescriber"
    assert [x.id for x in formulary.list_entries(db=personas.db, actor=personas["nurse"])] == [e.id]
    assert formulary.list_entries(db=personas.db, actor=personas["nurse"], include_retired=False) == []
    with pytest.raises(InvalidValue):
        formulary.update_entry(db=personas.db, actor=personas["prescriber"], entry_id=e.id,
                               data=FormularyEntryUpdate(**ONDANSETRON, version=3))  # fmt: skip
    events = _audit(personas.db, "rescue_formulary_entry")
    assert [a.action for a in events] == ["create", "update", "update"]
    assert '"dose_max_mg"' not in events[1].details and '"max_dose_mg":[8.0,6.0]' in events[1].details
    assert '"retired":true' in events[2].details


def _side_effect(personas, sid, type_="nausea", onset=None):
    return side_effects.add_side_effect(
        db=personas.db, actor=personas["nurse"], session_id=sid,
        data=SideEffectCreate(type=type_, grade=2, onset_at=onset),
    ).id  # fmt: skip


def _give(personas, sid, entry_id, dose, unit="mg", **kw):
    return formulary.give_rescue(
        db=personas.db, actor=personas["nurse"], session_id=sid,
        data=RescueGive(entry_id=entry_id, dose=dose, dose_unit=unit, **kw),
    )  # fmt: skip


def test_a_rescue_dose_is_checked_against_the_entry_and_refused_beyond_the_session_maximum(
    personas, fake_clock, capabilities  # noqa: F811
):
    e = _add(personas)
    sid = _new(personas)
    _start(personas, sid, fake_clock)
    fake_clock.advance(20)
    se = _side_effect(personas, sid)
    first = _give(personas, sid, e.id, 4, side_effect_id=se)
    assert (first.drug, first.dose_mg, first.route, first.indication, first.side_effect_id) == (
        "ondansetron", 4, "iv", "nausea", se,
    )  # fmt: skip
    refusals = [
        (dict(dose=10, side_effect_id=se), "dose", "above the clinic's single-dose limit of 8 mg"),
        (dict(dose=2, side_effect_id=se), "dose", "below the clinic's dose range (4-8 mg)"),
        (dict(dose=4, unit="", side_effect_id=se), "dose_unit", "mg or microgram"),
        (dict(dose=None, side_effect_id=se), "dose", "above 0"),
        (dict(dose=4, indication="headache"), "indication", "not set up for headache"),
        (dict(dose=4), "indication", "say what it treats"),
        (dict(dose=4, side_effect_id=se, indication="vomiting"), "indication", "differs"),
    ]
    for kw, field, words in refusals:
        dose, unit = kw.pop("dose"), kw.pop("unit", "mg")
        with pytest.raises(InvalidValue) as exc:
            _give(personas, sid, e.id, dose, unit, **kw)
        assert (exc.value.field, words in exc.value.message) == (field, True), exc.value
    fake_clock.advance(10)
    assert _give(personas, sid, e.id, 6, indication="vomiting").dose_mg == 6
    with pytest.raises(InvalidValue) as exc:  # a third dose: the entry allows 2 per session
        _give(personas, sid, e.id, 4, indication="nausea")
    assert exc.value.field == "dose" and "already 2 dose(s) this session; limit 2" in exc.value.message
    assert _count(personas.db, RescueGivenRow) == 2
    v = record.get_session(db=personas.db, actor=personas["nurse"], session_id=sid)
    assert [(r.drug, r.dose_mg, r.side_effect_id) for r in v.rescue] == [
        ("ondansetron", 4, se), ("ondansetron", 6, None),
    ]  # fmt: skip
    given = _audit(personas.db, "rescue_medication")
    assert [(a.action, a.actor_username) for a in given] == [("administer", "nurse")] * 2
    assert f'"formulary_entry":{e.id}' in given[0].details


def test_the_session_total_and_retired_entries_and_another_sessions_side_effect_are_refused(
    personas, fake_clock, capabilities  # noqa: F811
):
    e = _add(personas, max_doses_per_session=3, max_total_per_session=12)
    sid = _new(personas)
    _start(personas, sid, fake_clock)
    _give(personas, sid, e.id, 8, indication="nausea")
    with pytest.raises(InvalidValue) as exc:
        _give(personas, sid, e.id, 8, indication="nausea")
    assert exc.value.field == "dose" and "16 mg this session would exceed the limit of 12 mg" in exc.value.message
    other = _new(personas)
    se_other = _side_effect(personas, other)
    with pytest.raises(InvalidValue) as exc:
        _give(personas, sid, e.id, 4, side_effect_id=se_other)
    assert exc.value.field == "side_effect_id"
    formulary.retire_entry(db=personas.db, actor=personas["prescriber"], entry_id=e.id,
                           data=FormularyRetire(version=1, reason="stock withdrawn"))  # fmt: skip
    with pytest.raises(InvalidValue) as exc:
        _give(personas, sid, e.id, 4, indication="nausea")
    assert exc.value.field == "entry_id" and "retired" in exc.value.message
    with pytest.raises(ValidationError):
        RescueGive(entry_id=e.id, dose=4, dose_unit="mg", route="iv")  # the route is the entry's, not typed
    assert _count(personas.db, RescueGivenRow) == 1


def test_a_side_effect_is_marked_resolved_with_time_and_how_once(personas, fake_clock, capabilities):  # noqa: F811
    sid = _new(personas)
    _start(personas, sid, fake_clock)
    fake_clock.advance(15)
    se = _side_effect(personas, sid, "dissociation", onset=fake_clock.t - timedelta(minutes=5))
    fake_clock.advance(20)

    def resolve(at=None, how="settled with reassurance, no drug"):
        return formulary.resolve_side_effect(
            db=personas.db, actor=personas["nurse"], session_id=sid, side_effect_id=se,
            data=SideEffectResolve(resolved_at=at, resolution=how),
        )  # fmt: skip

    with pytest.raises(InvalidValue) as exc:
        resolve(at=fake_clock.t - timedelta(minutes=40))
    assert exc.value.field == "resolved_at" and "before it started" in exc.value.message
    with pytest.raises(InvalidValue) as exc:
        resolve(at=fake_clock.t + timedelta(minutes=5))
    assert exc.value.field == "resolved_at"
    with pytest.raises(ValidationError):
        SideEffectResolve(resolution=" ")
    r = resolve(at=fake_clock.t - timedelta(minutes=2))
    assert r.resolved_at == fake_clock.t - timedelta(minutes=2) and r.resolution.startswith("settled")
    with pytest.raises(InvalidValue) as exc:
        resolve()
    assert "already marked resolved" in exc.value.message
    v = record.get_session(db=personas.db, actor=personas["nurse"], session_id=sid)
    assert v.side_effects[0].resolution == "settled with reassurance, no drug"
    with pytest.raises(Forbidden):
        formulary.resolve_side_effect(
            db=personas.db, actor=personas["frontdesk"], session_id=sid, side_effect_id=se,
            data=SideEffectResolve(resolution="x"),
        )  # fmt: skip
    assert [a.action for a in _audit(personas.db, "side_effect")] == ["create", "update"]
