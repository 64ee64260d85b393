"""De-identified research export: every table streamed through the de-identification rules into CSV or Parquet,
with a data dictionary and a re-identification risk summary; researchers only, audited.

Removed: names, MRN, contacts, addresses, escorts, exact birth dates, free text (notes, reasons), chairs, lot
numbers, device ids, user ids. Ids become keyed hashes; every date moves by the patient's secret whole-day shift.
"""

from __future__ import annotations

import csv
import io
import json
import queue
import threading
import time
import zipfile
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from sqlalchemy import BigInteger, Connection, Select, String, case, cast, func, literal, select, type_coerce

from ketacare.config import Settings, get_settings
from ketacare.domain import research as deid
from ketacare.services import clock
from ketacare.services.access import Actor
from ketacare.services.research import columns as spec
from ketacare.services.research.keys import load_key
from ketacare.services.research.schemas import ExportRequest, ExportResult, FileSummary, RiskSummary
from ketacare.services.research.writers import TIMESTAMP, TableWriter, arrow_type
from ketacare.services.uow import UnitOfWork
from ketacare.store.db import Database
from ketacare.store.tables import Diagnosis, Patient
from ketacare.store.tables.measurement import QuestionnaireResponse
from ketacare.store.tables.sessions import InfusionSession, VitalSign

BATCH = 50_000  # rows per fetch and per written batch
QUASI_IDENTIFIERS = ["age_band", "sex_at_birth", "diagnosis", "site", "first_event_year"]
DAY_US = 86_400_000_000


def min_cell_count(settings: Settings) -> int:
    """Return the clinic's smallest aggregate cell: its setting, else the shipped default (never below 2)."""
    return max(2, settings.research_min_cell_count or deid.rules().min_cell_count)


def _stream(conn: Connection, stmt: Select[Any, *tuple[Any, ...]]) -> Iterator[Sequence[Any]]:
    """Yield the rows of `stmt` in batches (a server-side cursor on PostgreSQL)."""
    result = conn.execute(stmt, execution_options={"stream_results": True, "yield_per": BATCH})
    yield from result.partitions(BATCH)


def _epoch_us(col: Any, dialect: str) -> Any:
    """Select a timestamp as microseconds since 1970 on PostgreSQL (no Python datetimes); SQLite's text as is."""
    return cast(func.extract("epoch", col) * 1_000_000, BigInteger) if dialect == "postgresql" else col


