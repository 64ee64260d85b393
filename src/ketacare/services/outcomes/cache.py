"""Keep the clinic's patient digests in memory per database, rebuilt when the data version changes.

The data version is the newest audit event that is not a read (every service write is audited, and its chained
hash is unique to one history) plus the newest id of each table outcomes read (bulk loads write no audit events).
Reading it costs one index probe per table, so every request checks it: a write is seen by the next request.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session

from ketacare.store.tables import AuditEvent, Base
from ketacare.store.tables.dosing import DoseOrderRecord
from ketacare.store.tables.eligibility import EligibilityEvaluation
from ketacare.store.tables.measurement import QuestionnaireResponse
from ketacare.store.tables.patients import Diagnosis, Patient
from ketacare.store.tables.scheduling import Chair
from ketacare.store.tables.sessions import InfusionSession, SideEffectRow, VitalSign

READ_ACTIONS = ("view",)
_TABLES: tuple[type[Base], ...] = (
    Patient, Diagnosis, DoseOrderRecord, EligibilityEvaluation, QuestionnaireResponse, InfusionSession,
    SideEffectRow, VitalSign, Chair,
)  # fmt: skip


def data_version(s: Session) -> tuple[object, ...]:
    """Return a value that changes whenever data the dashboard reads may have changed."""
    last = s.execute(
        select(AuditEvent.seq, AuditEvent.hash)
        .where(AuditEvent.action.not_in(READ_ACTIONS))
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    ).first()
    ids = []
    for t in _TABLES:
        table: Table = t.__table__  # type: ignore[assignment]
        ids.append(s.execute(select(func.max(table.c.id))).scalar())
    return (tuple(last) if last else None, *ids)


@dataclass
class _Entry:
    key: tuple[object, ...]
    value: object


class VersionedCache:
    """One value per database url, kept while its key (data version and settings) is unchanged."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}

    def get(self, url: str, key: tuple[object, ...], build: Callable[[], object]) -> object:
        """Return the value for `url` under `key`, building it (once, under a lock) when the key changed."""
        entry = self._entries.get(url)
        if entry is not None and entry.key == key:
            return entry.value
        with self._lock:
            entry = self._entries.get(url)
            if entry is None or entry.key != key:
                entry = _Entry(key, build())
                self._entries[url] = entry
            return entry.value

    def clear(self) -> None:
        """Forget every value (benchmarks measure the first request after a change)."""
        with self._lock:
            self._entries.clear()
