"""A clinic under load (issue 15): the real server (`ketacare serve --workers N`) on PostgreSQL, driven by the load
generator (`bench/loadgen.py`, its own process, loopback only, bounded in time).

1. realistic mix, 2 processes: 50 chairs posting vitals at 1 Hz, 40 staff browsing charts, orders and the board,
   20 patients answering questionnaires, 10 open board streams; p99 per request kind (target <= 100 ms, 0 errors),
   over the whole run from a fresh start, and over the requests started after the first 5 s (steady state);
2. stress, closed loop, 1 and then 2 processes: throughput and p99 (target >= 300/s with p99 <= 250 ms for 60 s;
   2 processes >= 1.6x one), with a no-op endpoint measured in the same run;
3. server memory: resident set of each app process after the run (target <= 250 MB).
Set-up goes through the services (the demo clinic's generator, 50 sessions, 20 portal accounts).
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from bench.common import fresh_database, postgres_available
from ketacare.demo.patients import seed as seed_demo
from ketacare.services import clock
from ketacare.services.access import system_actor
from ketacare.services.access.auth import token_digest
from ketacare.services.sessions import workflow
from ketacare.services.sessions.schemas import SessionCreate
from ketacare.store.db import Database
from ketacare.store.tables import AuthSession, Patient, User

P99_TARGET_MS = 100.0
STRESS_RPS_TARGET = 300.0
STRESS_P99_TARGET_MS = 250.0
RSS_TARGET_MB = 250.0


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _token(db: Database, user_id: int) -> str:
    token, now = secrets.token_urlsafe(32), clock.now()
    with db.session() as s:
        s.add(
            AuthSession(
                token_hash=token_digest(token),
                user_id=user_id,
                created_at=now,
                last_seen_at=now,
                expires_at=now + timedelta(hours=8),
            )
        )
    return token


def _plan(db: Database) -> dict[str, Any]:
    seed_demo(db, n_patients=80, seed_value=15)
    with db.session() as s:
        nurse = s.scalars(select(User).where(User.username == "nurse")).one()
        patient_ids = list(s.scalars(select(Patient.id).order_by(Patient.id)))
    sessions = [
        workflow.create_session(
            db=db,
            actor=system_actor("bench"),
            data=SessionCreate(
                patient_id=pid,
                chair=f"Load {k + 1}",
                product="racemic_ketamine",
                planned_dose_mg=35,
                planned_duration_min=40,
                concentration_mg_per_ml=1.0,
            ),
        ).id
        for k, pid in enumerate(patient_ids[:50])
    ]
    portal = []
    now = clock.now()
    with db.session() as s:
        for k, pid in enumerate(patient_ids[50:70]):
            u = User(
                username=f"load-patient-{k}",
                display_name=f"Load patient {k}",
                role="patient",
                patient_id=pid,
                password_hash="!",
                is_active=True,
                created_at=now,
                password_changed_at=now,
            )
            s.add(u)
            s.flush()
            portal.append((u.id, pid))
    token = _token(db, nurse.id)
    return {
        "nurse": token,
        "nurse_web": token,
        "patients": patient_ids,
        "sessions": sessions,
        "portal": [(_token(db, uid), pid) for uid, pid in portal],
    }


class Serve:
    """`ketacare serve --workers N` on a free loopback port."""

    def __init__(self, url: str, workers: int) -> None:
        self.port = _port()
        self.started_workers: set[int] = set()
        env = os.environ | {"KETACARE_DATABASE_URL": url, "KETACARE_API_RATE_PER_MINUTE": "0"}
        argv = [
            sys.executable,
            "-m",
            "ketacare",
            "serve",
            "--port",
            str(self.port),
            "--workers",
            str(workers),
        ]
        self.proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.base + "/readyz", timeout=1).status_code == 200:
                    time.sleep(2 if workers > 1 else 0.5)  # let every worker finish starting
                    self.started_workers = set(_children(self.proc.pid))
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("ketacare serve did not start")

    def workers_rss_mb(self) -> list[float]:
        """Resident memory of each app process (the workers, or the single process)."""
        pids = _children(self.proc.pid) or [self.proc.pid]
        out = []
        for pid in pids:
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        out.append(int(line.split()[1]) / 1024)
            except OSError:
                continue
        return out

    def replaced_workers(self) -> int:
        """How many of the workers running at start are gone (the supervisor killed or lost them)."""
        return len(self.started_workers - set(_children(self.proc.pid)))

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def _children(pid: int) -> list[int]:
    kids: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        kids += [int(x) for x in task.read_text().split()]
    # uvicorn's multiprocess supervisor may fork workers from a child: include grandchildren
    return kids + [g for k in kids for g in _children(k)]


def _drive(base: str, plan_file: Path, mode: str, seconds: float, concurrency: int = 16) -> dict[str, Any]:
    argv = [
        sys.executable,
        "-m",
        "bench.loadgen",
        "--base",
        base,
        "--plan",
        str(plan_file),
        "--mode",
        mode,
        "--seconds",
        str(seconds),
        "--concurrency",
        str(concurrency),
    ]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 120, check=True)  # noqa: S603
    return json.loads(done.stdout)


def _na(reason: str) -> list[dict]:
    return [{"name": "clinic load", "value": "n/a", "unit": "", "target": "", "ok": None, "note": reason}]


def run(quick: bool) -> list[dict]:
    """Seed a clinic on PostgreSQL, then run the realistic mix (2 processes) and the stress mode (1 and 2)."""
    if not postgres_available():
        return _na("PostgreSQL not reachable")
    real_s, stress_s = (10.0, 10.0) if quick else (30.0, 60.0)
    rows: list[dict] = []
    with (
        fresh_database("postgresql", f"load_{uuid.uuid4().hex[:10]}") as db,
        tempfile.TemporaryDirectory() as d,
    ):
        plan_file = Path(d) / "plan.json"
        plan_file.write_text(json.dumps(_plan(db)))
        load = os.getloadavg()[0]
        server = Serve(db.url, 2)
        try:
            mix = _drive(server.base, plan_file, "realistic", real_s)
            rss_mix = server.workers_rss_mb()
            replaced = server.replaced_workers()
        finally:
            server.stop()
        stress = {}
        rss = rss_mix
        for n in (1, 2):
            server = Serve(db.url, n)
            try:
                stress[n] = _drive(server.base, plan_file, "stress", stress_s, concurrency=16)
                rss = rss + server.workers_rss_mb()
                replaced += server.replaced_workers()
            finally:
                server.stop()
    kinds = [k for k in mix if not k.startswith("_") and k != "noop_livez"]
    worst = max(mix[k]["p99_ms"] for k in kinds)
    errors = sum(mix[k]["errors"] for k in kinds)
    rows.append(
        {
            "name": "realistic clinic mix, 2 processes (postgresql): worst p99 of any request kind",
            "value": worst,
            "unit": "ms",
            "target": f"<= {P99_TARGET_MS:.0f}, 0 errors",
            "ok": worst <= P99_TARGET_MS and errors == 0,
            "note": "; ".join(
                f"{k} {mix[k]['per_s']}/s p50 {mix[k]['p50_ms']} p95 {mix[k]['p95_ms']} p99 "
                f"{mix[k]['p99_ms']} ms err {mix[k]['errors']}"
                for k in [*kinds, "noop_livez"]
            )
            + f"; SSE events {mix.get('_sse_events')}; {real_s:.0f} s; load average at start {load:.1f}",
        }
    )
    warm = mix["_after_first_s"]
    worst_warm = max(warm[k]["p99_ms"] for k in kinds if k in warm)
    errors_warm = sum(warm[k]["errors"] for k in kinds if k in warm)
    rows.append(
        {
            "name": f"realistic clinic mix, 2 processes (postgresql): worst p99, requests started after the first "
            f"{warm['from_s']:.0f} s",
            "value": worst_warm,
            "unit": "ms",
            "target": f"<= {P99_TARGET_MS:.0f}, 0 errors",
            "ok": worst_warm <= P99_TARGET_MS and errors_warm == 0,
            "note": "; ".join(
                f"{k} p50 {warm[k]['p50_ms']} p95 {warm[k]['p95_ms']} p99 {warm[k]['p99_ms']} ms "
                f"err {warm[k]['errors']}"
                for k in [*kinds, "noop_livez"]
                if k in warm
            ),
        }
    )
    for n in (1, 2):
        s = stress[n]
        work = [k for k in s if not k.startswith("_") and k != "noop_livez"]
        rps = sum(s[k]["per_s"] for k in work)
        p99 = max(s[k]["p99_ms"] for k in work)
        rows.append(
            {
                "name": f"stress, {n} process{'es' if n > 1 else ''} (postgresql): chart reads + vitals posts",
                "value": rps,
                "unit": "req/s",
                "target": f">= {STRESS_RPS_TARGET:.0f}, p99 <= {STRESS_P99_TARGET_MS:.0f}",
                "ok": rps >= STRESS_RPS_TARGET and p99 <= STRESS_P99_TARGET_MS if n == 2 else None,
                "note": f"p99 {p99} ms; errors {s['_all']['errors']}; no-op /livez p50 {s['noop_livez']['p50_ms']} ms, "
                f"p99 {s['noop_livez']['p99_ms']} ms; {stress_s:.0f} s, 16 clients; "
                + "; ".join(f"{k} p50 {s[k]['p50_ms']} p99 {s[k]['p99_ms']}" for k in work),
            }
        )
    one = sum(stress[1][k]["per_s"] for k in stress[1] if not k.startswith("_") and k != "noop_livez")
    two = sum(stress[2][k]["per_s"] for k in stress[2] if not k.startswith("_") and k != "noop_livez")
    rows.append(
        {
            "name": "stress: 2 processes vs 1, throughput ratio",
            "value": round(two / one, 2) if one else 0,
            "unit": "x",
            "target": ">= 1.6",
            "ok": one > 0 and two / one >= 1.6,
            "note": "",
        }
    )
    rows.append(
        {
            "name": "server resident memory per app process after the runs",
            "value": round(max(rss), 1),
            "unit": "MB max",
            "target": f"<= {RSS_TARGET_MB:.0f}",
            "ok": max(rss) <= RSS_TARGET_MB,
            "note": ", ".join(f"{x:.0f}" for x in rss) + f"; workers replaced during the runs: {replaced}",
        }
    )
    return rows
