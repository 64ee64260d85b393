"""A large synthetic cohort for benchmarks and the research export (issue 18 point 6): patients with a primary
anxiety diagnosis, six infusion sessions with vitals, and the primary instrument of the diagnosis (outcome
definitions: PCL-5 for PTSD, Mini-SPIN for SAD, PDSS-SR for panic, GAD-7 otherwise) with PHQ-9 as the secondary,
before and after each session and weekly after the induction; responders, partial responders, non-responders and
relapses as in the demo's score histories.

Columns are generated with numpy, a chunk of patients at a time, and written in bulk, not through the services (no
audit event per row): `COPY ... FROM STDIN (FORMAT csv)` on PostgreSQL, `executemany` of tuples on SQLite.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

import numpy as np
import pyarrow as pa

from ketacare.demo.measurement import COURSES
from ketacare.demo.patients import PRIMARY
from ketacare.domain.measurement import Instrument, load_instrument, severity_bands
from ketacare.domain.patients import code_list
from ketacare.services import outcomes
from ketacare.services.access import system_actor
from ketacare.services.outcomes.definitions import in_force
from ketacare.store.bulk import BulkLoader, Columns
from ketacare.store.db import Database
from ketacare.store.tables import Diagnosis, Patient
from ketacare.store.tables.measurement import QuestionnaireResponse
from ketacare.store.tables.sessions import InfusionSession, VitalSign

SESSIONS_PER_PATIENT = 6
WEEKS = 12
FOLLOW_UP_WEEKS = (4, 5, 6)  # weekly scores after the twice-weekly induction
CHUNK = 10_000  # patients per transaction (about 560,000 rows)
DEFER_INDEXES_AT = 5_000  # patients: from here re-creating the indexes after the load beats keeping them
GIVEN = ["Avery", "Blake", "Casey", "Devon", "Emery", "Finley", "Harper", "Jordan", "Kendall", "Logan", "Morgan",
         "Parker", "Quinn", "Riley", "Rowan", "Sawyer", "Skyler", "Taylor"]
FAMILY = ["Adler", "Brennan", "Castillo", "Duarte", "Ekwueme", "Fischer", "Gallagher", "Haddad", "Ibarra", "Jansen",
          "Kowalski", "Lindqvist", "Moreau", "Nakamura", "Okafor", "Petrov", "Quintero", "Rasmussen"]
ROLES = ("primary", "secondary")  # each patient's two instruments: the diagnosis's primary one and SECONDARY
SECONDARY = "phq9"  # asked at every point of the standard plan (domain/measurement/plans.toml)
# Synthetic baseline totals (uniform) of a treatment-seeking patient: GAD-7, PHQ-9 and PCL-5 as the demo's score
# histories (demo/measurement.py); Mini-SPIN and PDSS-SR above their screening cut-offs in the instrument files
# (Mini-SPIN >= 6, Seeley-Wait 2009; PDSS-SR >= 8, Shear 2001).
BASELINE = {"gad7": (12, 20), "phq9": (9, 22), "pcl5": (38, 65), "mini_spin": (7, 12), "pdss_sr": (10, 20)}
BASELINE_FRACTION = (0.55, 0.9)  # of the highest total, for an instrument not in BASELINE (a clinic's choice)
NOISE_FRACTION = 0.07  # score noise, +/- this fraction of the highest total (1.5 points on the GAD-7)
VITAL_READINGS = (("baseline", 15, 0.0), ("during", 50, 14.0), ("recovery", 90, 4.0))  # minutes after, SBP rise
MINUTE, HOUR, DAY = 60_000_000, 3_600_000_000, 86_400_000_000  # microseconds

TS = pa.timestamp("us", tz="UTC")


@dataclass(frozen=True)
class CohortResult:
    """What the cohort builder wrote."""

    patients: int
    sessions: int
    responses: int
    vitals: int


@dataclass(frozen=True)
class _Slot:
    """One of a patient's 30 questionnaire responses: when it is asked and which trajectory point it reflects."""

    role: int  # index into ROLES
    session: int  # 0..5, or -1 for a follow-up without a session
    kind: str  # pre, post or follow
    traj_index: int
    factor: float
    context: str


