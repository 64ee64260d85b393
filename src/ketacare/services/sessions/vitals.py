"""Vital signs: one reading by a nurse, or idempotent batches from a monitor gateway; every reading taken during
a session is evaluated by the alert engine in the same transaction (see `alerts`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Executable, Table, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ketacare.domain.errors import InvalidValue
from ketacare.domain.sessions import VitalReading
from ketacare.services import clock
from ketacare.services.access import Actor
from ketacare.services.errors import NotFound
from ketacare.services.sessions import bus as board_bus
from ketacare.services.sessions.alerts import Chart, chart_of, evaluate_readings
from ketacare.services.sessions.schemas import (
    BatchResult,
    GatewayReading,
    ReadingConflict,
    VitalIn,
    VitalRead,
)
from ketacare.services.uow import UnitOfWork
from ketacare.store.db import Database
from ketacare.store.tables import Patient
from ketacare.store.tables.sessions import (
    VitalSign,
)

_FUTURE_TOLERANCE = timedelta(minutes=5)  # device clocks drift; refuse readings further in the future


def latest_vitals(session: Session, patient_id: int, context: str | None = None) -> VitalSign | None:
    """Return the patient's latest reading (optionally of one context, e.g. 'screening'), or None."""
    q = select(VitalSign).where(VitalSign.patient_id == patient_id, VitalSign.entered_in_error.is_(False))
    if context is not None:
        q = q.where(VitalSign.context == context)
    return session.scalars(q.order_by(VitalSign.measured_at.desc(), VitalSign.id.desc()).limit(1)).first()


def default_context(state: str) -> str:
    """Return the reading context implied by the session state."""
    if state in ("scheduled", "checked_in", "prechecks_passed"):
        return "baseline"
    if state in ("infusing", "paused"):
        return "during"
    if state == "recovery":
        return "recovery"
    return "other"


def _domain_check(r: VitalIn) -> None:
    VitalReading(sbp=r.sbp, dbp=r.dbp, hr=r.hr, spo2=r.spo2, rr=r.rr)  # plausibility + dbp < sbp


def _row_values(
    r: VitalIn,
    *,
    patient_id: int,
    session_id: int | None,
    context: str,
    source: str,
    actor: Actor,
    now: datetime,
) -> dict[str, Any]:
    measured = r.measured_at or now
    if measured.tzinfo is None:
        raise InvalidValue(
            "measured_at", "give the device time with its time zone (e.g. 2026-11-26T10:15:00Z)"
        )
    if measured > now + _FUTURE_TOLERANCE:
        raise InvalidValue("measured_at", "the reading is dated in the future: check the monitor's clock")
    return {
        "patient_id": patient_id,
        "session_id": session_id,
        "measured_at": measured,
        "received_at": now,
        "sbp_mmhg": r.sbp,
        "dbp_mmhg": r.dbp,
        "hr_per_min": r.hr,
        "spo2_pct": r.spo2,
        "rr_per_min": r.rr,
        "temp_c": r.temp_c,
        "on_oxygen": r.on_oxygen,
        "context": r.context or context,
        "source": source,
        "client_id": r.client_id,
        "device_id": r.device_id or "",
        "recorded_by": actor.user_id,
    }


_SAME = ("patient_id", "session_id", "received_at", "source", "recorded_by")  # one value per batch


_PER_ROW = {
    "measured_at": "timestamptz[]",
    "sbp_mmhg": "float8[]",
    "dbp_mmhg": "float8[]",
    "hr_per_min": "float8[]",
    "spo2_pct": "float8[]",
    "rr_per_min": "float8[]",
    "temp_c": "float8[]",
    "on_oxygen": "boolean[]",
    "context": "text[]",
    "client_id": "text[]",
    "device_id": "text[]",
}


# PostgreSQL: one short statement with one array per column, whatever the batch size (a multi-row VALUES
# list with 14 placeholders per reading costs more to build and parse than the insert itself).
_PG_UNNEST_INSERT = text(
    f"INSERT INTO vital_signs ({', '.join(_SAME)}, {', '.join(_PER_ROW)}) "  # noqa: S608 - constant column names
    "SELECT CAST(:patient_id AS integer), CAST(:session_id AS integer), CAST(:received_at AS timestamptz), "
    "CAST(:source AS varchar), CAST(:recorded_by AS integer), u.* FROM unnest("
    + ", ".join(f"CAST(:{c} AS {t})" for c, t in _PER_ROW.items())
    + ") AS u ON CONFLICT (session_id, source, device_id, client_id) WHERE conflict_of IS NULL DO NOTHING RETURNING id"
)


_VITAL_SIGNS = cast(Table, VitalSign.__table__)  # a declarative class's table is a Table (typed FromClause)


