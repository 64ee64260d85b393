"""Research scale (issue 18 point 6): the bulk synthetic cohort and the de-identified export, on both engines.

1. generator: `demo.cohort.build` for 100,000 patients (6 sessions with 3 vitals each and 30 questionnaire
   responses per patient: 600,000 sessions, 1,800,000 vitals, 3,000,000 responses); target <= 3 minutes;
2. export: `services.research.export_to_dir` (CSV and Parquet) of that cohort; rows written per second, target
   >= 50,000 rows/s;
3. dashboard: `services.outcomes.dashboard` for the cohort, as a prescriber; target <= 2 s. Timed four ways: the
   first request after a start (every patient read and digested), again (digests kept, new aggregates), after one
   new score (that patient digested again, the mixed model refitted only if the patient is in its sample), and
   with a diagnosis filter. Imports of scipy, statsmodels and lifelines are done before timing (as in a server).
`--quick` runs 5,000 patients (targets then scaled: the figure to read is rows/s and patients/s).
`KETACARE_BENCH_RESEARCH_PATIENTS=N` runs N patients; `KETACARE_BENCH_RESEARCH_SKIP=dashboard` leaves a part out;
`KETACARE_BENCH_RESEARCH_URLS=url,url` times only the dashboard on cohorts built before (migrated first).
"""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import func, select

from bench.common import engines, fresh_database
from ketacare.config import Settings
from ketacare.services import outcomes, research
from ketacare.services.access import system_actor, users
from ketacare.services.access.schemas import UserCreate
from ketacare.store.db import Database
from ketacare.store.tables.measurement import QuestionnaireResponse
from ketacare.store.tables.patients import Patient

FULL = 100_000
QUICK = 5_000
GENERATOR_TARGET_S = 180.0
EXPORT_TARGET_ROWS_S = 50_000.0


def run(quick: bool = False) -> list[dict]:
    from ketacare.demo.cohort import build  # after the services: the demo package imports the unit of work

    if urls := os.environ.get("KETACARE_BENCH_RESEARCH_URLS"):
        return on_existing(urls.split(","))
    n = int(os.environ.get("KETACARE_BENCH_RESEARCH_PATIENTS") or (QUICK if quick else FULL))
    skip = set(filter(None, os.environ.get("KETACARE_BENCH_RESEARCH_SKIP", "").split(",")))
    rows: list[dict] = []
    for engine in engines():
        with fresh_database(engine, "research") as db:
            load0, cpu0 = os.getloadavg()[0], _cpu()
            t0 = time.perf_counter()
            made = build(db, n_patients=n)
            seconds = time.perf_counter() - t0
            cpu = _cpu() - cpu0
            target = GENERATOR_TARGET_S * n / FULL
            rows.append({"name": f"generate {n:,} patients ({engine})", "value": seconds, "unit": "s",
                         "target": f"<= {target:.0f} s", "ok": seconds <= target,
                         "note": f"{made.sessions:,} sessions, {made.vitals:,} vitals, {made.responses:,} responses; "
                                 f"{n / seconds:,.0f} patients/s; CPU {cpu:.0f} s (with the second process that "
                                 f"prepares the dashboard), load {load0:.1f} -> {os.getloadavg()[0]:.1f}"})
            u = users.create_user(db=db, actor=system_actor("bench"), data=UserCreate(
                username="researcher", display_name="Bench Researcher", role="researcher",
                password="bench research password 100k"))
            actor = research.local_actor(db=db, username=u.username)
            settings = Settings(database_url=db.url, research_key="b" * 40)
            for fmt in () if "export" in skip else ("csv", "parquet"):
                with tempfile.TemporaryDirectory() as d:
                    result = research.export_to_dir(
                        db=db, actor=actor, request=research.ExportRequest(export_key="bench", format=fmt),
                        out=Path(d), settings=settings)
                rows.append({"name": f"export {fmt} ({engine})", "value": result.rows_per_second, "unit": "rows/s",
                             "target": f">= {EXPORT_TARGET_ROWS_S:,.0f}",
                             "ok": result.rows_per_second >= EXPORT_TARGET_ROWS_S,
                             "note": f"{result.rows:,} rows in {result.seconds:.1f} s; k = {result.risk.k}"})
            if "dashboard" in skip:
                continue
            rows.extend(dashboard_rows(db, n, engine))
    return rows