def _slots() -> list[_Slot]:
    out: list[_Slot] = []
    for k in range(SESSIONS_PER_PATIENT):  # twice weekly for three weeks
        week = min(WEEKS, k // 2)
        for i in range(len(ROLES)):
            out.append(_Slot(i, k, "pre", week, 1.0, "pre_session" if k else "baseline"))
            out.append(_Slot(i, k, "post", min(WEEKS, week + 1), 0.95, "post_session"))
    for w in FOLLOW_UP_WEEKS:
        for i in range(len(ROLES)):
            out.append(_Slot(i, -1, "follow", w * 2, 1.0, "follow_up"))
    return out


SLOTS = _slots()


def _ts(us: np.ndarray) -> pa.Array:
    return pa.array(us.ravel(), pa.int64()).cast(TS)


def _const(value: object, n: int, type_: pa.DataType) -> pa.Array:
    return pa.repeat(pa.scalar(value, type_), n)


def _trajectories(rng: np.random.Generator, course: np.ndarray) -> np.ndarray:
    """Fraction of baseline severity at weeks 0..12 per patient, as `demo.measurement._trajectory` draws them."""
    n = len(course)
    w = np.arange(1, WEEKS + 1, dtype=float)
    u = rng.random((n, WEEKS))
    responder = np.maximum(0.2, 1 - 0.22 * w) + (u * 0.10 - 0.05)
    partial = np.maximum(0.6, 1 - 0.1 * w) + (u * 0.12 - 0.06)
    non_responder = 1 + (u * 0.20 - 0.12)
    relapse = np.where(w <= 4, np.maximum(0.25, 1 - 0.25 * w), np.minimum(1.0, 0.3 + 0.15 * (w - 4))) + (u * 0.1 - 0.05)
    c = course[:, None]
    f = np.select([c == 0, c == 1, c == 2], [responder, partial, non_responder], relapse)
    return np.concatenate([np.ones((n, 1)), np.maximum(0.0, f)], axis=1)


class _Builder:
    """Draws the columns of each table for one chunk of patients."""

    def __init__(self, rng: np.random.Generator, today: date, primary: dict[str, str], default: str) -> None:
        self.rng = rng
        self.today = today
        now = datetime.combine(today, time(8, 0), tzinfo=UTC)
        self.now_us = int(now.timestamp()) * 1_000_000
        self.today_days = (today - date(1970, 1, 1)).days
        dx = {c.concept: c for c in code_list()}
        self.concepts = [c for c, _ in PRIMARY]
        self.concept_p = np.array([w for _, w in PRIMARY]) / sum(w for _, w in PRIMARY)
        self.display = [dx[c].display for c in self.concepts]
        self.icd10 = [dx[c].icd10cm for c in self.concepts]
        self.icd11 = [dx[c].icd11 for c in self.concepts]
        self.course_p = np.array([w for _, w in COURSES]) / sum(w for _, w in COURSES)
        first = [primary.get(c, default) for c in self.concepts]
        second = [SECONDARY if p != SECONDARY else default for p in first]
        self.instrument_ids = sorted({*first, *second})
        # per diagnosis (row) the index into instrument_ids of its primary and secondary instrument (columns)
        self.by_concept = np.array([[self.instrument_ids.index(a), self.instrument_ids.index(b)]
                                    for a, b in zip(first, second, strict=True)])
        instruments = [load_instrument(i) for i in self.instrument_ids]
        self.versions = [i.version for i in instruments]
        self.top = np.array([i.max_total for i in instruments])
        self.low = np.array([i.min_total for i in instruments])
        self.base_range = np.array([BASELINE.get(i.id, _fraction_of_range(i)) for i in instruments], dtype=float)
        self.labels, self.label_of = _severity_table(instruments)

    def chunk(self, first: dict[str, int], n: int) -> dict[str, Columns]:
        """Return the columns of every table for `n` patients whose ids start at `first[table]`."""
        rng, now = self.rng, self.now_us
        pid = first["patients"] + np.arange(n)
        pids = pid.tolist()
        given = np.array(GIVEN)[rng.integers(0, len(GIVEN), n)]
        family = np.array(FAMILY)[rng.integers(0, len(FAMILY), n)]
        age = np.clip(rng.normal(42, 14, n).astype(np.int64), 18, 95)
        born = self.today_days - (age * 365 + rng.integers(0, 365, n))
        patients: Columns = {
            "id": pa.array(pid), "mrn": pa.array([f"C{p:08d}" for p in pids]),
            "given_name": pa.array(given), "family_name": pa.array(family),
            "given_name_norm": pa.array(np.char.lower(given)), "family_name_norm": pa.array(np.char.lower(family)),
            "date_of_birth": pa.array(born.astype(np.int32), pa.int32()).cast(pa.date32()),
            "sex_at_birth": pa.array(np.array(["female", "male"])[rng.integers(0, 2, n)]),
            "phone": pa.array([f"+1 555 {p % 10_000_000:07d}" for p in pids]),
            "email": pa.array([f"cohort{p}@example.org" for p in pids]),
            "address": pa.array([f"{p} Synthetic Way, Springfield" for p in pids]),
            "created_at": _const(now, n, pa.int64()).cast(TS), "updated_at": _const(now, n, pa.int64()).cast(TS),
            "version": _const(1, n, pa.int64()),
        }
        concept = rng.choice(len(self.concepts), n, p=self.concept_p)
        onset = born + 365 * rng.integers(14, 31, n)
        diagnoses: Columns = {
            "id": pa.array(first["diagnoses"] + np.arange(n)), "patient_id": pa.array(pid),
            "concept": pa.array(np.array(self.concepts)[concept]),
            "display": pa.array(np.array(self.display)[concept]),
            "icd10cm": pa.array([self.icd10[c] for c in concept.tolist()], pa.string()),
            "icd11": pa.array([self.icd11[c] for c in concept.tolist()], pa.string()),
            "status": _const("active", n, pa.string()),
            "onset_date": pa.array(onset.astype(np.int32), pa.int32()).cast(pa.date32()),
            "created_at": _const(now, n, pa.int64()).cast(TS), "version": _const(1, n, pa.int64()),
        }
        course = rng.choice(len(self.course_p), n, p=self.course_p)
        traj = _trajectories(rng, course)
        start = now - rng.integers(100, 1501, n) * DAY - rng.integers(0, 7, n) * HOUR
        inst = self.by_concept[concept]  # (n, 2): index into instrument_ids per role
        lo, hi = self.base_range[inst, 0], self.base_range[inst, 1]
        base = lo + rng.random((n, len(ROLES))) * (hi - lo)
        weight = np.round(rng.uniform(50, 110, n), 1)
        sessions, at, ended, sid = self._sessions(first["infusion_sessions"], pid, start, weight)
        vitals = self._vitals(first["vital_signs"], pid, sid, at)
        responses = self._responses(first["questionnaire_responses"], pid, sid, at, ended, start, traj, base, inst)
        return {"patients": patients, "diagnoses": diagnoses, "infusion_sessions": sessions,
                "vital_signs": vitals, "questionnaire_responses": responses}

    def _sessions(self, first: int, pid: np.ndarray, start: np.ndarray, weight: np.ndarray
                  ) -> tuple[Columns, np.ndarray, np.ndarray, np.ndarray]:
        rng, n, k = self.rng, len(pid), SESSIONS_PER_PATIENT
        sid = first + np.arange(n * k).reshape(n, k)
        at = start[:, None] + np.arange(k) * (84 * HOUR) + rng.integers(-30, 31, (n, k)) * MINUTE
        begun, ended = at + 20 * MINUTE, at + 60 * MINUTE
        discharged = ended + rng.integers(40, 91, (n, k)) * MINUTE
        m = n * k
        false = _const(False, m, pa.bool_())
        cols: Columns = {
            "id": pa.array(sid.ravel()), "patient_id": pa.array(np.repeat(pid, k)),
            "chair": pa.array(np.tile(np.array([f"Chair {1 + j % 6}" for j in range(k)]), n)),
            "product": _const("racemic_ketamine", m, pa.string()), "state": _const("discharged", m, pa.string()),
            "scheduled_at": _ts(at), "checked_in_at": _ts(at), "prechecks_passed_at": _ts(at + 10 * MINUTE),
            "infusion_started_at": _ts(begun), "infusion_ended_at": _ts(ended), "discharged_at": _ts(discharged),
            "planned_dose_mg": pa.array(np.repeat(np.round(0.5 * weight, 1), k)),
            "planned_duration_min": _const(40.0, m, pa.float64()),
            "concentration_mg_per_ml": _const(1.0, m, pa.float64()), "weight_kg": pa.array(np.repeat(weight, k)),
            "dissociation_occurred": pa.array(rng.random(m) < 0.4), "sedation_occurred": pa.array(rng.random(m) < 0.1),
            "respiratory_depression_occurred": false, "overrides": _const("[]", m, pa.string()),
            "created_at": _ts(at), "updated_at": _ts(ended), "version": _const(1, m, pa.int64()),
        }
        return cols, at, ended, sid

    def _vitals(self, first: int, pid: np.ndarray, sid: np.ndarray, at: np.ndarray) -> Columns:
        """Three gateway readings per session: baseline, during (blood pressure up) and recovery."""
        rng = self.rng
        n, k = sid.shape
        r = len(VITAL_READINGS)
        shape = (n, k, r)
        m = n * k * r
        minutes = np.array([v[1] for v in VITAL_READINGS])
        rise = np.array([v[2] for v in VITAL_READINGS])
        sbp = rng.normal(122, 12, (n, k, 1))
        measured = at[:, :, None] + minutes * MINUTE
        return {
            "id": pa.array(first + np.arange(m)), "patient_id": pa.array(np.repeat(pid, k * r)),
            "session_id": pa.array(np.repeat(sid.ravel(), r)), "measured_at": _ts(measured),
            "received_at": _ts(measured),
            "sbp_mmhg": pa.array(np.round(sbp + rise + rng.normal(0, 5, shape)).ravel()),
            "dbp_mmhg": pa.array(np.round(0.62 * sbp + rise / 2 + rng.normal(0, 4, shape)).ravel()),
            "hr_per_min": pa.array(np.round(rng.normal(76, 9, m))),
            "spo2_pct": pa.array(np.round(rng.uniform(95, 100, m))),
            "rr_per_min": pa.array(np.round(rng.normal(15, 2, m))),
            "on_oxygen": _const(False, m, pa.bool_()),
            "context": pa.array(np.tile(np.array([v[0] for v in VITAL_READINGS]), n * k)),
            "source": _const("gateway", m, pa.string()), "device_id": _const("", m, pa.string()),
            "entered_in_error": _const(False, m, pa.bool_()),
        }

    def _responses(self, first: int, pid: np.ndarray, sid: np.ndarray, at: np.ndarray, ended: np.ndarray,
                   start: np.ndarray, traj: np.ndarray, base: np.ndarray, inst: np.ndarray) -> Columns:
        rng, n, s = self.rng, len(pid), len(SLOTS)
        role = np.array([x.role for x in SLOTS])
        which = inst[:, role]  # (n, s): index into instrument_ids
        session = np.array([x.session for x in SLOTS])
        when = np.empty((n, s), dtype=np.int64)
        for j, x in enumerate(SLOTS):
            if x.kind == "pre":
                when[:, j] = at[:, x.session] - 30 * MINUTE
            elif x.kind == "post":
                when[:, j] = ended[:, x.session] + 24 * HOUR
            else:
                when[:, j] = start + (x.traj_index // 2) * 7 * DAY + (rng.uniform(-6, 6, n) * HOUR).astype(np.int64)
        frac = traj[:, [x.traj_index for x in SLOTS]] * np.array([x.factor for x in SLOTS])
        top, low = self.top[which], self.low[which]
        noise = rng.uniform(-NOISE_FRACTION, NOISE_FRACTION, (n, s)) * top
        total = np.clip(np.round(base[:, role] * frac + noise), low, top)
        severity = self.labels[self.label_of[which, total.astype(np.int64)]]
        session_id = np.where(session >= 0, sid[:, np.maximum(session, 0)], 0)
        m = n * s
        return {
            "id": pa.array(first + np.arange(m)), "patient_id": pa.array(np.repeat(pid, s)),
            "instrument_id": pa.array(np.array(self.instrument_ids)[which].ravel()),
            "instrument_version": pa.array(np.array(self.versions)[which].ravel()),
            "context": pa.array(np.tile(np.array([x.context for x in SLOTS]), n)),
            "session_id": pa.array(session_id.ravel(), mask=np.tile(session < 0, n)),
            "answered_by_role": _const("patient", m, pa.string()), "via": _const("portal", m, pa.string()),
            "answered_at": _ts(when), "total": pa.array(total.ravel()),
            "severity": pa.array(severity.ravel(), pa.string()), "flags": _const("[]", m, pa.string()),
            "created_at": _ts(when), "entered_in_error": _const(False, m, pa.bool_()),
        }


def _severity_table(instruments: list[Instrument]) -> tuple[np.ndarray, np.ndarray]:
    """Return every severity label (None first) and, per instrument and total, the index of its label.

    The labels come from the app's own band function applied to every possible total once.
    """
    labels: list[str | None] = [None]
    table = np.zeros((len(instruments), max(i.max_total for i in instruments) + 1), dtype=np.int64)
    for k, instrument in enumerate(instruments):
        if instrument.severity_from is not None:
            raise ValueError(f"{instrument.short_name}: severity from item levels is not generated")
        totals = np.arange(instrument.max_total + 1, dtype=np.float64)
        codes, names = severity_bands(instrument.band_set(), totals)
        table[k, : len(totals)] = np.where(codes >= 0, codes + len(labels), 0)
        labels.extend(names)
    return np.array(labels, dtype=object), table


def _fraction_of_range(instrument: Instrument) -> tuple[float, float]:
    """Return baseline bounds as fractions BASELINE_FRACTION of the instrument's highest total."""
    lo, hi = BASELINE_FRACTION
    return lo * instrument.max_total, hi * instrument.max_total


TABLES = (Patient, Diagnosis, InfusionSession, VitalSign, QuestionnaireResponse)


def build(
    db: Database,
    *,
    n_patients: int,
    seed_value: int = 20261130,
    today: date | None = None,
    progress: Callable[[int], None] | None = None,
    defer_indexes: bool | None = None,
    prepare_dashboard: bool = True,
) -> CohortResult:
    """Append `n_patients` synthetic patients with sessions, vitals and scores; return the rows written.

    `defer_indexes` (default: from DEFER_INDEXES_AT patients on) re-creates PostgreSQL's indexes after the load;
    `prepare_dashboard` digests the cohort for the outcomes dashboard and stores it (a bulk load writes no audit
    event, so the first dashboard would otherwise digest every patient in its request).
    """
    d = in_force(db)
    builder = _Builder(np.random.default_rng(seed_value), today or date.today(), dict(d.primary_by_diagnosis),
                       d.primary_default)
    counts = {t.__tablename__: 0 for t in TABLES}
    defer = n_patients >= DEFER_INDEXES_AT if defer_indexes is None else defer_indexes
    with BulkLoader(db, [t.__tablename__ for t in TABLES], defer_indexes=defer) as load:
        done = 0
        while done < n_patients:
            n = min(CHUNK, n_patients - done)
            chunk = builder.chunk({name: load.next_id[name] + counts[name] for name in counts}, n)
            load.write(chunk)
            for name, cols in chunk.items():
                counts[name] += len(cols["id"])
            done += n
            if progress:
                progress(n)
    if prepare_dashboard:
        outcomes.prepare_dashboard(db=db, actor=system_actor("demo cohort"))
    return CohortResult(patients=n_patients, sessions=counts["infusion_sessions"],
                        responses=counts["questionnaire_responses"], vitals=counts["vital_signs"])
