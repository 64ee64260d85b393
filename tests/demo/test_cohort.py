"""The bulk synthetic cohort (issue 18 point 6), small: six sessions with vitals and thirty scores per patient,
with responders, non-responders and relapses among them."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from sqlalchemy import func, select

from ketacare.demo.cohort import build
from ketacare.services import outcomes, patients
from ketacare.store.tables import Diagnosis, Patient
from ketacare.store.tables.measurement import QuestionnaireResponse
from ketacare.store.tables.sessions import InfusionSession, VitalSign


def test_200_patients_with_sessions_vitals_and_varied_courses(db):
    made = build(db, n_patients=200, today=date(2026, 11, 30))
    assert (made.patients, made.sessions, made.vitals, made.responses) == (200, 1200, 3600, 6000)
    with db.engine.connect() as c:
        assert c.execute(select(func.count()).select_from(Patient)).scalar_one() == 200
        assert c.execute(select(func.count()).select_from(VitalSign)).scalar_one() == 3600
        assert c.execute(select(func.count()).select_from(InfusionSession)).scalar_one() == 1200
        gad7: dict[int, list[float]] = defaultdict(list)
        for pid, total in c.execute(select(QuestionnaireResponse.patient_id, QuestionnaireResponse.total)
                                    .where(QuestionnaireResponse.instrument_id == "gad7")
                                    .order_by(QuestionnaireResponse.answered_at)):
            gad7[pid].append(total)
    best = {pid: min(t) / t[0] for pid, t in gad7.items() if t[0]}
    responders = sum(b <= 0.5 for b in best.values())
    assert 0.2 * len(best) < responders < 0.9 * len(best)  # responders and non-responders both present
    relapsed = sum(min(t) / t[0] <= 0.5 and t[-1] / t[0] > 0.5 for t in gad7.values() if t[0])
    assert relapsed > 0
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


def test_bulk_load_restores_indexes_keys_and_settings_and_its_rows_serve_the_app(db, personas):
    before = _schema(db)
    with db.engine.connect() as c:
        sync = c.exec_driver_sql("PRAGMA synchronous").scalar_one() if db.dialect == "sqlite" else None
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
