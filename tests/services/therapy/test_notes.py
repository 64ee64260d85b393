"""Therapy notes on both engines: linked to the infusion they follow, risk escalation, signing and addenda,
private unless shared, every read audited and a refused read audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from ketacare.domain.errors import InvalidValue
from ketacare.services import therapy
from ketacare.services.access import Actor, users
from ketacare.services.access.schemas import UserCreate
from ketacare.services.errors import Forbidden, HiddenByPolicy
from ketacare.store.tables import AuditEvent
from ketacare.store.tables.measurement import SafetyAlert
from tests.conftest import PASSWORD
from tests.services.therapy.conftest import NO_RISK, NOW


def _note(**kw) -> therapy.NoteCreate:
    base = dict(kind="integration", modality="cbt", themes="Worry about work", homework="Worry diary",
                risk=NO_RISK, sharing="private")
    return therapy.NoteCreate(**{**base, **kw})


def _events(db, action: str, resource: str) -> list[AuditEvent]:
    with db.session() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == action,
                                                       AuditEvent.resource_type == resource)))


def test_an_integration_note_follows_the_latest_infusion_and_says_when(clinic):
    personas, first, second = clinic
    n = therapy.write_note(db=personas.db, actor=personas["therapist"], patient_id=personas.patient_a,
                           data=_note(visit_at=NOW - timedelta(hours=2)))
    assert n.infusion.session_id == second and n.infusion.number == 2
    assert n.timing == "1 day after infusion 2"
    older = therapy.write_note(db=personas.db, actor=personas["therapist"], patient_id=personas.patient_a,
                               data=_note(session_id=first, visit_at=NOW - timedelta(days=3)))
    assert older.timing == "2 days after infusion 1"
    assert older.texts == {"themes": "Worry about work", "homework": "Worry diary"}


def test_bad_notes_are_refused_naming_each_field_and_nothing_is_stored(clinic):
    personas, first, _ = clinic
    with pytest.raises(InvalidValue) as e:
        therapy.write_note(db=personas.db, actor=personas["therapist"], patient_id=personas.patient_a,
                           data=_note(modality="hypnosis", risk={"suicidal_ideation": "maybe"}))
    assert {"modality", "risk.suicidal_ideation", "risk.self_harm"} <= set(e.value.errors)
    with pytest.raises(InvalidValue) as e:  # a preparation visit comes before the first infusion
        therapy.write_note(db=personas.db, actor=personas["therapist"], patient_id=personas.patient_a,
                           data=therapy.NoteCreate(kind="preparation", intentions="x", safety_plan="y"))
    assert e.value.field == "visit_at"
    with pytest.raises(InvalidValue) as e:  # patient B has had no infusion
        therapy.write_note(db=personas.db, actor=personas["therapist"], patient_id=personas.patient_b, data=_note())
    assert e.value.field == "session_id"
    with pytest.raises(InvalidValue) as e:  # another patient's infusion
        therapy.write_note(db=personas.db, actor=personas["therapist"], patient_id=personas.patient_b,
                           data=_note(session_id=first))
    assert e.value.field == "session_id"
    view = therapy.therapy_view(db=personas.db, actor=personas["therapist"], patient_id=personas.patient_a)
    assert view.notes == []


def test_a_positive_risk_check_raises_an_urgent_alert_for_the_care_team(clinic):
    personas, *_ = clinic
    n = therapy.write_note(db=personas.db, actor=personas["therapist"], patient_id=personas.patient_a,
                           data=_note(risk={**NO_RISK, "suicidal_ideation": "active_with_plan"}))
    assert n.escalated and n.escalated_items == ["Thoughts of suicide since the last visit"]
    with personas.db.session() as s:
        alerts = list(s.scalars(select(SafetyAlert).where(SafetyAlert.patient_id == personas.patient_a)))
    assert [(a.kind, a.assigned_to) for a in alerts] == [("therapy_risk_check", personas["prescriber"].user_id)]
    from ketacare.services.measurement.responses import list_alerts

    seen = list_alerts(db=personas.db, actor=personas["prescriber"])
    assert any("integration therapy visit" in a.detail for a in seen)


def test_private_notes_are_for_their_author_and_refusals_are_audited(clinic):
    personas, *_ = clinic
    db = personas.db
    other = users.create_user(db=db, actor=personas["system"], data=UserCreate(
        username="therapist2", display_name="Other Therapist", role="therapist", password=PASSWORD))
    other_actor = Actor(user_id=other.id, username="therapist2", role="therapist")
    private = therapy.write_note(db=db, actor=personas["therapist"], patient_id=personas.patient_a, data=_note())
    assert therapy.get_note(db=db, actor=personas["therapist"], note_id=private.id).mine
    for who in (personas["prescriber"], personas["nurse"], other_actor):
        with pytest.raises(HiddenByPolicy):
            therapy.get_note(db=db, actor=who, note_id=private.id)
    denied = _events(db, "denied", "psychotherapy_note")
    assert {e.actor_username for e in denied} == {"prescriber", "nurse", "therapist2"}
    with pytest.raises(Forbidden):  # the front desk reads no therapy at all
        therapy.get_note(db=db, actor=personas["frontdesk"], note_id=private.id)
    assert [e.resource_id for e in _events(db, "view", "psychotherapy_note")] == [str(private.id)]
    # The timeline shows others a private note only as a bare entry.
    view = therapy.therapy_view(db=db, actor=personas["prescriber"], patient_id=personas.patient_a)
    assert view.notes == [] and [e.id for e in view.private_entries] == [private.id]


def test_a_shared_note_is_read_by_the_care_team_only(clinic):
    personas, *_ = clinic
    db = personas.db
    shared = therapy.write_note(db=db, actor=personas["therapist"], patient_id=personas.patient_a,
                                data=_note(sharing="care_team"))
    read = therapy.get_note(db=db, actor=personas["prescriber"], note_id=shared.id)
    assert read.texts["themes"] == "Worry about work" and not read.mine
    with pytest.raises(HiddenByPolicy):  # the nurse is not on patient A's care team
        therapy.get_note(db=db, actor=personas["nurse"], note_id=shared.id)
    plan = therapy.notes_for_plan(db=db, actor=personas["prescriber"], patient_id=personas.patient_a)
    assert [p.id for p in plan] == [shared.id] and "Worry about work" in plan[0].summary
    assert plan[0].timing == "1 day after infusion 2"


def test_the_author_signs_and_corrects_only_by_addenda(clinic):
    personas, *_ = clinic
    db = personas.db
    n = therapy.write_note(db=db, actor=personas["therapist"], patient_id=personas.patient_a,
                           data=_note(sharing="care_team"))
    with pytest.raises(HiddenByPolicy):  # a reader of a shared note cannot sign it
        therapy.sign_note(db=db, actor=personas["prescriber"], note_id=n.id,
                          data=therapy.NoteSign(version=n.version, password=PASSWORD))
    with pytest.raises(InvalidValue) as e:
        therapy.sign_note(db=db, actor=personas["therapist"], note_id=n.id,
                          data=therapy.NoteSign(version=n.version, password="wrong-password"))
    assert e.value.field == "password"
    with pytest.raises(InvalidValue):
        therapy.add_addendum(db=db, actor=personas["therapist"], note_id=n.id,
                             data=therapy.NoteAddendumCreate(text="too early"))
    signed = therapy.sign_note(db=db, actor=personas["therapist"], note_id=n.id,
                               data=therapy.NoteSign(version=n.version, password=PASSWORD))
    assert signed.signed_at is not None and signed.signed_meaning == "authored" and len(signed.digest_sha256) == 64
    with pytest.raises(InvalidValue):
        therapy.sign_note(db=db, actor=personas["therapist"], note_id=n.id,
                          data=therapy.NoteSign(version=signed.version, password=PASSWORD))
    amended = therapy.add_addendum(db=db, actor=personas["therapist"], note_id=n.id,
                                   data=therapy.NoteAddendumCreate(text="Homework is daily, not weekly."))
    assert [a.text for a in amended.addenda] == ["Homework is daily, not weekly."]
    assert amended.texts == signed.texts and amended.digest_sha256 == signed.digest_sha256
    with pytest.raises(HiddenByPolicy):
        therapy.add_addendum(db=db, actor=personas["prescriber"], note_id=n.id,
                             data=therapy.NoteAddendumCreate(text="not mine"))
