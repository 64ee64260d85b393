"""Alarms in the database: a `session_alerts` row <-> the domain's `Alarm` (minutes since the infusion began).

One row per alarm: the alarm follows the conditions of its group (worse, milder, back within the re-raise
window), latches when HIGH until a person acknowledges it with the action taken, and escalates when left
unacknowledged (see `ketacare.domain.sessions.alerts`). Rows written before alarms latched (no condition key,
no history) read as alarms whose present condition is the row's rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from ketacare.domain.sessions import (
    Acknowledgement,
    Alarm,
    AlarmEvent,
    AlarmPolicy,
    Alert,
    AlertChanges,
    conditions,
    escalate_alarms,
    load_alarm_policy,
    track_series,
)
from ketacare.store.tables.sessions import SessionAlert


@cache
def alarm_policy() -> AlarmPolicy:
    """Return the clinic's alarm policy (shipped defaults; clinic overrides are applied by the domain loader)."""
    return load_alarm_policy()


def minutes(x: datetime, t0: datetime) -> float:
    return (x - t0).total_seconds() / 60.0


def at(m: float, t0: datetime) -> datetime:
    return t0 + timedelta(microseconds=round(m * 60_000_000))


def _opt(x: datetime | None, t0: datetime) -> float | None:
    return None if x is None else minutes(x, t0)


def to_alarm(row: SessionAlert, t0: datetime, policy: AlarmPolicy | None = None) -> Alarm:
    """Return the domain alarm a row stores (`id` is the row id as text)."""
    policy = policy or alarm_policy()
    peak_priority = row.peak_priority or row.priority
    acks = tuple(
        Acknowledgement(
            by=str(a["by"]),
            at_min=minutes(datetime.fromisoformat(a["at"]), t0),
            action_taken=str(a["action_taken"]),
            rank=int(a["rank"]),
            condition_present=bool(a["condition_present"]),
        )
        for a in (row.acknowledgements or [])
    )
    if not acks and row.acknowledged_at is not None:  # a row acknowledged before alarms kept their history
        acks = (
            Acknowledgement(
                by=row.acknowledged_by_name or "",
                at_min=minutes(row.acknowledged_at, t0),
                action_taken=row.action_taken or "",
                rank=row.peak_rank or row.rank,
                condition_present=row.cleared_at is None,
            ),
        )
    return Alarm(
        id=str(row.id),
        group=row.group,
        rule_id=row.rule_id,
        rank=row.rank,
        priority=row.priority,  # type: ignore[arg-type]
        title=row.title,
        advice=row.advice,
        actions=tuple(row.actions or ()),
        source=row.source,
        trigger=row.trigger,
        condition_id=row.condition_key or f"row{row.id}",
        condition_since_min=minutes(row.condition_since or row.raised_at, t0),
        opened_at_min=minutes(row.raised_at, t0),
        peak_rule_id=row.peak_rule_id or row.rule_id,
        peak_rank=row.peak_rank if row.peak_rank is not None else row.rank,
        peak_priority=peak_priority,  # type: ignore[arg-type]
        peak_title=row.peak_title or row.title,
        latching=bool(row.latching) or peak_priority in policy.latching_priorities,
        needs_ack_since_min=minutes(row.needs_ack_since or row.raised_at, t0),
        cleared_at_min=_opt(row.cleared_at, t0),
        clear_reason=row.clear_reason,
        acknowledged=row.acknowledged_at is not None,
        acknowledgements=acks,
        escalated_at_min=_opt(row.escalated_at, t0),
        closed_at_min=_opt(row.resolved_at, t0),
        close_reason=row.resolution,
        reraised=row.reraised or 0,
        events=tuple(
            AlarmEvent(
                minutes(datetime.fromisoformat(e["at"]), t0), str(e["kind"]), str(e["text"]), e.get("rule")
            )
            for e in (row.events or [])
        ),
    )


