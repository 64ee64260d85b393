"""Server CPU per request, per request kind (issue 15): the figure that travels between machines.

Throughput measured on a shared machine says as much about the neighbours as about the app; the CPU time the app
process spends per request does not (much). The real server (`ketacare serve --workers 1`) runs on PostgreSQL with
the load benchmark's clinic (80 patients, 50 chairs infusing, 20 portal accounts; KETACARE_BENCH_LOAD_KEEP reuses
one); one client on a kept-alive connection sends N requests of one kind one after the other, in batches of 25; the
server process's CPU time (user + system, from /proc/PID/stat) over a batch, divided by its requests, is a batch's
cost, and the median batch is the kind's. The process's idle CPU (measured first) is subtracted. On a loaded machine
the figure still grows somewhat (caches shared with the neighbours): compare before and after in one sitting. The
stress target (300 req/s on 2 cores with the load generator and PostgreSQL sharing them) needs about 3-4 ms per
request.

`python -m bench.bench_request_cost [--quick] [--profile KIND ...]` prints the table and, with --profile, a
cProfile breakdown of each named kind served by `bench/profile_server.py` (the route code runs inline there).
"""

from __future__ import annotations

import http.client
import json
import os
import pstats
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.bench_load import Serve, _clinic, _port, _with_tokens
from bench.common import postgres_available

TARGET_MS = 4.0  # the stress target's budget per request on 2 cores, with room for the database and the client
TICK = os.sysconf("SC_CLK_TCK")
BATCH = 25  # requests per CPU reading
KINDS = ("livez", "chart_read", "orders_read", "vitals_post", "questionnaire_post", "board_page")

Request = tuple[str, str, bytes | None, dict[str, str]]


def cpu_s(pid: int) -> float:
    """Return the CPU seconds process `pid`'s threads have run so far: the scheduler's nanosecond count, summed over
    its threads (/proc/PID/stat counts in 10 ms ticks, too coarse for a batch of 2 ms requests)."""
    total = 0
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            try:
                total += int((task / "schedstat").read_text().split()[0])
            except (OSError, ValueError, IndexError):
                continue  # a thread that just ended
    except OSError:
        total = 0
    if total:
        return total / 1e9
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def _reading(tag: str, k: int) -> dict[str, Any]:
    return {
        "client_id": f"cost-{tag}-{k}",
        "device_id": "bench",
        "measured_at": datetime.now(UTC).isoformat(),
        "sbp": 120 + k % 9,
        "dbp": 78 + k % 5,
        "hr": 70 + k % 6,
        "spo2": 98,
        "rr": 14,
    }


def requests_for(kind: str, plan: dict[str, Any], tag: str) -> Callable[[int], Request]:
    """Return k -> the k-th request of `kind` (method, path, body, headers), as the load generator sends it."""
    nurse = {"Authorization": f"Bearer {plan['nurse']}"}
    patients, sessions, portal = plan["patients"], plan["sessions"], plan["portal"]
    rng = random.Random(15)
    json_h = {"Content-Type": "application/json"}

    def make(k: int) -> Request:
        if kind == "livez":
            return "GET", "/livez", None, {}
        if kind == "chart_read":
            return "GET", f"/api/v1/patients/{patients[k % len(patients)]}", None, nurse
        if kind == "orders_read":
            return "GET", f"/api/v1/patients/{patients[k % len(patients)]}/dose-orders", None, nurse
        if kind == "vitals_post":
            body = json.dumps({"readings": [_reading(tag, k)]}).encode()
            return "POST", f"/api/v1/sessions/{sessions[k % len(sessions)]}/vitals/batch", body, nurse | json_h
        if kind == "questionnaire_post":
            token, pid = portal[k % len(portal)]
            body = json.dumps({"instrument_id": "gad7", "answers": [rng.randint(0, 3) for _ in range(7)]}).encode()
            return "POST", f"/api/v1/patients/{pid}/responses", body, {"Authorization": f"Bearer {token}"} | json_h
        if kind == "board_page":
            return "GET", "/board", None, {"Cookie": f"kc_session={plan['nurse_web']}"}
        raise ValueError(kind)

    return make


def send(conn: http.client.HTTPConnection, req: Request) -> int:
    method, path, body, headers = req
    conn.request(method, path, body=body, headers=headers)
    r = conn.getresponse()
    r.read()
    return r.status


