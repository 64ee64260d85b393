"""Infusion-session benchmarks (issue #7), over HTTP against real uvicorn subprocesses on loopback:

1. gateway batch throughput (readings/s through POST /api/v1/sessions/{id}/vitals/batch) on SQLite and PostgreSQL;
2. 50 chairs each posting one reading per second: p95 request time;
3. reading-to-board latency with TWO app processes on PostgreSQL (post to process A, SSE board on process B).

Set-up puts the benchmark sessions straight into the `infusing` state (the guards are not what is measured).
Device times follow a 15-second monitor cadence. Loops are bounded; nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta

import httpx

from bench.common import engines, fresh_database, pct
from ketacare.services import clock
from ketacare.services.access.auth import token_digest
from ketacare.store.db import Database
from ketacare.store.tables import AuthSession, Patient, User
from ketacare.store.tables.sessions import InfusionSession, VitalSign

N_CHAIRS = 50


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _setup(db: Database, n_sessions: int) -> tuple[str, list[int], datetime]:
    now = clock.now()
    start = now - timedelta(hours=6)
    with db.session() as s:
        u = User(
            username="bench-nurse",
            display_name="Bench nurse",
            role="nurse",
            password_hash="x",
            is_active=True,
            created_at=now,
            password_changed_at=now,
        )
        s.add(u)
        s.flush()
        token = secrets.token_urlsafe(32)
        s.add(
            AuthSession(
                token_hash=token_digest(token),
                user_id=u.id,
                created_at=now,
                last_seen_at=now,
                expires_at=now + timedelta(hours=8),
            )
        )
        ids = []
        for k in range(n_sessions):
            p = Patient(
                mrn=f"B{k:06d}",
                given_name="Bench",
                family_name=f"P{k}",
                given_name_norm="bench",
                family_name_norm=f"p{k}",
                date_of_birth=datetime(1980, 1, 1).date(),
                sex_at_birth="male",
                created_at=now,
                updated_at=now,
            )
            s.add(p)
            s.flush()
            sess = InfusionSession(
                patient_id=p.id,
                chair=f"Chair {k + 1}",
                product="racemic_ketamine",
                state="infusing",
                scheduled_at=start,
                infusion_started_at=start,
                planned_dose_mg=35,
                overrides=[],
                created_at=now,
                updated_at=now,
            )
            s.add(sess)
            s.flush()
            s.add(
                VitalSign(
                    patient_id=p.id,
                    session_id=sess.id,
                    measured_at=start - timedelta(minutes=5),
                    received_at=now,
                    sbp_mmhg=125,
                    dbp_mmhg=80,
                    hr_per_min=72,
                    spo2_pct=98,
                    rr_per_min=14,
                    context="baseline",
                    source="nurse",
                )
            )
            ids.append(sess.id)
    return token, ids, start


def _user_columns_ok() -> bool:
    return {"username", "display_name", "role", "password_hash"} <= set(User.__table__.columns.keys())


class Server:
    def __init__(self, url: str) -> None:
        self.port = _port()
        env = {**os.environ, "KETACARE_DATABASE_URL": url, "KETACARE_DEMO": "false"}
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "ketacare.app:factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.base + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("uvicorn did not start")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def _reading(cid: str, at: datetime, k: int) -> dict:
    return {
        "client_id": cid,
        "measured_at": at.isoformat(),
        "sbp": 128 + k % 7,
        "dbp": 80 + k % 5,
        "hr": 74 + k % 4,
        "spo2": 98,
        "rr": 14,
    }


def _throughput(engine: str, quick: bool) -> dict:
    n_sessions, per_batch = 20, 1000
    batches = 5 if quick else 20
    with fresh_database(engine, "sess_tp") as db:
        token, ids, start = _setup(db, n_sessions)
        srv = Server(db.url)
        try:
            h = {"Authorization": f"Bearer {token}"}
            total, t_all = 0, 0.0
            with httpx.Client(base_url=srv.base, headers=h, timeout=60) as c:
                for b in range(batches):
                    sid = ids[b % n_sessions]
                    rows = [
                        _reading(
                            f"tp-{b}-{k}",
                            start + timedelta(seconds=15 * (b // n_sessions * per_batch + k)),
                            k,
                        )
                        for k in range(per_batch)
                    ]
                    t0 = time.perf_counter()
                    r = c.post(f"/api/v1/sessions/{sid}/vitals/batch", json={"readings": rows})
                    t_all += time.perf_counter() - t0
                    r.raise_for_status()
                    total += r.json()["stored"]
                again = c.post(
                    f"/api/v1/sessions/{ids[0]}/vitals/batch", json={"readings": rows[:100]}
                ).json()
        finally:
            srv.stop()
    rate = total / t_all
    return {
        "name": f"gateway batch throughput ({engine}, {per_batch}/batch, alerts evaluated)",
        "value": round(rate),
        "unit": "readings/s",
        "target": ">= 5000",
        "ok": rate >= 5000,
        "note": f"{total} readings in {t_all:.2f} s; re-post stored {again['stored']} of 100 (must be 0)",
    }


def _chairs(engine: str, quick: bool) -> dict:
    seconds = 8 if quick else 30
    with fresh_database(engine, "sess_chairs") as db:
        token, ids, _ = _setup(db, N_CHAIRS)
        srv = Server(db.url)
        lat: list[float] = []
        lock = threading.Lock()
        # Open the 50 clients before the clock starts: building them inside the chair threads took longer than
        # the lead time, so the first second was one burst of 50 requests instead of 50 spread over a second.
        clients = [
            httpx.Client(base_url=srv.base, headers={"Authorization": f"Bearer {token}"}, timeout=30)
            for _ in range(N_CHAIRS)
        ]
        t_start = time.monotonic() + 0.5

        def chair(k: int) -> None:
            with clients[k] as c:
                for i in range(seconds):
                    wake = t_start + i + k / N_CHAIRS
                    time.sleep(max(0.0, wake - time.monotonic()))
                    at = datetime.now(UTC)
                    body = {"readings": [_reading(f"ch-{k}-{i}", at, i)]}
                    t0 = time.perf_counter()
                    c.post(f"/api/v1/sessions/{ids[k]}/vitals/batch", json=body).raise_for_status()
                    with lock:
                        lat.append((time.perf_counter() - t0) * 1000)

        threads = [threading.Thread(target=chair, args=(k,)) for k in range(N_CHAIRS)]
        try:
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        finally:
            srv.stop()
    p95 = pct(lat, 95)
    return {
        "name": f"50 chairs x 1 reading/s, per request ({engine})",
        "value": round(p95, 1),
        "unit": "ms p95",
        "target": "<= 30",
        "ok": p95 <= 30,
        "note": f"{len(lat)} requests, median {pct(lat, 50):.1f} ms, one process",
    }


def _board_latency(quick: bool) -> dict:
    samples = 20 if quick else 60
    with fresh_database("postgresql", "sess_board") as db:
        token, ids, _ = _setup(db, 10)
        a, b = Server(db.url), Server(db.url)
        h = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
        seen: dict[int, float] = {}
        cond = threading.Condition()
        stop = threading.Event()

        def listen() -> None:
            try:
                with (
                    httpx.Client(base_url=b.base, headers=h, timeout=httpx.Timeout(5, read=60)) as c,
                    c.stream("GET", "/board/events") as r,
                ):
                    event = None
                    for line in r.iter_lines():
                        if stop.is_set():
                            return
                        if line.startswith("event: "):
                            event = line[7:]
                        elif line.startswith("data: ") and event == "chair":
                            sid = json.loads(line[6:])["session_id"]
                            with cond:
                                seen[sid] = time.perf_counter()
                                cond.notify_all()
            except httpx.HTTPError:
                if not stop.is_set():
                    raise  # the servers are stopped at the end: a broken stream then is expected

        th = threading.Thread(target=listen, daemon=True)
        th.start()
        time.sleep(1.5)
        lat = []
        try:
            with httpx.Client(base_url=a.base, headers={"Authorization": f"Bearer {token}"}, timeout=30) as c:
                for i in range(samples):
                    sid = ids[i % len(ids)]
                    with cond:
                        seen.pop(sid, None)
                    t0 = time.perf_counter()
                    c.post(
                        f"/api/v1/sessions/{sid}/vitals/batch",
                        json={"readings": [_reading(f"bl-{i}", datetime.now(UTC), i)]},
                    ).raise_for_status()
                    with cond:
                        cond.wait_for(lambda sid=sid: sid in seen, timeout=5)
                        if sid in seen:
                            lat.append((seen[sid] - t0) * 1000)
                    time.sleep(0.2)
        finally:
            stop.set()
            a.stop()
            b.stop()
            th.join(timeout=5)
    p95 = pct(lat, 95) if lat else float("inf")
    return {
        "name": "reading-to-board latency, 2 processes (postgresql)",
        "value": round(p95, 1),
        "unit": "ms p95",
        "target": "<= 500",
        "ok": p95 <= 500,
        "note": f"{len(lat)}/{samples} arrived via LISTEN/NOTIFY; median {pct(lat, 50):.1f} ms",
    }


def run(quick: bool) -> list[dict]:
    """Run the session benchmarks on every available engine."""
    if not _user_columns_ok():
        return [
            {
                "name": "sessions",
                "value": "n/a",
                "unit": "",
                "target": "",
                "ok": None,
                "note": "schema mismatch",
            }
        ]
    rows = []
    for engine in engines():
        rows.append(_throughput(engine, quick))
        rows.append(_chairs(engine, quick))
    if "postgresql" in engines():
        rows.append(_board_latency(quick))
    else:
        rows.append(
            {
                "name": "reading-to-board latency, 2 processes",
                "value": "n/a",
                "unit": "",
                "target": "<= 500",
                "ok": None,
                "note": "PostgreSQL not reachable",
            }
        )
    return rows