def _upsert(
    insert: Callable[[Table], postgresql.Insert] | Callable[[Table], sqlite.Insert],
) -> Executable:
    return (
        insert(_VITAL_SIGNS)
        .on_conflict_do_nothing(
            index_elements=["session_id", "source", "device_id", "client_id"],
            index_where=text("conflict_of IS NULL"),
        )
        .returning(_VITAL_SIGNS.c.id)
    )


_INSERT_NEW = {"postgresql": _upsert(postgresql.insert), "sqlite": _upsert(sqlite.insert)}


def _insert_new(s: Session, values: list[dict[str, Any]]) -> list[int]:
    """Insert rows whose reading key is new (INSERT ... ON CONFLICT DO NOTHING); return the new ids."""
    if not values:
        return []
    dialect = s.get_bind().dialect.name
    if (
        dialect == "postgresql"
        and len(values) > 1
        and all(v[c] == values[0][c] for v in values for c in _SAME)
    ):
        params = {c: values[0][c] for c in _SAME} | {c: [v[c] for v in values] for c in _PER_ROW}
        return list(s.execute(_PG_UNNEST_INSERT, params).scalars())
    stmt = _INSERT_NEW[dialect]
    if len(values) == 1:
        return list(s.execute(stmt, values[0]).scalars())
    ids: list[int] = []
    chunk = 500
    for i in range(0, len(values), chunk):
        ids.extend(s.execute(stmt, values[i : i + chunk]).scalars())
    return ids


_READING = (
    "measured_at",
    "sbp_mmhg",
    "dbp_mmhg",
    "hr_per_min",
    "spo2_pct",
    "rr_per_min",
    "temp_c",
    "on_oxygen",
    "context",
)


def _reading_of(values: Mapping[str, Any]) -> tuple[Any, ...]:
    """Return what a reading says (device time and values), to tell a true re-send from a conflict."""
    return tuple(values[c] for c in _READING)


def _keep_conflicts(
    s: Session, session_id: int, source: str, values: Sequence[dict[str, Any]], new_ids: Sequence[int]
) -> list[ReadingConflict]:
    """Store each reading whose key is taken by a reading with other values as a conflict; return them.

    A reading identical to one stored under its key (the first or an earlier conflict) is a true re-send and is
    not stored again. Runs only when the insert skipped something, so the usual batch pays nothing.
    """
    keyed = [v for v in values if v["client_id"] is not None]
    stored = s.scalars(
        select(VitalSign).where(
            VitalSign.session_id == session_id,
            VitalSign.source == source,
            VitalSign.client_id.in_({v["client_id"] for v in keyed}),
        )
    ).all()
    new = set(new_ids)
    by_key: dict[tuple[str, str], list[VitalSign]] = {}
    for row in stored:
        by_key.setdefault((row.device_id, row.client_id or ""), []).append(row)
    conflicts: list[ReadingConflict] = []
    for v in keyed:
        rows = by_key.get((v["device_id"], v["client_id"]), [])
        said = _reading_of(v)
        if any(_reading_of(_as_values(r)) == said for r in rows):
            continue  # stored now (new id) or earlier: not a conflict
        first = next((r for r in rows if r.conflict_of is None and r.id not in new), None)
        if first is None:
            continue
        row = VitalSign(**v, conflict_of=first.id)
        s.add(row)
        s.flush()
        rows.append(row)
        conflicts.append(
            ReadingConflict(
                client_id=v["client_id"], device_id=v["device_id"], stored_id=row.id, conflicts_with=first.id
            )
        )
    return conflicts


def _as_values(row: VitalSign) -> dict[str, Any]:
    return {c: getattr(row, c) for c in _READING}


def _chart_for_write(uow: UnitOfWork, session_id: int) -> Chart:
    chart = chart_of(uow.session, session_id)
    if chart is None:
        raise NotFound("session")
    uow.authorize("chart", "infusion_session", patient_id=chart.patient_id)
    if chart.locked:
        raise InvalidValue("session", "the session record is signed: add an addendum instead of new readings")
    return chart