def write_alarm(row: SessionAlert, alarm: Alarm, t0: datetime, *, user_id: int | None = None) -> SessionAlert:
    """Store `alarm` in `row`; acknowledgements new to the row are credited to `user_id`."""
    row.group, row.rule_id, row.rank, row.priority = alarm.group, alarm.rule_id, alarm.rank, alarm.priority
    row.title, row.advice, row.actions, row.source = (
        alarm.title,
        alarm.advice,
        list(alarm.actions),
        alarm.source,
    )
    row.trigger = alarm.trigger
    row.condition_key = alarm.condition_id
    row.condition_since = at(alarm.condition_since_min, t0)
    row.raised_at = at(alarm.opened_at_min, t0)
    row.peak_rule_id, row.peak_rank = alarm.peak_rule_id, alarm.peak_rank
    row.peak_priority, row.peak_title = alarm.peak_priority, alarm.peak_title
    row.latching = alarm.latching
    row.needs_ack_since = at(alarm.needs_ack_since_min, t0)
    row.cleared_at = None if alarm.cleared_at_min is None else at(alarm.cleared_at_min, t0)
    row.clear_reason = alarm.clear_reason
    row.escalated_at = None if alarm.escalated_at_min is None else at(alarm.escalated_at_min, t0)
    row.resolved_at = None if alarm.closed_at_min is None else at(alarm.closed_at_min, t0)
    row.resolution = alarm.close_reason
    row.reraised = alarm.reraised
    old = list(row.acknowledgements or [])
    acks: list[dict[str, Any]] = []
    for k, a in enumerate(alarm.acknowledgements):
        entry: dict[str, Any] = {
            "by": a.by,
            "by_user_id": old[k].get("by_user_id") if k < len(old) else user_id,
            "at": at(a.at_min, t0).isoformat(),
            "action_taken": a.action_taken,
            "rank": a.rank,
            "condition_present": a.condition_present,
        }
        acks.append(entry)
    row.acknowledgements = acks
    last = acks[-1] if acks and alarm.acknowledged else None
    row.acknowledged_by = None if last is None else last["by_user_id"]
    row.acknowledged_by_name = None if last is None else last["by"]
    row.acknowledged_at = None if last is None else datetime.fromisoformat(last["at"])
    row.action_taken = None if last is None else last["action_taken"]
    row.events = [
        {"at": at(e.at_min, t0).isoformat(), "kind": e.kind, "text": e.text, "rule": e.rule_id}
        for e in alarm.events
    ]
    return row


def new_row(session_id: int, alarm: Alarm, t0: datetime) -> SessionAlert:
    """Return a new row for an alarm the domain opened."""
    return write_alarm(SessionAlert(session_id=session_id), alarm, t0)


# ---- use-case steps on rows (the sessions alert use cases call these inside their unit of work) ----


def alarm_rows(s: Session, session_id: int, *, closed_since: datetime | None) -> list[SessionAlert]:
    """Return the session's open alarms and, when `closed_since` is given, those closed since then."""
    cond: ColumnElement[bool] = SessionAlert.resolved_at.is_(None)
    if closed_since is not None:
        cond = or_(cond, SessionAlert.resolved_at >= closed_since)
    q = select(SessionAlert).where(SessionAlert.session_id == session_id, cond).order_by(SessionAlert.id)
    return list(s.scalars(q))


@dataclass(frozen=True)
class AlarmWrites:
    """Rows the tracking opened, rows it changed, and of those the ids it closed."""

    opened: tuple[SessionAlert, ...] = ()
    updated: tuple[SessionAlert, ...] = ()
    closed_ids: tuple[int, ...] = ()


def track_rows(
    s: Session,
    session_id: int,
    t0: datetime,
    rows: Sequence[SessionAlert],
    steps_min: Sequence[float],
    changes: Sequence[AlertChanges],
    policy: AlarmPolicy | None = None,
) -> AlarmWrites:
    """Apply the engine's changes at each step to the alarms in `rows`; store opened and changed alarms."""
    policy = policy or alarm_policy()
    by_id = {str(r.id): r for r in rows}
    alarms = [to_alarm(r, t0, policy) for r in rows]
    tracked = track_series(alarms, steps_min, changes, policy)
    updated, closed = [], []
    for a in tracked.updated:
        row = by_id[a.id]
        was_open = row.resolved_at is None
        write_alarm(row, a, t0)
        updated.append(row)
        if was_open and a.closed:
            closed.append(row.id)
    opened = []
    for a in tracked.opened:
        row = new_row(session_id, a, t0)
        s.add(row)
        opened.append(row)
    if opened:
        s.flush()
    return AlarmWrites(tuple(opened), tuple(updated), tuple(closed))


def acknowledge_row(
    row: SessionAlert, t0: datetime, *, by: str, user_id: int | None, action_taken: str, now: datetime
) -> SessionAlert:
    """Acknowledge the alarm a row holds with the action taken (closes it if its condition is over)."""
    alarm = to_alarm(row, t0)
    when = max(now, row.raised_at)
    return write_alarm(
        row,
        alarm.acknowledge(by=by, action_taken=action_taken, at_min=minutes(when, t0)),
        t0,
        user_id=user_id,
    )


def escalate_rows(rows: Sequence[SessionAlert], t0: datetime, now: datetime) -> list[SessionAlert]:
    """Escalate the open alarms in `rows` left unacknowledged past the policy's time; return the rows changed."""
    policy = alarm_policy()
    by_id = {str(r.id): r for r in rows if r.resolved_at is None}
    alarms = [to_alarm(r, t0, policy) for r in by_id.values()]
    return [write_alarm(by_id[a.id], a, t0) for a in escalate_alarms(alarms, minutes(now, t0), policy)]


def engine_conditions(rows: Sequence[SessionAlert], t0: datetime) -> list[Alert]:
    """Return the present conditions of the open alarms in `rows`: the alert engine's active alerts."""
    policy = alarm_policy()
    return list(conditions(to_alarm(r, t0, policy) for r in rows if r.resolved_at is None))
