"""Scheduling (issue 17): sites, rooms, treatment chairs, staff working hours, appointments and private calendar
feeds. Appointment times are aware UTC; working hours are wall-clock minutes in the clinic's zone (a shift starts at
08:00 local in winter and in summer)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, true
from sqlalchemy.orm import Mapped, mapped_column

from ketacare.store.tables.base import DATE_PHI, FREE_TEXT, Base, UTCDateTime


class Site(Base):
    """A place where the clinic sees patients."""

    __tablename__ = "sites"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    address: Mapped[str] = mapped_column(String(300), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())


class Room(Base):
    """A consulting or therapy room at a site."""

    __tablename__ = "rooms"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())

    __table_args__ = (UniqueConstraint("site_id", "name"),)


class Chair(Base):
    """A treatment chair at a site. `label` is the name sessions and the live board show ("Chair 3")."""

    __tablename__ = "chairs"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    label: Mapped[str] = mapped_column(String(40), unique=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())


class WorkingHours(Base):
    """One block of a staff member's working week at a site: weekday 0 = Monday, minutes from local midnight."""

    __tablename__ = "working_hours"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    weekday: Mapped[int] = mapped_column(Integer)
    start_minute: Mapped[int] = mapped_column(Integer)
    end_minute: Mapped[int] = mapped_column(Integer)


class Appointment(Base):
    """A booked appointment: type, time, place (chair or room), who attends, and what became of it."""

    __tablename__ = "appointments"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    type_id: Mapped[str] = mapped_column(String(32))
    dosing: Mapped[bool] = mapped_column(Boolean)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime(), info=DATE_PHI)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime(), info=DATE_PHI)
    chair_id: Mapped[int | None] = mapped_column(ForeignKey("chairs.id"))
    room_id: Mapped[int | None] = mapped_column(ForeignKey("rooms.id"))
    staff_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    dose_order_id: Mapped[int | None] = mapped_column(ForeignKey("dose_orders.id"))
    protocol_id: Mapped[str | None] = mapped_column(String(64))
    plan_template_id: Mapped[str | None] = mapped_column(String(64))
    # the patient's individual plan a series was booked from (its induction phase)
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("treatment_plans.id"))
    series_id: Mapped[str | None] = mapped_column(String(36), index=True)
    # booked | cancelled | no_show | started (an infusion session was booked from it: session_id)
    status: Mapped[str] = mapped_column(String(16))
    status_reason: Mapped[str | None] = mapped_column(Text, info=FREE_TEXT)
    session_id: Mapped[int | None] = mapped_column(ForeignKey("infusion_sessions.id"))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        # conflict checks read the live bookings of one chair / person / patient around a time
        Index("ix_appointments_chair_time", "chair_id", "starts_at"),
        Index("ix_appointments_staff_time", "staff_user_id", "starts_at"),
        Index("ix_appointments_patient_time", "patient_id", "starts_at"),
        Index("ix_appointments_room_time", "room_id", "starts_at"),
        Index("ix_appointments_starts_at", "starts_at"),
        Index("ix_appointments_plan_time", "plan_id", "starts_at"),
    )


class CalendarFeed(Base):
    """A private iCalendar feed of one clinician's or one patient's appointments; only a digest of its token is
    kept, and a revoked feed answers nothing."""

    __tablename__ = "calendar_feeds"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"), index=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AppointmentRequest(Base):
    """A patient's request to move or cancel one of their appointments, from the portal, and how the front desk
    answered it: pending, then accepted (the appointment was moved or cancelled) or declined (with the reason the
    patient reads)."""

    __tablename__ = "appointment_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointments.id"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # move | cancel
    reason: Mapped[str] = mapped_column(Text, info=FREE_TEXT)
    preferred_days: Mapped[list[str]] = mapped_column(JSON, default=list)
    preferred_times: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), index=True)  # pending | accepted | declined | withdrawn
    answer: Mapped[str | None] = mapped_column(Text, info=FREE_TEXT)
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime())
    handled_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}