def _store(
    uow: UnitOfWork, chart: Chart, readings: Sequence[VitalIn], source: str, actor: Actor
) -> BatchResult:
    s = uow.session
    now = clock.now()
    ctx = default_context(chart.state)
    values = []
    seen: dict[tuple[str, str], tuple[Any, ...]] = {}
    for k, r in enumerate(readings):
        try:
            _domain_check(r)
        except InvalidValue as e:
            raise InvalidValue(f"readings[{k}].{e.field}", e.message) from None
        row = _row_values(
            r,
            patient_id=chart.patient_id,
            session_id=chart.id,
            context=ctx,
            source=source,
            actor=actor,
            now=now,
        )
        if r.client_id is not None:
            key = (row["device_id"], r.client_id)
            if seen.get(key) == _reading_of(row):
                continue  # the same reading twice in one batch
            seen.setdefault(key, _reading_of(row))
        values.append(row)
    ids = _insert_new(s, values)
    conflicts = _keep_conflicts(s, chart.id, source, values, ids) if len(ids) < len(values) else []
    ids = ids + [c.stored_id for c in conflicts]
    raised, resolved = evaluate_readings(s, chart, values, ids)
    result = BatchResult(
        received=len(readings),
        stored=len(ids),
        duplicates=len(readings) - len(ids),
        conflicts=conflicts,
        alerts_raised=raised,
        alerts_resolved=resolved,
    )
    details: dict[str, object] = {"source": source, "stored": result.stored, "duplicates": result.duplicates}
    if conflicts:
        details["conflicts"] = [c.model_dump() for c in conflicts]
    if len(readings) > 1 or raised or resolved:
        details.update(received=result.received, alerts_raised=len(raised), alerts_resolved=len(resolved))
    client_ids = [r.client_id for r in readings if r.client_id is not None]
    if client_ids:
        details["client_ids"] = {"first": client_ids[0], "last": client_ids[-1]}
    uow.audit("create", "vital_signs", chart.id, patient_id=chart.patient_id, details=details)
    for aid in raised:
        uow.audit(
            "create", "session_alert", aid, patient_id=chart.patient_id, details={"session_id": chart.id}
        )
    return result


def _notify(uow: UnitOfWork, session_id: int, result: BatchResult) -> list[board_bus.BoardChange]:
    """Queue ONE board notice for the batch ('alert' when alerts changed, else 'vitals')."""
    kind = "alert" if result.alerts_raised or result.alerts_resolved else "vitals"
    return board_bus.notify_in_transaction(uow.session, [board_bus.BoardChange(session_id, kind)])


def record_batch(
    *, db: Database, actor: Actor, session_id: int, readings: Sequence[GatewayReading]
) -> BatchResult:
    """Store a gateway batch once per client id (a re-posted batch stores nothing new) and evaluate alerts.

    One transaction, one multi-row INSERT ... ON CONFLICT DO NOTHING, one pass of the alert engine, one audit
    event for the readings (plus one per alert raised) and one board notice.
    """
    with UnitOfWork(db, actor) as uow:
        chart = _chart_for_write(uow, session_id)
        result = _store(uow, chart, readings, "gateway", actor)
        local = _notify(uow, session_id, result)
    board_bus.publish_after_commit(db, local)
    return result


def record_session_reading(*, db: Database, actor: Actor, session_id: int, data: VitalIn) -> BatchResult:
    """Store one reading entered by a nurse for a session and evaluate alerts."""
    with UnitOfWork(db, actor) as uow:
        chart = _chart_for_write(uow, session_id)
        result = _store(uow, chart, [data], "nurse", actor)
        local = _notify(uow, session_id, result)
    board_bus.publish_after_commit(db, local)
    return result


def record_patient_reading(*, db: Database, actor: Actor, patient_id: int, data: VitalIn) -> VitalRead:
    """Store one reading outside a session (e.g. the screening BP the eligibility evaluation reads)."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("write", "patient_clinical", patient_id=patient_id)
        s = uow.session
        if s.get(Patient, patient_id) is None:
            raise NotFound("patient")
        _domain_check(data)
        now = clock.now()
        values = _row_values(
            data,
            patient_id=patient_id,
            session_id=None,
            context="screening",
            source="nurse",
            actor=actor,
            now=now,
        )
        if data.client_id is not None and _screening_reading_stored(s, patient_id, values):
            raise InvalidValue("client_id", "this reading was already stored")
        ids = _insert_new(s, [values])
        row = s.get(VitalSign, ids[0])
        if row is None:  # just inserted in this transaction
            raise NotFound("vital sign")
        uow.audit("create", "vital_signs", row.id, patient_id=patient_id, details={"context": row.context})
        return VitalRead.model_validate(row)


def _screening_reading_stored(s: Session, patient_id: int, values: Mapping[str, Any]) -> bool:
    """Tell whether a reading outside a session with this key exists (the unique index covers sessions only)."""
    found = s.scalar(
        select(VitalSign.id).where(
            VitalSign.patient_id == patient_id,
            VitalSign.session_id.is_(None),
            VitalSign.source == values["source"],
            VitalSign.device_id == values["device_id"],
            VitalSign.client_id == values["client_id"],
        )
    )
    return found is not None


def list_patient_vitals(
    *, db: Database, actor: Actor, patient_id: int, context: str | None = None, limit: int = 200
) -> list[VitalRead]:
    """Return a patient's readings, newest first (optionally one context)."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("read", "patient_clinical", patient_id=patient_id)
        q = select(VitalSign).where(VitalSign.patient_id == patient_id)
        if context:
            q = q.where(VitalSign.context == context)
        rows = uow.session.scalars(q.order_by(VitalSign.measured_at.desc()).limit(limit)).all()
        uow.audit(
            "view", "vital_signs", patient_id, patient_id=patient_id, details={"context": context or ""}
        )
        return [VitalRead.model_validate(r) for r in rows]
