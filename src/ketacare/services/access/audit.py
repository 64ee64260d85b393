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
    stripe, stripe_seq = values.get("stripe", 1), values.get("stripe_seq", values["seq"])
    if stripe != 1 or stripe_seq != values["seq"]:  # events of one dense chain (before 0016, SQLite) hash as before
        body["stripe"], body["stripe_seq"] = stripe, stripe_seq
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


_LINK_FIELDS = (*_FIELDS, "stripe", "stripe_seq")


def canonical_form(e: AuditEvent) -> bytes:
    """Return the canonical bytes of an event (sorted-key compact JSON of every field but its own hash)."""
    return _canonical({k: getattr(e, k) for k in _LINK_FIELDS})


def event_hash(e: AuditEvent) -> str:
    """Return the SHA-256 (hex) of an event's canonical form."""
    return hashlib.sha256(canonical_form(e)).hexdigest()


_COLUMNS = (*_LINK_FIELDS, "hash", "seal")
_SQLITE_TS = "%Y-%m-%d %H:%M:%S.%f"  # what SQLAlchemy's SQLite DateTime stores (read back as UTC by UTCDateTime)
_STRIPE_TAIL = "SELECT seq, stripe_seq, hash FROM audit_events WHERE stripe = {p} ORDER BY stripe_seq DESC LIMIT 1"
# PostgreSQL: lock one stripe head, then read its newest event (one index probe) and the newest event number.
_PG_HEAD = (
    "SELECT h.id, h.seq, h.hash, t.seq, t.stripe_seq, t.hash, (SELECT max(seq) FROM audit_events){more} "
    "FROM (SELECT id, seq, hash FROM audit_chain_head {where} FOR UPDATE {skip}) h "
    "LEFT JOIN LATERAL (SELECT seq, stripe_seq, hash FROM audit_events e WHERE e.stripe = h.id "
    "ORDER BY e.stripe_seq DESC LIMIT 1) t ON true"
)
# The first free stripe (skipping those other transactions hold), drawing the events' global numbers too.
_PG_TAKE_FREE = _PG_HEAD.format(
    more=", (SELECT array_agg(nextval('audit_events_seq')) FROM generate_series(1, %s))",
    where="ORDER BY id LIMIT 1", skip="SKIP LOCKED")
_PG_WAIT_FOR = _PG_HEAD.format(more="", where="WHERE id = (SELECT min(id) FROM audit_chain_head)", skip="")
_SQLITE_HEAD = (
    "SELECT h.id, h.seq, h.hash, t.seq, t.stripe_seq, t.hash, (SELECT max(seq) FROM audit_events) "
    "FROM audit_chain_head h "
    "LEFT JOIN (SELECT seq, stripe_seq, hash FROM audit_events WHERE stripe = 1 ORDER BY stripe_seq DESC LIMIT 1) t "
    "ON 1 = 1 WHERE h.id = 1"
)
_RECREATE_HEAD = "INSERT INTO audit_chain_head (id, seq, hash) VALUES (1, {p}, {p}) ON CONFLICT (id) DO NOTHING"
_PG_LOCK_ID = 0x6B63_6175  # advisory lock taken only while no chain head row is left
# The database guards of the chain (0001, 0013, 0016): verification reports any that is missing or disabled.
GUARDS = {
    "sqlite": frozenset({"audit_events_no_update", "audit_events_no_delete", "audit_events_next_link",
                         "audit_chain_head_no_delete"}),
    "postgresql": frozenset({"audit_events_no_update", "audit_events_no_delete", "audit_events_no_truncate",
                             "audit_events_next_link", "audit_chain_head_no_delete", "audit_chain_head_no_truncate"}),
}


def _placeholders(dialect: str, n: int) -> str:
    return ", ".join(["?" if dialect == "sqlite" else "%s"] * n)


