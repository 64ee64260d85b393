"""What the calendar pages show: a week of days, a day grid of chairs x time slots, appointments placed in cells.
Pure arrangement of already-read appointments in the clinic's zone (no database)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from markupsafe import Markup, escape

from ketacare.domain.scheduling import booking_rules
from ketacare.services.scheduling.schemas import AppointmentRead, ChairRead


def day_bounds(d: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """Return the UTC instants of local midnight starting `d` and the next day (23 or 25 h on a clock change)."""
    start = datetime.combine(d, time(0), tzinfo=tz).astimezone(UTC)
    end = datetime.combine(d + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
    return start, end


def week_of(d: date) -> list[date]:
    """Return Monday to Sunday of the week holding `d`."""
    monday = d - timedelta(days=d.weekday())
    return [monday + timedelta(days=i) for i in range(7)]


@dataclass
class Row:
    """One chair (or the rooms-and-calls row) with its appointments per column."""

    label: str
    chair_id: int | None
    cells: list[list[AppointmentRead]] = field(default_factory=list)


def week_rows(
    items: list[AppointmentRead], chairs: list[ChairRead], days: list[date], local: dict[int, date]
) -> list[Row]:
    """Return one row per chair (then one for rooms and calls) with that chair's appointments on each day."""
    rows = [Row(c.label, c.id, [[] for _ in days]) for c in chairs]
    other = Row("Rooms and calls", None, [[] for _ in days])
    by_chair = {r.chair_id: r for r in rows}
    index = {d: i for i, d in enumerate(days)}
    for a in items:
        i = index.get(local[a.id])
        if i is None:
            continue
        (by_chair.get(a.chair_id) or other).cells[i].append(a)
    return [*rows, other]


@dataclass
class Slot:
    """One row of the day grid: its local start time and, per chair, the appointment starting in it or
    continuing through it."""

    label: str
    cells: list[tuple[str, AppointmentRead | None]]  # ("start" | "cont" | "free", appointment)


def day_grid(items: list[AppointmentRead], chairs: list[ChairRead], d: date, tz: tzinfo) -> list[Slot]:
    """Return the day grid of the clinic's hours (booking rules): one row per slot, one cell per chair."""
    rules = booking_rules()
    step = timedelta(minutes=rules.slot_min)
    t = datetime.combine(d, time(rules.day_start_hour), tzinfo=tz)
    stop = datetime.combine(d, time(rules.day_end_hour), tzinfo=tz)
    out: list[Slot] = []
    per_chair: dict[int | None, list[AppointmentRead]] = {}
    for a in items:
        per_chair.setdefault(a.chair_id, []).append(a)
    while t < stop:
        t_utc, nxt = t.astimezone(UTC), (t + step).astimezone(UTC)
        cells: list[tuple[str, AppointmentRead | None]] = []
        for c in chairs:
            hit = next(
                (a for a in per_chair.get(c.id, ()) if a.starts_at < nxt and a.ends_at > t_utc), None
            )
            if hit is None:
                cells.append(("free", None))
            else:
                cells.append(("start" if hit.starts_at >= t_utc else "cont", hit))
        out.append(Slot(t.strftime("%H:%M"), cells))
        t = t + step
    return out


@dataclass(frozen=True)
class Card:
    """One appointment's calendar link, built once per page (a week holds hundreds): `desk` for the grid (with its
    anchor), `listed` for the phone list (names the chair)."""

    desk: Markup
    listed: Markup


def _link(a: AppointmentRead, css: str, hm: str, patient: str, detail: str, anchor: bool) -> Markup:
    ident = f' id="appt-{a.id}"' if anchor else ""
    # every interpolated text is escaped here; the rest are ids, a time and fixed class names (Markup.format is
    # ten times slower, and a week holds ~500 cards)
    return Markup(  # noqa: S704
        f'<a class="{css}" href="/schedule/appointments/{a.id}"{ident}><span class="num">{hm}</span> {patient}'
        f'<span class="appt-type">{escape(detail)}</span></a>'
    )


def local_days(items: list[AppointmentRead], tz: tzinfo) -> dict[int, date]:
    """Return each appointment's local start day by id (worked out once per page)."""
    return {a.id: a.starts_at.astimezone(tz).date() for a in items}


def by_day(items: list[AppointmentRead], days: list[date], local: dict[int, date]) -> dict[date, list[AppointmentRead]]:
    """Return the appointments of each of `days`, in one pass."""
    out: dict[date, list[AppointmentRead]] = {x: [] for x in days}
    for a in items:
        if (x := local[a.id]) in out:
            out[x].append(a)
    return out


def cards(items: list[AppointmentRead], tz: tzinfo) -> dict[int, Card]:
    """Return each appointment's calendar card by id: "09:00", the patient, "Infusion · Chair 3 · Sam Lindqvist"."""
    out: dict[int, Card] = {}
    for a in items:
        where = [x for x in (a.room_name, a.staff_name) if x]
        if a.status != "booked":
            where.append(a.status.replace("_", " "))
        css = f"appt appt-{a.status}" + (" appt-dosing" if a.dosing else "")
        hm = a.starts_at.astimezone(tz).strftime("%H:%M")
        desk = " · ".join([a.type_name, *where])
        listed = " · ".join([a.type_name, a.chair_label, *where]) if a.chair_label else desk
        patient = escape(a.patient_name)
        out[a.id] = Card(_link(a, css, hm, patient, desk, True), _link(a, css, hm, patient, listed, False))
    return out