def _cpu() -> float:
    """Return the CPU seconds of this process and of its children that ended."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def dashboard_rows(db: Database, n: int, engine: str, username: str = "prescriber") -> list[dict]:
    """Time the outcomes dashboard on a built cohort: wall and CPU seconds of each request, with the load average.

    Cases: the first dashboard of the database when nothing is stored yet (every patient digested), the first
    request of a new process (the stored frame read), again, after one new score, and each filter (its first use:
    the mixed model is fitted on that cohort's sample, unless a fit of the same rows is stored).
    """
    import lifelines  # noqa: F401 - imported before timing, as a running server has them
    import scipy.stats  # noqa: F401
    import statsmodels.api  # noqa: F401

    from ketacare.services.outcomes.dashboard import forget_cached
    from ketacare.store.tables.outcomes import OutcomeDigestFrame

    prescriber = users.create_user(db=db, actor=system_actor("bench"), data=UserCreate(
        username=f"{username}{uuid.uuid4().hex[:6]}", display_name="Bench Prescriber", role="prescriber",
        password="bench research password 100k"))
    who = research.local_actor(db=db, username=prescriber.username)
    with db.session() as s:
        fresh = s.scalar(select(func.count()).select_from(OutcomeDigestFrame)) == 0
    forget_cached()
    rows: list[dict] = []
    everyone = outcomes.OutcomeFilters()

    def timed(label: str, filters: outcomes.OutcomeFilters, cold: bool = False) -> outcomes.Dashboard:
        load = os.getloadavg()[0]
        t0, c0 = time.perf_counter(), time.process_time()
        d = outcomes.dashboard(db=db, actor=who, filters=filters)
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        rows.append({"name": f"dashboard {n:,} patients, {label} ({engine})", "value": seconds, "unit": "s",
                     "target": "reported" if cold else "<= 2 s", "ok": True if cold else seconds <= 2.0,
                     "note": f"wall {seconds:.2f} s, CPU {cpu:.2f} s, load {load:.1f}; {d.patients:,} patients, "
                             f"{d.judged:,} judged; model on {d.model.patients:,}"})
        return d

    if fresh:
        timed("first dashboard, no frame stored (earlier rows converted or everyone digested)", everyone, cold=True)
        forget_cached()
    first = timed("first request of a new process (stored frame read)", everyone)
    timed("again (frame kept)", everyone)
    _one_new_score(db)
    timed("after one new score", everyone)
    opts = first.options
    day = date.today()  # the demo cohort's sessions run up to today
    first_of = {k: v[0][0] for k, v in opts.items() if v}
    cases = [("diagnosis filter", outcomes.OutcomeFilters(diagnosis=first_of.get("diagnosis", "gad")))]
    if "protocol" in first_of:
        cases.append(("protocol filter", outcomes.OutcomeFilters(protocol=first_of["protocol"])))
    if "clinician" in first_of:
        cases.append(("clinician filter", outcomes.OutcomeFilters(clinician_id=int(first_of["clinician"]))))
    if "site" in first_of:
        cases.append(("site filter", outcomes.OutcomeFilters(site_id=int(first_of["site"]))))
    cases.append(("date filter (last 180 days)", outcomes.OutcomeFilters(date_from=day - timedelta(days=180))))
    for label, filters in cases:
        timed(label, filters)
    for label, filters in cases[:1]:
        timed(f"{label}, again", filters)
    return rows


def on_existing(urls: list[str]) -> list[dict]:
    """Time the dashboard on cohorts built before (`KETACARE_BENCH_RESEARCH_URLS`, comma-separated), migrated first."""
    from ketacare.store.migrate import upgrade

    rows: list[dict] = []
    for url in urls:
        db = Database(url)
        upgrade(db)
        with db.session() as s:
            n = s.scalar(select(func.count()).select_from(Patient)) or 0
        rows.extend(dashboard_rows(db, n, db.engine.dialect.name))
        db.dispose()
    return rows


def _one_new_score(db: Database) -> None:
    """Store a follow-up score for the newest patient (as the portal would), around the services."""
    with db.session() as s:
        last = s.scalars(select(QuestionnaireResponse).order_by(QuestionnaireResponse.id.desc()).limit(1)).one()
        s.add(QuestionnaireResponse(
            patient_id=last.patient_id, instrument_id=last.instrument_id, instrument_version=last.instrument_version,
            context="follow_up", answered_by_role="patient", via="portal",
            answered_at=last.answered_at + timedelta(days=7), total=3.0, flags="[]", created_at=last.answered_at))
