"""Scheduling over HTTP: the acceptance — a second infusion in the same chair at the same time, or one inside the
minimum interval, is refused with the reason in the API (422 naming the field) and on the calendar's booking page
(beside the field, what was typed kept, nothing stored); the week calendar and the chair view show the bookings;
the feed address answers iCalendar and 404 once revoked."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import icalendar
import pytest
from sqlalchemy import func, select

from ketacare.services import clinic
from ketacare.services.scheduling import setup
from ketacare.services.scheduling.schemas import ChairCreate, ShiftCreate, SiteCreate
from ketacare.store.tables.scheduling import Appointment
from tests.consent_support import give_consent
from tests.services.test_sessions import fake_clock  # noqa: F401  (fixture)
from tests.services.test_sessions_from_order import _order

API = "/api/v1/scheduling"


@pytest.fixture(autouse=True)
def _now(fake_clock):  # noqa: F811
    fake_clock.t = datetime.now(UTC) + timedelta(minutes=1)


@pytest.fixture
def place(web_personas):
    p = web_personas
    sysact = p["system"]
    site = setup.add_site(db=p.db, actor=sysact, data=SiteCreate(name="Harbourview"))
    chair = setup.add_chair(db=p.db, actor=sysact, data=ChairCreate(site_id=site.id, label="Chair 3"))
    for wd in range(7):
        setup.add_shift(db=p.db, actor=sysact, data=ShiftCreate(user_id=p["nurse"].user_id, site_id=site.id,
                                                                weekday=wd, start_minute=7 * 60, end_minute=20 * 60))
    tz = clinic.zone(p.db)
    day = (datetime.now(UTC).astimezone(tz) + timedelta(days=1)).date()
    _order(p, p.patient_a)
    give_consent(p)  # a dosing appointment needs a signed consent for its route
    return {"chair": chair.id, "tz": tz, "day": day, "nurse": p["nurse"].user_id,
            "at": lambda h, d=0: datetime.combine(day + timedelta(days=d), time(h), tzinfo=tz)}


def _count(db) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(Appointment))


def test_api_refuses_a_second_infusion_in_the_same_chair_or_inside_the_interval_with_the_reason(
    clients, web_personas, place
):
    api = clients.api("frontdesk")
    body = {"patient_id": web_personas.patient_a, "type_id": "infusion", "chair_id": place["chair"],
            "staff_id": place["nurse"], "starts_at": place["at"](9).isoformat()}
    first = api.post(f"{API}/appointments", json=body)
    assert first.status_code == 201, first.text
    assert first.json()["chair_label"] == "Chair 3"
    again = api.post(f"{API}/appointments", json=body)
    assert again.status_code == 422
    fields = {e["field"]: e["message"] for e in again.json()["errors"]}
    assert f"Chair 3 is already booked: appointment #{first.json()['id']}" in fields["chair_id"]
    soon = api.post(f"{API}/appointments", json={**body, "starts_at": place["at"](9, 1).isoformat()})
    assert soon.status_code == 422
    assert "at least 44 h apart" in {e["field"]: e["message"] for e in soon.json()["errors"]}["starts_at"]
    assert _count(web_personas.db) == 1
    week = api.get(f"{API}/appointments", params={"start": place["at"](0).isoformat(),
                                                   "end": place["at"](0, 7).isoformat()})
    assert [a["id"] for a in week.json()] == [first.json()["id"]]


def test_calendar_page_refuses_the_conflict_beside_the_field_and_shows_the_booking(clients, web_personas, place):
    web = clients.web("frontdesk")
    from ketacare.store.tables import Patient

    with web_personas.db.session() as s:
        mrn = s.get(Patient, web_personas.patient_a).mrn
    form = {"patient": mrn, "type_id": "infusion", "starts_at": place["at"](9).strftime("%Y-%m-%d %H:%M"),
            "chair_id": str(place["chair"]), "staff_id": str(place["nurse"])}
    ok = web.post("/schedule/book", data=form)
    assert ok.status_code == 303 and ok.headers["location"].startswith(f"/schedule?day={place['day'].isoformat()}")
    page = web.get(ok.headers["location"])
    assert page.status_code == 200 and "Anders, Alice" in page.text and "Chair 3" in page.text
    refused = web.post("/schedule/book", data={**form, "starts_at": place["at"](10).strftime("%Y-%m-%d %H:%M")})
    assert refused.status_code == 422
    assert 'id="e-chair_id"' in refused.text and "Chair 3 is already booked" in refused.text
    assert place["at"](10).strftime("%Y-%m-%d %H:%M") in refused.text  # what was typed is kept
    assert _count(web_personas.db) == 1
    day = web.get(f"/schedule?view=day&day={place['day'].isoformat()}")
    assert day.status_code == 200 and "Anders, Alice" in day.text
    chair = web.get(f"/schedule/chairs/{place['chair']}?day={place['day'].isoformat()}")
    assert "Start session from order" in clients.web("nurse").get(
        f"/schedule/chairs/{place['chair']}?day={place['day'].isoformat()}").text
    assert chair.status_code == 200
    with web_personas.db.session() as s:
        booked = s.scalars(select(Appointment)).one()
        appt_id, version = booked.id, booked.version
    page = web.get(f"/schedule/appointments/{appt_id}")
    assert "Move the appointment" in page.text and place["at"](9).strftime("%Y-%m-%d %H:%M") in page.text
    late = web.post(f"/schedule/appointments/{appt_id}/reschedule",
                    data={"version": str(version), "starts_at": place["at"](19).strftime("%Y-%m-%d %H:%M"),
                          "chair_id": str(place["chair"])})
    assert late.status_code == 422 and 'id="e-staff_id"' in late.text and "is not working" in late.text
    moved = web.post(f"/schedule/appointments/{appt_id}/reschedule",
                     data={"version": str(version), "starts_at": place["at"](11).strftime("%Y-%m-%d %H:%M"),
                           "chair_id": str(place["chair"])})
    assert moved.status_code == 303
    cancelled = web.post(f"/schedule/appointments/{appt_id}/cancel", data={"version": str(version + 1), "reason": ""})
    assert cancelled.status_code == 422 and 'id="e-reason"' in cancelled.text


def test_the_feed_address_answers_icalendar_without_sign_in_and_404_once_revoked(clients, web_personas, place):
    api = clients.api("nurse")
    made = api.post(f"{API}/feeds")
    assert made.status_code == 201
    anon = clients.web(None)
    got = anon.get(made.json()["url_path"])
    assert got.status_code == 200 and got.headers["content-type"].startswith("text/calendar")
    assert icalendar.Calendar.from_ical(got.content).get("version") == "2.0"
    assert api.post(f"{API}/feeds/{made.json()['id']}/revoke").status_code == 200
    assert anon.get(made.json()["url_path"]).status_code == 404


def test_plan_page_books_the_plans_induction_and_moving_a_session_offers_to_move_the_later_ones(
    clients, web_personas, place
):
    from ketacare.services.plans import plans
    from ketacare.services.plans.schemas import PlanCreate
    from tests.conftest import PASSWORD

    p = web_personas
    plan = plans.create_plan(db=p.db, actor=p["prescriber"], patient_id=p.patient_a,
                             data=PlanCreate(template_id="iv-induction", indication="gad", password=PASSWORD))
    web = clients.web("nurse")  # reads the plan, books appointments
    page = web.get(f"/patients/{p.patient_a}/plan")
    assert 'id="plan-series-form"' in page.text and "No session of this plan is booked yet" in page.text
    form = {"patient": "", "plan_id": str(plan.id), "first_day": place["day"].isoformat(), "start_time": "09:00",
            "chair_id": str(place["chair"]), "staff_id": str(place["nurse"])}
    from ketacare.store.tables import Patient

    with p.db.session() as s:
        form["patient"] = s.get(Patient, p.patient_a).mrn
    booked = web.post("/schedule/series", data=form)
    assert booked.status_code == 303, booked.text
    page = web.get(f"/patients/{p.patient_a}/plan")
    assert page.text.count('href="/schedule/appointments/') == 6 and 'id="plan-series-form"' not in page.text
    with p.db.session() as s:
        second = s.scalars(select(Appointment).order_by(Appointment.starts_at)).all()[1]
        second_id, version = second.id, second.version
    shown = web.get(f"/schedule/appointments/{second_id}")
    assert 'id="f-shift_later"' in shown.text and f"Plan #{plan.id}" in shown.text
    move = {"version": str(version), "starts_at": place["at"](9, 4).strftime("%Y-%m-%d %H:%M"),  # 1 day before #3
            "chair_id": str(place["chair"])}
    squeezed = web.post(f"/schedule/appointments/{second_id}/reschedule", data=move)
    assert squeezed.status_code == 422 and 'id="e-shift_later"' in squeezed.text
    assert "move the later sessions by the same amount" in squeezed.text
    shifted = web.post(f"/schedule/appointments/{second_id}/reschedule", data={**move, "shift_later": "on"})
    assert shifted.status_code == 303
    with p.db.session() as s:
        days = [(a.starts_at.astimezone(place["tz"]).date() - place["day"]).days
                for a in s.scalars(select(Appointment).order_by(Appointment.starts_at))]
    assert days == [0, 4, 7, 9, 11, 14]  # sessions 2-6 two days later, session 1 unchanged
