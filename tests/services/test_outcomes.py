"""Outcome services on both engines: one patient's summary from stored scores and sessions, the dashboard's
aggregates and filters, and who may see which (audited)."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from ketacare.services import outcomes
from ketacare.services.errors import Forbidden, NotFound
from ketacare.store.tables import AuditEvent
from ketacare.store.tables.measurement import QuestionnaireResponse
from ketacare.store.tables.patients import Diagnosis
from ketacare.store.tables.sessions import InfusionSession, SideEffectRow, VitalSign

T0 = datetime(2026, 9, 1, 14, 0, tzinfo=UTC)


def add_course(db, patient_id, *, concept="gad", display="Generalized anxiety disorder", baseline=16.0,
               follow=((1, 7.0), (7, 8.0), (14, 4.0)), sessions=(0, 3, 7), start=T0, mg=35.0, rise=18.0):
    """Store a diagnosis, a baseline GAD-7, sessions (days after `start`), follow-up totals and vitals."""
    with db.session() as s:
        s.add(Diagnosis(patient_id=patient_id, concept=concept, display=display, status="active",
                        created_at=start - timedelta(days=20), version=1))
        rows = [(start - timedelta(days=2), "baseline", baseline)]
        rows += [(start + timedelta(days=d), "follow_up", t) for d, t in follow]
        for at, ctx, total in rows:
            s.add(QuestionnaireResponse(
                patient_id=patient_id, instrument_id="gad7", instrument_version="1", context=ctx,
                answered_by_role="patient", via="portal", answered_at=at, total=total, flags="[]", created_at=at))
        for i, d in enumerate(sessions):
            t = start + timedelta(days=d)
            sess = InfusionSession(
                patient_id=patient_id, chair="Chair 9", product="racemic_ketamine", state="discharged",
                scheduled_at=t, infusion_started_at=t, discharged_at=t + timedelta(hours=2), planned_dose_mg=mg,
                weight_kg=70.0, consent_confirmed=True, created_at=t, updated_at=t, version=1, overrides=[])
            s.add(sess)
            s.flush()
            for k, (ctx, sbp) in enumerate((("baseline", 120.0), ("during", 120.0 + rise))):
                s.add(VitalSign(patient_id=patient_id, session_id=sess.id, measured_at=t, received_at=t,
                                sbp_mmhg=sbp, context=ctx, source="nurse", client_id=f"t-{sess.id}-{k}", device_id=""))
            if i == 0:
                s.add(SideEffectRow(session_id=sess.id, type="nausea", grade=1, onset_at=t, created_at=t))
    # fmt: skip


def test_a_patients_summary_from_stored_scores_and_sessions(personas):
    add_course(personas.db, personas.patient_a)
    o = outcomes.patient_outcome(db=personas.db, actor=personas["prescriber"], patient_id=personas.patient_a)
    assert o.instrument_id == "gad7" and o.diagnosis == "gad"
    assert o.baseline.total == 16 and o.latest.total == 4 and o.best.total == 4
    assert o.responded_at == T0 + timedelta(days=1)  # 16 -> 7 is a 56 % reduction at 24 h
    assert o.rapid_response is True
    assert o.remitted_at == T0 + timedelta(days=14)  # GAD-7 below 5
    assert o.status == "remitted"
    assert o.sessions_given == 3 and o.cumulative_dose_mg == 105.0
    assert o.side_effects == 1
    assert o.patient_name == "Alice Anders"


def test_who_may_read_a_summary_and_that_it_is_audited(personas):
    add_course(personas.db, personas.patient_a)
    mine = outcomes.patient_outcome(db=personas.db, actor=personas["patient_a"], patient_id=personas.patient_a)
    assert mine.status == "remitted"
    with pytest.raises(NotFound):
        outcomes.patient_outcome(db=personas.db, actor=personas["patient_a"], patient_id=personas.patient_b)
    with pytest.raises(Forbidden):
        outcomes.patient_outcome(db=personas.db, actor=personas["frontdesk"], patient_id=personas.patient_a)
    with personas.db.session() as s:
        seen = s.scalars(select(AuditEvent).where(AuditEvent.resource_type == "outcome_summary")).all()
    assert [e.action for e in seen if e.outcome == "success"] == ["view"]
    assert sum(e.action == "denied" for e in seen) == 2  # the other patient's record, and the front desk


def test_the_dashboard_counts_and_filters(personas):
    add_course(personas.db, personas.patient_a)  # responder at 24 h, remission at day 14
    add_course(personas.db, personas.patient_b, concept="ptsd", display="PTSD", baseline=15.0,
               follow=((1, 14.0), (7, 13.0), (14, 12.0)), start=T0 + timedelta(days=40))  # fmt: skip
    d = outcomes.dashboard(db=personas.db, actor=personas["researcher"], filters=outcomes.OutcomeFilters())
    assert d.patients == 2
    flow = {f.id: f.count for f in d.flow}
    assert flow["referred"] == 2 and flow["treated"] == 2
    # patient B's primary instrument (PTSD) is the PCL-5, which was never scored: not judged
    assert d.judged == 1
    assert (d.overall.response.k, d.overall.response.n) == (1, 1)
    assert d.rapid_response.k == 1
    assert d.adverse.sessions == 6 and d.adverse.events == 2 and d.adverse.per_100 == pytest.approx(33.333, 0.01)
    assert d.bp_rise_median == 18.0
    only_b = outcomes.dashboard(
        db=personas.db, actor=personas["prescriber"],
        filters=outcomes.OutcomeFilters(date_from=(T0 + timedelta(days=30)).date()),
    )  # fmt: skip
    assert only_b.patients == 1 and only_b.judged == 0
    gad = outcomes.dashboard(db=personas.db, actor=personas["admin"], filters=outcomes.OutcomeFilters(diagnosis="gad"))
    assert gad.patients == 1
    text = d.model_dump_json()
    assert "Alice" not in text and "Anders" not in text and "Bob" not in text  # aggregates only


def test_the_dashboard_is_refused_to_roles_without_a_grant(personas):
    for role in ("nurse", "therapist", "frontdesk", "patient_a"):
        with pytest.raises(Forbidden):
            outcomes.dashboard(db=personas.db, actor=personas[role], filters=outcomes.OutcomeFilters())


def _sites(db):
    """Two sites: the bulk cohort's first chair at the first, the hand-made courses' chair at the second."""
    from ketacare.store.tables.scheduling import Chair, Site

    with db.session() as s:
        north, south = Site(name="North"), Site(name="South")
        s.add_all([north, south])
        s.flush()
        s.add_all([Chair(site_id=north.id, label="Chair 1"), Chair(site_id=south.id, label="Chair 9")])
        return north.id, south.id


def test_the_fast_dashboard_equals_the_patient_by_patient_reference(personas):
    from ketacare.demo.cohort import build
    from ketacare.services import clock
    from tests.services.outcomes_reference import reference_dashboard

    north, south = _sites(personas.db)
    build(personas.db, n_patients=30, today=T0.date())
    add_course(personas.db, personas.patient_a)
    outcomes.dashboard(db=personas.db, actor=personas["admin"], filters=outcomes.OutcomeFilters())  # kept
    add_course(personas.db, personas.patient_b, baseline=12.0, follow=((1, 11.0), (9, 5.0), (20, 11.0), (27, 12.0)))
    for f in (outcomes.OutcomeFilters(), outcomes.OutcomeFilters(date_to=(T0 - timedelta(days=400)).date())):
        fast = outcomes.dashboard(db=personas.db, actor=personas["researcher"], filters=f)
        ref = reference_dashboard(personas.db, f, clock.now())
        assert fast.model_dump(exclude={"options"}) == ref.model_dump(exclude={"options"})
        assert fast.judged > 0
    by_site = {
        site: outcomes.dashboard(
            db=personas.db, actor=personas["researcher"], filters=outcomes.OutcomeFilters(site_id=site)
        ).patients
        for site in (north, south)
    }
    assert by_site == {north: 30, south: 2}
    d = outcomes.dashboard(db=personas.db, actor=personas["researcher"], filters=outcomes.OutcomeFilters())
    assert [label for _, label in d.options["site"]] == ["North", "South"]


def test_the_dashboard_sees_new_records_at_once(personas):
    first = outcomes.dashboard(db=personas.db, actor=personas["admin"], filters=outcomes.OutcomeFilters())
    add_course(personas.db, personas.patient_a)  # written around the services: no audit event, a new id
    after = outcomes.dashboard(db=personas.db, actor=personas["admin"], filters=outcomes.OutcomeFilters())
    assert (first.judged, after.judged) == (0, 1)


def test_a_process_that_starts_reads_the_stored_digests_and_only_the_changes(personas, monkeypatch):
    from ketacare.demo.cohort import build
    from ketacare.services import clock
    from tests.services.outcomes_reference import reference_dashboard

    page = importlib.import_module("ketacare.services.outcomes.dashboard")  # the package exports a function so named
    build(personas.db, n_patients=30, today=T0.date())
    outcomes.dashboard(db=personas.db, actor=personas["admin"], filters=outcomes.OutcomeFilters())  # stored
    page.forget_cached()  # as a new process: nothing in memory
    add_course(personas.db, personas.patient_a)
    read: list[list[int] | None] = []
    real = page.load
    monkeypatch.setattr(page, "load", lambda s, ids: read.append(None if ids is None else list(ids)) or real(s, ids))
    for f in (outcomes.OutcomeFilters(), outcomes.OutcomeFilters(diagnosis="gad")):
        fast = outcomes.dashboard(db=personas.db, actor=personas["researcher"], filters=f)
        ref = reference_dashboard(personas.db, f, clock.now())
        assert fast.model_dump(exclude={"options"}) == ref.model_dump(exclude={"options"})
    assert read == [[personas.patient_a]]  # everyone else came from the stored digests


def test_a_large_cohort_fits_the_model_on_a_fixed_sample_and_says_so(monkeypatch):
    from ketacare.services.outcomes import analysis

    monkeypatch.setattr(analysis, "MODEL_MAX_PATIENTS", 6)
    pids = [p for p in range(1, 11) for _ in range(4)]
    sess = [k for _ in range(10) for k in range(4)]
    pct = [-8.0 * k - (p % 3) + (k * p) % 2 for p, k in zip(pids, sess, strict=True)]
    first = analysis.mixed_model(pids, sess, pct)
    assert first.patients == 6 and first.scores == 24
    assert "fixed sample of 6 of 10 patients" in first.words
    assert analysis.mixed_model(list(reversed(pids)), sess[::-1], pct[::-1]).slope_per_session == pytest.approx(
        first.slope_per_session
    )  # the same patients whatever the order


def test_a_generated_cohort_s_first_dashboard_digests_nobody(personas, monkeypatch):
    from ketacare.demo.cohort import build

    page = importlib.import_module("ketacare.services.outcomes.dashboard")
    build(personas.db, n_patients=30, today=T0.date())  # the generator stores the frame
    page.forget_cached()  # as a server started after the load
    read: list[list[int] | None] = []
    real = page.load
    monkeypatch.setattr(page, "load", lambda s, ids: read.append(None if ids is None else list(ids)) or real(s, ids))
    d = outcomes.dashboard(db=personas.db, actor=personas["researcher"], filters=outcomes.OutcomeFilters())
    assert d.patients >= 30 and d.judged > 0
    assert read == []


def test_preparing_in_two_processes_gives_the_same_dashboard(personas, monkeypatch):
    from ketacare.demo.cohort import build
    from ketacare.services import clock
    from tests.services.outcomes_reference import reference_dashboard

    page = importlib.import_module("ketacare.services.outcomes.dashboard")
    monkeypatch.setattr(page, "PARALLEL_FROM", 10)  # 30 patients: the upper half digested by a second process
    build(personas.db, n_patients=30, today=T0.date())
    page.forget_cached()
    for f in (outcomes.OutcomeFilters(), outcomes.OutcomeFilters(diagnosis="gad")):
        fast = outcomes.dashboard(db=personas.db, actor=personas["researcher"], filters=f)
        ref = reference_dashboard(personas.db, f, clock.now())
        assert fast.model_dump(exclude={"options"}) == ref.model_dump(exclude={"options"})
