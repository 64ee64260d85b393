"""De-identified research export: every table streamed through the de-identification rules into CSV or Parquet,
with a data dictionary and a re-identification risk summary; researchers only, audited.

Removed: names, MRN, contacts, addresses, escorts, exact birth dates, free text (notes, reasons), chairs, lot
numbers, device ids, user ids. Ids become keyed hashes; every date moves by the patient's secret whole-day shift.
"""

from __future__ import annotations

import csv
import io
import json
import time
import zipfile
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Select, func, select

from ketacare.config import Settings, get_settings
from ketacare.domain import research as deid
from ketacare.services import clock
from ketacare.services.access import Actor
from ketacare.services.research import columns as spec
from ketacare.services.research.keys import load_key
from ketacare.services.research.schemas import ExportRequest, ExportResult, FileSummary, RiskSummary
from ketacare.services.research.writers import TableWriter
from ketacare.services.uow import UnitOfWork
from ketacare.store.db import Database
from ketacare.store.tables import Diagnosis, Patient
from ketacare.store.tables.measurement import QuestionnaireResponse
from ketacare.store.tables.sessions import InfusionSession, VitalSign

BATCH = 5000
QUASI_IDENTIFIERS = ["age_band", "sex_at_birth", "diagnosis", "site", "first_event_year"]


def min_cell_count(settings: Settings) -> int:
    """Return the clinic's smallest aggregate cell: its setting, else the shipped default (never below 2)."""
    return max(2, settings.research_min_cell_count or deid.rules().min_cell_count)


def _stream(conn: Connection, stmt: Select[Any, *tuple[Any, ...]]) -> Iterator[Sequence[Any]]:
    """Yield the rows of `stmt` in batches (a server-side cursor on PostgreSQL)."""
    result = conn.execute(stmt, execution_options={"stream_results": True, "yield_per": BATCH})
    yield from result.partitions(BATCH)


class _Keys:
    """Keyed-hash ids and per-patient date shifts of one export."""

    def __init__(self, key: bytes, export_key: str) -> None:
        self.key, self.export_key = key, export_key
        self.max_shift = deid.rules().max_shift_days
        self.patients: dict[int, tuple[str, timedelta]] = {}

    def patient(self, pid: int) -> tuple[str, timedelta]:
        got = self.patients.get(pid)
        if got is None:
            shift = deid.date_shift_days(self.key, self.export_key, pid, self.max_shift)
            got = self.patients[pid] = (deid.pseudonym(self.key, self.export_key, "patient", pid),
                                        timedelta(days=shift))
        return got

    def id(self, kind: str, record_id: int | None) -> str:
        return "" if record_id is None else deid.pseudonym(self.key, self.export_key, kind, record_id)


def _shift(v: datetime | date | None, by: timedelta) -> datetime | date | None:
    return None if v is None else v + by


def _first_events(conn: Connection) -> dict[int, datetime]:
    """Return each patient's first session or questionnaire time (real, unshifted)."""
    first: dict[int, datetime] = {}
    for stmt in (
        select(InfusionSession.patient_id, func.min(InfusionSession.scheduled_at)).group_by(InfusionSession.patient_id),
        select(QuestionnaireResponse.patient_id, func.min(QuestionnaireResponse.answered_at))
        .where(QuestionnaireResponse.entered_in_error.is_(False))
        .group_by(QuestionnaireResponse.patient_id),
    ):
        for batch in _stream(conn, stmt):
            for pid, at in batch:
                if at is not None and (pid not in first or at < first[pid]):
                    first[pid] = at
    return first


def _primary_diagnoses(conn: Connection) -> dict[int, str]:
    first: dict[int, str] = {}
    stmt = (select(Diagnosis.patient_id, Diagnosis.concept).where(Diagnosis.status == "active")
            .order_by(Diagnosis.patient_id, Diagnosis.id))
    for batch in _stream(conn, stmt):
        for pid, concept in batch:
            first.setdefault(pid, concept)
    return first


