"""Demo scheduling: the Harbourview site with six chairs and two rooms, working hours, two more nurses, and a week of
appointments in the clinic's local time: the sessions already on the board (linked), induction series from the
signed demo orders, consultations, integration visits and follow-up calls, one cancellation and one no-show."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select

from ketacare.domain.errors import InvalidValue
from ketacare.services import clinic, dosing
from ketacare.services.access import Actor, UserCreate, users
from ketacare.services.scheduling import booking, setup
from ketacare.services.scheduling.schemas import (
    AppointmentCreate,
    ChairCreate,
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
WEEKDAY_HOURS = (8 * 60, 18 * 60)
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


def extend(ctx: DemoContext) -> None:
    """Set up the site and book the current week (local time), skipping any booking the rules refuse."""
    tz = clinic.zone(ctx.db)
    site = setup.add_site(
        db=ctx.db,
        actor=ctx.actor,
        data=SiteCreate(name="Harbourview", address="1 Harbour Street (fictional)"),
    )
    chairs = [
        setup.add_chair(
            db=ctx.db, actor=ctx.actor, data=ChairCreate(site_id=site.id, label=f"Chair {i}", position=i)
        )
        for i in range(1, CHAIRS + 1)
    ]
    room = setup.add_room(
        db=ctx.db, actor=ctx.actor, data=RoomCreate(site_id=site.id, name="Consulting room")
    )
    therapy = setup.add_room(
        db=ctx.db, actor=ctx.actor, data=RoomCreate(site_id=site.id, name="Therapy room")
    )
    nurses = _nurses(ctx)
    prescriber, therapist = ctx.staff["prescriber"], ctx.staff["therapist"]
    for uid in [*nurses, prescriber, therapist]:
        for wd in range(5):
            setup.add_shift(
                db=ctx.db,
                actor=ctx.actor,
                data=ShiftCreate(
                    user_id=uid,
                    site_id=site.id,
                    weekday=wd,
                    start_minute=WEEKDAY_HOURS[0],
                    end_minute=WEEKDAY_HOURS[1],
                ),
            )
        if uid in nurses:
            setup.add_shift(
                db=ctx.db,
                actor=ctx.actor,
                data=ShiftCreate(
                    user_id=uid,
                    site_id=site.id,
                    weekday=5,
                    start_minute=SATURDAY_HOURS[0],
                    end_minute=SATURDAY_HOURS[1],
                ),
            )
    _link_board_sessions(ctx, {c.label: c.id for c in chairs}, site.id, nurses[0])

    today = datetime.now(UTC).astimezone(tz).date()
    monday = today - timedelta(days=today.weekday())
    desk = Actor(ctx.staff["frontdesk"], "frontdesk", "frontdesk")
    with ctx.db.session() as s:
        ordered = [(pid, o) for pid in ctx.patient_ids if (o := dosing.usable_order(s, pid)) is not None]
    # Induction series (iv-induction: 3 a week) from each order's first day, on chairs 4-6, three start times.
    for k, (pid, order) in enumerate(ordered[:9]):
        first = max(order.planned_start.astimezone(tz).date(), today + timedelta(days=1))
        try:
            booking.book_series(
                db=ctx.db,
                actor=desk,
                data=SeriesCreate(
                    patient_id=pid,
                    plan_template_id="iv-induction",
                    first_day=first,
                    start_time=time(8 + 3 * (k // 3), 30),
                    chair_id=chairs[3 + k % 3].id,
                    staff_id=nurses[k % 3],
                    dose_order_id=order.id,
                ),
            )
        except InvalidValue:
            continue  # e.g. a Sunday in the series or a patient already dosed today: the front desk would move it
    # Visits across the whole week: consultations, integration visits, follow-up calls.
    others = [p for p in ctx.patient_ids if p not in {pid for pid, _ in ordered[:9]}]
    booked: list[int] = []
    n = 0
    for day in (monday + timedelta(days=i) for i in range(5)):
        for hour, type_id, staff, room_id in (
            (9, "consultation", prescriber, room.id),
            (10, "integration", therapist, therapy.id),
            (13, "integration", therapist, therapy.id),
            (14, "screening", prescriber, room.id),
            (16, "follow-up-call", prescriber, None),
        ):
            if not others:
                return
            pid = others[n % len(others)]
            n += 1
            start = datetime.combine(day, time(hour), tzinfo=tz).astimezone(UTC)
            try:
                a = booking.book(
                    db=ctx.db,
                    actor=desk,
                    data=AppointmentCreate(
                        patient_id=pid, type_id=type_id, starts_at=start, room_id=room_id, staff_id=staff
                    ),
                )
                booked.append(a.id)
            except InvalidValue:
                continue
    past = [a for a in booked[:10]]
    if len(past) >= 2:
        with ctx.db.session() as s:
            rows = {
                a.id: (a.version, a.starts_at)
                for a in s.scalars(select(Appointment).where(Appointment.id.in_(past)))
            }
        now = datetime.now(UTC)
        gone = [i for i in past if rows[i][1] < now]
        ahead = [i for i in past if rows[i][1] >= now]
        if gone:
            booking.no_show(
                db=ctx.db,
                actor=desk,
                appointment_id=gone[0],
                data=StatusChange(version=rows[gone[0]][0], reason="Did not come; no answer by phone"),
            )
        if ahead:
            booking.cancel(
                db=ctx.db,
                actor=desk,
                appointment_id=ahead[-1],
                data=StatusChange(version=rows[ahead[-1]][0], reason="Patient asked to move it: unwell"),
            )
