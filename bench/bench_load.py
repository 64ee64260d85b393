"""A clinic under load (issue 15): the real server (`ketacare serve --workers N`) on PostgreSQL, driven by the load
generator (`bench/loadgen.py`, its own process, loopback only, bounded in time).

1. realistic mix, 2 processes: 50 chairs posting vitals at 1 Hz, 40 staff browsing charts, orders and the board,
   20 patients answering questionnaires, 10 open board streams; p99 per request kind (target <= 100 ms, 0 errors),
   over the whole run from a fresh start, and over the requests started after the first 5 s (steady state);
2. stress, closed loop, 1 and then 2 processes: throughput and p99 (target >= 300/s with p99 <= 250 ms for 60 s;
   2 processes >= 1.6x one), with a no-op endpoint measured in the same run;
3. server memory: resident set of each app process after the run (target <= 250 MB).
Set-up goes through the services (the demo clinic's generator, 20 portal accounts, and 50 sessions brought to
infusing as a clinic would: consent, signed and double-checked order, check-in, confirmations, baseline reading,
questionnaires, pre-checks, start from the order), so the board shows 50 live chairs. Each run gets new session
tokens; with KETACARE_BENCH_LOAD_KEEP=plan.json the seeded clinic is kept and reused by later runs.
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
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from bench.common import PG_URL, fresh_database, postgres_available
from ketacare.demo.patients import DEMO_PASSWORD
from ketacare.demo.patients import seed as seed_demo
from ketacare.demo.sessions import CSSRS_NONE
from ketacare.domain.errors import InvalidValue
from ketacare.services import clock, dosing, measurement
from ketacare.services.access import Actor
from ketacare.services.access.auth import token_digest
from ketacare.services.dosing import DoseOrderRead
from ketacare.services.dosing import orders as dose_orders
from ketacare.services.dosing.schemas import DoseOrderCreate, DoseOrderSign, DoubleCheckCreate
from ketacare.services.plans import consent
from ketacare.services.plans.consent_schemas import ConsentCountersignIn, ConsentSignIn
from ketacare.services.sessions import from_order, record, vitals, workflow
from ketacare.services.sessions.board import ACTIVE_STATES
from ketacare.services.sessions.schemas import (
    GuardRead,
    InfusionStep,
    OverrideIn,
    ScheduleFromOrder,
    SessionChecks,
    TransitionRequest,
    VitalIn,
)
from ketacare.store.db import Database
from ketacare.store.migrate import upgrade
from ketacare.store.tables import AuthSession, Patient, User
from ketacare.store.tables.sessions import InfusionSession

P99_TARGET_MS = 100.0
STRESS_RPS_TARGET = 300.0
STRESS_P99_TARGET_MS = 250.0
RSS_TARGET_MB = 250.0
N_CHAIRS = 50
OVERRIDE_REASON = "Load clinic: synthetic patients, eligibility and history reviewed on paper"
# A path: the first run seeds a clinic into a database that is kept and writes its plan there; later runs reuse
# that clinic (same patients and chairs, new tokens), so two builds can be measured on one seeded clinic.
KEEP_ENV = "KETACARE_BENCH_LOAD_KEEP"


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


def _consent(db: Database, prescriber: Actor, pid: int, route: str) -> None:
    """The patient signs the consent for `route` in the portal and the prescriber countersigns it, unless one is in
    force already (the consent guard is not overridable)."""
    with db.session() as s:
        if consent.status_in_session(s, pid, route, clock.now()).in_force:
            return
        p = s.get(Patient, pid)
        name = f"{p.given_name} {p.family_name}" if p else ""
    doc = consent.document_for_route(route)
    if doc is None:
        raise RuntimeError(f"no consent document for route {route}")
    patient = Actor(user_id=None, username=f"patient:{pid}", role="patient", patient_id=pid)
    row = consent.sign_consent(
        db=db,
        actor=patient,
        patient_id=pid,
        data=ConsentSignIn(
            template_id=doc.id,
            version=doc.version,
            signed_via="portal",
            read_confirmed=True,
            typed_name=name,
            signature_kind="click",
            click_signed=True,
        ),
    )
    consent.countersign_consent(
        db=db,
        actor=prescriber,
        patient_id=pid,
        signature_id=row.id,
        data=ConsentCountersignIn(version=row.version, password=DEMO_PASSWORD),
    )


def _order(db: Database, prescriber: Actor, nurse: Actor, pid: int) -> DoseOrderRead | None:
    """Return the patient's usable dose order, else write, sign and double-check an iv-standard one (None when the
    patient cannot have one without a prescriber's judgement, e.g. a weight that changed)."""
    with db.session() as s:
        order = dosing.usable_order(s, pid)
    if order is not None:
        return order
    data = DoseOrderCreate(protocol_id="iv-standard", planned_start=clock.now())
    try:
        try:
            o = dose_orders.create_order(db=db, actor=prescriber, patient_id=pid, data=data)
        except InvalidValue as e:
            if e.field != "weight_basis":
                raise
            o = dose_orders.create_order(
                db=db,
                actor=prescriber,
                patient_id=pid,
                data=data.model_copy(
                    update={"weight_basis": "actual", "weight_basis_reason": "Load clinic: dosed on actual weight"}
                ),
            )
    except InvalidValue:
        return None
    o = dose_orders.sign_order(
        db=db,
        actor=prescriber,
        patient_id=pid,
        order_id=o.id,
        data=DoseOrderSign(version=o.version, password=DEMO_PASSWORD),
    )
    dose_orders.double_check_order(
        db=db,
        actor=nurse,
        patient_id=pid,
        order_id=o.id,
        data=DoubleCheckCreate(
            version=o.version,
            check_weight_kg=o.weight_kg,
            check_dose_mg=o.dose_mg,
            check_rate_ml_per_h=o.rate_ml_per_h,
            password=DEMO_PASSWORD,
        ),
    )
    with db.session() as s:
        return dosing.usable_order(s, pid)