def _patients(conn: Connection, keys: _Keys, out: TableWriter, site: str, today: date) -> Counter[tuple[str, ...]]:
    """Write the patients file; return the count of patients per quasi-identifier tuple."""
    first, dx = _first_events(conn), _primary_diagnoses(conn)
    groups: Counter[tuple[str, ...]] = Counter()
    stmt = select(Patient.id, Patient.date_of_birth, Patient.sex_at_birth).order_by(Patient.id)
    for batch in _stream(conn, stmt):
        rows = []
        for pid, born, sex in batch:
            pkey, shift = keys.patient(pid)
            at = first.get(pid)
            band = deid.age_band(max(0, deid.age_years(born, at.date() if at else today)))
            year = (at + shift).year if at else None
            diagnosis = dx.get(pid, "")
            rows.append((pkey, sex, band, diagnosis, site, year))
            groups[(band, sex, diagnosis, site, str(year))] += 1
        out.write(rows)
    return groups


def _diagnoses(conn: Connection, keys: _Keys, out: TableWriter) -> None:
    d = Diagnosis
    stmt = (select(d.id, d.patient_id, d.concept, d.icd10cm, d.icd11, d.status, d.onset_date)
            .where(d.status != "entered_in_error").order_by(d.id))
    for batch in _stream(conn, stmt):
        rows = []
        for did, pid, concept, icd10, icd11, status, onset in batch:
            pkey, shift = keys.patient(pid)
            rows.append((keys.id("diagnosis", did), pkey, concept, icd10, icd11, status, _shift(onset, shift)))
        out.write(rows)


def _sessions(conn: Connection, keys: _Keys, out: TableWriter) -> None:
    s = InfusionSession
    stmt = select(
        s.id, s.patient_id, s.product, s.state, s.scheduled_at, s.infusion_started_at, s.infusion_ended_at,
        s.discharged_at, s.aborted_at, s.planned_dose_mg, s.planned_duration_min, s.weight_kg,
        s.dissociation_occurred, s.sedation_occurred, s.respiratory_depression_occurred,
    ).order_by(s.id)
    for batch in _stream(conn, stmt):
        rows = []
        for r in batch:
            pkey, shift = keys.patient(r[1])
            rows.append((keys.id("session", r[0]), pkey, r[2], r[3], *(_shift(v, shift) for v in r[4:9]), *r[9:]))
        out.write(rows)


def _responses(conn: Connection, keys: _Keys, out: TableWriter) -> None:
    q = QuestionnaireResponse
    stmt = (select(q.id, q.patient_id, q.session_id, q.instrument_id, q.instrument_version, q.context,
                   q.answered_at, q.total, q.severity)
            .where(q.entered_in_error.is_(False)).order_by(q.id))
    for batch in _stream(conn, stmt):
        rows = []
        for rid, pid, sid, inst, ver, ctx, at, total, sev in batch:
            pkey, shift = keys.patient(pid)
            rows.append((keys.id("response", rid), pkey, keys.id("session", sid), inst, ver, ctx, at + shift,
                         total, sev))
        out.write(rows)


def _vitals(conn: Connection, keys: _Keys, out: TableWriter) -> None:
    v = VitalSign
    stmt = (select(v.patient_id, v.session_id, v.measured_at, v.context, v.sbp_mmhg, v.dbp_mmhg, v.hr_per_min,
                   v.spo2_pct, v.rr_per_min, v.temp_c)
            .where(v.entered_in_error.is_(False)).order_by(v.id))
    for batch in _stream(conn, stmt):
        rows = []
        for pid, sid, at, *rest in batch:
            pkey, shift = keys.patient(pid)
            rows.append((pkey, keys.id("session", sid), at + shift, *rest))
        out.write(rows)


