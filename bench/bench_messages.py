"""The message sender at clinic scale: a 12-chair clinic's quarter (~3,700 infusion appointments, 300 patients).

1. an idle run of `send_due` (nothing due: what cron every minute does most of the time), p95;
2. the run at 18:00 on the evening before a busy day: that day's pre-session instructions and reminders queued and
   sent through a local SMTP server (aiosmtpd), as one run: total time and messages per second.

Target (the clinic's, not a guideline): an idle run well inside the minute between cron runs (<= 200 ms p95), and
a busy run that finishes before the next one starts (<= 60 s). Times on a loaded machine: say the load average.
"""

from __future__ import annotations

import os
import socket
import time as wall
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select

from bench.common import engines, fresh_database, pct, time_calls
from ketacare.config import Settings
from ketacare.services import clinic, clock
from ketacare.services import messages as svc
from ketacare.services.access import system_actor
from ketacare.services.clinic import ClinicSettingsIn, CrisisLine
from ketacare.store.tables import Patient
from ketacare.store.tables.scheduling import Appointment, Site

IDLE_TARGET_MS = 200.0
BUSY_TARGET_S = 60.0
CHAIRS, WEEKS, PATIENTS = 12, 13, 300
NY = ZoneInfo("America/New_York")


def _seed(db, start: date) -> None:
    line = CrisisLine(country="United States", name="988 Lifeline", number="988", when="Any time")
    data = ClinicSettingsIn(name="Bench Clinic", timezone="America/New_York", locale="en_US",
                            phone="+1 212 555 0100", crisis_lines=[line])  # fmt: skip
    clinic.seed(db=db, actor=system_actor("bench"), reason="bench", data=data)
    now = datetime.now(UTC)
    with db.session() as s:
        site = Site(name="Bench site", address="1 Bench St")
        s.add(site)
        s.flush()
        rows = [dict(mrn=f"B{i:07d}", given_name="Pat", family_name=f"Bench{i}", given_name_norm="pat",
                     family_name_norm=f"bench{i}", date_of_birth=date(1980, 1, 1), sex_at_birth="female",
                     email=f"pat{i}@example.org", created_at=now, updated_at=now, version=1)
                for i in range(PATIENTS)]  # fmt: skip
        s.execute(insert(Patient), rows)
        ids = list(s.scalars(select(Patient.id)))
        appts = []
        for day in range(WEEKS * 7):
            d = start + timedelta(days=day)
            if d.weekday() == 6:
                continue
            for chair in range(CHAIRS):
                for slot, hour in enumerate((8, 11, 14, 17)):
                    t = datetime.combine(d, time(hour), tzinfo=NY).astimezone(UTC)
                    pid = ids[(day * CHAIRS * 4 + chair * 4 + slot) % len(ids)]
                    appts.append(dict(site_id=site.id, patient_id=pid, type_id="infusion", dosing=True,
                                      starts_at=t, ends_at=t + timedelta(hours=2), status="booked",
                                      created_at=now, updated_at=now, version=1))  # fmt: skip
        s.execute(insert(Appointment), appts)
        s.commit()


def run(quick: bool = False) -> list[dict]:
    from aiosmtpd.controller import Controller

    class Sink:
        count = 0

        async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
            Sink.count += 1
            return "250 OK"

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = Controller(Sink(), hostname="127.0.0.1", port=port)
    server.start()
    load = os.getloadavg()[0]
    out: list[dict] = []
    real_now = clock.now
    try:
        for engine in engines()[-1:]:  # PostgreSQL when it is there
            with fresh_database(engine, "bench_messages") as db:
                start = date(2026, 11, 2)
                _seed(db, start)
                settings = Settings(database_url=db.url, smtp_host="127.0.0.1", smtp_port=port)
                busy_eve = datetime.combine(start + timedelta(days=1), time(18), tzinfo=NY).astimezone(UTC)
                idle = busy_eve - timedelta(minutes=30)  # nothing due (the 48 h reminders are already queued)
                clock.now = lambda: idle - timedelta(days=3)  # type: ignore[assignment]
                svc.send_due(db=db, settings=settings)  # the first run queues what was due before
                clock.now = lambda: idle  # type: ignore[assignment]
                svc.send_due(db=db, settings=settings)
                ms = time_calls(lambda _: svc.send_due(db=db, settings=settings), 10 if quick else 30)
                out.append({"name": f"messages: idle sender run, {engine} (p95)", "value": pct(ms, 95),
                            "unit": "ms", "target": f"<= {IDLE_TARGET_MS:g} ms", "ok": pct(ms, 95) <= IDLE_TARGET_MS,
                            "note": f"~{CHAIRS * 4 * 6 * WEEKS} appointments, load {load:.1f}"})  # fmt: skip
                clock.now = lambda: busy_eve  # type: ignore[assignment]
                before = Sink.count
                t0 = wall.perf_counter()
                report = svc.send_due(db=db, settings=settings)
                took = wall.perf_counter() - t0
                sent = Sink.count - before
                out.append({"name": f"messages: evening-before run, {engine}", "value": took, "unit": "s",
                            "target": f"<= {BUSY_TARGET_S:g} s", "ok": took <= BUSY_TARGET_S and report.failed == 0,
                            "note": f"{sent} messages sent ({sent / took:.0f}/s), load {load:.1f}"})  # fmt: skip
    finally:
        clock.now = real_now  # type: ignore[assignment]
        server.stop()
    return out
