"""Crash-proven writes (issue 15): the real server, on SQLite and on PostgreSQL, takes concurrent writers (gateway
vitals batches, new patients, questionnaire answers, dose orders, session side effects), is killed with SIGKILL at
random moments and started again, 20 times. Every write that got a success answer must be stored exactly once, and
the audit chain must verify. (Writes that got no answer may or may not be stored: the client cannot know.)"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
from sqlalchemy import func, select

from ketacare.services import clock
from ketacare.services.access import audit
from ketacare.services.sessions import workflow
from ketacare.services.sessions.schemas import SessionCreate
from ketacare.store.tables import Patient
from ketacare.store.tables.dosing import DoseOrderRecord
from ketacare.store.tables.measurement import QuestionnaireResponse
from ketacare.store.tables.sessions import SideEffectRow, VitalSign
from tests.conftest import make_personas
from tests.http.conftest import issue_token

CYCLES = int(os.environ.get("KETACARE_CRASH_CYCLES", "20"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Ledger:
    """What the server acknowledged, by kind (filled by the writer threads)."""

    vitals: list[str] = field(default_factory=list)
    patients: list[str] = field(default_factory=list)
    responses: list[int] = field(default_factory=list)
    orders: list[int] = field(default_factory=list)
    side_effects: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def total(self) -> int:
        return len(self.vitals) + len(self.patients) + len(self.responses) + len(self.orders) + len(self.side_effects)


# A fresh server process per cycle, forked from a parent that has already imported the application and every
# adapter module (create_app imports the routers' modules): each cycle still starts a new process (its own app,
# engine and connections, made after the fork) that is killed with SIGKILL, but the ~3 s of imports is paid once
# per engine rather than 20 times (CI time).
ZYGOTE = r"""
import importlib, os, pkgutil, signal, sys
import uvicorn
import ketacare.api, ketacare.app, ketacare.reports, ketacare.web

for package in (ketacare.api, ketacare.web, ketacare.reports):
    for info in pkgutil.walk_packages(package.__path__, prefix=f"{package.__name__}."):
        importlib.import_module(info.name)

signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # killed servers are reaped by the kernel
for line in sys.stdin:
    port = int(line)
    pid = os.fork()
    if pid == 0:
        os.setsid()
        uvicorn.run(ketacare.app.factory(), host="127.0.0.1", port=port, log_level="warning")
        os._exit(0)
    print(pid, flush=True)
