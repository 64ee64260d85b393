"""Scheduling at clinic scale (issue 17 acceptance), PostgreSQL: a 12-chair clinic's quarter (~6,000 appointments).

1. booking with conflict checks, p95: `booking.book` of an infusion (chair, nurse, the patient's dose order, its
   protocol's interval and weekly maximum, working hours), in its own audited transaction; a mix of accepted and
   refused bookings (a taken chair or nurse, too close to the patient's last dosing session);
2. week calendar render, server time p95: `GET /schedule` (week view, ~450 appointments) in process, read from the
   app's `Server-Timing: app;dur=...` header (authentication, queries, the audit event, template rendering).

Set-up: 12 chairs with one nurse each, 2 rooms with a therapist and a prescriber, working hours Monday-Saturday;
300 patients through the patients service; ~6,000 appointments inserted in bulk (4 infusion slots a day on every
chair for 13 weeks, and room visits), leaving the 17:00 slot free for the bookings measured; 20 patients with
signed, double-checked dose orders (through the dosing service) book into those slots. The database has a unique
name and is dropped afterwards. Times measured on a loaded machine are not targets: say the load average.
"""

from __future__ import annotations

import os
import random
import secrets
import time as wall
from datetime import UTC, date, datetime, time, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import insert

from bench.common import fresh_database, pct, postgres_available
from ketacare.app import create_app
from ketacare.config import Settings
from ketacare.services import clinic, clock
from ketacare.services.access import Actor, UserCreate, system_actor, users
from ketacare.services.dosing import orders as dose_orders
from ketacare.services.dosing.schemas import DoseOrderCreate, DoseOrderSign, DoubleCheckCreate
from ketacare.services.patients import records as patients_svc
from ketacare.services.patients.schemas import PatientCreate
from ketacare.services.plans import consent
from ketacare.services.plans.consent_schemas import ConsentCountersignIn, ConsentSignIn
from ketacare.services.scheduling import BookingRefused, booking, setup
from ketacare.services.scheduling.schemas import (
    AppointmentCreate,
    ChairCreate,
    RoomCreate,
    ShiftCreate,
    SiteCreate,
)
from ketacare.store.db import Database
from ketacare.store.tables.scheduling import Appointment

PASSWORD = "bench scheduling password twelve chairs"
BOOK_TARGET_MS = 50.0
WEEK_TARGET_MS = 150.0
CHAIRS = 12
WEEKS = 13
SLOTS = (time(7, 0), time(9, 30), time(12, 0), time(14, 30))  # 150-min infusions; 17:00 left free


def _people(db: Database, sysact: Actor, site_id: int) -> tuple[list[int], list[int], list[int], int]:
    def user(name: str, role: str) -> int:
        return users.create_user(db=db, actor=sysact, data=UserCreate(
            username=name, display_name=name.title(), role=role, password=PASSWORD)).id

    nurses = [user(f"nurse{i}", "nurse") for i in range(CHAIRS)]
    therapist, prescriber = user("therapist", "therapist"), user("prescriber", "prescriber")
    room_staff = [therapist, prescriber, user("prescriber2", "prescriber")]
    for uid in [*nurses, *room_staff]:
        for wd in range(6):
            setup.add_shift(db=db, actor=sysact, data=ShiftCreate(user_id=uid, site_id=site_id, weekday=wd,
                                                                  start_minute=7 * 60, end_minute=20 * 60))
    chairs = [setup.add_chair(db=db, actor=sysact, data=ChairCreate(site_id=site_id, label=f"Chair {i + 1}")).id
              for i in range(CHAIRS)]
    return chairs, nurses, room_staff, prescriber