def _overridable(failed: list[GuardRead]) -> OverrideIn | None:
    ids = [g.id for g in failed if "prescriber" in g.overridable_by]
    return OverrideIn(guard_ids=ids, reason=OVERRIDE_REASON) if ids else None


def _infusing(db: Database, nurse: Actor, prescriber: Actor, pid: int, chair: str) -> int | None:
    """Bring one patient to infusing as a clinic would: consent signed and countersigned, a signed and
    double-checked dose order, the session booked from it, check-in, the nurse's confirmations, a baseline reading,
    the pre-session questionnaires, the pre-checks, and the start from the order (pump at the order's rate). What
    a load clinic cannot show (an eligibility evaluation, the interval since a demo session) the prescriber
    overrides with a recorded reason, as the workflow records any override. None when the patient has no order."""
    order = _order(db, prescriber, nurse, pid)
    if order is None:
        return None
    _consent(db, prescriber, pid, order.route)
    now = clock.now()
    sid = from_order.schedule_from_order(
        db=db,
        actor=nurse,
        data=ScheduleFromOrder(patient_id=pid, dose_order_id=order.id, chair=chair, scheduled_at=now),
    ).id
    workflow.apply_event(db=db, actor=nurse, session_id=sid, data=TransitionRequest(event="check_in"))
    version = record.get_session(db=db, actor=nurse, session_id=sid).version
    workflow.update_checks(
        db=db,
        actor=nurse,
        session_id=sid,
        data=SessionChecks(
            version=version,
            escort_confirmed=True,
            pregnancy_test_negative=True,
            last_food_at=now - timedelta(hours=6),
            last_liquid_at=now - timedelta(hours=3),
        ),
    )
    vitals.record_session_reading(
        db=db, actor=nurse, session_id=sid, data=VitalIn(sbp=124, dbp=78, hr=70, spo2=98, rr=14)
    )
    for instrument, answers in (("gad7", [2, 1, 2, 1, 2, 1, 1]), ("cssrs_screen", CSSRS_NONE)):
        measurement.submit_response(
            db=db,
            actor=nurse,
            patient_id=pid,
            data=measurement.ResponseCreate(
                instrument_id=instrument, answers=answers, context="pre_session", session_id=sid
            ),
        )
    r = workflow.apply_event(db=db, actor=nurse, session_id=sid, data=TransitionRequest(event="pass_prechecks"))
    if not r.allowed:
        r = workflow.apply_event(
            db=db,
            actor=prescriber,
            session_id=sid,
            data=TransitionRequest(event="pass_prechecks", override=_overridable(r.failed_guards)),
        )
    if not r.allowed:
        raise RuntimeError(f"session {sid}: pre-checks refused: {[g.id for g in r.failed_guards]}")
    r = from_order.infusion_step(db=db, actor=nurse, session_id=sid, data=InfusionStep(kind="start"))
    if not r.allowed:
        r = from_order.infusion_step(
            db=db,
            actor=prescriber,
            session_id=sid,
            data=InfusionStep(kind="start", override=_overridable(r.failed_guards)),
        )
    if not r.allowed:
        raise RuntimeError(f"session {sid}: start refused: {[g.id for g in r.failed_guards]}")
    return sid


