"""Portal appointments over HTTP (issue 17 point 5): the API refuses a bad request with 422 naming each field and
answers 404 for another patient's appointment; the portal page shows the appointment in plain words with its
instructions and the questionnaire link; the request form refuses beside its field; the front desk sees the request
on the calendar, opens the pre-filled move form, and a move with the request marks it accepted."""

from __future__ import annotations

from sqlalchemy import select

from ketacare.services.scheduling import booking
from ketacare.services.scheduling.schemas import AppointmentCreate
from ketacare.store.tables.scheduling import Appointment, AppointmentRequest
from tests.http.test_scheduling_http import API, _now, place  # noqa: F401  (fixtures)
from tests.services.test_sessions import fake_clock  # noqa: F401  (fixture)


def _book(p, place, hour: int = 9) -> int:  # noqa: F811 - pytest fixture
    return booking.book(db=p.db, actor=p["frontdesk"], data=AppointmentCreate(
        patient_id=p.patient_a, type_id="infusion", starts_at=place["at"](hour), chair_id=place["chair"],
        staff_id=place["nurse"])).id  # fmt: skip


def test_api_requests_refuse_bad_fields_and_other_patients_appointments(clients, web_personas, place):  # noqa: F811
    appt = _book(web_personas, place)
    api = clients.api("patient_a")
    bad = api.post(f"{API}/patients/{web_personas.patient_a}/appointments/{appt}/requests",
                   json={"kind": "postpone", "reason": "x", "preferred_days": ["someday"]})
    assert bad.status_code == 422, bad.text
    assert {e["field"].split(".")[0] for e in bad.json()["errors"]} == {"kind", "reason", "preferred_days"}
    for pid in (web_personas.patient_a, web_personas.patient_b):  # another patient's appointment: not found
        other = clients.api("patient_b").post(f"{API}/patients/{pid}/appointments/{appt}/requests",
                                              json={"kind": "move", "reason": "work"})
        assert other.status_code == 404
    ok = api.post(f"{API}/patients/{web_personas.patient_a}/appointments/{appt}/requests",
                  json={"kind": "move", "reason": "I work that morning", "preferred_times": ["afternoon"]})
    assert ok.status_code == 201 and ok.json()["status"] == "pending"
    again = api.post(f"{API}/patients/{web_personas.patient_a}/appointments/{appt}/requests",
                     json={"kind": "cancel", "reason": "sorry"})
    assert again.status_code == 422 and again.json()["errors"][0]["field"] == "kind"
    mine = api.get(f"{API}/patients/{web_personas.patient_a}/portal").json()
    first = mine["upcoming"][0]
    assert first["title"] == "Ketamine treatment" and first["request"]["status"] == "pending"
    assert api.get(f"{API}/requests").status_code == 403
    desk = clients.api("frontdesk")
    assert [r["id"] for r in desk.get(f"{API}/requests").json()] == [ok.json()["id"]]
    short = desk.post(f"{API}/requests/{ok.json()['id']}/decline", json={"version": 1, "reason": ""})
    assert short.status_code == 422 and short.json()["errors"][0]["field"] == "reason"


def test_portal_page_request_form_and_front_desk_accept(clients, web_personas, place):  # noqa: F811
    appt = _book(web_personas, place)
    web = clients.web("patient_a")
    page = web.get("/me/appointments")
    assert page.status_code == 200
    assert "Ketamine treatment" in page.text and "at 9:00 am" in page.text
    assert "Harbourview, about 2½ hours" in page.text
    assert "responsible adult" in page.text and "Do not drive" in page.text
    assert "Before your visit" in page.text or "No questionnaires to fill in" in page.text
    assert "Your next appointments" in web.get("/me").text
    refused = web.post(f"/me/appointments/{appt}/request", data={"kind": "move", "reason": ""})
    assert refused.status_code == 422 and 'id="e-reason"' in refused.text
    sent = web.post(f"/me/appointments/{appt}/request",
                    data={"kind": "move", "reason": "I work that morning", "preferred_days": ["friday"],
                          "preferred_times": ["afternoon"]})  # fmt: skip
    assert sent.status_code == 303
    assert "Requested" in web.get("/me/appointments").text
    desk = clients.web("frontdesk")
    cal = desk.get(f"/schedule?day={place['day'].isoformat()}")
    assert "Requests from patients (1)" in cal.text and "I work that morning" in cal.text
    with web_personas.db.session() as s:
        rid = s.scalars(select(AppointmentRequest.id)).one()
        version = s.get(Appointment, appt).version
    empty = desk.post(f"/schedule/requests/{rid}/decline", data={"request_version": "1", "answer": ""})
    assert empty.status_code == 422 and 'id="e-answer"' in empty.text  # beside the field; nothing changed
    assert "Decline the request" in clients.web("admin").get(f"/schedule/requests/{rid}").text
    form = desk.get(f"/schedule/appointments/{appt}?request={rid}")
    assert 'name="request_id"' in form.text and " 13:00" in form.text  # a Friday afternoon, pre-filled
    moved = desk.post(f"/schedule/appointments/{appt}/reschedule",
                      data={"version": str(version), "starts_at": place["at"](12).strftime("%Y-%m-%d %H:%M"),
                            "chair_id": str(place["chair"]), "request_id": str(rid)})
    assert moved.status_code == 303, moved.text
    with web_personas.db.session() as s:
        assert s.get(AppointmentRequest, rid).status == "accepted"
    assert "moved this appointment as you asked" in web.get("/me/appointments").text