def _bulk(db: Database, site_id: int, chairs: list[int], nurses: list[int], rooms: list[int], staff: list[int],
          patients: list[int], monday: date) -> int:
    tz = clinic.zone(db)
    now = clock.now()
    rows: list[dict] = []
    k = 0
    for day in (monday + timedelta(days=i) for i in range(WEEKS * 7)):
        if day.weekday() == 6:
            continue
        for c, chair in enumerate(chairs):
            for slot in SLOTS:
                start = datetime.combine(day, slot, tzinfo=tz).astimezone(UTC)
                rows.append({"site_id": site_id, "patient_id": patients[k % len(patients)], "type_id": "infusion",
                             "dosing": True, "starts_at": start, "ends_at": start + timedelta(minutes=150),
                             "chair_id": chair, "staff_user_id": nurses[c], "protocol_id": "iv-standard",
                             "status": "booked", "created_at": now, "updated_at": now, "version": 1})
                k += 1
        for r, (room, who) in enumerate(zip(rooms, staff, strict=True)):
            for h in range(8, 18):
                start = datetime.combine(day, time(h), tzinfo=tz).astimezone(UTC)
                rows.append({"site_id": site_id, "patient_id": patients[k % len(patients)],
                             "type_id": "integration" if r == 0 else "consultation", "dosing": False,
                             "starts_at": start, "ends_at": start + timedelta(minutes=60), "room_id": room,
                             "staff_user_id": who, "status": "booked", "created_at": now, "updated_at": now,
                             "version": 1})
                k += 1
    with db.session() as s:
        s.execute(insert(Appointment), rows)
    return len(rows)


def _ordered_patients(db: Database, sysact: Actor, prescriber: int, nurse: int, start: datetime) -> list[int]:
    pres = Actor(user_id=prescriber, username="prescriber", role="prescriber")
    checker = Actor(user_id=nurse, username="nurse0", role="nurse")
    out = []
    for i in range(20):
        p = patients_svc.create_patient(db=db, actor=sysact, data=PatientCreate(
            given_name="Bench", family_name=f"Ordered{i:02d}", date_of_birth=date(1980, 1, 1 + i),
            sex_at_birth="male", weight=f"{70 + i} kg", height="178 cm"))
        o = dose_orders.create_order(db=db, actor=pres, patient_id=p.id,
                                     data=DoseOrderCreate(protocol_id="iv-standard", planned_start=start))
        o = dose_orders.sign_order(db=db, actor=pres, patient_id=p.id, order_id=o.id,
                                   data=DoseOrderSign(version=o.version, password=PASSWORD))
        full = dose_orders.get_order(db=db, actor=sysact, patient_id=p.id, order_id=o.id)
        dose_orders.double_check_order(db=db, actor=checker, patient_id=p.id, order_id=o.id, data=DoubleCheckCreate(
            version=o.version, check_weight_kg=full.weight_kg, check_dose_mg=full.dose_mg,
            check_rate_ml_per_h=full.rate_ml_per_h, password=PASSWORD))
        _consent(db, pres, checker, p.id, f"Bench Ordered{i:02d}")
        out.append(p.id)
    return out


def _consent(db: Database, prescriber: Actor, witness: Actor, patient_id: int, name: str) -> None:
    """A dosing booking needs a signed consent for the route: signed on the clinic tablet, countersigned."""
    doc = consent.document("racemic-iv")
    row = consent.sign_consent(db=db, actor=witness, patient_id=patient_id, data=ConsentSignIn(
        template_id=doc.id, version=doc.version, signed_via="clinic_tablet", read_confirmed=True, typed_name=name,
        signature_kind="click", click_signed=True))
    consent.countersign_consent(db=db, actor=prescriber, patient_id=patient_id, signature_id=row.id,
                                data=ConsentCountersignIn(version=row.version, password=PASSWORD))


def _week_render(db: Database, frontdesk: int, day: date, n: int) -> list[float]:
    from ketacare.http.access import SESSION_COOKIE
    from ketacare.services.access.auth import token_digest
    from ketacare.store.tables import AuthSession

    token = secrets.token_urlsafe(32)
    now = clock.now()
    with db.session() as s:
        s.add(AuthSession(token_hash=token_digest(token), user_id=frontdesk, created_at=now, last_seen_at=now,
                          expires_at=now + timedelta(hours=8)))
    client = TestClient(create_app(Settings(database_url=db.url), db=db))
    client.cookies.set(SESSION_COOKIE, token)
    out = []
    for i in range(n + 2):
        r = client.get(f"/schedule?view=week&day={(day + timedelta(days=7 * (i % (WEEKS - 2)))).isoformat()}")
        assert r.status_code == 200, r.status_code
        if i >= 2:  # the first two warm the template cache and the connection pool
            out.append(float(r.headers["server-timing"].split("app;dur=")[1].split(",")[0]))
    return out


