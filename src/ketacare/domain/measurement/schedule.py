"""Assessment schedules relative to treatment: what is due when, given enrolment, session times and answers.

Pure: the caller passes the clock (`now`), the session times and the responses already given. Plans are data
(`plans.toml`, clinic-configurable defaults). The follow-up clock resets after each session: weekly (or monthly)
follow-ups run from the end of the latest session until the next session starts. An event marked
`with_primary` also asks the patient's primary instrument(s): the caller passes them (from the outcome definitions
in force and the patient's active diagnoses), so a PTSD patient is asked the PCL-5 and a panic patient the PDSS-SR.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from ketacare.domain.datafiles import load_toml
from ketacare.domain.errors import InvalidValue
from ketacare.domain.measurement.catalogue import load_instrument

ANCHORS = frozenset({"enrolment", "session_start", "session_end"})
EXPIRY_ANCHORS = frozenset({"session_start"})


@dataclass(frozen=True)
class PlannedEvent:
    context: str
    anchor: str
    offset_h: float
    window_h: float
    instruments: tuple[str, ...]
    with_primary: bool = False  # also ask the patient's primary instrument(s)
    expires_after_h: float | None = None  # hours after opening; None: the plan's missed_after_h
    expires_at: str | None = None  # "session_start": a form for before the session expires when it starts


@dataclass(frozen=True)
class Plan:
    id: str
    name: str
    note: str
    events: tuple[PlannedEvent, ...]
    follow_up_every_days: float
    follow_up_first_after_days: float
    follow_up_window_h: float
    follow_up_instruments: tuple[str, ...]
    follow_up_expires_after_h: float
    follow_up_with_primary: bool
    session_length_min: float
    missed_after_h: float
    source: str


@dataclass(frozen=True)
class DueItem:
    """One questionnaire expected from a patient (or a clinician rating), open from `opens_at`."""

    key: str
    instrument_id: str
    context: str
    opens_at: datetime
    overdue_at: datetime
    session_index: int | None  # 0-based position in the session list, for session-relative items
    rater: str  # "patient" | "clinician"
    expires_at: datetime | None = None  # after this it can no longer be done (None: never expires)


@dataclass(frozen=True)
class Answered:
    """A response already given: which instrument, in what context, when."""

    instrument_id: str
    context: str
    answered_at: datetime


@dataclass(frozen=True)
class DueStatus:
    item: DueItem
    status: str  # "done" | "due" | "overdue" | "upcoming" | "expired"
    answered_at: datetime | None = None


def plan_ids() -> tuple[str, ...]:
    """Return the ids of the shipped assessment plans."""
    return tuple(sorted(_raw()["plans"]))


@cache
def _raw() -> dict[str, Any]:
    return load_toml("ketacare.domain.measurement", "plans.toml")


@cache
def load_plan(plan_id: str = "standard") -> Plan:
    """Return the checked assessment plan `plan_id`; refuse an unknown id or an unknown instrument."""
    raw = _raw()
    if plan_id not in raw["plans"]:
        raise InvalidValue("plan", f"unknown assessment plan '{plan_id}' (known: {', '.join(plan_ids())})")
    rp = raw["plans"][plan_id]
    raw_events = raw["plans"][rp["events_from"]]["events"] if "events_from" in rp else rp.get("events", [])
    events = []
    for ev in raw_events:
        if ev["anchor"] not in ANCHORS:
            raise ValueError(f"plan {plan_id}: unknown anchor {ev['anchor']!r}")
        if ev.get("expires_at") not in (None, *EXPIRY_ANCHORS):
            raise ValueError(f"plan {plan_id}: unknown expiry {ev['expires_at']!r}")
        if "instruments_if_ptsd" in ev:
            raise ValueError(f"plan {plan_id}: 'instruments_if_ptsd' is replaced by 'with_primary = true'")
        for iid in ev["instruments"]:
            load_instrument(iid)
        events.append(
            PlannedEvent(
                context=ev["context"],
                anchor=ev["anchor"],
                offset_h=float(ev["offset_h"]),
                window_h=float(ev["window_h"]),
                instruments=tuple(ev["instruments"]),
                with_primary=bool(ev.get("with_primary", False)),
                expires_after_h=float(ev["expires_after_h"]) if "expires_after_h" in ev else None,
                expires_at=ev.get("expires_at"),
            )
        )
    for iid in rp["follow_up_instruments"]:
        load_instrument(iid)
    return Plan(
        id=plan_id,
        name=rp["name"],
        note=rp.get("note", ""),
        events=tuple(events),
        follow_up_every_days=float(rp["follow_up_every_days"]),
        follow_up_first_after_days=float(rp["follow_up_first_after_days"]),
        follow_up_window_h=float(rp["follow_up_window_h"]),
        follow_up_instruments=tuple(rp["follow_up_instruments"]),
        follow_up_expires_after_h=float(rp.get("follow_up_expires_after_h", raw["missed_after_h"])),
        follow_up_with_primary=bool(rp.get("follow_up_with_primary", False)),
        session_length_min=float(raw["assumed_session_length_min"]),
        missed_after_h=float(raw["missed_after_h"]),
        source=raw["source"],
    )


def _sessions(
    plan: Plan, sessions: Iterable[datetime | tuple[datetime, datetime]]
) -> list[tuple[datetime, datetime]]:
    out = []
    for s in sessions:
        if isinstance(s, tuple):
            start, end = s
        else:
            start, end = s, s + timedelta(minutes=plan.session_length_min)
        if start.tzinfo is None:
            raise InvalidValue("session", "session times must carry a time zone (UTC)")
        out.append((start, end))
    return sorted(out)


def _item(
    iid: str,
    context: str,
    opens: datetime,
    window_h: float,
    session_index: int | None,
    expires: datetime,
) -> DueItem:
    overdue = min(opens + timedelta(hours=window_h), expires)
    return DueItem(
        key=f"{iid}:{context}:{opens.strftime('%Y%m%dT%H%M')}",
        instrument_id=iid,
        context=context,
        opens_at=opens,
        overdue_at=overdue,
        session_index=session_index,
        rater=load_instrument(iid).rater,
        expires_at=max(expires, opens),
    )


def _expiry(plan: Plan, ev: PlannedEvent, opens: datetime, session_start: datetime | None) -> datetime:
    """When an item of `ev` opened at `opens` can no longer be done."""
    if ev.expires_at == "session_start" and session_start is not None:
        return session_start
    hours = ev.expires_after_h if ev.expires_after_h is not None else plan.missed_after_h
    return opens + timedelta(hours=hours)


def _asked(instruments: tuple[str, ...], with_primary: bool, primaries: tuple[str, ...]) -> tuple[str, ...]:
    """Return the instruments of an event, with the primaries added once when it asks for them."""
    if not with_primary:
        return instruments
    return instruments + tuple(i for i in dict.fromkeys(primaries) if i not in instruments)


def planned_items(
    plan: Plan,
    *,
    enrolled_at: datetime,
    sessions: Iterable[datetime | tuple[datetime, datetime]] = (),
    until: datetime,
    primaries: Iterable[str] = (),
) -> list[DueItem]:
    """Return every item the plan expects from `enrolled_at` up to `until`, in time order.

    `sessions` are session start times (the end is assumed `assumed_session_length_min` later) or
    (start, end) pairs. `primaries` are the patient's primary instruments (one per active diagnosis), asked at
    the events marked `with_primary` and at the periodic follow-ups when the plan says so.
    """
    spans = _sessions(plan, sessions)
    prim = tuple(primaries)
    for iid in prim:
        load_instrument(iid)
    follow_ids = _asked(plan.follow_up_instruments, plan.follow_up_with_primary, prim)
    items: list[DueItem] = []
    for ev in plan.events:
        ids = _asked(ev.instruments, ev.with_primary, prim)
        anchors: list[tuple[datetime, int | None, datetime | None]]
        if ev.anchor == "enrolment":
            anchors = [(enrolled_at, None, None)]
        else:
            anchors = [(s if ev.anchor == "session_start" else e, k, s) for k, (s, e) in enumerate(spans)]
        for anchor, k, start in anchors:
            opens = anchor + timedelta(hours=ev.offset_h)
            if opens <= until:
                expires = _expiry(plan, ev, opens, start)
                items.extend(_item(i, ev.context, opens, ev.window_h, k, expires) for i in ids)
    starts = [s for s, _ in spans]
    resets = [(enrolled_at, None)] + [(e, k) for k, (_, e) in enumerate(spans)]
    every = timedelta(days=plan.follow_up_every_days)
    for n, (anchor, k) in enumerate(resets):
        boundary = next((s for s in starts if s > anchor), None) if n < len(resets) else None
        when = anchor + timedelta(days=plan.follow_up_first_after_days)
        while when <= until and (boundary is None or when < boundary):
            expires = when + timedelta(hours=plan.follow_up_expires_after_h)
            items.extend(
                _item(i, "follow_up", when, plan.follow_up_window_h, k, expires)
                for i in follow_ids
            )
            when += every
    items.sort(key=lambda d: (d.opens_at, d.instrument_id))
    return items


def due_status(
    plan: Plan,
    *,
    enrolled_at: datetime,
    sessions: Iterable[datetime | tuple[datetime, datetime]] = (),
    answered: Iterable[Answered] = (),
    now: datetime,
    primaries: Iterable[str] = (),
    horizon_h: float = 72,
) -> list[DueStatus]:
    """Return each planned item up to `now + horizon_h` with its status (done/due/overdue/upcoming/expired).

    A response counts for an item when it has the same instrument and context and was given between the
    item's opening and its expiry; each response counts once (earliest item first). An item not done by its
    expiry (a pre-session form once its session has started) is "expired": it can no longer be done.
    """
    items = planned_items(
        plan, enrolled_at=enrolled_at, sessions=sessions, until=now + timedelta(hours=horizon_h), primaries=primaries
    )
    pool: dict[tuple[str, str], list[datetime]] = {}
    for a in answered:
        pool.setdefault((a.instrument_id, a.context), []).append(a.answered_at)
    for v in pool.values():
        v.sort()
    out = []
    for it in items:
        expires = it.expires_at or it.opens_at + timedelta(hours=plan.missed_after_h)
        candidates = pool.get((it.instrument_id, it.context), [])
        hit = next((t for t in candidates if it.opens_at <= t <= expires), None)
        if hit is not None:
            candidates.remove(hit)
            out.append(DueStatus(it, "done", hit))
        elif now < it.opens_at:
            out.append(DueStatus(it, "upcoming"))
        elif now >= expires:
            out.append(DueStatus(it, "expired"))
        elif now <= it.overdue_at:
            out.append(DueStatus(it, "due"))
        else:
            out.append(DueStatus(it, "overdue"))
    return out
