"""The audit trail: semantic events appended in the caller's transaction, hash-chained, verifiable."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from ketacare.services import clock
from ketacare.services.access import audit_keys
from ketacare.services.access.actor import Actor
from ketacare.services.access.audit_keys import AuditKey
from ketacare.store.tables import AuditEvent

log = logging.getLogger("ketacare.audit")

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
        "repair",
        "break_glass",
        "review",
        "request",
        "approve",
        "reject",
        "deactivate",
        "reactivate",
        "unlock",
        "revoke",
        "reset_password",
        "change_password",
        "invite",
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


_COLUMNS = (*_FIELDS, "hash", "seal")
_SQLITE_TS = "%Y-%m-%d %H:%M:%S.%f"  # what SQLAlchemy's SQLite DateTime stores (read back as UTC by UTCDateTime)
_TAIL = "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1"
_HEAD_AND_TAIL = (
    "SELECT h.seq, h.hash, (SELECT seq FROM audit_events ORDER BY seq DESC LIMIT 1), "
    "(SELECT hash FROM audit_events ORDER BY seq DESC LIMIT 1) FROM audit_chain_head h WHERE h.id = 1"
)
_RECREATE_HEAD = "INSERT INTO audit_chain_head (id, seq, hash) VALUES (1, ?, ?) ON CONFLICT (id) DO NOTHING"
_PG_LOCK_ID = 0x6B63_6175  # advisory lock taken only while the chain head row is missing
# The database guards of the chain (0001 and 0013): verification reports any that is missing or disabled.
GUARDS = {
    "sqlite": frozenset({"audit_events_no_update", "audit_events_no_delete", "audit_events_next_link",
                         "audit_chain_head_no_delete"}),
    "postgresql": frozenset({"audit_events_no_update", "audit_events_no_delete", "audit_events_no_truncate",
                             "audit_events_next_link", "audit_chain_head_no_delete", "audit_chain_head_no_truncate"}),
}


def _placeholders(dialect: str, n: int) -> str:
    return ", ".join(["?" if dialect == "sqlite" else "%s"] * n)


def _fetch_pair(cursor: Any, sql: str) -> tuple[int, str]:
    cursor.execute(sql)
    row = cursor.fetchone()
    return (int(row[0]), str(row[1])) if row else (0, GENESIS)


def _repair(reason: str, details: Mapping[str, object]) -> PendingEvent:
    log.error("audit chain: %s", reason)
    return PendingEvent("repair", "audit_chain", None, None, "failure", reason, details)


def _link_point(cursor: Any, sqlite: bool) -> tuple[int, str, list[PendingEvent]]:
    """Lock the chain head and return the newest event to link after, with a `repair` event if out of step.

    The newest event in the table is the truth the database will accept (its INSERT trigger checks the link):
    a head that is missing, behind or ahead of it is recorded in the chain itself and then moved, so the app
    keeps answering and verification keeps naming what happened.
    """
    lock = "" if sqlite else " FOR UPDATE OF h"
    cursor.execute(_HEAD_AND_TAIL + lock)
    row = cursor.fetchone()
    if row is None:
        if not sqlite:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", (_PG_LOCK_ID,))
        seq, prev = _fetch_pair(cursor, _TAIL)
        cursor.execute(_RECREATE_HEAD.replace("?", "%s") if not sqlite else _RECREATE_HEAD, (seq, prev))
        seq, prev, more = _link_point(cursor, sqlite)
        return seq, prev, [_repair(f"the audit chain head was missing; the chain continues after event {seq}",
                                   {"after_seq": seq}), *more]
    head = (int(row[0]), str(row[1]))
    tail = (int(row[2]), str(row[3])) if row[2] is not None else (0, GENESIS)
    if head == tail:
        return head[0], head[1], []
    # A transaction that waited for the lock read the tail before the newest commit: read it afresh.
    tail = _fetch_pair(cursor, _TAIL)
    if head == tail:
        return head[0], head[1], []
    if head[0] > tail[0]:
        reason = (f"events {tail[0] + 1} to {head[0]} named by the chain head were missing (removed); "
                  f"the chain continues after event {tail[0]}")
    else:
        reason = (f"the chain head named event {head[0]} but event {tail[0]} was the newest (events added or "
                  "the head moved outside the application)")
    return tail[0], tail[1], [_repair(reason, {"head_seq": head[0], "last_seq": tail[0]})]


def append(session: Session, actor: Actor, events: list[PendingEvent]) -> list[dict[str, object]]:
    """Append events to the chain inside the caller's transaction (call just before commit).

    This runs on every audited request, so it talks to the driver directly instead of going through the ORM.
    The chain head row is read under a lock first, so two writers never fork the chain: PostgreSQL locks the
    row (SELECT ... FOR UPDATE, which re-reads the newest committed head after waiting) and then inserts the
    events and moves the head in one statement; on SQLite every transaction began with BEGIN IMMEDIATE and
    already holds the write lock. Each event is sealed with the audit key (HMAC of its hash), which the
    database never sees.
    """
    if not events:
        return []
    for ev in events:
        if ev.action not in ACTIONS:
            raise ValueError(f"unknown audit action {ev.action!r}")
    key = audit_keys.current()
    dialect = session.get_bind().dialect.name
    sqlite = dialect == "sqlite"
    cursor = session.connection().connection.cursor()
    try:
        seq, prev, repairs = _link_point(cursor, sqlite)
        when = clock.now()
        rows, params = [], []
        for ev in [*repairs, *events]:
            seq += 1
            row: dict[str, object] = {
                "seq": seq, "occurred_at": when, "actor_user_id": actor.user_id, "actor_username": actor.username,
                "actor_role": actor.role, "action": ev.action, "resource_type": ev.resource_type,
                "resource_id": ev.resource_id, "patient_id": ev.patient_id, "outcome": ev.outcome,
                "reason": ev.reason, "address": actor.address,
                "details": json.dumps(ev.details, sort_keys=True, separators=(",", ":"), default=str),
                "prev_hash": prev,
            }
            row["hash"] = prev = hashlib.sha256(_canonical(row)).hexdigest()
            row["seal"] = key.seal(prev)
            rows.append(row)
            values = [row[c] for c in _COLUMNS]
            if sqlite:
                values[1] = when.astimezone(UTC).strftime(_SQLITE_TS)
            params.append(values)
        columns = ", ".join(_COLUMNS)
        # Only the fixed column list and placeholders are formatted into these statements (S608 below).
        if sqlite:
            values_sql = _placeholders(dialect, len(_COLUMNS))
            cursor.executemany(f"INSERT INTO audit_events ({columns}) VALUES ({values_sql})", params)  # noqa: S608
            cursor.execute("UPDATE audit_chain_head SET seq = ?, hash = ? WHERE id = 1", (seq, prev))
        else:
            tuples = ", ".join(f"({_placeholders(dialect, len(_COLUMNS))})" for _ in params)
            cursor.execute(
                f"WITH ins AS (INSERT INTO audit_events ({columns}) VALUES {tuples}) "  # noqa: S608 - see above
                "UPDATE audit_chain_head SET seq = %s, hash = %s WHERE id = 1",
                [v for values in params for v in values] + [seq, prev],
            )
    finally:
        cursor.close()
    return rows[len(repairs):]


@dataclass(frozen=True)
class Finding:
    """One break of the chain: the event it concerns (None for the chain as a whole) and what is wrong."""

    seq: int | None
    problem: str


@dataclass(frozen=True)
class Checkpoint:
    """A signed record, kept outside the database, that event `seq` had `hash` (and `seal`)."""

    name: str
    seq: int
    hash: str
    seal: str | None
    written_at: str


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    head_hash: str
    first_bad_seq: int | None = None
    problem: str | None = None
    findings: tuple[Finding, ...] = ()
    sealed: int = 0
    checkpoints: int = 0
    notes: tuple[str, ...] = field(default_factory=tuple)

    def with_findings(self, extra: Sequence[Finding]) -> ChainReport:
        """Return this report with more findings (ordered by event, chain-wide ones last)."""
        findings = tuple(sorted([*self.findings, *extra], key=lambda f: (f.seq is None, f.seq or 0)))
        if not findings:
            return self
        first = findings[0]
        first_seq = next((f.seq for f in findings if f.seq is not None), None)
        return ChainReport(False, self.checked, self.head_hash, first_seq, first.problem, findings,
                           self.sealed, self.checkpoints, self.notes)


_READ_COLUMNS = ", ".join(_COLUMNS)


def _iter_rows(session: Session, batch: int = 5000) -> Iterator[dict[str, Any]]:
    after = 0
    while True:
        rows = session.execute(
            text(f"SELECT {_READ_COLUMNS} FROM audit_events WHERE seq > :after ORDER BY seq LIMIT :n"),  # noqa: S608 - fixed column list
            {"after": after, "n": batch},
        ).mappings().all()
        if not rows:
            return
        for r in rows:
            yield dict(r)
        after = int(rows[-1]["seq"])


def _as_utc(value: object) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)


def _row_hash(row: Mapping[str, Any]) -> str:
    values = dict(row)
    values["occurred_at"] = _as_utc(row["occurred_at"]).astimezone(UTC)
    return hashlib.sha256(_canonical(values)).hexdigest()


class _Walk:
    """State of one pass over the chain."""

    def __init__(self, key: AuditKey | None, checkpoint_seqs: set[int]) -> None:
        self.key = key
        self.findings: list[Finding] = []
        self.expected, self.prev, self.count, self.sealed = 1, GENESIS, 0, 0
        self.wanted = checkpoint_seqs
        self.seen: dict[int, tuple[str, str | None]] = {}

    def add(self, seq: int | None, problem: str) -> None:
        self.findings.append(Finding(seq, problem))

    def step(self, e: Mapping[str, Any]) -> None:
        seq = int(e["seq"])
        if seq > self.expected:
            gap = f"event {self.expected}" if seq == self.expected + 1 else f"events {self.expected} to {seq - 1}"
            self.add(self.expected, f"{gap} missing (removed): the chain jumps from {self.expected - 1} to {seq}")
        elif e["prev_hash"] != self.prev:
            self.add(seq, f"event {seq} does not link to event {seq - 1} (an event before it was removed, "
                          "replaced or inserted)")
        try:
            content_ok = _row_hash(e) == e["hash"]
        except (ValueError, TypeError, KeyError):
            content_ok = False
        if not content_ok:
            self.add(seq, f"event {seq} was altered: its content no longer matches its stored hash")
        self._check_seal(seq, e)
        if e["action"] == "repair" and e["resource_type"] == "audit_chain":
            self.add(seq, f"event {seq}: the application found the chain out of step: {e['reason']}")
        if seq in self.wanted:
            self.seen[seq] = (str(e["hash"]), e["seal"])
        self.prev, self.expected, self.count = str(e["hash"]), seq + 1, self.count + 1

    def _check_seal(self, seq: int, e: Mapping[str, Any]) -> None:
        seal = e["seal"]
        if seal is None:
            if self.sealed:
                self.add(seq, f"event {seq} carries no seal: the application did not write it (inserted or "
                              "forged)")
            return
        self.sealed += 1
        if self.key is not None and not hmac.compare_digest(self.key.seal(str(e["hash"])), str(seal)):
            self.add(seq, f"event {seq} has a seal the audit key did not make (forged, or altered and "
                          "re-hashed)")


def _check_guards(session: Session, dialect: str) -> list[Finding]:
    if dialect == "sqlite":
        rows = session.execute(text("SELECT name, 'O' FROM sqlite_master WHERE type = 'trigger'")).all()
    else:
        rows = session.execute(text(
            "SELECT tgname, tgenabled FROM pg_trigger WHERE NOT tgisinternal AND tgrelid IN "
            "(SELECT oid FROM pg_class WHERE relname IN ('audit_events', 'audit_chain_head') "
            "AND relnamespace = current_schema()::regnamespace)")).all()
    state = {str(name): str(enabled) for name, enabled in rows}
    out = []
    for name in sorted(GUARDS.get(dialect, frozenset())):
        if name not in state:
            out.append(Finding(None, f"the database guard {name} is missing (dropped)"))
        elif state[name] == "D":
            out.append(Finding(None, f"the database guard {name} is disabled"))
    return out


def _check_head(session: Session, walk: _Walk) -> None:
    head = session.execute(text("SELECT seq, hash FROM audit_chain_head WHERE id = 1")).first()
    last = walk.expected - 1
    if head is None:
        walk.add(None, "the chain head record is missing (deleted)")
    elif head.seq > last:
        walk.add(last + 1, f"events {last + 1} to {head.seq} are missing (removed from the end of the chain)")
    elif head.seq < last:
        walk.add(head.seq + 1, f"event {head.seq + 1} onward were added without moving the chain head "
                               "(inserted outside the application)")
    elif head.hash != walk.prev:
        walk.add(last, f"event {last} does not match the chain head")


def _check_checkpoints(walk: _Walk, checkpoints: Sequence[Checkpoint]) -> None:
    for cp in checkpoints:
        got = walk.seen.get(cp.seq)
        if got is None:
            walk.add(cp.seq, f"event {cp.seq} is missing but checkpoint {cp.name} ({cp.written_at}) recorded it: "
                             "events were removed from the end of the chain")
        elif got[0] != cp.hash or (cp.seal is not None and got[1] != cp.seal):
            walk.add(cp.seq, f"event {cp.seq} differs from checkpoint {cp.name} ({cp.written_at}): the chain "
                             "was rewritten")


def verify_chain(
    session: Session,
    *,
    key: AuditKey | None = None,
    checkpoints: Sequence[Checkpoint] = (),
    use_process_key: bool = True,
) -> ChainReport:
    """Walk the whole chain and report every event that was altered, removed or inserted; never raise."""
    if key is None and use_process_key:
        key = audit_keys.current()
    walk = _Walk(key, {cp.seq for cp in checkpoints})
    notes: list[str] = []
    try:
        for e in _iter_rows(session):
            walk.step(e)
        _check_head(session, walk)
        walk.findings.extend(_check_guards(session, session.get_bind().dialect.name))
    except SQLAlchemyError as exc:
        session.rollback()
        first_line = (str(getattr(exc, "orig", None) or exc).splitlines() or [type(exc).__name__])[0]
        walk.add(None, f"the audit trail could not be read after event {walk.expected - 1}: {first_line}")
    _check_checkpoints(walk, checkpoints)
    if key is None and walk.sealed:
        walk.add(None, "no audit key (KETACARE_AUDIT_KEY or the key file): seals could not be checked")
    if not checkpoints:
        notes.append("no checkpoint yet: events removed from the end cannot be told from a shorter chain "
                     "(run `ketacare audit checkpoint` regularly)")
    base = ChainReport(True, walk.count, walk.prev, sealed=walk.sealed, checkpoints=len(checkpoints),
                       notes=tuple(notes))
    return base.with_findings(walk.findings)