def _plan(db: Database) -> dict[str, Any]:
    """Seed the demo clinic and bring N_CHAIRS of its patients to infusing; 20 others get portal accounts."""
    seed_demo(db, n_patients=80, seed_value=15)
    with db.session() as s:
        staff = {u.username: u for u in s.scalars(select(User).where(User.username.in_(("nurse", "prescriber"))))}
        patient_ids = list(s.scalars(select(Patient.id).order_by(Patient.id)))
        busy = set(s.scalars(select(InfusionSession.patient_id).where(InfusionSession.state.in_(ACTIVE_STATES))))
    nurse = Actor(user_id=staff["nurse"].id, username="nurse", role="nurse")
    prescriber = Actor(user_id=staff["prescriber"].id, username="prescriber", role="prescriber")
    sessions: list[int] = []
    chair_patients: set[int] = set()
    for pid in patient_ids:
        if len(sessions) >= N_CHAIRS:
            break
        if pid in busy:
            continue
        sid = _infusing(db, nurse, prescriber, pid, f"Load {len(sessions) + 1}")
        if sid is not None:
            sessions.append(sid)
            chair_patients.add(pid)
    if len(sessions) < N_CHAIRS:
        raise RuntimeError(f"only {len(sessions)} of {N_CHAIRS} load chairs could start")
    portal = []
    now = clock.now()
    with db.session() as s:
        for k, pid in enumerate([p for p in patient_ids if p not in chair_patients][:20]):
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
    return {
        "nurse_user": nurse.user_id,
        "patients": patient_ids,
        "sessions": sessions,
        "portal_users": portal,
    }


def _with_tokens(db: Database, plan: dict[str, Any]) -> dict[str, Any]:
    """Return the plan with new session tokens (a token idles out after KETACARE_SESSION_IDLE_MINUTES without a
    request: issued at the start of each run, a reused clinic's tokens are as fresh as a new one's)."""
    token = _token(db, plan["nurse_user"])
    return plan | {
        "nurse": token,
        "nurse_web": token,
        "portal": [(_token(db, uid), pid) for uid, pid in plan["portal_users"]],
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


@contextmanager
def _clinic() -> Iterator[tuple[Database, dict[str, Any]]]:
    """Yield the seeded clinic and its plan: a new database dropped afterwards, or with KEEP_ENV the kept one
    (seeded on first use)."""
    keep = os.environ.get(KEEP_ENV)
    if not keep:
        with fresh_database("postgresql", f"load_{uuid.uuid4().hex[:10]}") as db:
            yield db, _plan(db)
        return
    kept = Path(keep)
    if kept.exists():
        plan = json.loads(kept.read_text())
        db = Database(plan["url"])
    else:
        name = f"kc_bench_load_kept_{uuid.uuid4().hex[:8]}"
        admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        db = Database(make_url(PG_URL).set(database=name).render_as_string(hide_password=False))
        upgrade(db)
        plan = _plan(db) | {"url": db.url}
        kept.write_text(json.dumps(plan))
    try:
        yield db, plan
    finally:
        db.dispose()


def _na(reason: str) -> list[dict]:
    return [{"name": "clinic load", "value": "n/a", "unit": "", "target": "", "ok": None, "note": reason}]


def run(quick: bool) -> list[dict]:
    """Seed a clinic on PostgreSQL, then run the realistic mix (2 processes) and the stress mode (1 and 2)."""
    if not postgres_available():
        return _na("PostgreSQL not reachable")
    real_s, stress_s = (10.0, 10.0) if quick else (30.0, 60.0)
    rows: list[dict] = []
    with _clinic() as (db, plan), tempfile.TemporaryDirectory() as d:
        plan_file = Path(d) / "plan.json"
        plan_file.write_text(json.dumps(_with_tokens(db, plan)))
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