def _repair(reason: str, details: Mapping[str, object]) -> PendingEvent:
    log.error("audit chain: %s", reason)
    return PendingEvent("repair", "audit_chain", None, None, "failure", reason, details)


@dataclass
class _LinkPoint:
    """Where the next events go: the stripe, its newest event (global seq, place, hash) and repairs to record."""

    stripe: int
    seq: int
    stripe_seq: int
    prev: str
    repairs: list[PendingEvent]
    seqs: list[int]
    newest: int  # the newest global event number in the table (PostgreSQL)


def _stripe_name(stripe: int) -> str:
    return "the chain" if stripe == 1 else f"stripe {stripe} of the chain"


def _take_stripe(cursor: Any, sqlite: bool, n: int) -> tuple[Any, list[int]]:
    """Lock a stripe head (a free one on PostgreSQL, waiting only if all are taken) and read its newest event."""
    if sqlite:
        cursor.execute(_SQLITE_HEAD)
        return cursor.fetchone(), []
    cursor.execute(_PG_TAKE_FREE, (n,))
    row = cursor.fetchone()
    if row is not None:
        return row[:7], [int(v) for v in row[7]]
    cursor.execute(_PG_WAIT_FOR)
    return cursor.fetchone(), []


def _draw_seqs(cursor: Any, n: int, newest: int) -> list[int]:
    """Return `n` new global event numbers, past any number taken outside the sequence (an inserted row)."""
    cursor.execute("SELECT setval('audit_events_seq', GREATEST(%s, (SELECT last_value FROM audit_events_seq)))",
                   (newest,))
    cursor.execute("SELECT nextval('audit_events_seq') FROM generate_series(1, %s)", (n,))
    return [int(r[0]) for r in cursor.fetchall()]


def _link_point(cursor: Any, sqlite: bool, n: int) -> _LinkPoint:
    """Lock a stripe head and return the newest event of its stripe to link after, with a `repair` if out of step.

    The newest event of the stripe is the truth the database will accept (its INSERT trigger checks the link):
    a head that is missing, behind or ahead of it is recorded in the chain itself and then moved, so the app
    keeps answering and verification keeps naming what happened.
    """
    p = "?" if sqlite else "%s"
    row, seqs = _take_stripe(cursor, sqlite, n)
    if row is None:  # no head row left at all (SQLite: stripe 1's row): recreate stripe 1's
        if not sqlite:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", (_PG_LOCK_ID,))
        cursor.execute(_STRIPE_TAIL.format(p=p), (1,))
        last = cursor.fetchone() or (0, 0, GENESIS)
        cursor.execute(_RECREATE_HEAD.format(p=p), (last[0], last[2]))
        point = _link_point(cursor, sqlite, n)
        point.repairs.insert(0, _repair(f"the audit chain head was missing; the chain continues after event "
                                        f"{last[0]}", {"after_seq": last[0], "stripe": 1}))
        return point
    stripe, newest = int(row[0]), int(row[6] or 0)
    head = (int(row[1]), str(row[2]))
    tail = (int(row[3]), int(row[4]), str(row[5])) if row[4] is not None else (0, 0, GENESIS)
    if head != (tail[0], tail[2]):
        # A transaction that waited for the lock read the tail before the newest commit: read it afresh.
        cursor.execute(_STRIPE_TAIL.format(p=p), (stripe,))
        fresh = cursor.fetchone()
        tail = (int(fresh[0]), int(fresh[1]), str(fresh[2])) if fresh else (0, 0, GENESIS)
    if head == (tail[0], tail[2]):
        return _LinkPoint(stripe, tail[0], tail[1], tail[2], [], seqs, newest)
    name = _stripe_name(stripe)
    if head[0] > tail[0]:
        reason = (f"events after event {tail[0]} named by the head of {name} (up to event {head[0]}) were missing "
                  f"(removed); {name} continues after event {tail[0]}")
    else:
        reason = (f"the head of {name} named event {head[0]} but event {tail[0]} was its newest (events added or "
                  "the head moved outside the application)")
    details = {"head_seq": head[0], "last_seq": tail[0], "stripe": stripe}
    return _LinkPoint(stripe, tail[0], tail[1], tail[2], [_repair(reason, details)], seqs, newest)


