"""A load generator for a running Ketacare (issue 15): its own process, loopback only, bounded in time.

`python -m bench.loadgen --base http://127.0.0.1:PORT --plan plan.json --seconds 30 --mode realistic|stress`
prints one JSON object: per request kind the count, throughput, p50/p95/p99 (ms) and errors, and the same for a
no-op endpoint (`/livez`) measured in the same run, so the ratio travels between machines.

- realistic: a clinic's morning, open loop (requests start on schedule whether or not earlier ones finished):
  50 chairs post one vitals reading a second each; 40 staff read a chart, a patient's orders or the live board
  every 4 s; 20 patients answer a questionnaire every 10 s; 10 live-board streams stay open; /livez 5 times a
  second.
- stress: closed loop, `--concurrency` clients each sending the next request when the last one answered: chart
  reads and vitals posts alternating, plus /livez from one of them.

The client is aiohttp, not httpx: the generator shares the cores with the server it measures, and aiohttp spends
several times less CPU per request.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import random
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import aiohttp

Plan = dict[str, Any]  # written by bench_load: tokens, patient and session ids
# The realistic mix also reports the requests started after its first seconds apart: the first requests of a fresh
# server process pay for its connections to the database, statement compilation and first streams (issue 15).
FIRST_S = 5.0


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q / 100 * len(s)) - 1))]


class Tally:
    def __init__(self) -> None:
        self.ms: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, list[str]] = defaultdict(list)
        self.t0 = time.perf_counter()
        self.timeline: list[tuple[float, str, float]] = []  # (start s after t0, kind, ms; -1 for an error)

    async def timed(
        self, kind: str, call: Any, ok: tuple[int, ...] = (200, 201)
    ) -> None:
        """Send one request (an aiohttp request context), read its body, and note its time or its error."""
        t0 = time.perf_counter()
        try:
            async with call as r:
                await r.read()
                if r.status not in ok:
                    self.errors[kind].append(str(r.status))
                    self.timeline.append((t0 - self.t0, kind, -1.0))
                    return
        except (aiohttp.ClientError, TimeoutError) as e:
            self.errors[kind].append(type(e).__name__)
            self.timeline.append((t0 - self.t0, kind, -1.0))
            return
        ms = (time.perf_counter() - t0) * 1000
        self.ms[kind].append(ms)
        self.timeline.append((t0 - self.t0, kind, ms))

    def report(self, seconds: float) -> dict[str, Any]:
        kinds = sorted(set(self.ms) | set(self.errors))
        out: dict[str, Any] = {}
        for k in kinds:
            v = self.ms[k]
            out[k] = {
                "count": len(v),
                "per_s": round(len(v) / seconds, 1),
                "p50_ms": round(_pct(v, 50), 2),
                "p95_ms": round(_pct(v, 95), 2),
                "p99_ms": round(_pct(v, 99), 2),
                "errors": len(self.errors[k]),
                "error_kinds": sorted(set(self.errors[k]))[:5],
            }
        total = sum(len(v) for v in self.ms.values())
        out["_all"] = {
            "count": total,
            "per_s": round(total / seconds, 1),
            "errors": sum(len(e) for e in self.errors.values()),
        }
        return out


    def after(self, start_s: float) -> dict[str, Any]:
        """Per request kind: p50/p95/p99 (ms) and errors of the requests started `start_s` or more after the start
        (a process's first requests also open connections, compile statements and fill caches)."""
        out: dict[str, Any] = {"from_s": start_s}
        for k in sorted({kind for _, kind, _ in self.timeline}):
            v = [ms for s, kind, ms in self.timeline if kind == k and s >= start_s and ms >= 0]
            errors = sum(1 for s, kind, ms in self.timeline if kind == k and s >= start_s and ms < 0)
            out[k] = {"count": len(v), "p50_ms": round(_pct(v, 50), 2), "p95_ms": round(_pct(v, 95), 2),
                      "p99_ms": round(_pct(v, 99), 2), "errors": errors}
        return out


def _reading(client_id: str, k: int) -> dict[str, Any]:
    return {
        "client_id": client_id,
        "device_id": "loadgen",
        "measured_at": datetime.now(UTC).isoformat(),
        "sbp": 120 + k % 9,
        "dbp": 78 + k % 5,
        "hr": 70 + k % 6,
        "spo2": 98,
        "rr": 14,
    }


async def _every(
    period_s: float, until: float, start_offset: float, act: Callable[[int], Awaitable[None]]
) -> None:
    """Start `act(k)` every `period_s` seconds (open loop) until `until`; wait for the stragglers."""
    await asyncio.sleep(start_offset)
    tasks, k = [], 0
    next_at = time.monotonic()
    while next_at < until:
        tasks.append(asyncio.create_task(act(k)))
        k += 1
        next_at += period_s
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))
    await asyncio.gather(*tasks)


async def _stream(client: aiohttp.ClientSession, token: str, until: float, got: list[int]) -> None:
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=5, sock_read=max(1.0, until - time.monotonic()))
    try:
        async with client.get(
            "/board/events",
            # as EventSource asks: without it the server sends one snapshot and ends the stream
            headers={"Cookie": f"kc_session={token}", "Accept": "text/event-stream"},
            timeout=timeout,
        ) as r:
            async for raw in r.content:
                line = raw.decode("utf-8", "replace")
                if line.startswith("data:") or line.startswith("event:"):
                    got[0] += 1
                if time.monotonic() > until:
                    return
    except (aiohttp.ClientError, TimeoutError):
        return


