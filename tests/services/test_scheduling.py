"""Scheduling on SQLite and PostgreSQL: a booking is refused with the conflict named beside its field and nothing
stored (chair or nurse double-booked, inside the protocol's minimum interval, no dose order for the day, outside
working hours); a template's induction series is booked all or nothing; reschedule, cancel, no-show; an infusion
appointment starts the real session; private calendar feeds parse and carry no clinical words; access."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import icalendar
import pytest
from sqlalchemy import func, select

from ketacare.domain.errors import InvalidValue
from ketacare.services import clinic, patients
from ketacare.services.access import UserCreate, users
from ketacare.services.errors import Forbidden, NotFound
from ketacare.services.patients import MeasurementCreate
from ketacare.services.scheduling import BookingRefused, booking, calendar, feeds, setup
from ketacare.services.scheduling.schemas import (
    AppointmentCreate,
    ChairCreate,
    Reschedule,
    RoomCreate,
    SeriesCreate,
    ShiftCreate,
    SiteCreate,
    StatusChange,
)
from ketacare.store.tables.scheduling import Appointment
from tests.conftest import PASSWORD
from tests.consent_support import give_consent
from tests.services.test_sessions import capabilities, fake_clock  # noqa: F401  (fixtures)
from tests.services.test_sessions_from_order import _order


@pytest.fixture(autouse=True)
def _now(fake_clock):  # noqa: F811
    fake_clock.t = datetime.now(UTC) + timedelta(minutes=1)


class Clinic:
    def __init__(self, personas):
        self.p = personas
        db, sysact = personas.db, personas["system"]
        self.tz = clinic.zone(db)
        site = setup.add_site(db=db, actor=sysact, data=SiteCreate(name="Harbourview"))
        self.chairs = [setup.add_chair(db=db, actor=sysact, data=ChairCreate(site_id=site.id, label=f"Chair {i}"))
                       for i in (1, 2, 3)]
        self.room = setup.add_room(db=db, actor=sysact, data=RoomCreate(site_id=site.id, name="Therapy room"))
        u = users.create_user(db=db, actor=sysact, data=UserCreate(username="nurse2", display_name="Kai Moreno",
                                                                   role="nurse", password=PASSWORD))
        self.nurse, self.nurse2 = personas["nurse"].user_id, u.id
        for uid in (self.nurse, self.nurse2, personas["therapist"].user_id):
            for wd in range(7):
                setup.add_shift(db=db, actor=sysact, data=ShiftCreate(user_id=uid, site_id=site.id, weekday=wd,
                                                                      start_minute=7 * 60, end_minute=20 * 60))
        patients.add_measurement(db=db, actor=sysact, patient_id=personas.patient_b,
                                 data=MeasurementCreate(height="185 cm",
                                                        measured_at=datetime.now(UTC) - timedelta(minutes=5)))
        self.day = (datetime.now(UTC).astimezone(self.tz) + timedelta(days=1)).date()
        for who in ("patient_a", "patient_b"):  # a dosing appointment needs a signed consent for its route
            give_consent(personas, who)

    def at(self, hour: int, days: int = 0) -> datetime:
        return datetime.combine(self.day + timedelta(days=days), time(hour), tzinfo=self.tz).astimezone(UTC)

    def infusion(self, patient_id, start, chair=0, nurse=None, who="frontdesk"):
        return booking.book(db=self.p.db, actor=self.p[who], data=AppointmentCreate(
            patient_id=patient_id, type_id="infusion", starts_at=start, chair_id=self.chairs[chair].id,
            staff_id=nurse or self.nurse))


def _count(db) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(Appointment))


def test_same_chair_same_time_and_inside_the_minimum_interval_are_refused_with_the_reason(db, personas):
    c = Clinic(personas)
    _order(personas, personas.patient_a)
    _order(personas, personas.patient_b)
    first = c.infusion(personas.patient_a, c.at(9))
    assert first.chair_label == "Chair 1" and first.dose_order_id is not None and first.protocol_id == "iv-standard"
    before = _count(db)
    with pytest.raises(BookingRefused) as e:
        c.infusion(personas.patient_b, c.at(10), nurse=c.nurse2)
    assert set(e.value.errors) == {"chair_id"}
    assert f"Chair 1 is already booked: appointment #{first.id}" in e.value.errors["chair_id"]
    with pytest.raises(BookingRefused) as e:  # another chair, same nurse
        c.infusion(personas.patient_b, c.at(10), chair=1)
    assert "Nurse is already booked" in e.value.errors["staff_id"]
    with pytest.raises(BookingRefused) as e:  # the same patient the next day: inside 44 h
        c.infusion(personas.patient_a, c.at(9, days=1), chair=1, nurse=c.nurse2)
    assert e.value.conflicts[0].kind == "interval" and "at least 44 h apart" in e.value.errors["starts_at"]
    assert _count(db) == before
    second = c.infusion(personas.patient_a, c.at(9, days=2), chair=1, nurse=c.nurse2)
    assert second.status == "booked"


def test_no_dose_order_for_the_day_or_outside_hours_or_the_wrong_person_is_refused_beside_the_field(db, personas):
    c = Clinic(personas)
    with pytest.raises(InvalidValue) as e:
        c.infusion(personas.patient_a, c.at(9))
    assert "no signed, double-checked dose order covers" in e.value.errors["dose_order_id"]
    _order(personas, personas.patient_a)
    with pytest.raises(InvalidValue) as e:  # 29 days after the order: beyond what it covers
        c.infusion(personas.patient_a, c.at(9, days=29))
    assert "dose order" in e.value.errors["dose_order_id"]
    with pytest.raises(BookingRefused) as e:
        c.infusion(personas.patient_a, c.at(19))
    assert "is not working" in e.value.errors["staff_id"]
    with pytest.raises(InvalidValue) as e:
        booking.book(db=db, actor=personas["frontdesk"], data=AppointmentCreate(
            patient_id=personas.patient_a, type_id="integration", starts_at=c.at(9), room_id=c.room.id,
            staff_id=c.nurse))
    assert "does not attend integration visit appointments" in e.value.errors["staff_id"]
    visit = booking.book(db=db, actor=personas["frontdesk"], data=AppointmentCreate(
        patient_id=personas.patient_a, type_id="integration", starts_at=c.at(9), room_id=c.room.id,
        staff_id=personas["therapist"].user_id))
    assert visit.room_name == "Therapy room" and not visit.dosing
    assert _count(db) == 1
    with pytest.raises(Forbidden):
        c.infusion(personas.patient_b, c.at(12), who="therapist")


def test_an_induction_series_is_booked_all_or_nothing_with_each_conflict_listed(db, personas):
    c = Clinic(personas)
    _order(personas, personas.patient_a)
    _order(personas, personas.patient_b)
    blocker = c.infusion(personas.patient_b, c.at(9, days=5))  # on the day of session 3, same chair and nurse
    request = SeriesCreate(patient_id=personas.patient_a, plan_template_id="iv-induction", first_day=c.day,
                           start_time=time(9, 0), chair_id=c.chairs[0].id, staff_id=c.nurse)
    with pytest.raises(BookingRefused) as e:
        booking.book_series(db=db, actor=personas["frontdesk"], data=request)
    assert {x.session_number for x in e.value.conflicts} == {3}
    assert f"session 3: Chair 1 is already booked: appointment #{blocker.id}" in e.value.errors["chair_id"]
    assert _count(db) == 1
    booking.cancel(db=db, actor=personas["frontdesk"], appointment_id=blocker.id,
                   data=StatusChange(version=blocker.version, reason="moved to another week"))
    series = booking.book_series(db=db, actor=personas["frontdesk"], data=request)
    local = [a.starts_at.astimezone(c.tz) for a in series.appointments]
    assert [(t.date() - c.day).days for t in local] == [0, 2, 5, 7, 9, 12]
    assert {t.strftime("%H:%M") for t in local} == {"09:00"}
    assert {a.chair_label for a in series.appointments} == {"Chair 1"}
    week = calendar.appointments_between(db=db, actor=personas["frontdesk"], start=c.at(0), end=c.at(0, days=14))
    assert [a.id for a in week] == [a.id for a in series.appointments]


def test_reschedule_no_show_and_start_the_session_from_the_appointment(db, personas, fake_clock):  # noqa: F811
    c = Clinic(personas)
    _order(personas, personas.patient_a)
    a = c.infusion(personas.patient_a, c.at(9))
    with pytest.raises(InvalidValue) as e:
        booking.no_show(db=db, actor=personas["frontdesk"], appointment_id=a.id,
                        data=StatusChange(version=a.version, reason="did not come"))
    assert e.value.field == "reason"
    moved = booking.reschedule(db=db, actor=personas["frontdesk"], appointment_id=a.id,
                               data=Reschedule(version=a.version, starts_at=c.at(11), chair_id=c.chairs[2].id))
    assert moved.chair_label == "Chair 3" and moved.starts_at == c.at(11) and moved.version == a.version + 1
    started = booking.start_session(db=db, actor=personas["nurse"], appointment_id=a.id)
    assert started.status == "started" and started.session_id is not None
    from ketacare.services.sessions import record

    sess = record.get_session(db=db, actor=personas["nurse"], session_id=started.session_id)
    assert sess.chair == "Chair 3" and sess.dose_order_id == a.dose_order_id
    with pytest.raises(InvalidValue):
        booking.start_session(db=db, actor=personas["nurse"], appointment_id=a.id)
    b = booking.book(db=db, actor=personas["frontdesk"], data=AppointmentCreate(
        patient_id=personas.patient_b, type_id="integration", starts_at=c.at(9), room_id=c.room.id,
        staff_id=personas["therapist"].user_id))
    fake_clock.t = c.at(10)
    gone = booking.no_show(db=db, actor=personas["frontdesk"], appointment_id=b.id,
                           data=StatusChange(version=b.version, reason="no answer by phone"))
    assert gone.status == "no_show" and gone.status_reason == "no answer by phone"


def test_private_feeds_parse_carry_no_clinical_words_and_stop_when_revoked(db, personas):
    c = Clinic(personas)
    _order(personas, personas.patient_a)
    c.infusion(personas.patient_a, c.at(9))
    staff_feed = feeds.create_feed(db=db, actor=personas["nurse"])
    patient_feed = feeds.create_feed(db=db, actor=personas["patient_a"], patient_id=personas.patient_a)
    with pytest.raises(NotFound):  # a patient makes only their own
        feeds.create_feed(db=db, actor=personas["patient_a"], patient_id=personas.patient_b)
    token = staff_feed.url_path.removeprefix("/calendar/").removesuffix(".ics")
    staff = icalendar.Calendar.from_ical(feeds.feed_ics(db=db, token=token, clinic_name="Harbourview"))
    titles = [str(e.get("summary")) for e in staff.walk("VEVENT")]
    assert titles == ["Chair 1 — appointment"]
    ptoken = patient_feed.url_path.removeprefix("/calendar/").removesuffix(".ics")
    mine = icalendar.Calendar.from_ical(feeds.feed_ics(db=db, token=ptoken, clinic_name="Harbourview"))
    [event] = mine.walk("VEVENT")
    assert str(event.get("summary")) == "Appointment at Harbourview"
    assert event.decoded("dtstart") == c.at(9)
    text = (feeds.feed_ics(db=db, token=token, clinic_name="x") + feeds.feed_ics(db=db, token=ptoken,
                                                                                 clinic_name="x")).decode().lower()
    for word in ("ketamine", "esketamine", "infusion", "mg", "anxiety", "anders", "dose"):
        assert word not in text
    feeds.revoke_feed(db=db, actor=personas["nurse"], feed_id=staff_feed.id)
    with pytest.raises(NotFound):
        feeds.feed_ics(db=db, token=token, clinic_name="x")
    with pytest.raises(NotFound):
        feeds.feed_ics(db=db, token="not-a-token", clinic_name="x")
    assert calendar.patient_appointments(db=db, actor=personas["patient_a"], patient_id=personas.patient_a,
                                         since=c.at(0))[0].patient_id == personas.patient_a
    with pytest.raises(NotFound):
        calendar.patient_appointments(db=db, actor=personas["patient_a"], patient_id=personas.patient_b,
                                      since=c.at(0))


def _plan(personas, sessions=4, every_days=3.0):
    """Patient A's own plan: the template's induction changed to `sessions` sessions `every_days` apart."""
    from ketacare.services.plans import plans
    from ketacare.services.plans.schemas import PlanChange, PlanCreate

    db, pr, pid = personas.db, personas["prescriber"], personas.patient_a
    plan = plans.create_plan(db=db, actor=pr, patient_id=pid, data=PlanCreate(
        template_id="iv-induction", indication="gad", password=PASSWORD))
    return plans.change_plan(db=db, actor=pr, patient_id=pid, plan_id=plan.id, data=PlanChange(
        version=plan.version, reason="Every third day suits the patient", password=PASSWORD,
        phases=[{"id": "induction", "sessions": sessions, "interval_days": every_days}]))


def _plan_series(c, personas, patient_id=None):
    return booking.book_series(db=c.p.db, actor=personas["frontdesk"], data=SeriesCreate(
        patient_id=patient_id or personas.patient_a, first_day=c.day, start_time=time(9, 0),
        chair_id=c.chairs[0].id, staff_id=c.nurse))


def test_the_patients_own_plan_is_booked_in_one_go_linked_to_the_plan_and_only_once(db, personas):
    c = Clinic(personas)
    _order(personas, personas.patient_a)
    plan = _plan(personas)
    series = _plan_series(c, personas)
    assert series.plan_id == plan.id and series.plan_template_id == "iv-induction"
    local = [a.starts_at.astimezone(c.tz) for a in series.appointments]
    assert [(t.date() - c.day).days for t in local] == [0, 3, 6, 9]  # the plan's version 2, not the template's
    assert {a.plan_id for a in series.appointments} == {plan.id}
    with pytest.raises(InvalidValue) as e:  # booking the plan twice
        _plan_series(c, personas)
    assert e.value.field == "plan_id" and "already booked" in e.value.message
    assert f"#{series.appointments[0].id}" in e.value.message
    with pytest.raises(InvalidValue) as e:  # patient B has no plan
        _plan_series(c, personas, personas.patient_b)
    assert e.value.field == "plan_id" and "no open treatment plan" in e.value.message
    assert _count(db) == 4


def test_moving_a_plan_session_refuses_to_squeeze_the_later_ones_or_shifts_them_all(db, personas):
    c = Clinic(personas)
    _order(personas, personas.patient_a)
    _plan(personas)
    first, second, third, fourth = _plan_series(c, personas).appointments
    with pytest.raises(BookingRefused) as e:  # session 2 two days later: 1 day before session 3
        booking.reschedule(db=db, actor=personas["frontdesk"], appointment_id=second.id,
                           data=Reschedule(version=second.version, starts_at=c.at(9, days=5)))
    assert "at least 44 h apart" in e.value.errors["starts_at"]
    advice = e.value.errors["shift_later"]
    assert f"#{third.id}" in advice and "move the later sessions" in advice
    moved = booking.reschedule(db=db, actor=personas["frontdesk"], appointment_id=second.id,
                               data=Reschedule(version=second.version, starts_at=c.at(10, days=5), shift_later=True))
    assert moved.starts_at == c.at(10, days=5)
    after = calendar.appointments_between(db=db, actor=personas["frontdesk"], start=c.at(0), end=c.at(0, days=14))
    assert [(a.id, a.starts_at) for a in after] == [(first.id, c.at(9)), (second.id, c.at(10, days=5)),
                                                    (third.id, c.at(10, days=8)), (fourth.id, c.at(10, days=11))]