def _next_seqs(cursor: Any, sqlite: bool, point: _LinkPoint, n: int) -> list[int]:
    """Return `n` global event numbers: the ones drawn with the lock, topped up if repairs were added."""
    if sqlite:  # one stripe, dense
        return [point.seq + i for i in range(1, n + 1)]
    if len(point.seqs) < n or min(point.seqs) <= point.newest:  # repairs to record, or a number already taken
        return _draw_seqs(cursor, n, point.newest)
    return point.seqs[:n]


def append(session: Session, actor: Actor, events: list[PendingEvent]) -> list[dict[str, object]]:
    """Append events to the chain inside the caller's transaction (call just before commit).

    This runs on every audited request, so it talks to the driver directly instead of going through the ORM.
    The chain has stripes, independent hash chains each with a head row; an appender locks one stripe head
    first, so a stripe never forks: PostgreSQL takes the first head row no other transaction holds (SELECT ...
    FOR UPDATE SKIP LOCKED, waiting only when all 32 are held), so concurrent requests do not wait for each
    other, and then inserts the events and moves the head in one statement; SQLite has one stripe and every
    transaction began with BEGIN IMMEDIATE, so it already holds the write lock. Each event is sealed with the
    audit key (HMAC of its hash), which the database never sees.
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
        point = _link_point(cursor, sqlite, len(events))
        todo = [*point.repairs, *events]
        seqs = _next_seqs(cursor, sqlite, point, len(todo))
        when = clock.now()
        rows, params = [], []
        prev, stripe_seq = point.prev, point.stripe_seq
        for ev, seq in zip(todo, seqs, strict=True):
            stripe_seq += 1
            row: dict[str, object] = {
                "seq": seq, "occurred_at": when, "actor_user_id": actor.user_id, "actor_username": actor.username,
                "actor_role": actor.role, "action": ev.action, "resource_type": ev.resource_type,
                "resource_id": ev.resource_id, "patient_id": ev.patient_id, "outcome": ev.outcome,
                "reason": ev.reason, "address": actor.address,
                "details": json.dumps(ev.details, sort_keys=True, separators=(",", ":"), default=str),
                "prev_hash": prev, "stripe": point.stripe, "stripe_seq": stripe_seq,
            }
            row["hash"] = prev = hashlib.sha256(_canonical(row)).hexdigest()
            row["seal"] = key.seal(prev)
            rows.append(row)
            values = [row[c] for c in _COLUMNS]
            if sqlite:
                values[1] = when.astimezone(UTC).strftime(_SQLITE_TS)
            params.append(values)
        columns = ", ".join(_COLUMNS)
        head = (seqs[-1], prev, point.stripe)
        # Only the fixed column list and placeholders are formatted into these statements (S608 below).
        if sqlite:
            values_sql = _placeholders(dialect, len(_COLUMNS))
            cursor.executemany(f"INSERT INTO audit_events ({columns}) VALUES ({values_sql})", params)  # noqa: S608
            cursor.execute("UPDATE audit_chain_head SET seq = ?, hash = ? WHERE id = ?", head)
        else:
            tuples = ", ".join(f"({_placeholders(dialect, len(_COLUMNS))})" for _ in params)
            cursor.execute(
                f"WITH ins AS (INSERT INTO audit_events ({columns}) VALUES {tuples}) "  # noqa: S608 - see above
                "UPDATE audit_chain_head SET seq = %s, hash = %s WHERE id = %s",
                [v for values in params for v in values] + list(head),
            )
    finally:
        cursor.close()
    return rows[len(point.repairs):]


@dataclass(frozen=True)
class Finding:
    """One break of the chain: the event it concerns (None for the chain as a whole) and what is wrong."""

    seq: int | None
    problem: str


@dataclass(frozen=True)
class Checkpoint:
    """A signed record, kept outside the database, that event `seq` had `hash` (and `seal`).

    `heads` names the newest event of every stripe as (seq, hash, seal), so a stripe cut short is caught too;
    checkpoints written before stripes name the newest event only.
    """

    name: str
    seq: int
    hash: str
    seal: str | None
    written_at: str
    heads: tuple[tuple[int, str, str | None], ...] = ()

    def marks(self) -> tuple[tuple[int, str, str | None], ...]:
        """Return every event this checkpoint vouches for."""
        return self.heads or ((self.seq, self.hash, self.seal),)


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
    """Yield every event stripe by stripe, each stripe in its own order."""
    after = (0, 0)
    while True:
        rows = session.execute(
            text(f"SELECT {_READ_COLUMNS} FROM audit_events WHERE stripe > :s OR (stripe = :s AND stripe_seq > :n) "  # noqa: S608 - fixed column list
                 "ORDER BY stripe, stripe_seq LIMIT :b"),
            {"s": after[0], "n": after[1], "b": batch},
        ).mappings().all()
        if not rows:
            return
        for r in rows:
            yield dict(r)
        after = (int(rows[-1]["stripe"]), int(rows[-1]["stripe_seq"]))


def _as_utc(value: object) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)


def _row_hash(row: Mapping[str, Any]) -> str:
    values = dict(row)
    values["occurred_at"] = _as_utc(row["occurred_at"]).astimezone(UTC)
    return hashlib.sha256(_canonical(values)).hexdigest()


@dataclass
class _StripeEnd:
    """Where the walk of one stripe stands: the next place expected and the newest event seen."""

    expected: int = 1
    prev: str = GENESIS
    seq: int = 0


class _Walk:
    """State of one pass over the chain, stripe by stripe."""

    def __init__(self, key: AuditKey | None, checkpoint_seqs: set[int]) -> None:
        self.key = key
        self.findings: list[Finding] = []
        self.count, self.sealed = 0, 0
        self.stripes: dict[int, _StripeEnd] = {}
        self.wanted = checkpoint_seqs
        self.seen: dict[int, tuple[str, str | None]] = {}

    @property
    def prev(self) -> str:
        """Return the hash of the newest event of all (the head hash of a one-stripe chain)."""
        newest = max(self.stripes.values(), key=lambda end: end.seq, default=_StripeEnd())
        return newest.prev

    @property
    def last_seq(self) -> int:
        """Return the newest event number read."""
        return max((end.seq for end in self.stripes.values()), default=0)

    def add(self, seq: int | None, problem: str) -> None:
        self.findings.append(Finding(seq, problem))

    def step(self, e: Mapping[str, Any]) -> None:
        seq, stripe, place = int(e["seq"]), int(e["stripe"]), int(e["stripe_seq"])
        end = self.stripes.setdefault(stripe, _StripeEnd())
        where = "" if stripe == 1 else f" (stripe {stripe} of the chain)"
        if place > end.expected:
            # A one-stripe chain numbers its events by place, so the first missing one can be named.
            at = seq - (place - end.expected) if place == seq else seq
            n = place - end.expected
            gap = (f"event {at}" if n == 1 else f"events {at} to {at + n - 1}") if place == seq else (
                f"{n} event{'s' if n > 1 else ''} before event {seq}")
            self.add(at, f"{gap} missing (removed){where}: the chain jumps from {end.seq} to {seq}")
        elif e["prev_hash"] != end.prev:
            self.add(seq, f"event {seq} does not link to event {end.seq}{where} (an event before it was removed, "
                          "replaced or inserted)")
        try:
            content_ok = _row_hash(e) == e["hash"]
        except (ValueError, TypeError, KeyError):
            content_ok = False
        if not content_ok:
            self.add(seq, f"event {seq} was altered: its content no longer matches its stored hash")
        self._check_seal(seq, stripe, e)
        if e["action"] == "repair" and e["resource_type"] == "audit_chain":
            self.add(seq, f"event {seq}: the application found the chain out of step: {e['reason']}")
        if seq in self.wanted:
            self.seen[seq] = (str(e["hash"]), e["seal"])
        end.prev, end.expected, end.seq = str(e["hash"]), place + 1, seq
        self.count += 1

    def _check_seal(self, seq: int, stripe: int, e: Mapping[str, Any]) -> None:
        seal = e["seal"]
        if seal is None:
            if self.sealed or stripe != 1:  # stripes other than 1 began after seals did
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


def _check_heads(session: Session, walk: _Walk) -> None:
    """Compare every stripe's head record with the stripe's newest event (`seq` grows along a stripe)."""
    heads = {int(r.id): r for r in session.execute(text("SELECT id, seq, hash FROM audit_chain_head"))}
    for stripe in sorted(set(heads) | set(walk.stripes)):
        end, head = walk.stripes.get(stripe, _StripeEnd()), heads.get(stripe)
        where = "chain" if stripe == 1 else f"stripe {stripe} of the chain"
        if head is None:
            if end.seq or stripe == 1:
                walk.add(None, f"the {'chain head' if stripe == 1 else f'head of {where}'} record is missing "
                               "(deleted)")
        elif head.seq > end.seq:
            walk.add(end.seq + 1, f"events after event {end.seq} up to event {head.seq} are missing (removed from "
                                  f"the end of the {where})")
        elif head.seq < end.seq:
            walk.add(head.seq + 1, f"events after event {head.seq} up to event {end.seq} were added without moving "
                                   f"the head of the {where} (inserted outside the application)")
        elif head.hash != end.prev:
            walk.add(end.seq, f"event {end.seq} does not match the head of the {where}")


def _check_checkpoints(walk: _Walk, checkpoints: Sequence[Checkpoint]) -> None:
    for cp in checkpoints:
        for seq, digest, seal in cp.marks():
            got = walk.seen.get(seq)
            if got is None:
                walk.add(seq, f"event {seq} is missing but checkpoint {cp.name} ({cp.written_at}) recorded it: "
                              "events were removed from the end of the chain")
            elif got[0] != digest or (seal is not None and got[1] != seal):
                walk.add(seq, f"event {seq} differs from checkpoint {cp.name} ({cp.written_at}): the chain "
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
    walk = _Walk(key, {seq for cp in checkpoints for seq, _, _ in cp.marks()})
    notes: list[str] = []
    try:
        for e in _iter_rows(session):
            walk.step(e)
        for (seq,) in session.execute(text(
                "SELECT seq FROM audit_events WHERE stripe IS NULL OR stripe_seq IS NULL ORDER BY seq")):
            walk.add(int(seq), f"event {seq} has no place in the chain (inserted outside the application)")
        _check_heads(session, walk)
        walk.findings.extend(_check_guards(session, session.get_bind().dialect.name))
    except SQLAlchemyError as exc:
        session.rollback()
        first_line = (str(getattr(exc, "orig", None) or exc).splitlines() or [type(exc).__name__])[0]
        walk.add(None, f"the audit trail could not be read after event {walk.last_seq}: {first_line}")
    _check_checkpoints(walk, checkpoints)
    if key is None and walk.sealed:
        walk.add(None, "no audit key (KETACARE_AUDIT_KEY or the key file): seals could not be checked")
    if not checkpoints:
        notes.append("no checkpoint yet: events removed from the end cannot be told from a shorter chain "
                     "(run `ketacare audit checkpoint` regularly)")
    base = ChainReport(True, walk.count, walk.prev, sealed=walk.sealed, checkpoints=len(checkpoints),
                       notes=tuple(notes))
    return base.with_findings(walk.findings)
