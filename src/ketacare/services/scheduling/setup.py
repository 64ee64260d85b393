"""The clinic's bookable resources: sites, chairs, rooms, and the working hours of the people who attend."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ketacare.domain import scheduling as core
from ketacare.domain.errors import InvalidValue
from ketacare.services.access import Actor, may, roles_for
from ketacare.services.scheduling.schemas import (
    AppointmentTypeRead,
    ChairCreate,
    ChairRead,
    ResourcesRead,
    RoomCreate,
    RoomRead,
    ShiftCreate,
    ShiftRead,
    SiteCreate,
    SiteRead,
    StaffRead,
)
from ketacare.services.uow import UnitOfWork
from ketacare.store.db import Database
from ketacare.store.tables import User
from ketacare.store.tables.scheduling import Chair, Room, Site, WorkingHours


def attending_roles() -> dict[str, tuple[str, ...]]:
    """Return, per appointment type, the roles the policy lets attend it."""
    return {t: roles_for(t, "appointment_attendance") for t in core.appointment_types()}


def resources(*, db: Database, actor: Actor) -> ResourcesRead:
    """Return the sites, chairs, rooms, attending staff with their working hours, and the appointment types."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("read", "clinic_resources")
        s = uow.session
        by_type = attending_roles()
        roles = {r for rs in by_type.values() for r in rs}
        staff = [
            StaffRead(
                id=u.id,
                name=u.display_name,
                role=u.role,
                attends=[t for t, rs in by_type.items() if u.role in rs],
            )
            for u in s.scalars(
                select(User).where(User.is_active.is_(True), User.role.in_(roles)).order_by(User.display_name)
            )
        ]
        return ResourcesRead(
            sites=[
                SiteRead(id=x.id, name=x.name, address=x.address)
                for x in s.scalars(select(Site).where(Site.active.is_(True)).order_by(Site.id))
            ],
            chairs=[
                ChairRead(id=c.id, site_id=c.site_id, label=c.label, position=c.position)
                for c in s.scalars(
                    select(Chair)
                    .where(Chair.active.is_(True))
                    .order_by(Chair.site_id, Chair.position, Chair.label)
                )
            ],
            rooms=[
                RoomRead(id=r.id, site_id=r.site_id, name=r.name)
                for r in s.scalars(
                    select(Room).where(Room.active.is_(True)).order_by(Room.site_id, Room.name)
                )
            ],
            staff=staff,
            shifts=[
                ShiftRead(
                    user_id=h.user_id,
                    site_id=h.site_id,
                    weekday=h.weekday,
                    start_minute=h.start_minute,
                    end_minute=h.end_minute,
                )
                for h in s.scalars(
                    select(WorkingHours).order_by(
                        WorkingHours.user_id, WorkingHours.weekday, WorkingHours.start_minute
                    )
                )
            ],
            types=[
                AppointmentTypeRead(
                    id=t.id,
                    name=t.name,
                    duration_min=t.duration_min,
                    resources=list(t.resources),
                    staff_label=t.staff_label,
                    dosing=t.dosing,
                    source=t.source,
                )
                for t in core.appointment_types().values()
            ],
        )


def _add(uow: UnitOfWork, row: object, field: str, what: str) -> None:
    try:
        with uow.session.begin_nested():
            uow.session.add(row)
            uow.session.flush()
    except IntegrityError:
        raise InvalidValue(field, f"{what} already exists") from None


def add_site(*, db: Database, actor: Actor, data: SiteCreate) -> SiteRead:
    """Add a site."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("manage", "clinic_resources")
        row = Site(name=data.name, address=data.address, active=True)
        _add(uow, row, "name", f"a site named {data.name!r}")
        uow.audit("create", "site", row.id, details={"name": row.name})
        return SiteRead(id=row.id, name=row.name, address=row.address)


def add_chair(*, db: Database, actor: Actor, data: ChairCreate) -> ChairRead:
    """Add a treatment chair to a site (its label is what sessions and the live board show)."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("manage", "clinic_resources")
        if uow.session.get(Site, data.site_id) is None:
            raise InvalidValue("site_id", f"site #{data.site_id} does not exist")
        row = Chair(site_id=data.site_id, label=data.label, position=data.position, active=True)
        _add(uow, row, "label", f"a chair labelled {data.label!r}")
        uow.audit("create", "chair", row.id, details={"label": row.label})
        return ChairRead(id=row.id, site_id=row.site_id, label=row.label, position=row.position)


def add_room(*, db: Database, actor: Actor, data: RoomCreate) -> RoomRead:
    """Add a room to a site."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("manage", "clinic_resources")
        if uow.session.get(Site, data.site_id) is None:
            raise InvalidValue("site_id", f"site #{data.site_id} does not exist")
        row = Room(site_id=data.site_id, name=data.name, active=True)
        _add(uow, row, "name", f"a room named {data.name!r} at this site")
        uow.audit("create", "room", row.id, details={"name": row.name})
        return RoomRead(id=row.id, site_id=row.site_id, name=row.name)


def add_shift(*, db: Database, actor: Actor, data: ShiftCreate) -> ShiftRead:
    """Add a block of working hours (local wall-clock minutes) for a person who attends appointments."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("manage", "clinic_resources")
        s = uow.session
        u = s.get(User, data.user_id)
        if u is None or not any(
            may(Actor(user_id=u.id, username=u.username, role=u.role), t, "appointment_attendance")
            for t in core.appointment_types()
        ):
            raise InvalidValue("user_id", "choose a person who attends appointments")
        if s.get(Site, data.site_id) is None:
            raise InvalidValue("site_id", f"site #{data.site_id} does not exist")
        if data.end_minute <= data.start_minute:
            raise InvalidValue("end_minute", "the working block must end after it starts")
        row = WorkingHours(
            user_id=data.user_id,
            site_id=data.site_id,
            weekday=data.weekday,
            start_minute=data.start_minute,
            end_minute=data.end_minute,
        )
        s.add(row)
        s.flush()
        uow.audit("create", "working_hours", row.id, details=data.model_dump())
        return ShiftRead.model_validate(data.model_dump())
