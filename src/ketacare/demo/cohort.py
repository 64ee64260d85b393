"""A large synthetic cohort for benchmarks and the research export (issue 18 point 6): patients with a primary
anxiety diagnosis, six infusion sessions with vitals, GAD-7/PHQ-9 before and after each session and weekly after
the induction; responders, partial responders, non-responders and relapses as in the demo's score histories.

Written in bulk with SQLAlchemy Core (COPY on PostgreSQL), not through the services: no audit event per row.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import JSON, Table, func, insert, select

from ketacare.demo.measurement import COURSES, _trajectory
from ketacare.demo.patients import PRIMARY
from ketacare.domain.measurement import load_instrument
from ketacare.domain.patients import code_list
from ketacare.store.db import Database
from ketacare.store.tables import Base, Diagnosis, Patient
from ketacare.store.tables.measurement import QuestionnaireResponse
from ketacare.store.tables.sessions import InfusionSession, VitalSign

SESSIONS_PER_PATIENT = 6
CHUNK = 2000  # patients per transaction
GIVEN = ["Avery", "Blake", "Casey", "Devon", "Emery", "Finley", "Harper", "Jordan", "Kendall", "Logan", "Morgan",
         "Parker", "Quinn", "Riley", "Rowan", "Sawyer", "Skyler", "Taylor"]
FAMILY = ["Adler", "Brennan", "Castillo", "Duarte", "Ekwueme", "Fischer", "Gallagher", "Haddad", "Ibarra", "Jansen",
          "Kowalski", "Lindqvist", "Moreau", "Nakamura", "Okafor", "Petrov", "Quintero", "Rasmussen"]


class _Rows(list[dict[str, Any]]):
    """Rows of one table for one chunk."""


@dataclass(frozen=True)
class CohortResult:
    """What the cohort builder wrote."""

    patients: int
    sessions: int
    responses: int
    vitals: int


def _next_id(db: Database, name: str) -> int:
    table = Base.metadata.tables[name]
    with db.engine.connect() as c:
        return int(c.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one()) + 1


def _copy(conn: Any, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert rows: COPY on PostgreSQL, executemany elsewhere."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        cols = list(rows[0])
        as_json = {c for c in cols if isinstance(table.c[c].type, JSON)}
        raw = conn.connection.driver_connection
        with raw.cursor() as cur, cur.copy(f"COPY {table.name} ({', '.join(cols)}) FROM STDIN") as cp:
            for r in rows:
                cp.write_row([json.dumps(r[c]) if c in as_json else r[c] for c in cols])
        return
    conn.execute(insert(table), rows)


def _patients(rng: random.Random, first_id: int, n: int, today: date) -> Iterator[dict[str, Any]]:
    for i in range(n):
        pid = first_id + i
        given, family = rng.choice(GIVEN), rng.choice(FAMILY)
        age = min(95, max(18, int(rng.gauss(42, 14))))
        born = today - timedelta(days=age * 365 + rng.randint(0, 364))
        yield {
            "id": pid, "mrn": f"C{pid:08d}", "given_name": given, "family_name": family,
            "given_name_norm": given.lower(), "family_name_norm": family.lower(), "date_of_birth": born,
            "sex_at_birth": rng.choice(["female", "male"]), "phone": f"+1 555 {pid % 10_000_000:07d}",
            "email": f"cohort{pid}@example.org", "address": f"{pid} Synthetic Way, Springfield",
        }


def _vitals(rng: random.Random, pid: int, sid: int, at: datetime, first_id: int) -> list[dict[str, Any]]:
    """Three gateway readings of one session: baseline, during (blood pressure up) and recovery."""
    out: list[dict[str, Any]] = []
    sbp = rng.gauss(122, 12)
    for context, minutes, rise in (("baseline", 15, 0.0), ("during", 50, 14.0), ("recovery", 90, 4.0)):
        m = at + timedelta(minutes=minutes)
        out.append({"id": first_id + len(out), "patient_id": pid, "session_id": sid, "measured_at": m,
                    "received_at": m, "sbp_mmhg": round(sbp + rise + rng.gauss(0, 5)),
                    "dbp_mmhg": round(0.62 * sbp + rise / 2 + rng.gauss(0, 4)),
                    "hr_per_min": round(rng.gauss(76, 9)), "spo2_pct": round(rng.uniform(95, 100)),
                    "rr_per_min": round(rng.gauss(15, 2)), "temp_c": None, "on_oxygen": False,
                    "context": context, "source": "gateway", "device_id": "", "entered_in_error": False})
    return out


def _continue_sequences(db: Database) -> None:
    """On PostgreSQL, move each id sequence past the explicit ids written in bulk."""
    if db.engine.dialect.name != "postgresql":
        return
    with db.engine.begin() as conn:  # the sequences continue after the explicit ids
        for t in (Patient, Diagnosis, InfusionSession, QuestionnaireResponse, VitalSign):
            name = t.__tablename__
            conn.exec_driver_sql(  # table names from our own metadata, not input
                f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), (SELECT max(id) FROM {name}))"  # noqa: S608
            )


def build(
    db: Database,
    *,
    n_patients: int,
    seed_value: int = 20261130,
    today: date | None = None,
    progress: Callable[[int], None] | None = None,
) -> CohortResult:
    """Append `n_patients` synthetic patients with sessions, vitals and scores; return the rows written."""
    rng = random.Random(seed_value)  # noqa: S311 - synthetic data, reproducible on purpose
    today = today or date.today()
    now = datetime.combine(today, time(8, 0), tzinfo=UTC)
    dx = {c.concept: c for c in code_list()}
    gad7, phq9 = load_instrument("gad7"), load_instrument("phq9")
    bands = {"gad7": gad7.band_set(), "phq9": phq9.band_set()}
    versions = {"gad7": gad7.version, "phq9": phq9.version}
    ids = {t: _next_id(db, t.__tablename__) for t in (Patient, Diagnosis, InfusionSession, QuestionnaireResponse,
                                                  VitalSign)}
    counts = {"sessions": 0, "responses": 0, "vitals": 0}
    done = 0
    while done < n_patients:
        n = min(CHUNK, n_patients - done)
        pats, dxs, sess, resp, vits = _Rows(), _Rows(), _Rows(), _Rows(), _Rows()
        for p in _patients(rng, ids[Patient] + done, n, today):
            pid = p["id"]
            p.update(created_at=now, updated_at=now, version=1)
            pats.append(p)
            concept = rng.choices([c for c, _ in PRIMARY], [w for _, w in PRIMARY])[0]
            d = dx[concept]
            dxs.append({"id": ids[Diagnosis] + len(dxs) + done, "patient_id": pid, "concept": concept,
                        "display": d.display, "icd10cm": d.icd10cm, "icd11": d.icd11, "status": "active",
                        "onset_date": p["date_of_birth"] + timedelta(days=365 * rng.randint(14, 30)),
                        "created_at": now, "version": 1})
            course = rng.choices([c for c, _ in COURSES], [w for _, w in COURSES])[0]
            weeks = 12
            traj = _trajectory(course, weeks, rng)
            start = now - timedelta(days=rng.randint(100, 1500), hours=rng.randint(0, 6))
            base = {"gad7": rng.uniform(12, 20), "phq9": rng.uniform(9, 22)}
            weight = round(rng.uniform(50, 110), 1)

            def answer(iid: str, at: datetime, frac: float, context: str, sid: int | None, *, pid: int = pid,
                       base: dict[str, float] = base, resp: list[dict[str, Any]] = resp) -> None:
                top = 21 if iid == "gad7" else 27
                total = float(max(0, min(top, round(base[iid] * frac + rng.uniform(-1.5, 1.5)))))
                band = bands[iid]
                resp.append({"id": ids[QuestionnaireResponse] + counts["responses"] + len(resp), "patient_id": pid,
                             "instrument_id": iid, "instrument_version": versions[iid], "context": context,
                             "session_id": sid, "answered_by_role": "patient", "answered_by_user_id": None,
                             "via": "portal", "answered_at": at, "total": total,
                             "severity": band.label_for(int(total)) if band else None, "flags": "[]",
                             "created_at": at, "entered_in_error": False})

            for k in range(SESSIONS_PER_PATIENT):  # twice weekly for three weeks
                sid = ids[InfusionSession] + counts["sessions"] + len(sess)
                at = start + timedelta(days=3.5 * k, minutes=rng.randint(-30, 30))
                begun, ended = at + timedelta(minutes=20), at + timedelta(minutes=60)
                dose = round(0.5 * weight, 1)
                sess.append({"id": sid, "patient_id": pid, "chair": f"Chair {1 + k % 6}",
                             "product": "racemic_ketamine", "state": "discharged", "scheduled_at": at,
                             "checked_in_at": at, "prechecks_passed_at": at + timedelta(minutes=10),
                             "infusion_started_at": begun, "infusion_ended_at": ended,
                             "discharged_at": ended + timedelta(minutes=rng.randint(40, 90)),
                             "planned_dose_mg": dose, "planned_duration_min": 40.0,
                             "concentration_mg_per_ml": 1.0, "weight_kg": weight,
                             "dissociation_occurred": rng.random() < 0.4, "sedation_occurred": rng.random() < 0.1,
                             "respiratory_depression_occurred": False, "overrides": [], "created_at": at,
                             "updated_at": ended, "version": 1})
                vits.extend(_vitals(rng, pid, sid, at, ids[VitalSign] + counts["vitals"] + len(vits)))
                week = min(weeks, k // 2)
                for iid in ("gad7", "phq9"):
                    answer(iid, at - timedelta(minutes=30), traj[week], "pre_session" if k else "baseline", sid)
                    answer(iid, ended + timedelta(hours=24), traj[min(weeks, week + 1)] * 0.95, "post_session", sid)
            for w in range(4, 4 + 3):  # follow-up weeks after the induction
                for iid in ("gad7", "phq9"):
                    answer(iid, start + timedelta(weeks=w, hours=rng.uniform(-6, 6)), traj[w * 2], "follow_up", None)
        with db.engine.begin() as conn:
            for table, rows in ((Patient, pats), (Diagnosis, dxs), (InfusionSession, sess), (VitalSign, vits),
                                (QuestionnaireResponse, resp)):
                _copy(conn, Base.metadata.tables[table.__tablename__], rows)
        counts["sessions"] += len(sess)
        counts["responses"] += len(resp)
        counts["vitals"] += len(vits)
        done += n
        if progress:
            progress(n)
    _continue_sequences(db)
    return CohortResult(patients=n_patients, sessions=counts["sessions"], responses=counts["responses"],
                        vitals=counts["vitals"])
