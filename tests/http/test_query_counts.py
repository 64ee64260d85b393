"""No N+1 queries (issue 15): a chart read costs the same number of database statements whatever the record
holds. (The live board still pays about 12 statements per chair that has not started its infusion: the pre-check
guard facts are read chair by chair; see the README's performance notes.)"""

from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import event

from ketacare.services.patients import records as patients
from ketacare.services.patients.schemas import MedicationCreate


@contextmanager
def counting(db):
    seen: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", before)


def _statements(clients, db, client, url) -> int:
    with counting(db) as seen:
        assert client.get(url).status_code == 200
    return len(seen)


def test_a_chart_read_costs_the_same_statements_with_3_or_30_medications(clients, web_personas):
    db, pid = web_personas.db, web_personas.patient_a
    api = clients.api("nurse")
    url = f"/api/v1/patients/{pid}"

    def add(n):
        for k in range(n):
            patients.add_medication(
                db=db,
                actor=web_personas["nurse"],
                patient_id=pid,
                data=MedicationCreate(name="sertraline", dose_value=50 + k, dose_unit="mg", times_per_day=1),
            )

    add(3)
    few = _statements(clients, db, api, url)
    add(27)
    many = _statements(clients, db, api, url)
    assert many == few, f"{few} statements with 3 medications, {many} with 30"
