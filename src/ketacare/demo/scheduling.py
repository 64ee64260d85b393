"""Demo scheduling: the Harbourview site with six chairs and two rooms, working hours, two more nurses, and a week of
appointments in the clinic's local time: the sessions already on the board (linked), induction series from the
signed demo orders, consultations, integration visits and follow-up calls, one cancellation and one no-show; and
coming visits for the three portal patients (patient1-3), the third of whom asks to move one."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING

from sqlalchemy import select

from ketacare.domain.errors import InvalidValue
from ketacare.services import clinic, dosing
from ketacare.services.access import Actor, UserCreate, users
from ketacare.services.scheduling import booking, requests, setup
from ketacare.services.scheduling.schemas import (
    AppointmentCreate,
    ChairCreate,
    RequestCreate,
    RoomCreate,
    SeriesCreate,
    ShiftCreate,
    SiteCreate,
    StatusChange,
)
from ketacare.store.tables.scheduling import Appointment
from ketacare.store.tables.sessions import InfusionSession

if TYPE_CHECKING:
    from ketacare.demo.patients import DemoContext

ORDER = 60  # after the demo sessions (50): their chairs and times become appointments
CHAIRS = 6
EXTRA_NURSES = (("nurse2", "Kai Moreno"), ("nurse3", "Lena Park"))
WEEKDAY_HOURS = (7 * 60, 20 * 60)
SATURDAY_HOURS = (8 * 60, 14 * 60)


def _nurses(ctx: DemoContext) -> list[int]:
    from ketacare.demo.patients import DEMO_PASSWORD

    ids = [ctx.staff["nurse"]]
    for username, name in EXTRA_NURSES:
        u = users.create_user(
            db=ctx.db,
            actor=ctx.actor,
            data=UserCreate(username=username, display_name=name, role="nurse", password=DEMO_PASSWORD),
        )
        ctx.staff[username] = u.id
        ids.append(u.id)
    return ids


def _link_board_sessions(ctx: DemoContext, chair_ids: dict[str, int], site_id: int, nurse: int) -> None:
    """The demo sessions of this week were booked before the calendar: record them as started appointments."""
    since = datetime.now(UTC) - timedelta(days=7)
    with ctx.db.session() as s:
        for sess in s.scalars(select(InfusionSession).where(InfusionSession.scheduled_at >= since)):
            if sess.chair not in chair_ids:
                continue
            now = datetime.now(UTC)
            s.add(
                Appointment(
                    site_id=site_id,
                    patient_id=sess.patient_id,
                    type_id="infusion",
                    dosing=True,
                    starts_at=sess.scheduled_at,
                    ends_at=sess.scheduled_at + timedelta(minutes=150),
                    chair_id=chair_ids[sess.chair],
                    staff_user_id=nurse,
                    dose_order_id=sess.dose_order_id,
                    protocol_id="iv-standard" if sess.product == "racemic_ketamine" else None,
                    status="started",
                    session_id=sess.id,
                    created_by=None,
                    created_at=now,
                    updated_at=now,
                )
            )


def _place(ctx: DemoContext) -> tuple[int, list[int], int, int, list[int]]:
    """Add the site, chairs, rooms, the extra nurses and everyone's working hours (local wall clock)."""
    site = setup.add_site(db=ctx.db, actor=ctx.actor,
                          data=SiteCreate(name="Harbourview", address="1 Harbour Street (fictional)"))
    chairs = [setup.add_chair(db=ctx.db, actor=ctx.actor,
                              data=ChairCreate(site_id=site.id, label=f"Chair {i}", position=i)).id
              for i in range(1, CHAIRS + 1)]
    room = setup.add_room(db=ctx.db, actor=ctx.actor, data=RoomCreate(site_id=site.id, name="Consulting room"))
    therapy = setup.add_room(db=ctx.db, actor=ctx.actor, data=RoomCreate(site_id=site.id, name="Therapy room"))
    nurses = _nurses(ctx)
    for uid in [*nurses, ctx.staff["prescriber"], ctx.staff["therapist"]]:
        blocks = [(wd, WEEKDAY_HOURS) for wd in range(5)] + ([(5, SATURDAY_HOURS)] if uid in nurses else [])
        for wd, (start, end) in blocks:
            setup.add_shift(db=ctx.db, actor=ctx.actor, data=ShiftCreate(
                user_id=uid, site_id=site.id, weekday=wd, start_minute=start, end_minute=end))
    _link_board_sessions(ctx, {f"Chair {i}": c for i, c in enumerate(chairs, 1)}, site.id, nurses[0])
    return site.id, chairs, room.id, therapy.id, nurses