def _columns(conn: Connection, stmt: Select[Any, *tuple[Any, ...]], types: list[str]) -> Iterator[list[pa.Array]]:
    """Yield the result of `stmt` as Arrow columns of the given dictionary types, about BATCH rows at a time.

    Rows travel as CSV text parsed by Arrow (no Python object per value): PostgreSQL's `COPY (query) TO STDOUT`;
    on SQLite one CSV line per row built by the query itself and fetched with the driver's cursor.
    """
    raw: Any = conn.connection.driver_connection
    if conn.dialect.name == "postgresql":
        sql = str(stmt.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
        yield from _copy_columns(raw, sql, types)
        return
    yield from _sqlite_columns(conn, raw, stmt, types)


def _sqlite_columns(conn: Connection, raw: Any, stmt: Select[Any, *tuple[Any, ...]],
                    types: list[str]) -> Iterator[list[pa.Array]]:
    """Yield the columns of `stmt` on SQLite from one text line per row built by the query itself.

    Fast form: fields joined by the unit separator (0x1F), NULL as 0x1E, nothing quoted: the exported strings are
    codes, and a value holding a separator or a line break (or being the NULL mark) makes the batch fail its checks,
    so the export goes on from that row with quoted CSV lines (slower: SQLite then escapes every string).
    """
    sub = stmt.subquery()
    fast: Any = None
    for col, t in zip(sub.c, types, strict=True):
        field = type_coerce(func.ifnull(col, literal(_NULL)), String)
        if t == "string":  # a code that is the NULL mark itself breaks its line, so it goes the quoted way
            field = type_coerce(case((col == literal(_NULL), literal("\n")), else_=field), String)
        fast = field if fast is None else fast + literal(_SEP) + field
    fast_sql = str(select(fast).compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    options = _csv_options(types, epoch=False)
    fast_parse = pacsv.ParseOptions(delimiter=_SEP, quote_char=False)
    fast_convert = _csv_options(types, epoch=False, null=_NULL)[2]
    done = 0
    with _bulk_read(raw):
        cur = raw.cursor()
        try:
            cur.execute(fast_sql)
            for n, data in _prefetched_lines(cur):
                try:
                    table = pacsv.read_csv(io.BytesIO(data), read_options=options[0], parse_options=fast_parse,
                                           convert_options=fast_convert)
                except pa.ArrowInvalid:
                    table = None
                if table is None or table.num_rows != n:
                    break
                done += n
                yield _typed(table.columns, types)
            else:
                return
        finally:
            cur.close()
        cur = raw.cursor()
        try:
            cur.execute(f"{_quoted_sql(conn, sub, types)} LIMIT -1 OFFSET {done}")
            for _, data in _prefetched_lines(cur):
                table = pacsv.read_csv(io.BytesIO(data), read_options=options[0], parse_options=options[1],
                                       convert_options=options[2])
                yield _typed(table.columns, types)
        finally:
            cur.close()


def _prefetched_lines(cur: Any) -> Iterator[tuple[int, bytes]]:
    """Yield (rows, their lines as one UTF-8 block) from a cursor of one-text-column rows, BATCH rows at a time.

    The next batch is fetched in a thread while the caller parses and de-identifies this one: SQLite steps through
    the query without holding the interpreter lock, so on two cores the scan and the Python work overlap.
    """
    ready: queue.Queue[tuple[int, bytes] | BaseException | None] = queue.Queue(maxsize=2)
    stop = threading.Event()

    def fetch() -> None:
        try:
            while not stop.is_set():
                rows = cur.fetchmany(BATCH)
                if not rows:
                    break
                # a last empty field needs its newline
                ready.put((len(rows), ("\n".join([r[0] for r in rows]) + "\n").encode("utf-8")))
            ready.put(None)
        except BaseException as e:  # noqa: BLE001 - handed to the caller, raised there
            ready.put(e)

    worker = threading.Thread(target=fetch, name="research-export-fetch", daemon=True)
    worker.start()
    try:
        while (item := ready.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while worker.is_alive():  # let a fetch in progress finish before the caller closes the cursor
            try:
                ready.get(timeout=0.05)
            except queue.Empty:
                pass
        worker.join()


_SEP, _NULL = "\x1f", "\x1e"
SQLITE_MMAP_BYTES = 1 << 31  # map the database for a scan (SQLite caps it at its compiled maximum)


@contextmanager
def _bulk_read(raw: Any) -> Iterator[None]:
    """Read pages through a memory map while scanning (no copy of each page into SQLite's cache)."""
    before = raw.execute("PRAGMA mmap_size").fetchone()[0]
    raw.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
    try:
        yield
    finally:
        raw.execute(f"PRAGMA mmap_size={int(before)}")


def _quoted_sql(conn: Connection, sub: Any, types: list[str]) -> str:
    """Return SQL making one CSV line per row of `sub`: strings quoted (NULL stays an empty unquoted field)."""
    line: Any = None
    for col, t in zip(sub.c, types, strict=True):
        text: Any
        if t == "string":  # quoted: NULL stays an empty unquoted field, '' becomes ""
            text = type_coerce(literal('"') + func.replace(col, '"', '""') + literal('"'), String)
        else:
            text = cast(col, String)
        field = type_coerce(func.ifnull(text, ""), String)
        line = field if line is None else line + literal(",") + field
    return str(select(line).compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))


def _csv_options(types: list[str], *, epoch: bool, null: str | None = None) -> tuple[
        pacsv.ReadOptions, pacsv.ParseOptions, pacsv.ConvertOptions]:
    """How Arrow reads the rows: typed columns; timestamps as epoch microseconds or as SQLite's naive UTC text."""
    names = [f"c{i}" for i in range(len(types))]
    stamp = pa.int64() if epoch else pa.timestamp("us")
    read_as = {n: stamp if t == "timestamp" else arrow_type(t) for n, t in zip(names, types, strict=True)}
    nulls = {} if null is None else {"null_values": [null]}
    convert = pacsv.ConvertOptions(column_types=read_as, strings_can_be_null=True, quoted_strings_can_be_null=False,
                                   true_values=["t", "1"], false_values=["f", "0"], **nulls)
    return (pacsv.ReadOptions(column_names=names, use_threads=False, block_size=BATCH * 120),
            pacsv.ParseOptions(newlines_in_values=True), convert)


def _typed(columns: list[Any], types: list[str]) -> list[pa.Array]:
    """Return parsed columns as arrays, timestamps as UTC."""
    out = []
    for c, t in zip(columns, types, strict=True):
        a = c.combine_chunks() if isinstance(c, pa.ChunkedArray) else c
        out.append(a.cast(pa.int64()).cast(TIMESTAMP) if t == "timestamp" else a)
    return out


class _CopyStream(io.RawIOBase):
    """The data blocks of a running `COPY ... TO STDOUT`, as a readable byte stream for Arrow's CSV reader."""

    def __init__(self, blocks: Iterator[Any]) -> None:
        self._blocks, self._pending = blocks, memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            block = next(self._blocks, None)
            if block is None:
                return 0
            self._pending = memoryview(bytes(block))
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


def _copy_columns(raw: Any, sql: str, types: list[str]) -> Iterator[list[pa.Array]]:
    options = _csv_options(types, epoch=True)  # see _epoch_us
    with raw.cursor() as cur, cur.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)") as copy:
        stream = io.BufferedReader(_CopyStream(iter(copy)), buffer_size=1 << 20)
        reader = pacsv.open_csv(stream, read_options=options[0], parse_options=options[1],
                                convert_options=options[2])
        for batch in reader:
            yield _typed(batch.columns, types)


class _Keys:
    """Keyed-hash ids and per-patient date shifts of one export, held as sorted id arrays for vectorised lookup."""

    def __init__(self, key: bytes, export_key: str) -> None:
        self.key, self.export_key = key, export_key
        self.max_shift = deid.rules().max_shift_days
        self._patients: list[tuple[np.ndarray, pa.Array, np.ndarray]] = []
        self._sessions: list[tuple[np.ndarray, pa.Array]] = []
        self.patient_ids = np.empty(0, np.int64)
        self.patient_keys = pa.array([], pa.string())
        self.shift_days = np.empty(0, np.int64)
        self.session_ids = np.empty(0, np.int64)
        self.session_keys = pa.array([], pa.string())

    def ids(self, kind: str, record_ids: pa.Array) -> pa.Array:
        """Return the keyed hashes of a column of ids ("" where the id is null)."""
        keys = _hex_keys(deid.pseudonym_bytes(self.key, self.export_key, kind,
                                              record_ids.drop_null().to_numpy().tolist()))
        return keys if not record_ids.null_count else _scatter(record_ids, keys)

    def add_patients(self, pids: list[int]) -> tuple[list[str], list[int]]:
        """Make the pseudonyms and shifts of a batch of patients (ascending ids); return them."""
        keys = deid.pseudonyms(self.key, self.export_key, "patient", pids)
        shifts = deid.date_shifts_days(self.key, self.export_key, pids, self.max_shift)
        self._patients.append((np.array(pids, np.int64), pa.array(keys, pa.string()), np.array(shifts, np.int64)))
        return keys, shifts

    def patients_done(self) -> None:
        if self._patients:
            self.patient_ids = np.concatenate([p[0] for p in self._patients])
            self.patient_keys = pa.concat_arrays([p[1] for p in self._patients])
            self.shift_days = np.concatenate([p[2] for p in self._patients])

    def add_sessions(self, sids: pa.Array, keys: pa.Array) -> None:
        self._sessions.append((sids.to_numpy(), keys))

    def sessions_done(self) -> None:
        if self._sessions:
            self.session_ids = np.concatenate([s[0] for s in self._sessions])
            self.session_keys = pa.concat_arrays([s[1] for s in self._sessions])

    def patient(self, pids: pa.Array) -> tuple[pa.Array, np.ndarray]:
        """Return the patient keys and the shifts (days) of a column of patient ids."""
        at = _positions(self.patient_ids, pids.to_numpy(), "patient")
        return self.patient_keys.take(pa.array(at)), self.shift_days[at]

    def session(self, sids: pa.Array) -> pa.Array:
        """Return the session keys of a column of session ids ("" where null)."""
        present = sids.drop_null().to_numpy()
        at = _positions(self.session_ids, present, None)
        found = self.session_keys.take(pa.array(np.maximum(at, 0))) if len(self.session_keys) else None
        missing = np.flatnonzero(at < 0)
        if found is None or len(missing):  # a session the sessions file did not hold (none in practice)
            values = found.to_pylist() if found is not None else [""] * len(present)
            extra = deid.pseudonyms(self.key, self.export_key, "session", present[missing].tolist())
            for i, k in zip(missing.tolist(), extra, strict=True):
                values[i] = k
            found = pa.array(values, pa.string())
        return found if not sids.null_count else _scatter(sids, found)


def _hex_keys(digests: bytes) -> pa.Array:
    """Return 8-byte digests (concatenated) as an Arrow column of 16-character hex strings, without a str per key."""
    n = len(digests) // 8
    offsets = np.arange(0, 16 * n + 1, 16, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(digests.hex().encode("ascii")))


def _positions(sorted_ids: np.ndarray, ids: np.ndarray, kind: str | None) -> np.ndarray:
    """Return the index of each id in `sorted_ids`; -1 where absent (an error for `kind` when given)."""
    at = np.searchsorted(sorted_ids, ids)
    inside = at < len(sorted_ids)
    ok = np.zeros(len(ids), bool)
    ok[inside] = sorted_ids[at[inside]] == ids[inside]
    if kind is not None and not ok.all():
        raise LookupError(f"{kind} ids referenced but not exported")
    return np.where(ok, at, -1)


def _scatter(ids: pa.Array, keys: pa.Array) -> pa.Array:
    """Place `keys` (one per non-null id) at the non-null positions of `ids`, "" elsewhere."""
    valid = ids.is_valid().to_numpy(zero_copy_only=False)
    where = np.cumsum(valid) - 1
    return pc.if_else(pa.array(valid), keys.take(pa.array(np.maximum(where, 0))), "")


def _shift_ts(col: pa.Array, days: np.ndarray) -> pa.Array:
    return pc.add(col.cast(pa.int64()), pa.array(days * DAY_US)).cast(TIMESTAMP)


def _shift_date(col: pa.Array, days: np.ndarray) -> pa.Array:
    return pc.add(col.cast(pa.int32()), pa.array(days.astype(np.int32))).cast(pa.date32())


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
    """Write the patients file and make every patient's key and shift; return the patients per quasi-identifiers."""
    first, dx = _first_events(conn), _primary_diagnoses(conn)
    groups: Counter[tuple[str, ...]] = Counter()
    stmt = select(Patient.id, Patient.date_of_birth, Patient.sex_at_birth).order_by(Patient.id)
    for batch in _stream(conn, stmt):
        pkeys, shifts = keys.add_patients([r[0] for r in batch])
        rows = []
        for (pid, born, sex), pkey, shift in zip(batch, pkeys, shifts, strict=True):
            at = first.get(pid)
            band = deid.age_band(max(0, deid.age_years(born, at.date() if at else today)))
            year = (at + timedelta(days=shift)).year if at else None
            diagnosis = dx.get(pid, "")
            rows.append((pkey, sex, band, diagnosis, site, year))
            groups[(band, sex, diagnosis, site, str(year))] += 1
        out.write(rows)
    keys.patients_done()
    return groups


def _diagnoses(conn: Connection, keys: _Keys, out: TableWriter) -> None:
    d = Diagnosis
    stmt = (select(d.id, d.patient_id, d.concept, d.icd10cm, d.icd11, d.status, d.onset_date)
            .where(d.status != "entered_in_error").order_by(d.id))
    types = ["integer", "integer", "string", "string", "string", "string", "date"]
    for did, pid, concept, icd10, icd11, status, onset in _columns(conn, stmt, types):
        pkey, shift = keys.patient(pid)
        out.write_columns([keys.ids("diagnosis", did), pkey, concept, icd10, icd11, status, _shift_date(onset, shift)])


def _sessions(conn: Connection, keys: _Keys, out: TableWriter) -> None:
    s, dialect = InfusionSession, conn.dialect.name
    stmt = select(
        s.id, s.patient_id, s.product, s.state,
        *(_epoch_us(c, dialect) for c in (s.scheduled_at, s.infusion_started_at, s.infusion_ended_at,
                                          s.discharged_at, s.aborted_at)),
        s.planned_dose_mg, s.planned_duration_min, s.weight_kg,
        s.dissociation_occurred, s.sedation_occurred, s.respiratory_depression_occurred,
    ).order_by(s.id)
    types = ["integer", "integer", "string", "string", *["timestamp"] * 5, *["float"] * 3, *["boolean"] * 3]
    for sid, pid, product, state, *rest in _columns(conn, stmt, types):
        pkey, shift = keys.patient(pid)
        skey = keys.ids("session", sid)
        keys.add_sessions(sid, skey)
        out.write_columns([skey, pkey, product, state, *(_shift_ts(c, shift) for c in rest[:5]), *rest[5:]])
    keys.sessions_done()


def _responses(conn: Connection, keys: _Keys, out: TableWriter) -> None:
    q = QuestionnaireResponse
    stmt = (select(q.id, q.patient_id, q.session_id, q.instrument_id, q.instrument_version, q.context,
                   _epoch_us(q.answered_at, conn.dialect.name), q.total, q.severity)
            .where(q.entered_in_error.is_(False)).order_by(q.id))
    types = ["integer", "integer", "integer", "string", "string", "string", "timestamp", "float", "string"]
    for rid, pid, sid, inst, ver, ctx, at, total, sev in _columns(conn, stmt, types):
        pkey, shift = keys.patient(pid)
        out.write_columns([keys.ids("response", rid), pkey, keys.session(sid), inst, ver, ctx, _shift_ts(at, shift),
                           total, sev])


def _vitals(conn: Connection, keys: _Keys, out: TableWriter) -> None:
    v = VitalSign
    stmt = (select(v.patient_id, v.session_id, _epoch_us(v.measured_at, conn.dialect.name), v.context, v.sbp_mmhg,
                   v.dbp_mmhg, v.hr_per_min, v.spo2_pct, v.rr_per_min, v.temp_c)
            .where(v.entered_in_error.is_(False)).order_by(v.id))
    types = ["integer", "integer", "timestamp", "string", *["float"] * 6]
    for pid, sid, at, *rest in _columns(conn, stmt, types):
        pkey, shift = keys.patient(pid)
        out.write_columns([pkey, keys.session(sid), _shift_ts(at, shift), *rest])


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
        site = deid.pseudonym(key, request.export_key, "site", 1)
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
