"""Private iCalendar feeds (RFC 5545, `icalendar`): one per clinician or patient, reached by a secret token in the
address, revocable. Event titles carry no clinical detail: a patient reads "Appointment at <site>", a clinician
"<chair or room> — appointment"; no drug, dose, diagnosis or patient name."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from icalendar import Calendar, Event
from sqlalchemy import select

from ketacare.domain.errors import InvalidValue
from ketacare.services import clock
from ketacare.services.access import Actor, may, patient_role
from ketacare.services.errors import NotFound
from ketacare.services.scheduling.schemas import FeedCreated, FeedRead
from ketacare.services.uow import UnitOfWork
from ketacare.store.db import Database
from ketacare.store.tables import Patient, User
from ketacare.store.tables.scheduling import Appointment, CalendarFeed, Chair, Room, Site

PAST = timedelta(days=31)
AHEAD = timedelta(days=366)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def feed_path(token: str) -> str:
    """Return the feed's address path for `token`."""
    return f"/calendar/{token}.ics"


def create_feed(*, db: Database, actor: Actor, patient_id: int | None = None) -> FeedCreated:
    """Create a private feed of the actor's own appointments (staff), or of a patient's; older feeds of the same
    owner are revoked (one live link each). The token is shown once; only its digest is stored."""
    token = secrets.token_urlsafe(32)
    with UnitOfWork(db, actor) as uow:
        s = uow.session
        if patient_id is None:
            uow.authorize("manage_own", "calendar_feed")
            owner = {"user_id": actor.user_id}
            label = actor.username
        else:
            uow.authorize("manage", "calendar_feed", patient_id=patient_id)
            if s.get(Patient, patient_id) is None:
                raise NotFound("patient")
            owner = {"patient_id": patient_id}
            label = f"patient #{patient_id}"
        now = clock.now()
        q = select(CalendarFeed).where(CalendarFeed.revoked_at.is_(None))
        q = (
            q.where(CalendarFeed.patient_id == patient_id)
            if patient_id
            else q.where(CalendarFeed.user_id == actor.user_id)
        )
        for old in s.scalars(q):
            old.revoked_at = now
        row = CalendarFeed(token_sha256=_digest(token), created_by=actor.user_id, created_at=now, **owner)
        s.add(row)
        s.flush()
        uow.audit("create", "calendar_feed", row.id, patient_id=patient_id)
        return FeedCreated(id=row.id, url_path=feed_path(token), owner=label)


def list_feeds(*, db: Database, actor: Actor, patient_id: int | None = None) -> list[FeedRead]:
    """Return the actor's own feeds (or a patient's), newest first."""
    with UnitOfWork(db, actor) as uow:
        if patient_id is None:
            uow.authorize("manage_own", "calendar_feed")
            q = select(CalendarFeed).where(CalendarFeed.user_id == actor.user_id)
        else:
            uow.authorize("manage", "calendar_feed", patient_id=patient_id)
            q = select(CalendarFeed).where(CalendarFeed.patient_id == patient_id)
        rows = uow.session.scalars(q.order_by(CalendarFeed.id.desc()))
        return [
            FeedRead(
                id=r.id,
                user_id=r.user_id,
                patient_id=r.patient_id,
                created_at=r.created_at,
                revoked_at=r.revoked_at,
            )
            for r in rows
        ]


def revoke_feed(*, db: Database, actor: Actor, feed_id: int) -> FeedRead:
    """Revoke a feed: its address answers nothing from now on."""
    with UnitOfWork(db, actor) as uow:
        row = uow.session.get(CalendarFeed, feed_id)
        if row is None:
            uow.authorize("manage_own", "calendar_feed")
            raise NotFound("calendar feed")
        if row.patient_id is not None:
            uow.authorize("manage", "calendar_feed", patient_id=row.patient_id)
        elif may(
            actor, "manage", "calendar_feed"
        ):  # the front desk or the command line revokes a leaked link
            uow.authorize("manage", "calendar_feed")
        else:
            uow.authorize("manage_own", "calendar_feed")
            if row.user_id != actor.user_id:
                raise InvalidValue("feed_id", "this feed is not yours: the front desk revokes other people's feeds")
        if row.revoked_at is None:
            row.revoked_at = clock.now()
        uow.audit("revoke", "calendar_feed", row.id, patient_id=row.patient_id)
        return FeedRead(
            id=row.id,
            user_id=row.user_id,
            patient_id=row.patient_id,
            created_at=row.created_at,
            revoked_at=row.revoked_at,
        )


def _owner(db: Database, token: str) -> tuple[CalendarFeed, Actor]:
    with db.sessions() as s:
        row = s.scalars(select(CalendarFeed).where(CalendarFeed.token_sha256 == _digest(token))).first()
        if row is None or row.revoked_at is not None:
            raise NotFound("calendar feed")
        if row.patient_id is not None:
            return row, Actor(
                user_id=None,
                username=f"calendar-feed-{row.id}",
                role=patient_role(),
                patient_id=row.patient_id,
            )
        user = s.get(User, row.user_id) if row.user_id is not None else None
        if user is None or not user.is_active:
            raise NotFound("calendar feed")
        return row, Actor(user_id=user.id, username=user.username, role=user.role)


def feed_ics(*, db: Database, token: str, clinic_name: str) -> bytes:
    """Return the iCalendar text of the feed `token` (a revoked or unknown token: not found). Read as the feed's
    owner, authorized and audited like any read of their appointments."""
    feed, actor = _owner(db, token)
    now = clock.now()
    with UnitOfWork(db, actor) as uow:
        s = uow.session
        q = select(Appointment).where(
            Appointment.starts_at >= now - PAST, Appointment.starts_at < now + AHEAD
        )
        if feed.patient_id is not None:
            uow.authorize("read", "appointments", patient_id=feed.patient_id)
            q = q.where(Appointment.patient_id == feed.patient_id)
        else:
            uow.authorize("read", "appointments")
            q = q.where(Appointment.staff_user_id == feed.user_id)
        rows = list(s.scalars(q.order_by(Appointment.starts_at)))
        sites = {x.id: x.name for x in s.scalars(select(Site))}
        chairs = {c.id: c.label for c in s.scalars(select(Chair))}
        rooms = {r.id: r.name for r in s.scalars(select(Room))}
        cal = Calendar()
        cal.add("prodid", "-//Ketacare//scheduling//EN")
        cal.add("version", "2.0")
        cal.add("x-wr-calname", clinic_name)
        for a in rows:
            ev = Event()
            site = sites.get(a.site_id, clinic_name)
            place = chairs.get(a.chair_id or 0) or rooms.get(a.room_id or 0)
            if feed.patient_id is not None:
                ev.add("summary", f"Appointment at {site}")
            else:
                ev.add("summary", f"{place} — appointment" if place else "Appointment")
            ev.add("uid", f"appointment-{a.id}@ketacare")
            ev.add("dtstamp", a.updated_at)
            ev.add("dtstart", a.starts_at)
            ev.add("dtend", a.ends_at)
            ev.add("location", site)
            ev.add("sequence", a.version)
            ev.add("status", "CANCELLED" if a.status in ("cancelled", "no_show") else "CONFIRMED")
            cal.add_component(ev)
        uow.audit(
            "export", "calendar_feed", feed.id, patient_id=feed.patient_id, details={"events": len(rows)}
        )
        return bytes(cal.to_ical())
