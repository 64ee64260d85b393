"""The bulk synthetic cohort (issue 18 point 6), small: six sessions with vitals and thirty scores per patient on
the primary instrument of their diagnosis and PHQ-9, with responders, non-responders and relapses among them."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from sqlalchemy import func, select

from ketacare.demo.cohort import build
from ketacare.domain.measurement import load_instrument
from ketacare.services import outcomes, patients
from ketacare.services.outcomes.definitions import in_force
from ketacare.store.tables import Diagnosis, Patient
from ketacare.store.tables.measurement import QuestionnaireResponse
from ketacare.store.tables.sessions import InfusionSession, VitalSign


def test_200_patients_with_sessions_vitals_varied_courses_and_the_primary_instrument_of_their_diagnosis(db, personas):
    made = build(db, n_patients=200, today=date(2026, 11, 30))
    assert (made.patients, made.sessions, made.vitals, made.responses) == (200, 1200, 3600, 6000)
    with db.engine.connect() as c:
        cohort = select(func.count()).select_from(Patient).where(Patient.mrn.startswith("C"))
        assert c.execute(cohort).scalar_one() == 200  # besides the personas
        assert c.execute(select(func.count()).select_from(VitalSign)).scalar_one() == 3600
        assert c.execute(select(func.count()).select_from(InfusionSession)).scalar_one() == 1200
        dx = dict(c.execute(select(Diagnosis.patient_id, Diagnosis.concept).join(Patient)
                            .where(Patient.mrn.startswith("C"))).all())  # the cohort, not the personas
        baselines = set(c.execute(select(QuestionnaireResponse.patient_id, QuestionnaireResponse.instrument_id)
                                  .where(QuestionnaireResponse.context == "baseline")).all())
        labelled = c.execute(select(QuestionnaireResponse.instrument_id, QuestionnaireResponse.total,
                                    QuestionnaireResponse.severity).distinct()).all()
        scores: dict[tuple[int, str], list[float]] = defaultdict(list)
        for pid, iid, total in c.execute(select(QuestionnaireResponse.patient_id, QuestionnaireResponse.instrument_id,
                                                QuestionnaireResponse.total)
                                         .order_by(QuestionnaireResponse.answered_at)):
            scores[pid, iid].append(total)
    d = in_force(db)
    assert {"pcl5", "mini_spin", "pdss_sr", "gad7"} == {d.primary_instrument(c) for c in dx.values()}
    assert all((pid, d.primary_instrument(concept)) in baselines for pid, concept in dx.items())
    for iid, total, severity in labelled:  # in range, with the severity band the app gives the total
        instrument = load_instrument(iid)
        bands = instrument.band_set()
        assert instrument.min_total <= total <= instrument.max_total and total == int(total)
        assert severity == (bands.label_for(int(total)) if bands else None)
    primary = {pid: scores[pid, d.primary_instrument(concept)] for pid, concept in dx.items()}
    assert all(len(t) == 15 for t in primary.values())  # every patient scored on the primary instrument throughout
    assert all(len(scores[pid, "phq9"]) == 15 for pid in dx)  # PHQ-9 as the secondary
    best = {pid: min(t) / t[0] for pid, t in primary.items() if t[0]}
    responders = sum(b <= 0.5 for b in best.values())
    assert 0.2 * len(best) < responders < 0.9 * len(best)  # responders and non-responders both present
    relapsed = sum(min(t) / t[0] <= 0.5 and t[-1] / t[0] > 0.5 for t in primary.values() if t[0])
    assert relapsed > 0
    board = outcomes.dashboard(db=db, actor=personas["prescriber"], filters=outcomes.OutcomeFilters())
    assert board.judged == board.overall.response.n == 200  # every cohort patient has a baseline and follow-up
    counted = {g.group.removeprefix("diagnosis:"): g.response for g in board.by_diagnosis}
    assert counted.keys() == set(dx.values()) and sum(r.n for r in counted.values()) == 200
    assert all(0 < r.k < r.n for r in counted.values())  # responders and non-responders in every diagnosis
    if db.dialect == "postgresql":  # the sequences continue after the bulk ids
        with db.engine.begin() as c:
            nxt = c.exec_driver_sql("SELECT nextval(pg_get_serial_sequence('patients', 'id'))").scalar_one()
        assert nxt > 200


def _schema(db) -> set[tuple[str, ...]]:
    """The indexes and foreign keys of the cohort's tables, as the database reports them."""
    names = ("patients", "diagnoses", "infusion_sessions", "vital_signs", "questionnaire_responses")
    with db.engine.connect() as c:
        if db.dialect == "postgresql":
            return {*c.exec_driver_sql(
                "SELECT 'index', tablename, indexdef FROM pg_indexes WHERE tablename = ANY(%(t)s)", {"t": list(names)}),
                *c.exec_driver_sql(
                "SELECT 'fk', conrelid::regclass::text, conname, pg_get_constraintdef(oid), convalidated::text "
                "FROM pg_constraint WHERE contype = 'f' AND conrelid::regclass::text = ANY(%(t)s)",
                {"t": list(names)})}
        return set(c.exec_driver_sql("SELECT type, name, sql FROM sqlite_master WHERE tbl_name IN "
                                     "('patients', 'diagnoses', 'infusion_sessions', 'vital_signs', "
                                     "'questionnaire_responses')"))


def test_bulk_load_restores_indexes_keys_and_settings_and_its_rows_serve_the_app(db, personas, monkeypatch):
    before = _schema(db)
    monkeypatch.delenv("KETACARE_DURABILITY_PROFILE")  # the production settings, which the load must restore
    db.engine.dispose()  # new connections take them
    with db.engine.connect() as c:
        sync = c.exec_driver_sql("PRAGMA synchronous").scalar_one() if db.dialect == "sqlite" else None
    assert sync in (None, 2)  # FULL
    build(db, n_patients=12, today=date(2026, 11, 30), defer_indexes=True)
    assert _schema(db) == before  # every index and foreign key back, validated
    if sync is not None:
        with db.engine.connect() as c:
            assert c.exec_driver_sql("PRAGMA synchronous").scalar_one() == sync  # FULL again after the load
    with db.engine.connect() as c:
        pid = c.execute(select(func.max(Diagnosis.patient_id)).where(Diagnosis.concept == "gad")).scalar_one()
    chart = patients.get_chart(db=db, actor=personas["prescriber"], patient_id=pid)
    assert chart.patient.mrn == f"C{pid:08d}"
    o = outcomes.patient_outcome(db=db, actor=personas["prescriber"], patient_id=pid)
    assert o.instrument_id == "gad7" and o.sessions_given == 6 and o.baseline is not None
    assert o.baseline.at.tzinfo is not None and 9 <= o.baseline.total <= 21
    with db.session() as s:  # the ORM reads the bulk rows back as aware UTC datetimes and booleans
        sess = s.scalars(select(InfusionSession).where(InfusionSession.patient_id == pid)).first()
        assert sess.scheduled_at.tzinfo is not None and sess.overrides == []
        assert sess.dissociation_occurred in (True, False)
        assert sess.infusion_ended_at - sess.infusion_started_at == timedelta(minutes=40)
