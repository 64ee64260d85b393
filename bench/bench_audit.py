"""Audit overhead on a chart read: the same read with and without its audit event, interleaved, p50."""

from __future__ import annotations

import random
from datetime import date

from bench.common import engines, fresh_database, pct, time_calls
from ketacare.services import audit, patients
from ketacare.services.actor import Actor, system_actor
from ketacare.services.schemas import DiagnosisCreate, MeasurementCreate, PatientCreate, TrialCreate


def _seed(db, n: int) -> list[int]:
    actor = system_actor("bench")
    ids = []
    for i in range(n):
        p = patients.create_patient(db=db, actor=actor, data=PatientCreate(
            given_name="Bench", family_name=f"Patient{i}", date_of_birth=date(1980, 1, 1), sex_at_birth="female"))
        for k in range(4):
            patients.add_measurement(db=db, actor=actor, patient_id=p.id,
                                     data=MeasurementCreate(weight=f"{70 + k} kg", height="165 cm" if k == 0 else None))
        patients.add_diagnosis(db=db, actor=actor, patient_id=p.id, data=DiagnosisCreate(code="gad"))
        patients.add_trial(db=db, actor=actor, patient_id=p.id, data=TrialCreate(
            kind="medication", name="sertraline", dose_mg_per_day=100, weeks=10, outcome="no_response"))
        ids.append(p.id)
    return ids


def run(quick: bool = False) -> list[dict]:
    n_patients, reads = (50, 300) if quick else (200, 1500)
    rows = []
    real_append = audit.append
    for engine in engines():
        with fresh_database(engine, "audit") as db:
            ids = _seed(db, n_patients)
            actor = Actor(user_id=None, username="bench-nurse", role="nurse")
            rng = random.Random(3)
            order = [rng.choice(ids) for _ in range(reads)]
            with_audit, without = [], []

            def read(i):
                patients.get_chart(db=db, actor=actor, patient_id=order[i])

            for round_ in range(10):  # interleave so both see the same machine conditions
                chunk = reads // 10
                with_audit += time_calls(lambda i: read(round_ * chunk + i), chunk)
                audit.append = lambda session, actor, events: []
                try:
                    without += time_calls(lambda i: read(round_ * chunk + i), chunk)
                finally:
                    audit.append = real_append
            p_with, p_without = pct(with_audit, 50), pct(without, 50)
            overhead = (p_with - p_without) / p_without * 100.0
            rows.append({"name": f"audit overhead on a chart read, p50 ({engine})", "value": overhead, "unit": "%",
                         "target": "<= 15 %", "ok": overhead <= 15.0,
                         "note": f"chart read p50 {p_with:.2f} ms with the audit event, {p_without:.2f} ms without"})
    return rows
