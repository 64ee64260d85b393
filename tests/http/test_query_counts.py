"""No N+1 queries (issue 15): a chart read costs the same number of database statements whatever the record
holds, and the live board the same whatever the number of chairs (the pre-check guard facts of the chairs not yet
infusing are read for all of them at once; they cost about 12 statements per chair before)."""

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
    assert client.get(url).status_code == 200  # the token is then remembered (session_cache): count the steady state
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


def _chairs(clients, n: int, state_events: tuple[str, ...]) -> None:
    nurse = clients.api("nurse")
    personas = clients.personas
    for k in range(n):
        pid = personas.patient_a if k % 2 else personas.patient_b
        body = {"patient_id": pid, "chair": f"Chair {k}", "concentration_mg_per_ml": 1.0}
        r = nurse.post("/api/v1/sessions", json=body)
        assert r.status_code == 201, r.text
        for step in state_events:
            t = nurse.post(f"/api/v1/sessions/{r.json()['id']}/transitions", json={"event": step})
            assert t.status_code == 200, t.text


def test_the_board_costs_the_same_statements_with_2_or_8_chairs_waiting_for_their_checks(clients, web_personas):
    db, web = web_personas.db, clients.web("nurse")
    _chairs(clients, 2, ("check_in",))
    few = _statements(clients, db, web, "/board")
    _chairs(clients, 6, ("check_in",))
    many = _statements(clients, db, web, "/board")
    page = web.get("/board").text
    assert page.count("Chair ") >= 8 and "consent" in page.lower()  # every chair, with its failing pre-checks
    assert many == few, f"{few} statements with 2 chairs waiting, {many} with 8"
