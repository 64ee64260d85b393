"""Create 10,000 patients through the service layer; search them by name prefix and MRN (SQLite, PostgreSQL)."""

from __future__ import annotations

import random
import time
from datetime import date, timedelta

from bench.common import engines, fresh_database, pct, time_calls
from ketacare.demo.patients import FAMILY, GIVEN_F, GIVEN_M
from ketacare.services.access import system_actor
from ketacare.services.patients import records as patients
from ketacare.services.patients.schemas import PatientCreate


def _create(db, n: int, rng: random.Random) -> float:
    actor = system_actor("bench")
    t0 = time.perf_counter()
    for i in range(n):
        sex = rng.choice(["female", "male"])
        patients.create_patient(db=db, actor=actor, data=PatientCreate(
            mrn=f"B{i:07d}", given_name=rng.choice(GIVEN_F if sex == "female" else GIVEN_M),
            family_name=rng.choice(FAMILY) + rng.choice(["", "", "son", "er", "ova", "-Lee"]),
            date_of_birth=date(1950, 1, 1) + timedelta(days=rng.randint(0, 20000)), sex_at_birth=sex,
            confirm_not_duplicate=True))  # synthetic names may repeat on a shared birth date
    return time.perf_counter() - t0


def run(quick: bool = False) -> list[dict]:
    n = 2_000 if quick else 10_000
    searches = 200 if quick else 500
    rows = []
    for engine in engines():
        rng = random.Random(7)
        with fresh_database(engine, "patients") as db:
            seconds = _create(db, n, rng)
            rows.append({"name": f"create {n:,} patients via service layer ({engine})", "value": n / seconds,
                         "unit": "patients/s", "target": "-", "ok": None,
                         "note": f"{seconds:.1f} s in all, each in its own audited transaction"})
            actor = system_actor("bench")
            prefixes = [rng.choice(FAMILY)[: rng.randint(2, 4)].lower() for _ in range(searches)]
            lat = time_calls(lambda i: patients.search_patients(db=db, actor=actor, q=prefixes[i]), searches)
            rows.append({"name": f"search {n:,} by name prefix, p95 ({engine})", "value": pct(lat, 95), "unit": "ms",
                         "target": "<= 20 ms", "ok": pct(lat, 95) <= 20.0,
                         "note": f"p50 {pct(lat, 50):.2f} ms; first page of 25 + total count + audit event"})
            mrns = [f"B{rng.randint(0, n - 1):07d}" for _ in range(searches)]
            lat = time_calls(lambda i: patients.search_patients(db=db, actor=actor, q=mrns[i]), searches)
            rows.append({"name": f"search {n:,} by MRN, p95 ({engine})", "value": pct(lat, 95), "unit": "ms",
                         "target": "<= 20 ms", "ok": pct(lat, 95) <= 20.0, "note": f"p50 {pct(lat, 50):.2f} ms"})
    return rows
