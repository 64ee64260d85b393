"""Booking conflicts: what refuses a proposed appointment, each named with the field it concerns and the booking it
collides with. Times are aware datetimes (UTC in, the clinic's zone `tz` for working hours and messages)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from ketacare.domain import formatting as fmt
from ketacare.domain.sources import plain

WEEK = timedelta(hours=168)


@dataclass(frozen=True)
class Slot:
    """A booked or proposed appointment: when, where, who attends, for which patient, and whether it doses."""

    start: datetime
    end: datetime
    patient_id: int
    dosing: bool
    chair_id: int | None = None
    room_id: int | None = None
    staff_id: int | None = None
    ref: int | None = None  # the stored appointment's id (None: proposed)

    def overlaps(self, other: Slot) -> bool:
        """Return True when the two half-open intervals [start, end) share any time."""
        return self.start < other.end and other.start < self.end


@dataclass(frozen=True)
class Shift:
    """A block of a person's working week in clinic local time: weekday 0 = Monday, minutes from midnight."""

    staff_id: int
    weekday: int
    start_minute: int
    end_minute: int


@dataclass(frozen=True)
class DosingLimits:
    """The protocol's spacing of dosing sessions: minimum hours between starts and most sessions in any 7 days."""

    protocol_name: str
    min_interval_h: float | None
    min_interval_source: str
    max_per_7_days: int | None
    max_per_7_days_source: str


@dataclass(frozen=True)
class Conflict:
    """Why a booking is refused: `kind`, the form `field` it belongs beside, the message, the colliding booking."""

    kind: str
    field: str
    message: str
    with_ref: int | None = None


def _when(slot: Slot, tz: tzinfo) -> str:
    ref = f"appointment #{slot.ref} " if slot.ref is not None else "another appointment "
    start = fmt.date_time(slot.start, tz)
    return f"{ref}({start}-{fmt.clock_time(slot.end, tz, seconds=False, label=False)})"


def within_shifts(slot: Slot, shifts: Sequence[Shift], tz: tzinfo) -> bool:
    """Return True when the slot lies inside one working block of its staff member on its local day."""
    start, end = slot.start.astimezone(tz), slot.end.astimezone(tz)
    if end.date() != start.date() and not (
        end - start <= timedelta(days=1) and end.time().hour == 0 == end.minute
    ):
        return False
    s_min = start.hour * 60 + start.minute
    e_min = s_min + int((slot.end - slot.start).total_seconds() // 60)
    return any(
        sh.staff_id == slot.staff_id
        and sh.weekday == start.weekday()
        and sh.start_minute <= s_min
        and e_min <= sh.end_minute
        for sh in shifts
    )


def resource_conflicts(
    proposed: Slot,
    existing: Sequence[Slot],
    tz: tzinfo,
    *,
    chair_name: str = "the chair",
    room_name: str = "the room",
    staff_name: str = "the clinician",
) -> list[Conflict]:
    """Return the double bookings: the chair, room, attending person or patient already taken at that time."""
    out: list[Conflict] = []
    for other in existing:
        if other.ref is not None and other.ref == proposed.ref or not proposed.overlaps(other):
            continue
        if proposed.chair_id is not None and other.chair_id == proposed.chair_id:
            out.append(
                Conflict(
                    "chair_taken",
                    "chair_id",
                    f"{chair_name} is already booked: {_when(other, tz)}",
                    other.ref,
                )
            )
        if proposed.room_id is not None and other.room_id == proposed.room_id:
            out.append(
                Conflict(
                    "room_taken", "room_id", f"{room_name} is already booked: {_when(other, tz)}", other.ref
                )
            )
        if proposed.staff_id is not None and other.staff_id == proposed.staff_id:
            out.append(
                Conflict(
                    "staff_taken",
                    "staff_id",
                    f"{staff_name} is already booked: {_when(other, tz)}",
                    other.ref,
                )
            )
        if other.patient_id == proposed.patient_id:
            out.append(
                Conflict(
                    "patient_taken", "starts_at", f"the patient already has {_when(other, tz)}", other.ref
                )
            )
    return out


def dosing_conflicts(
    proposed: Slot, existing: Sequence[Slot], limits: DosingLimits, tz: tzinfo
) -> list[Conflict]:
    """Return the spacing refusals of a dosing appointment: another dosing session of the patient closer than the
    protocol's minimum interval (h, start to start), or more than its maximum in any 7-day (168 h) window."""
    if not proposed.dosing:
        return []
    mine = [
        o
        for o in existing
        if o.dosing
        and o.patient_id == proposed.patient_id
        and o is not proposed
        and (proposed.ref is None or o.ref != proposed.ref)
    ]
    out: list[Conflict] = []
    if limits.min_interval_h is not None:
        gap = timedelta(hours=limits.min_interval_h)
        for other in mine:
            apart = abs(other.start - proposed.start)
            if apart < gap:
                hours = apart.total_seconds() / 3600
                out.append(
                    Conflict(
                        "interval",
                        "starts_at",
                        f"only {fmt.number(hours, 1)} h after or before {_when(other, tz)}: dosing sessions on "
                        f"{limits.protocol_name} are at least {fmt.number(limits.min_interval_h)} h apart "
                        f"{plain('[' + limits.min_interval_source + ']')}",
                        other.ref,
                    )
                )
    if limits.max_per_7_days is not None:
        starts = sorted([o.start for o in mine if abs(o.start - proposed.start) < WEEK] + [proposed.start])
        for end in starts:
            if not end - WEEK < proposed.start <= end:
                continue
            count = sum(1 for t in starts if end - WEEK < t <= end)
            if count > limits.max_per_7_days:
                out.append(
                    Conflict(
                        "per_week",
                        "starts_at",
                        f"this would be {count} dosing sessions within 7 days (up to {fmt.date_time(end, tz)}); "
                        f"{limits.protocol_name} allows at most {limits.max_per_7_days} "
                        f"{plain('[' + limits.max_per_7_days_source + ']')}",
                    )
                )
                break
    return out


def find_conflicts(
    proposed: Slot,
    existing: Sequence[Slot],
    tz: tzinfo,
    *,
    shifts: Sequence[Shift] | None = None,
    limits: DosingLimits | None = None,
    chair_name: str = "the chair",
    room_name: str = "the room",
    staff_name: str = "the clinician",
) -> list[Conflict]:
    """Return every reason to refuse `proposed` against the `existing` bookings (empty: it may be booked).

    `shifts` are the attending person's working blocks (None: not checked); `limits` the dosing protocol's spacing
    (None: not a dosing appointment or no protocol)."""
    out: list[Conflict] = []
    if proposed.end <= proposed.start:
        out.append(Conflict("duration", "starts_at", "the appointment must end after it starts"))
        return out
    out += resource_conflicts(
        proposed, existing, tz, chair_name=chair_name, room_name=room_name, staff_name=staff_name
    )
    if shifts is not None and proposed.staff_id is not None and not within_shifts(proposed, shifts, tz):
        out.append(
            Conflict(
                "hours",
                "staff_id",
                f"{staff_name} is not working {fmt.date_time(proposed.start, tz)}-"
                f"{fmt.clock_time(proposed.end, tz, seconds=False, label=False)}",
            )
        )
    if limits is not None:
        out += dosing_conflicts(proposed, existing, limits, tz)
    return out
