"""Keep every patient's dashboard digest per database, in the database and in memory, brought up to date on each
request.

What changed since the last request is found cheaply: audit events after the newest one seen in each stripe of the
audit chain (every service write is audited with its patient; a stripe's events commit in order, the global `seq`
does not) and rows with ids above the newest seen (bulk loads write no audit event). Only those
patients are read again and digested; new definitions or clinic zone, or a write to patient data that names no
patient, rebuild everything. A change made around the services that neither adds a row nor writes an audit event
is not seen (none exists in Ketacare; a restored backup is a new history, so its events differ).

The digests and their mark are also stored (`stored`): a process without them in memory (just started, or one of
several app processes) reads them and the changes since their mark instead of digesting every patient.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, Table, and_, func, or_, select, text
from sqlalchemy.orm import Session

from ketacare.services.outcomes import stored
from ketacare.services.outcomes.digest import Digest
from ketacare.services.outcomes.frame import Frame
from ketacare.store.tables import AuditEvent, Base
from ketacare.store.tables.dosing import DoseOrderRecord
from ketacare.store.tables.eligibility import EligibilityEvaluation
from ketacare.store.tables.measurement import QuestionnaireResponse
from ketacare.store.tables.patients import Diagnosis, Patient
from ketacare.store.tables.sessions import InfusionSession, SideEffectRow, VitalSign

READ_ACTIONS = ("view", "list", "verify", "export", "login", "login_failed", "logout")
# clinic-wide records that no patient's outcome is computed from: an event on them naming no patient changes nothing
NEUTRAL = frozenset({
    "user", "account", "site", "room", "chair", "working_hours", "calendar_feed", "emergency_access", "security",
    "rescue_formulary_entry", "login_throttle", "audit", "research_export", "clinic_backup", "clinic_settings",
    "outcomes_dashboard", "appointment",
})  # fmt: skip
REBUILD_SHARE = 0.2  # more changed patients than this share of the clinic: read everyone again (one pass is cheaper)
REBUILD_ABOVE = 5000  # ... or than this many (the ids go into one IN list)
STORE_AFTER = 200  # patients changed since the stored frame before it is stored again (a new process digests them)


def _patient_of(t: type[Base]) -> ColumnElement[int]:
    if t is Patient:
        return Patient.id  # type: ignore[return-value]
    if t is SideEffectRow:
        return (
            select(InfusionSession.patient_id).where(InfusionSession.id == SideEffectRow.session_id).scalar_subquery()
        )
    return t.__table__.c.patient_id


_TABLES: tuple[type[Base], ...] = (
    Patient, Diagnosis, DoseOrderRecord, EligibilityEvaluation, QuestionnaireResponse, InfusionSession,
    SideEffectRow, VitalSign,
)  # fmt: skip


@dataclass(frozen=True)
class Mark:
    """How far the digests have read: the newest audit event of each stripe and the newest id of each table.

    `audit` holds (stripe, place in the stripe, hash) per stripe of the chain, None for an empty chain.
    """

    audit: tuple[tuple[int, int, str], ...] | None
    ids: tuple[int | None, ...]

    def to_json(self) -> str:
        """Return the mark as JSON (stored with the digests)."""
        return json.dumps({"audit": self.audit, "ids": self.ids})

    @classmethod
    def from_json(cls, text: str) -> Mark:
        """Return the mark stored as JSON by `to_json`."""
        x = json.loads(text)
        audit = None if x["audit"] is None else tuple((int(a), int(b), str(h)) for a, b, h in x["audit"])
        return cls(audit, tuple(x["ids"]))


def mark(s: Session) -> Mark:
    """Return the current mark (one probe per stripe head and one per table)."""
    heads = s.execute(text(
        "SELECT e.stripe, e.stripe_seq, e.hash FROM audit_chain_head h JOIN audit_events e ON e.seq = h.seq "
        "ORDER BY e.stripe")).all()
    ids = []
    for t in _TABLES:
        table: Table = t.__table__  # type: ignore[assignment]
        ids.append(s.execute(select(func.max(table.c.id))).scalar())
    audit = tuple((int(a), int(b), str(c)) for a, b, c in heads) or None
    return Mark(audit, tuple(ids))


def _at(marks: Iterable[tuple[int, int, str]], op: str) -> ColumnElement[bool]:
    col = AuditEvent.stripe_seq
    return or_(*(and_(AuditEvent.stripe == a, col > b if op == ">" else col == b) for a, b, _ in marks))


def changed_since(s: Session, old: Mark, new: Mark) -> set[int] | None:
    """Return the patients whose data may have changed between two marks; None when everyone must be read."""
    if old.audit is not None:
        old_at, new_at = {a: b for a, b, _ in old.audit}, {a: b for a, b, _ in (new.audit or ())}
        if any(new_at.get(a, -1) < b for a, b in old_at.items()):
            return None  # a different history (restored or emptied)
        known = {(a, b, str(h)) for a, b, h in s.execute(
            select(AuditEvent.stripe, AuditEvent.stripe_seq, AuditEvent.hash).where(_at(old.audit, "=")))}
        if known != set(old.audit):
            return None
    out: set[int] = set()
    if new.audit is not None and new.audit != old.audit:
        seen = {a for a, _, _ in old.audit or ()}
        after = [*(old.audit or ()), *((a, 0, "") for a, _, _ in new.audit if a not in seen)]
        for pid, resource in s.execute(
            select(AuditEvent.patient_id, AuditEvent.resource_type).where(
                _at(after, ">"), AuditEvent.action.not_in(READ_ACTIONS)
            )
        ):
            if pid is not None:
                out.add(pid)
            elif resource not in NEUTRAL:
                return None
    for t, before, now in zip(_TABLES, old.ids, new.ids, strict=True):
        if now is None or before == now:
            continue
        if before is not None and now < before:
            return None  # rows were removed
        table: Table = t.__table__  # type: ignore[assignment]
        rows = select(_patient_of(t)).where(table.c.id > (before or 0))
        out.update(pid for pid in s.scalars(rows) if pid is not None)
    return out


@dataclass
class _Entry:
    settings: tuple[object, ...]
    mark: Mark
    frame: Frame
    unstored: set[int] = field(default_factory=set)  # patients changed since the stored frame's mark


class DigestStore:
    """Every patient's digest per database url, as a frame of columns, refreshed from what changed since the last
    request."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}

    def current(
        self,
        s: Session,
        url: str,
        settings: tuple[object, ...],
        digest: Callable[[Iterable[int] | None], dict[int, Digest]],
        *,
        scope: object = None,
        everyone: Callable[[], Frame] | None = None,
    ) -> Frame:
        """Return every patient's digest (patient order), re-digesting only the patients that changed.

        `settings` is what every digest depends on besides the records (definitions, clinic zone), `scope` tells
        apart in memory two databases of one url, `everyone` makes the frame of every patient when all must be
        digested (default: `digest(None)`); the stored frame is written in the caller's transaction, only
        after a rebuild or once STORE_AFTER patients changed since it (a process that starts digests those again).
        """
        def full() -> Frame:
            return everyone() if everyone is not None else Frame.of(digest(None).values())

        with self._lock:
            now = mark(s)
            key = stored.settings_hash(*settings)
            settings = (scope, *settings)
            entry = self._entries.get(url)
            if entry is None or entry.settings != settings:
                entry = self._from_store(s, settings, key)
                if entry is None:
                    entry = _Entry(settings, now, full())
                    self._entries[url] = entry
                    stored.write_frame(s, key, now.to_json(), entry.frame.to_bytes())
                    return entry.frame
                self._entries[url] = entry
            if entry.mark == now:
                return entry.frame
            changed = changed_since(s, entry.mark, now)
            if changed is None or len(changed) > min(REBUILD_ABOVE, REBUILD_SHARE * max(1, len(entry.frame))):
                entry.frame = full()
                changed = None
            elif changed:
                entry.frame = entry.frame.replaced(changed, digest(sorted(changed)).values())
                entry.unstored |= changed
            entry.mark = now
            if changed is None or len(entry.unstored) > STORE_AFTER:
                if stored.read_frame_mark(s) != (key, now.to_json()):  # another process may have stored it already
                    stored.write_frame(s, key, now.to_json(), entry.frame.to_bytes())
                entry.unstored = set()
            return entry.frame

    @staticmethod
    def _from_store(s: Session, settings: tuple[object, ...], key: str) -> _Entry | None:
        kept = stored.read_frame(s)
        if kept is not None and kept[0] == key:
            return _Entry(settings, Mark.from_json(kept[1]), Frame.from_bytes(kept[2]))
        legacy = stored.read_legacy(s)  # digests stored one JSON row per patient by an earlier version
        if legacy is None or legacy[0] != key:
            return None
        entry = _Entry(settings, Mark.from_json(legacy[1]), Frame.of(legacy[2].values()))
        stored.write_frame(s, key, legacy[1], entry.frame.to_bytes())
        stored.drop_legacy(s)
        return entry

    def mark_of(self, url: str) -> Mark | None:
        """Return the mark the digests of `url` were last brought up to (None before the first request)."""
        entry = self._entries.get(url)
        return None if entry is None else entry.mark

    def clear(self) -> None:
        """Forget every digest (benchmarks time the first request after a server start)."""
        with self._lock:
            self._entries.clear()
