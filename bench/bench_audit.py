"""Audit overhead on a chart read: the same read with and without its audit event, interleaved, p50."""

from __future__ import annotations

import random
from datetime import date

from bench.common import engines, fresh_database, pct, time_calls
from ketacare.services.access import Actor, audit, system_actor
from ketacare.services.patients import records as patients
from ketacare.services.patients.schemas import DiagnosisCreate, MeasurementCreate, PatientCreate, TrialCreate


def _seed(db, n: int) -> list[int]:
    actor = system_actor("bench")
    ids = []
    for i in range(n):
        p = patients.create_patient(db=db, actor=actor, data=PatientCreate(
            given_name="Bench", family_name=f"Patient{i}", date_of_birth=date(1980, 1, 1), sex_at_birth="female",
            confirm_not_duplicate=True))
        for k in range(4):
            patients.add_measurement(db=db, actor=actor, patient_id=p.id,
                                     data=MeasurementCreate(weight=f"{70 + k} kg", height="165 cm" if k == 0 else None))
        patients.add_diagnosis(db=db, actor=actor, patient_id=p.id, data=DiagnosisCreate(code="gad"))
        patients.add_trial(db=db, actor=actor, patient_id=p.id, data=TrialCreate(
            kind="medication", name="sertraline", dose_mg_per_day=100, weeks=10, outcome="no_response"))
        ids.append(p.id)
    return ids


def _side_by_side(read, reads: int) -> tuple[float, float]:
    """Return p50 latency (ms) of `read(i)` with the audit event and with audit.append made a no-op."""
    real_append = audit.append
    with_audit, without = [], []
    chunk = reads // 10
    for round_ in range(10):  # interleave so both see the same machine conditions
        with_audit += time_calls(lambda i: read(round_ * chunk + i), chunk)
        audit.append = lambda session, actor, events: []
        try:
            without += time_calls(lambda i: read(round_ * chunk + i), chunk)
        finally:
            audit.append = real_append
    return pct(with_audit, 50), pct(without, 50)


def _row(name: str, p_with: float, p_without: float, target: bool) -> dict:
    overhead = (p_with - p_without) / p_without * 100.0
    return {"name": name, "value": overhead, "unit": "%", "target": "<= 15 %" if target else "-",
            "ok": overhead <= 15.0 if target else None,
            "note": f"p50 {p_with:.2f} ms with the audit event, {p_without:.2f} ms without "
                    f"(+{p_with - p_without:.2f} ms)"}


def run(quick: bool = False) -> list[dict]:
    """Chart reads side by side with and without their audit event.

    The target applies to a chart read as a user makes it: an authenticated GET of the chart from a uvicorn
    server on loopback (HTTP, token check, policy, service, JSON), server and client in this process so the
    audit step can be switched off for the "without" half. The service call alone is shown too.
    """
    import socket
    import threading
    import time

    import httpx
    import uvicorn

    from ketacare.app import create_app
    from ketacare.config import Settings
    from ketacare.services.access import users
    from ketacare.services.access.schemas import UserCreate

    n_patients, reads = (50, 300) if quick else (200, 1500)
    rows = []
    for engine in engines():
        with fresh_database(engine, "audit") as db:
            ids = _seed(db, n_patients)
            rng = random.Random(3)
            order = [rng.choice(ids) for _ in range(reads)]
            users.create_user(db=db, actor=system_actor("bench"), data=UserCreate(
                username="benchnurse", display_name="Bench Nurse", role="nurse", password="bench nurse password"))
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", 0))
                port = sock.getsockname()[1]
            server = uvicorn.Server(uvicorn.Config(create_app(Settings(database_url=db.url), db=db),
                                                   host="127.0.0.1", port=port, log_level="warning"))
            thread = threading.Thread(target=server.run, daemon=True)
            thread.start()
            deadline = time.monotonic() + 20
            while not server.started and time.monotonic() < deadline:
                time.sleep(0.05)
            client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10)
            token = client.post("/api/v1/auth/login", json={"username": "benchnurse",
                                                            "password": "bench nurse password"}).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}

            def request(i):
                r = client.get(f"/api/v1/patients/{order[i]}", headers=headers)
                assert r.status_code == 200

            request(0)  # warm up the connection
            rows.append(_row(f"audit overhead on a chart read (authenticated GET over HTTP), p50 ({engine})",
                             *_side_by_side(request, reads), target=True))
            client.close()
            server.should_exit = True
            thread.join(timeout=10)
            actor = Actor(user_id=None, username="bench-nurse", role="nurse")
            rows.append(_row(f"audit overhead on the chart-read service call alone, p50 ({engine})",
                             *_side_by_side(lambda i: patients.get_chart(db=db, actor=actor, patient_id=order[i]),
                                            reads), target=False))
    return rows