def measure(port: int, pid: int, kind: str, plan: dict[str, Any], n: int, idle_cpu_per_s: float) -> dict[str, Any]:
    """Send `n` requests of `kind` (after a warm-up) in batches of 25; return the server CPU ms per request of the
    median batch (and of the cheapest: neighbours on a shared machine inflate some batches, never deflate one)."""
    make = requests_for(kind, plan, uuid.uuid4().hex[:8])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    per_batch: list[float] = []
    errors, wall = 0, 0.0
    try:
        for k in range(min(30, n)):
            status = send(conn, make(k))
            if status not in (200, 201):
                raise RuntimeError(f"{kind}: HTTP {status} during warm-up")
        for start in range(0, n, BATCH):
            c0, t0 = cpu_s(pid), time.perf_counter()
            for k in range(start, min(n, start + BATCH)):
                errors += send(conn, make(1000 + k)) not in (200, 201)
            dt = time.perf_counter() - t0
            wall += dt
            per_batch.append(1000 * (cpu_s(pid) - c0 - idle_cpu_per_s * dt) / (min(n, start + BATCH) - start))
    finally:
        conn.close()
    return {"kind": kind, "n": n, "cpu_ms": statistics.median(per_batch), "cpu_ms_min": min(per_batch),
            "wall_ms": 1000 * wall / n, "errors": errors}


def idle_cpu(pid: int, seconds: float = 2.0) -> float:
    """Return the server's CPU seconds per second while nobody calls it (timers, the board's listener)."""
    c0 = cpu_s(pid)
    time.sleep(seconds)
    return (cpu_s(pid) - c0) / seconds


def _profile(url: str, plan: dict[str, Any], kinds: list[str], n: int) -> None:
    port = _port()
    env = os.environ | {"KETACARE_DATABASE_URL": url, "KETACARE_API_RATE_PER_MINUTE": "0"}
    with tempfile.TemporaryDirectory() as d:
        prefix = str(Path(d) / "prof")
        proc = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "bench.profile_server", str(port), prefix], env=env
        )
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                    if send(conn, ("GET", "/livez", None, {})) == 200:
                        break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.3)
            for i, kind in enumerate(kinds):
                make = requests_for(kind, plan, uuid.uuid4().hex[:8])
                for k in range(30):
                    send(conn, make(k))
                proc.send_signal(signal.SIGUSR1)
                time.sleep(0.2)
                for k in range(n):
                    send(conn, make(1000 + k))
                proc.send_signal(signal.SIGUSR2)
                out = Path(f"{prefix}.{i}.pstats")
                for _ in range(100):
                    if out.exists() and out.stat().st_size:
                        break
                    time.sleep(0.1)
                time.sleep(0.3)
                print(f"\n===== {kind}: {n} requests (cProfile, route code inline) =====")
                stats = pstats.Stats(str(out))
                stats.sort_stats("tottime").print_stats(30)
                stats.sort_stats("cumulative").print_stats(45)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)


def run(quick: bool, kinds: tuple[str, ...] = KINDS) -> list[dict]:
    """Seed the clinic on PostgreSQL, serve it in one process and measure each kind's CPU per request."""
    if not postgres_available():
        return [{"name": "server CPU per request", "value": "n/a", "unit": "", "target": "", "ok": None,
                 "note": "PostgreSQL not reachable"}]
    n = 200 if quick else 1000
    rows = []
    with _clinic() as (db, plan):
        plan = _with_tokens(db, plan)
        server = Serve(db.url, 1)
        try:
            pid = server.proc.pid
            idle = idle_cpu(pid)
            load = os.getloadavg()[0]
            for kind in kinds:
                m = measure(server.port, pid, kind, plan, n, idle)
                rows.append({
                    "name": f"server CPU per request: {kind} (postgresql, 1 process)",
                    "value": round(m["cpu_ms"], 2),
                    "unit": "ms",
                    "target": f"<= {TARGET_MS:.0f} (stress)" if kind in ("chart_read", "vitals_post") else "",
                    "ok": m["cpu_ms"] <= TARGET_MS if kind in ("chart_read", "vitals_post") else None,
                    "note": f"median of batches of {BATCH}, cheapest batch {m['cpu_ms_min']:.2f} ms; "
                            f"{m['n']} requests one after another; wall {m['wall_ms']:.2f} ms each; errors "
                            f"{m['errors']}; idle CPU {1000 * idle:.1f} ms/s subtracted; load average {load:.1f}",
                })
        finally:
            server.stop()
    return rows


def main(argv: list[str]) -> None:
    quick = "--quick" in argv
    if "--profile" in argv:
        kinds = [a for a in argv[argv.index("--profile") + 1:] if not a.startswith("--")] or list(KINDS)
        with _clinic() as (db, plan):
            _profile(db.url, _with_tokens(db, plan), kinds, 200 if quick else 500)
        return
    for r in run(quick):
        print(f"{r['name']:60} {r['value']:>8} {r['unit']}   {r['note']}")


if __name__ == "__main__":
    main(sys.argv[1:])