def _aggregate(groups: Counter[tuple[str, ...]], k: int, out: TableWriter) -> int:
    """Write patient counts by diagnosis, age band and sex with small cells suppressed; return cells suppressed."""
    cells: Counter[tuple[str, str, str]] = Counter()
    for (band, sex, diagnosis, _site, _year), n in groups.items():
        cells[(diagnosis, band, sex)] += n
    rows = [(*cell, deid.suppress_count(n, k)) for cell, n in sorted(cells.items())]
    out.write(rows)
    return sum(1 for _c, n in cells.items() if 0 < n < k)


def _dictionary(directory: Path, fmt: str) -> None:
    with (directory / "data_dictionary.csv").open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["file", "column", "meaning", "unit", "type", "source"])
        for file in spec.FILES:
            for c in file.columns:
                w.writerow([f"{file.name}.{fmt}", c.name, c.meaning, c.unit, c.type, c.source])


def export_to_dir(
    *, db: Database, actor: Actor, request: ExportRequest, out: Path, settings: Settings | None = None
) -> ExportResult:
    """Write the de-identified export into directory `out` (created); researchers only, audited as an export."""
    settings = settings or get_settings()
    started = time.perf_counter()
    with UnitOfWork(db, actor) as uow:
        uow.authorize("read", "research_export")
        key = load_key(settings)
        keys = _Keys(key, request.export_key)
        k = min_cell_count(settings)
        out.mkdir(parents=True, exist_ok=True)
        conn = uow.session.connection()
        site = keys.id("site", 1)
        files: list[FileSummary] = []
        groups: Counter[tuple[str, ...]] = Counter()
        suppressed = 0
        for file in spec.FILES:
            with TableWriter(out, file, request.format) as w:
                if file is spec.PATIENTS:
                    groups = _patients(conn, keys, w, site, clock.now().date())
                elif file is spec.DIAGNOSES:
                    _diagnoses(conn, keys, w)
                elif file is spec.SESSIONS:
                    _sessions(conn, keys, w)
                elif file is spec.RESPONSES:
                    _responses(conn, keys, w)
                elif file is spec.VITALS:
                    _vitals(conn, keys, w)
                else:
                    suppressed = _aggregate(groups, k, w)
            files.append(FileSummary(name=w.path.name, rows=w.rows))
        _dictionary(out, request.format)
        smallest, n_groups = deid.smallest_group(groups.elements())
        risk = RiskSummary(
            quasi_identifiers=QUASI_IDENTIFIERS, patients=sum(groups.values()), groups=n_groups, k=smallest,
            min_cell_count=k,
            min_cell_source=deid.rules().small_cell_source if not settings.research_min_cell_count else "clinic",
            patients_in_small_groups=sum(n for n in groups.values() if n < k), suppressed_cells=suppressed,
        )
        (out / "risk_summary.json").write_text(json.dumps(risk.model_dump(), indent=2) + "\n", encoding="utf-8")
        rows = sum(f.rows for f in files)
        seconds = time.perf_counter() - started
        uow.audit("export", "research_export", request.export_key,
                  details={"format": request.format, "rows": rows, "k": smallest, "min_cell_count": k})
    return ExportResult(export_key=request.export_key, format=request.format, files=files, rows=rows,
                        seconds=round(seconds, 3), rows_per_second=round(rows / seconds if seconds else 0.0, 1),
                        risk=risk)


def local_actor(*, db: Database, username: str) -> Actor:
    """Return the actor of an active account, for the command line on the server (the policy still decides)."""
    from sqlalchemy import select as _select

    from ketacare.services.errors import NotFound
    from ketacare.store.tables import User

    with db.session() as s:
        u = s.scalars(_select(User).where(User.username == username)).first()
        if u is None or not u.is_active:
            raise NotFound("user")
        return Actor(user_id=u.id, username=u.username, role=u.role)


def zip_directory(directory: Path, target: Path | None = None) -> bytes:
    """Zip the files of an export directory into `target` (streamed from disk; returns b""), or return the bytes."""
    sink: Path | io.BytesIO = target if target is not None else io.BytesIO()
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED) as z:
        for path in sorted(directory.iterdir()):
            z.write(path, path.name)
    return sink.getvalue() if isinstance(sink, io.BytesIO) else b""
