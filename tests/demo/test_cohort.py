"""The bulk synthetic cohort (issue 18 point 6), small: six sessions with vitals and thirty scores per patient,
with responders, non-responders and relapses among them."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from sqlalchemy import func, select

from ketacare.demo.cohort import build
from ketacare.store.tables import Patient
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
