"""The audit trail: semantic events appended in the caller's transaction, hash-chained, verifiable."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from ketacare.services import clock
from ketacare.services.access.actor import Actor
from ketacare.store.tables import AuditEvent

GENESIS = "0" * 64
ACTIONS = frozenset(
    {
        "view",
        "list",
        "search",
        "create",
        "update",
        "sign",
        "export",
        "login",
        "login_failed",
        "logout",
        "denied",
        "verify",
        "acknowledge",
        "override",
        "evaluate",
        "administer",
    }
)


@dataclass(frozen=True)
class PendingEvent:
    action: str
    resource_type: str
    resource_id: str | None
    patient_id: int | None
    outcome: str
    reason: str | None
    details: Mapping[str, object]


def _ts(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


_FIELDS = (
    "seq",
    "occurred_at",
    "actor_user_id",
    "actor_username",
    "actor_role",
    "action",
    "resource_type",
    "resource_id",
    "patient_id",
    "outcome",
    "reason",
    "address",
    "details",
    "prev_hash",
)


def _canonical_value(key: str, value: object) -> object:
    return _ts(value) if key == "occurred_at" and isinstance(value, datetime) else value


def _canonical(values: Mapping[str, object]) -> bytes:
    body = {k: _canonical_value(k, values[k]) for k in _FIELDS}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def canonical_form(e: AuditEvent) -> bytes:
    """Return the canonical bytes of an event (sorted-key compact JSON of every field but its own hash)."""
    return _canonical({k: getattr(e, k) for k in _FIELDS})


def event_hash(e: AuditEvent) -> str:
    """Return the SHA-256 (hex) of an event's canonical form."""
    return hashlib.sha256(canonical_form(e)).hexdigest()


_COLUMNS = (*_FIELDS, "hash")
_SQLITE_TS = "%Y-%m-%d %H:%M:%S.%f"  # what SQLAlchemy's SQLite DateTime stores (read back as UTC by UTCDateTime)


def _placeholders(dialect: str, n: int) -> str:
    return ", ".join(["?" if dialect == "sqlite" else "%s"] * n)


def append(session: Session, actor: Actor, events: list[PendingEvent]) -> list[dict[str, object]]:
    """Append events to the chain inside the caller's transaction (call just before commit).

    This runs on every audited request, so it talks to the driver directly instead of going through the ORM.
    The chain head row is read under a lock first, so two writers never fork the chain: PostgreSQL locks the
    row (SELECT ... FOR UPDATE, which re-reads the newest committed head after waiting) and then inserts the
    events and moves the head in one statement; on SQLite every transaction began with BEGIN IMMEDIATE and
    already holds the write lock.
    """
    if not events:
        return []
    dialect = session.get_bind().dialect.name
    sqlite = dialect == "sqlite"
    cursor = session.connection().connection.cursor()
    try:
        cursor.execute("SELECT seq, hash FROM audit_chain_head WHERE id = 1" + ("" if sqlite else " FOR UPDATE"))
        head = cursor.fetchone()
        if head is None:
            raise RuntimeError(
                "the audit chain head is missing: run `ketacare db upgrade`, then `ketacare audit verify`"
            )
        seq, prev = head[0], head[1]
        when = clock.now()
        rows, params = [], []
        for ev in events:
            if ev.action not in ACTIONS:
                raise ValueError(f"unknown audit action {ev.action!r}")
            seq += 1
            row = {
                "seq": seq, "occurred_at": when, "actor_user_id": actor.user_id, "actor_username": actor.username,
                "actor_role": actor.role, "action": ev.action, "resource_type": ev.resource_type,
                "resource_id": ev.resource_id, "patient_id": ev.patient_id, "outcome": ev.outcome,
                "reason": ev.reason, "address": actor.address,
                "details": json.dumps(ev.details, sort_keys=True, separators=(",", ":"), default=str),
                "prev_hash": prev,
            }
            row["hash"] = prev = hashlib.sha256(_canonical(row)).hexdigest()
            rows.append(row)
            values = [row[c] for c in _COLUMNS]
            if sqlite:
                values[1] = when.astimezone(UTC).strftime(_SQLITE_TS)
            params.append(values)
        columns = ", ".join(_COLUMNS)
        if sqlite:
            cursor.executemany(f"INSERT INTO audit_events ({columns}) VALUES ({_placeholders(dialect, len(_COLUMNS))})",
                               params)
            cursor.execute("UPDATE audit_chain_head SET seq = ?, hash = ? WHERE id = 1", (seq, prev))
        else:
            tuples = ", ".join(f"({_placeholders(dialect, len(_COLUMNS))})" for _ in params)
            cursor.execute(
                f"WITH ins AS (INSERT INTO audit_events ({columns}) VALUES {tuples}) "
                "UPDATE audit_chain_head SET seq = %s, hash = %s WHERE id = 1",
                [v for values in params for v in values] + [seq, prev],
            )
    finally:
        cursor.close()
    return rows


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    head_hash: str
    first_bad_seq: int | None = None
    problem: str | None = None


def _iter_events(session: Session, batch: int = 5000) -> Iterator[AuditEvent]:
    after = 0
    while True:
        rows = session.scalars(
            select(AuditEvent).where(AuditEvent.seq > after).order_by(AuditEvent.seq).limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        after = rows[-1].seq
        session.expunge_all()


def verify_chain(session: Session) -> ChainReport:
    """Walk the whole chain and report the first event that was altered, removed or inserted."""
    expected_seq, prev, count = 1, GENESIS, 0
    for e in _iter_events(session):
        if e.seq != expected_seq:
            if e.seq > expected_seq:
                problem = (
                    f"event {expected_seq} is missing (removed): the chain jumps from {expected_seq - 1} "
                    f"to {e.seq}"
                )
                return ChainReport(False, count, prev, expected_seq, problem)
            return ChainReport(False, count, prev, e.seq, f"event {e.seq} is out of sequence (inserted)")
        if e.prev_hash != prev:
            return ChainReport(
                False,
                count,
                prev,
                e.seq,
                f"event {e.seq} does not link to event {e.seq - 1} (an event before it was "
                "removed, replaced or inserted)",
            )
        if event_hash(e) != e.hash:
            return ChainReport(
                False,
                count,
                prev,
                e.seq,
                f"event {e.seq} was altered: its content no longer matches its stored hash",
            )
        prev, expected_seq, count = e.hash, expected_seq + 1, count + 1
    head = session.execute(text("SELECT seq, hash FROM audit_chain_head WHERE id = 1")).first()
    last_seq = expected_seq - 1
    if head is None:
        return ChainReport(False, count, prev, last_seq + 1, "the chain head record is missing")
    if head.seq > last_seq:
        return ChainReport(False, count, prev, last_seq + 1,
                           f"events {last_seq + 1} to {head.seq} are missing (removed from the end of the chain)")
    if head.seq < last_seq:
        return ChainReport(False, count, prev, head.seq + 1,
                           f"event {head.seq + 1} onward were added outside the application (inserted)")
    if head.hash != prev:
        return ChainReport(False, count, prev, last_seq, f"event {last_seq} does not match the chain head")
    return ChainReport(True, count, prev)