def _series(ctx: DemoContext, desk: Actor, ordered: list[tuple[int, dosing.DoseOrderRead]], chairs: list[int],
            nurses: list[int], today: date, tz: tzinfo) -> None:
    """Induction series (iv-induction: 3 a week) from each order's first day on chairs 4-6, three start times."""
    for k, (pid, order) in enumerate(ordered):
        first = max(order.planned_start.astimezone(tz).date(), today + timedelta(days=1))
        for shift in range(7):  # the first start day whose whole series fits (the clinic is closed on Sundays)
            try:
                booking.book_series(db=ctx.db, actor=desk, data=SeriesCreate(
                    patient_id=pid, plan_template_id="iv-induction", first_day=first + timedelta(days=shift),
                    start_time=time(8 + 3 * (k // 3), 30), chair_id=chairs[3 + k % 3], staff_id=nurses[k % 3],
                    dose_order_id=order.id))
                break
            except InvalidValue:
                continue


def _visits(ctx: DemoContext, desk: Actor, others: list[int], room: int, therapy: int, monday: date,
            tz: tzinfo) -> list[int]:
    """Consultations, screenings, integration visits and follow-up calls on each weekday of the week."""
    prescriber, therapist = ctx.staff["prescriber"], ctx.staff["therapist"]
    plan = ((9, "consultation", prescriber, room), (10, "integration", therapist, therapy),
            (13, "integration", therapist, therapy), (14, "screening", prescriber, room),
            (16, "follow-up-call", prescriber, None))
    booked: list[int] = []
    for n, (day, (hour, type_id, staff, room_id)) in enumerate(
        (monday + timedelta(days=i), p) for i in range(5) for p in plan
    ):
        if not others:
            break
        start = datetime.combine(day, time(hour), tzinfo=tz).astimezone(UTC)
        try:
            booked.append(booking.book(db=ctx.db, actor=desk, data=AppointmentCreate(
                patient_id=others[n % len(others)], type_id=type_id, starts_at=start, room_id=room_id,
                staff_id=staff)).id)
        except InvalidValue:
            continue
    return booked


def _outcomes(ctx: DemoContext, desk: Actor, booked: list[int]) -> None:
    """One no-show among the past visits and one cancellation among the coming ones."""
    with ctx.db.session() as s:
        rows = {a.id: (a.version, a.starts_at) for a in
                s.scalars(select(Appointment).where(Appointment.id.in_(booked)))}
    now = datetime.now(UTC)
    gone = [i for i in booked if rows[i][1] < now]
    ahead = [i for i in booked if rows[i][1] >= now]
    if gone:
        booking.no_show(db=ctx.db, actor=desk, appointment_id=gone[0],
                        data=StatusChange(version=rows[gone[0]][0], reason="Did not come; no answer by phone"))
    if ahead:
        booking.cancel(db=ctx.db, actor=desk, appointment_id=ahead[-1],
                       data=StatusChange(version=rows[ahead[-1]][0], reason="Patient asked to move it: unwell"))


def _weekday_after(day: date, days: int) -> date:
    d = day + timedelta(days=days)
    while d.weekday() >= 5:  # the clinic's rooms and prescriber work Monday to Friday
        d += timedelta(days=1)
    return d


def _portal(ctx: DemoContext, desk: Actor, chairs: list[int], nurses: list[int], room: int, therapy: int,
            today: date, tz: tzinfo) -> None:
    """Coming visits for the portal patients (the first three): an infusion when an order covers it, an integration
    visit, a consultation and a follow-up call; the third asks to move the integration visit."""
    prescriber, therapist = ctx.staff["prescriber"], ctx.staff["therapist"]
    for k, pid in enumerate(ctx.patient_ids[:3]):
        wanted = (
            (_weekday_after(today, 8 + k), 11, "infusion", chairs[k], None, nurses[k]),
            (_weekday_after(today, 2 + k), 11, "integration", None, therapy, therapist),
            (_weekday_after(today, 10 + k), 12, "consultation", None, room, prescriber),
            (_weekday_after(today, 4 + k), 15, "follow-up-call", None, None, prescriber),
        )
        booked: dict[str, int] = {}
        for day, hour, type_id, chair, room_id, staff in wanted:
            start = datetime.combine(day, time(hour), tzinfo=tz).astimezone(UTC)
            try:
                booked[type_id] = booking.book(db=ctx.db, actor=desk, data=AppointmentCreate(
                    patient_id=pid, type_id=type_id, starts_at=start, chair_id=chair, room_id=room_id,
                    staff_id=staff)).id
            except InvalidValue:
                continue
        if k == 2 and "integration" in booked:
            patient = Actor(None, "patient3", "patient", patient_id=pid)
            requests.request_change(db=ctx.db, actor=patient, appointment_id=booked["integration"],
                                    data=RequestCreate(kind="move", reason="I start a new job that week",
                                                       preferred_days=["thursday", "friday"],
                                                       preferred_times=["afternoon"]))


def extend(ctx: DemoContext) -> None:
    """Set up the site and book the current week (local time), skipping any booking the rules refuse."""
    tz = clinic.zone(ctx.db)
    _, chairs, room, therapy, nurses = _place(ctx)
    today = datetime.now(UTC).astimezone(tz).date()
    desk = Actor(ctx.staff["frontdesk"], "frontdesk", "frontdesk")
    with ctx.db.session() as s:
        ordered = [(pid, o) for pid in ctx.patient_ids if (o := dosing.usable_order(s, pid)) is not None][:9]
    _series(ctx, desk, ordered, chairs, nurses, today, tz)
    others = [p for p in ctx.patient_ids if p not in {pid for pid, _ in ordered}]
    booked = _visits(ctx, desk, others, room, therapy, today - timedelta(days=today.weekday()), tz)
    _outcomes(ctx, desk, booked)
    _portal(ctx, desk, chairs, nurses, room, therapy, today, tz)