def run(quick: bool = False) -> list[dict]:
    if not postgres_available():
        return [{"name": "scheduling (PostgreSQL)", "value": None, "unit": "", "target": "-", "ok": None,
                 "note": "PostgreSQL not reachable: skipped"}]
    n_book, n_week = (60, 15) if quick else (300, 60)
    rng = random.Random(17)
    load = os.getloadavg()[0]
    with fresh_database("postgresql", "scheduling") as db:
        sysact = system_actor("bench")
        site = setup.add_site(db=db, actor=sysact, data=SiteCreate(name="Harbourview"))
        chairs, nurses, room_staff, prescriber = _people(db, sysact, site.id)
        rooms = [setup.add_room(db=db, actor=sysact, data=RoomCreate(site_id=site.id, name=n)).id
                 for n in ("Therapy room", "Consulting room", "Consulting room 2")]
        frontdesk = users.create_user(db=db, actor=sysact, data=UserCreate(
            username="frontdesk", display_name="Front Desk", role="frontdesk", password=PASSWORD)).id
        patients = [patients_svc.create_patient(db=db, actor=sysact, data=PatientCreate(
            given_name="Pat", family_name=f"Bulk{i:03d}", date_of_birth=date(1970, 1, 1) + timedelta(days=i),
            sex_at_birth="female")).id for i in range(300)]
        tz = clinic.zone(db)
        today = datetime.now(UTC).astimezone(tz).date()
        monday = today - timedelta(days=today.weekday()) + timedelta(days=7)
        total = _bulk(db, site.id, chairs, nurses, rooms, room_staff, patients, monday)
        order_day = monday + timedelta(days=7)  # the weight on record must be under 30 days old at the order
        ordered = _ordered_patients(db, sysact, prescriber, nurses[0],
                                    datetime.combine(order_day, time(8), tzinfo=tz).astimezone(UTC))
        desk = Actor(user_id=frontdesk, username="frontdesk", role="frontdesk")
        lat, accepted = [], 0
        for i in range(n_book):
            c = rng.randrange(CHAIRS)
            day = order_day + timedelta(days=rng.randrange(27))
            at = time(17, 0) if i % 4 else rng.choice(SLOTS)  # one in four aims at a taken slot
            data = AppointmentCreate(patient_id=ordered[i % len(ordered)], type_id="infusion",
                                     starts_at=datetime.combine(day, at, tzinfo=tz).astimezone(UTC),
                                     chair_id=chairs[c], staff_id=nurses[c])
            t0 = wall.perf_counter()
            try:
                booking.book(db=db, actor=desk, data=data)
                accepted += 1
            except BookingRefused:
                pass
            lat.append((wall.perf_counter() - t0) * 1000)
        week = _week_render(db, frontdesk, order_day, n_week)
    return [
        {"name": f"book an infusion with conflict checks, {total:,} appointments, p95 (postgresql)",
         "value": pct(lat, 95), "unit": "ms", "target": f"<= {BOOK_TARGET_MS:.0f} ms",
         "ok": pct(lat, 95) <= BOOK_TARGET_MS,
         "note": f"p50 {pct(lat, 50):.1f} ms; {accepted} of {n_book} accepted; load average {load:.1f}"},
        {"name": "week calendar render, 12 chairs, server time p95 (postgresql)", "value": pct(week, 95),
         "unit": "ms", "target": f"<= {WEEK_TARGET_MS:.0f} ms", "ok": pct(week, 95) <= WEEK_TARGET_MS,
         "note": f"p50 {pct(week, 50):.1f} ms over {n_week} renders; load average {load:.1f}"},
    ]


if __name__ == "__main__":
    for row in run(quick=True):
        print(row)