"""


class Server:
    def __init__(self, url: str) -> None:
        self.port = _free_port()
        production = {k: v for k, v in os.environ.items() if k != "KETACARE_DURABILITY_PROFILE"}  # SQLite FULL
        self.env = production | {
            "KETACARE_DATABASE_URL": url,
            "KETACARE_OVERDUE_SWEEP_SECONDS": "0",
            "KETACARE_API_RATE_PER_MINUTE": "0",
            "OPENBLAS_NUM_THREADS": "1",  # no BLAS thread pool in the parent that forks
        }
        self.zygote = subprocess.Popen(  # noqa: S603
            [sys.executable, "-c", ZYGOTE], env=self.env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self.pid: int | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        assert self.zygote.stdin is not None and self.zygote.stdout is not None
        self.zygote.stdin.write(f"{self.port}\n")
        self.zygote.stdin.flush()
        self.pid = int(self.zygote.stdout.readline())
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/livez", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        self.close()
        raise AssertionError("the server did not start within 120 s")

    def kill(self) -> None:
        assert self.pid is not None
        os.kill(self.pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # gone (reaped by the kernel) and its port free again
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.02)
        raise AssertionError(f"server {self.pid} still runs 10 s after SIGKILL")

    def close(self) -> None:
        if self.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
        self.zygote.kill()
        self.zygote.wait(10)


def _writer(
    name: str,
    server: Server,
    token: str,
    stop: threading.Event,
    ledger: Ledger,
    call: Callable[[httpx.Client, int], None],
) -> threading.Thread:
    def loop() -> None:
        k = 0
        while not stop.is_set():
            k += 1
            try:
                with httpx.Client(
                    base_url=server.base, timeout=5, headers={"Authorization": f"Bearer {token}"}
                ) as c:
                    while not stop.is_set():
                        k += 1
                        call(c, k)
            except httpx.HTTPError:
                time.sleep(0.05)  # the server is down: try again

    return threading.Thread(target=loop, name=name, daemon=True)


def _kinds(sid: int, pid: int, ledger: Ledger) -> dict[str, tuple[str, Callable[[httpx.Client, int], None]]]:
    """The writers: which persona sends what, and what each records as acknowledged."""
    t0 = clock.now()

    def vitals(c: httpx.Client, k: int) -> None:
        batch = uuid.uuid4().hex[:12]
        ids = [f"crash-{batch}-{j}" for j in range(5)]
        readings = [
            {
                "client_id": i,
                "device_id": "bay-9",
                "measured_at": t0.isoformat(),
                "sbp": 120,
                "dbp": 80,
                "hr": 70,
                "spo2": 98,
                "rr": 14,
            }
            for i in ids
        ]
        if c.post(f"/api/v1/sessions/{sid}/vitals/batch", json={"readings": readings}).status_code == 200:
            with ledger.lock:
                ledger.vitals += ids

    def patients(c: httpx.Client, k: int) -> None:
        name = f"Crash{uuid.uuid4().hex[:10]}"
        body = {
            "given_name": name,
            "family_name": "Durable",
            "date_of_birth": "1979-03-04",
            "sex_at_birth": "male",
        }
        if c.post("/api/v1/patients", json=body).status_code == 201:
            with ledger.lock:
                ledger.patients.append(name)

    def responses(c: httpx.Client, k: int) -> None:
        r = c.post(f"/api/v1/patients/{pid}/responses", json={"instrument_id": "gad7", "answers": [1] * 7})
        if r.status_code == 201:
            with ledger.lock:
                ledger.responses.append(r.json()["response_id"])

    def orders(c: httpx.Client, k: int) -> None:
        r = c.post(f"/api/v1/patients/{pid}/dose-orders", json={"protocol_id": "iv-standard"})
        if r.status_code == 201:
            with ledger.lock:
                ledger.orders.append(r.json()["id"])

    def side_effects(c: httpx.Client, k: int) -> None:
        body = {"type": "nausea", "grade": 1, "onset_at": t0.isoformat()}
        r = c.post(f"/api/v1/sessions/{sid}/side-effects", json=body)
        if r.status_code == 201:
            with ledger.lock:
                ledger.side_effects.append(r.json()["id"])

    return {
        "vitals": ("nurse", vitals),
        "patients": ("nurse", patients),
        "responses": ("nurse", responses),
        "orders": ("prescriber", orders),
        "side_effects": ("nurse", side_effects),
    }


def _assert_each_stored_once(db, sid: int, ledger: Ledger) -> None:
    with db.session() as s:
        stored = dict(
            s.execute(
                select(VitalSign.client_id, func.count())
                .where(VitalSign.session_id == sid)
                .group_by(VitalSign.client_id)
            ).all()
        )
        assert [i for i in ledger.vitals if stored.get(i) != 1] == []
        names = dict(
            s.execute(
                select(Patient.given_name, func.count())
                .where(Patient.family_name == "Durable")
                .group_by(Patient.given_name)
            ).all()
        )
        assert [n for n in ledger.patients if names.get(n) != 1] == []
        for model, ids in (
            (QuestionnaireResponse, ledger.responses),
            (DoseOrderRecord, ledger.orders),
            (SideEffectRow, ledger.side_effects),
        ):
            found = set(s.scalars(select(model.id).where(model.id.in_(ids))))
            assert found == set(ids), (
                f"{model.__name__}: {len(set(ids) - found)} acknowledged rows are missing"
            )
        report = audit.verify_chain(s)
    assert report.ok, report.problem


def test_no_acknowledged_write_is_lost_or_doubled_across_20_kills(db):
    personas = make_personas(db)
    pid = personas.patient_a
    sid = workflow.create_session(
        db=db,
        actor=personas["nurse"],
        data=SessionCreate(
            patient_id=pid,
            chair="Chair 9",
            product="racemic_ketamine",
            planned_dose_mg=35,
            planned_duration_min=40,
            concentration_mg_per_ml=1.0,
        ),
    ).id
    tokens = {p: issue_token(db, personas[p].user_id) for p in ("nurse", "prescriber")}
    ledger, rng = Ledger(), random.Random(20261130)
    kinds = _kinds(sid, pid, ledger)
    server = Server(db.url)
    try:
        for _ in range(CYCLES):
            server.start()
            stop = threading.Event()
            threads = [_writer(n, server, tokens[who], stop, ledger, fn) for n, (who, fn) in kinds.items()]
            for t in threads:
                t.start()
            before, deadline = ledger.total(), time.monotonic() + 20
            while ledger.total() < before + 3 and time.monotonic() < deadline:  # writers are busy (slow CI)
                time.sleep(0.05)
            time.sleep(rng.uniform(0.0, 0.8))
            server.kill()  # mid-request, most likely mid-transaction
            stop.set()
            for t in threads:
                t.join(10)
    finally:
        server.close()
    assert all(getattr(ledger, k) for k in kinds), {k: len(getattr(ledger, k)) for k in kinds}
    _assert_each_stored_once(db, sid, ledger)
