"""The portal's appointments and reschedule requests (issue 17 point 5) on SQLite and PostgreSQL: the patient reads
their coming appointments in plain local words with the instructions of a dosing visit; asks to move or cancel one
(one open request, only a coming booked one, only their own: another's is "not found"); the front desk lists,
declines with a reason the patient reads, or accepts by moving or cancelling the appointment; every step audited."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from ketacare.domain.errors import InvalidValue
from ketacare.services.errors import Forbidden, NotFound
from ketacare.services.scheduling import booking, requests
from ketacare.services.scheduling.schemas import RequestCreate, RequestDecline, Reschedule, StatusChange
from ketacare.store.tables import AuditEvent
from tests.services.test_scheduling import Clinic, _now  # noqa: F401  (fixture)
from tests.services.test_sessions import capabilities, fake_clock  # noqa: F401  (fixtures)
from tests.services.test_sessions_from_order import _order

MOVE = RequestCreate(kind="move", reason="I have to work that morning", preferred_days=["thursday", "friday"],
                     preferred_times=["afternoon"])  # fmt: skip


def _events(db, resource: str) -> list[AuditEvent]:
    with db.session() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.resource_type == resource)))


def test_the_patient_reads_coming_appointments_in_plain_local_words_with_the_instructions(db, personas):
    c = Clinic(personas)
    _order(personas, personas.patient_a)
    a = c.infusion(personas.patient_a, c.at(9))
    mine = requests.my_appointments(db=db, actor=personas["patient_a"], patient_id=personas.patient_a)
    [item] = mine.upcoming
    assert item.id == a.id and item.title == "Ketamine treatment" and item.place == "Harbourview"
    assert item.length == "about 2½ hours" and item.can_request and item.request is None
    assert re.fullmatch(r"[A-Z][a-z]+day \d{1,2} [A-Z][a-z]+( \d{4})? at 9:00 am", item.when), item.when
    texts = " ".join(i.text for i in item.instructions)
    assert "Do not eat" in texts and "responsible adult" in texts and "Do not drive" in texts
    assert {i.source for i in item.instructions} >= {"Spravato label", "Ketalar label; RCEM 2018"}
    assert mine.past == []
    with pytest.raises(NotFound):  # another patient's appointments: not found
        requests.my_appointments(db=db, actor=personas["patient_a"], patient_id=personas.patient_b)


def test_a_request_is_stored_audited_one_at_a_time_and_only_for_the_patients_own_coming_appointment(db, personas):
    c = Clinic(personas)
    _order(personas, personas.patient_a)
    _order(personas, personas.patient_b)
    a = c.infusion(personas.patient_a, c.at(9))
    b = c.infusion(personas.patient_b, c.at(9), chair=1, nurse=c.nurse2)
    with pytest.raises(NotFound):  # another patient's appointment
        requests.request_change(db=db, actor=personas["patient_a"], appointment_id=b.id, data=MOVE)
    with pytest.raises(NotFound):
        requests.request_change(db=db, actor=personas["patient_a"], appointment_id=99999, data=MOVE)
    with pytest.raises(Forbidden):  # staff handle requests; they do not make them
        requests.request_change(db=db, actor=personas["frontdesk"], appointment_id=a.id, data=MOVE)
    r = requests.request_change(db=db, actor=personas["patient_a"], appointment_id=a.id, data=MOVE)
    assert r.status == "pending" and r.preferred_days == ["thursday", "friday"]
    with pytest.raises(InvalidValue) as e:  # one open request per appointment
        requests.request_change(db=db, actor=personas["patient_a"], appointment_id=a.id,
                                data=RequestCreate(kind="cancel", reason="changed my mind"))
    assert e.value.field == "kind"
    with pytest.raises(InvalidValue) as e:  # a cancellation has no preferred days
        requests.request_change(db=db, actor=personas["patient_b"], appointment_id=b.id,
                                data=RequestCreate(kind="cancel", reason="unwell", preferred_days=["monday"]))
    assert e.value.field == "preferred_days"
    mine = requests.my_appointments(db=db, actor=personas["patient_a"], patient_id=personas.patient_a)
    assert mine.upcoming[0].request.status == "pending" and not mine.upcoming[0].can_request
    created = [e for e in _events(db, "appointment_request") if e.action == "create"]
    assert [(e.resource_id, e.patient_id) for e in created] == [(str(r.id), personas.patient_a)]
    assert any(e.outcome == "denied" for e in _events(db, "appointment_requests"))


def test_the_front_desk_declines_with_a_reason_or_accepts_by_moving_or_cancelling(db, personas):
    c = Clinic(personas)
    _order(personas, personas.patient_a)
    _order(personas, personas.patient_b)
    a = c.infusion(personas.patient_a, c.at(9))
    b = c.infusion(personas.patient_b, c.at(9), chair=1, nurse=c.nurse2)
    ra = requests.request_change(db=db, actor=personas["patient_a"], appointment_id=a.id, data=MOVE)
    rb = requests.request_change(db=db, actor=personas["patient_b"], appointment_id=b.id,
                                 data=RequestCreate(kind="cancel", reason="unwell this week"))
    with pytest.raises(Forbidden):
        requests.open_requests(db=db, actor=personas["nurse"])
    assert [r.id for r in requests.open_requests(db=db, actor=personas["frontdesk"])] == [ra.id, rb.id]
    with pytest.raises(InvalidValue) as e:  # a move does not answer a cancellation request
        booking.reschedule(db=db, actor=personas["frontdesk"], appointment_id=b.id,
                           data=Reschedule(version=b.version, starts_at=c.at(11), request_id=ra.id))
    assert e.value.field == "request_id"
    moved = booking.reschedule(db=db, actor=personas["frontdesk"], appointment_id=a.id,
                               data=Reschedule(version=a.version, starts_at=c.at(12), request_id=ra.id))
    assert moved.starts_at == c.at(12)
    with pytest.raises(Forbidden):  # the patient cannot decline for the clinic
        requests.decline(db=db, actor=personas["patient_b"], request_id=rb.id,
                         data=RequestDecline(version=rb.version, reason="not now"))
    declined = requests.decline(db=db, actor=personas["admin"], request_id=rb.id,
                                data=RequestDecline(version=rb.version, reason="Please call us: this dose is due"))
    assert declined.status == "declined"
    with pytest.raises(InvalidValue):  # already answered
        booking.cancel(db=db, actor=personas["frontdesk"], appointment_id=b.id,
                       data=StatusChange(version=b.version, reason="unwell", request_id=rb.id))
    again = requests.request_change(db=db, actor=personas["patient_a"], appointment_id=a.id,
                                    data=RequestCreate(kind="cancel", reason="I am unwell after all"))
    booking.cancel(db=db, actor=personas["frontdesk"], appointment_id=a.id,  # no request named: it answers it
                   data=StatusChange(version=moved.version, reason="patient unwell"))
    latest = requests.patient_requests(db=db, actor=personas["patient_a"], patient_id=personas.patient_a)[0]
    assert latest.id == again.id and latest.status == "accepted"
    mine_a = requests.my_appointments(db=db, actor=personas["patient_a"], patient_id=personas.patient_a)
    assert mine_a.upcoming == [] and mine_a.past[0].request.kind == "cancel"
    mine_b = requests.patient_requests(db=db, actor=personas["patient_b"], patient_id=personas.patient_b)
    assert mine_b[0].answer == "Please call us: this dose is due"
    assert requests.open_requests(db=db, actor=personas["frontdesk"]) == []
    handled = [json.loads(e.details)["status"] for e in _events(db, "appointment_request") if e.action == "update"]
    assert sorted(handled) == ["accepted", "accepted", "declined"]