async def _loop_lag(until: float, lags: list[float]) -> None:
    """Note how late this generator's own event loop wakes from a 50 ms sleep (ms): a late client inflates every
    latency it measures, so the report shows it beside them."""
    while time.monotonic() < until:
        t0 = time.monotonic()
        await asyncio.sleep(0.05)
        lags.append((time.monotonic() - t0 - 0.05) * 1000)


async def realistic(base: str, plan: Plan, seconds: float, timeline: str = "") -> dict[str, Any]:
    tally, rng = Tally(), random.Random(7)
    connector = aiohttp.TCPConnector(limit=400)
    async with aiohttp.ClientSession(base, connector=connector, timeout=aiohttp.ClientTimeout(total=10)) as client:
        nurse = {"Authorization": f"Bearer {plan['nurse']}"}
        until = time.monotonic() + seconds
        streamed = [0]

        def chair(sid: int) -> Callable[[int], Awaitable[None]]:
            async def post(k: int) -> None:
                body = {"readings": [_reading(f"lg-{sid}-{k}-{rng.random():.9f}", k)]}
                await tally.timed(
                    "vitals_post",
                    client.post(f"/api/v1/sessions/{sid}/vitals/batch", json=body, headers=nurse),
                )

            return post

        def staff(n: int) -> Callable[[int], Awaitable[None]]:
            async def browse(k: int) -> None:
                pid = plan["patients"][(n * 7 + k) % len(plan["patients"])]
                which = (n + k) % 3
                if which == 0:
                    await tally.timed("chart_read", client.get(f"/api/v1/patients/{pid}", headers=nurse))
                elif which == 1:
                    await tally.timed(
                        "orders_read", client.get(f"/api/v1/patients/{pid}/dose-orders", headers=nurse)
                    )
                else:
                    await tally.timed(
                        "board_page", client.get("/board", headers={"Cookie": f"kc_session={plan['nurse_web']}"})
                    )

            return browse

        def patient(token: str, pid: int) -> Callable[[int], Awaitable[None]]:
            async def answer(k: int) -> None:
                body = {"instrument_id": "gad7", "answers": [rng.randint(0, 3) for _ in range(7)]}
                await tally.timed(
                    "questionnaire_post",
                    client.post(
                        f"/api/v1/patients/{pid}/responses",
                        json=body,
                        headers={"Authorization": f"Bearer {token}"},
                    ),
                )

            return answer

        async def noop(k: int) -> None:
            await tally.timed("noop_livez", client.get("/livez"))

        jobs = [_every(1.0, until, rng.random(), chair(sid)) for sid in plan["sessions"][:50]]
        jobs += [_every(4.0, until, rng.random() * 4, staff(n)) for n in range(40)]
        jobs += [_every(10.0, until, rng.random() * 10, patient(t, p)) for t, p in plan["portal"][:20]]
        jobs += [_every(0.2, until, 0.0, noop)]
        jobs += [_stream(client, plan["nurse_web"], until, streamed) for _ in range(10)]
        lags: list[float] = []
        jobs += [_loop_lag(until, lags)]
        t0 = time.monotonic()
        await asyncio.gather(*jobs)
        out = tally.report(time.monotonic() - t0)
        out["_after_first_s"] = tally.after(FIRST_S)
        out["_sse_events"] = streamed[0]
        out["_client_loop_lag_ms"] = {"p50": round(_pct(lags, 50), 1), "p99": round(_pct(lags, 99), 1),
                                      "max": round(max(lags, default=0.0), 1)}
        if timeline:
            with open(timeline, "w") as f:
                json.dump(sorted(tally.timeline), f)
        return out


async def stress(base: str, plan: Plan, seconds: float, concurrency: int) -> dict[str, Any]:
    tally = Tally()
    connector = aiohttp.TCPConnector(limit=concurrency + 8)
    async with aiohttp.ClientSession(base, connector=connector, timeout=aiohttp.ClientTimeout(total=10)) as client:
        nurse = {"Authorization": f"Bearer {plan['nurse']}"}
        until = time.monotonic() + seconds
        counter = itertools.count()

        async def worker(n: int) -> None:
            while time.monotonic() < until:
                k = next(counter)
                if n == 0 and k % 10 == 0:
                    await tally.timed("noop_livez", client.get("/livez"))
                elif k % 2:
                    pid = plan["patients"][k % len(plan["patients"])]
                    await tally.timed("chart_read", client.get(f"/api/v1/patients/{pid}", headers=nurse))
                else:
                    sid = plan["sessions"][k % len(plan["sessions"])]
                    body = {"readings": [_reading(f"st-{k}-{n}", k)]}
                    await tally.timed(
                        "vitals_post",
                        client.post(f"/api/v1/sessions/{sid}/vitals/batch", json=body, headers=nurse),
                    )

        t0 = time.monotonic()
        await asyncio.gather(*(worker(n) for n in range(concurrency)))
        return tally.report(time.monotonic() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", required=True)
    ap.add_argument("--plan", required=True)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--mode", choices=("realistic", "stress"), default="realistic")
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--timeline", default="", help="write every request's (start s, kind, ms) here as JSON")
    a = ap.parse_args()
    if not a.base.startswith(("http://127.0.0.1:", "http://localhost:")):
        raise SystemExit("the load generator only talks to loopback")
    with open(a.plan) as f:
        plan = json.load(f)
    seconds = min(a.seconds, 600.0)  # bounded: it stops by itself
    if a.mode == "realistic":
        result = asyncio.run(realistic(a.base, plan, seconds, a.timeline))
    else:
        result = asyncio.run(stress(a.base, plan, seconds, a.concurrency))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
