"""The audit page (paging, local dates, MRN / user / action filters, audited CSV export) and the access log."""

from __future__ import annotations

import csv
import io
import logging
from datetime import UTC, timedelta

from sqlalchemy import select

from ketacare.services import clock
from ketacare.services.patients import records as patients
from ketacare.store.tables import AuditEvent


def _mrn(db, patient_id: int) -> str:
    from ketacare.store.tables import Patient

    with db.session() as s:
        return s.get(Patient, patient_id).mrn


def test_filters_by_mrn_user_and_action_and_shows_the_mrn(clients, web_personas):
    db = web_personas.db
    clients.web("nurse").get(f"/patients/{web_personas.patient_a}")
    clients.web("therapist").get(f"/patients/{web_personas.patient_b}")
    mrn_a = _mrn(db, web_personas.patient_a)
    page = clients.web("admin").get(f"/admin/audit?mrn={mrn_a}&username=nurse&action=view")
    assert page.status_code == 200
    assert mrn_a in page.text and "therapist" not in page.text.split("<tbody>")[1]
    body = page.text.split("<tbody>")[1].split("</tbody>")[0]
    rows = body.count("<tr")
    assert rows >= 1 and f"{rows} event{'s' if rows > 1 else ''}," in page.text  # the chart view and its parts
    assert body.count(mrn_a) == rows


def test_pages_through_the_trail_newest_first(clients, web_personas):
    for _ in range(60):
        patients.get_chart(db=web_personas.db, actor=web_personas["nurse"], patient_id=web_personas.patient_a)
    web = clients.web("admin")
    first = web.get("/admin/audit?username=nurse")
    assert "page 1 of 2" in first.text and 'rel="next"' in first.text and 'rel="prev"' not in first.text
    second = web.get("/admin/audit?username=nurse&page=2")
    assert "page 2 of 2" in second.text and 'rel="prev"' in second.text
    assert "username=nurse&amp;page=1" in second.text


def test_date_range_is_whole_local_days(clients, web_personas):
    web = clients.web("admin")
    today = clock.now().astimezone(UTC).date()
    assert "No event matches" in web.get(f"/admin/audit?date_to={today - timedelta(days=1)}").text
    page = web.get(f"/admin/audit?date_from={today}&date_to={today}")
    assert page.status_code == 200 and "No event matches" not in page.text
    bad = web.get(f"/admin/audit?date_from={today}&date_to={today - timedelta(days=2)}")
    assert bad.status_code == 422 and "end date on or after the start date" in bad.text
    assert f'value="{today}"' in bad.text  # keeps what was typed


def test_csv_export_is_audited_and_defuses_formulas(clients, web_personas):
    db = web_personas.db
    clients.web("nurse").get(f"/patients/{web_personas.patient_a}")
    r = clients.web("admin").get("/admin/audit/export.csv?username=nurse")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert rows and all(row["user"] == "nurse" for row in rows)
    assert rows[-1]["mrn"] == _mrn(db, web_personas.patient_a)
    with db.session() as s:
        last = s.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)).one()
    assert (last.action, last.resource_type, last.actor_username) == ("export", "audit", "admin")
    assert clients.web("nurse").get("/admin/audit/export.csv").status_code == 403


PLANTED = ("Quillonberry", "Zephyrine")


def test_a_planted_patient_name_appears_in_no_log_line(clients, web_personas, caplog):
    """Search, chart and forms with a known name: the access log has a line per request and never the name."""
    caplog.set_level(logging.DEBUG)
    family, given = PLANTED
    web, api = clients.web("prescriber"), clients.api("prescriber")
    created = api.post("/api/v1/patients", json={
        "given_name": given, "family_name": family, "date_of_birth": "1984-05-06", "sex_at_birth": "female",
        "weight": "70 kg"})
    assert created.status_code == 201, created.text
    pid = created.json()["id"]
    assert family in web.get(f"/patients?q={family}").text
    assert api.get(f"/api/v1/patients?q={given}").status_code == 200
    assert family in web.get(f"/patients/{pid}").text
    web.get(f"/patients?q={family}&partial=1")
    web.get(f"/patients/{family}")  # a name where an id belongs: 422, still no name in the log
    bad = web.post("/patients/new", data={"given_name": given, "family_name": family, "date_of_birth": "bad"})
    assert bad.status_code == 422 and family in bad.text  # the form keeps what was typed
    clients.web("admin").get(f"/admin/audit?username={family}")
    lines = [r.getMessage() for r in caplog.records]
    access = [line for line in lines if " ms user=" in line]
    assert any(line.startswith("GET /patients/{patient_id} 200") for line in access), access
    assert any(line.startswith("GET /patients 200") for line in access)
    assert any(line.startswith("GET /api/v1/patients 200") for line in access)
    for record in caplog.records:
        if record.name.startswith("httpx"):
            continue  # the test's own HTTP client logs the URLs it requests; the server is what is checked
        text = record.getMessage() + " " + repr(record.args) + " " + (record.exc_text or "")
        for name in PLANTED:
            assert name.lower() not in text.lower(), f"{record.name}: {text}"
        assert "?" not in record.getMessage() or record.name != "ketacare.http"


def test_serve_turns_off_uvicorns_own_access_log(monkeypatch, sqlite_db):
    import uvicorn
    from typer.testing import CliRunner

    from ketacare.cli.main import app
    from ketacare.config import get_settings

    seen = {}
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: seen.update(kw))
    monkeypatch.setenv("KETACARE_DATABASE_URL", sqlite_db.url)
    get_settings.cache_clear()
    try:
        assert CliRunner().invoke(app, ["serve", "--port", "8765"]).exit_code == 0
    finally:
        get_settings.cache_clear()
    assert seen["access_log"] is False


def test_the_access_log_line_names_route_status_and_user(clients, web_personas, caplog):
    caplog.set_level(logging.INFO, logger="ketacare.http")
    clients.web("nurse").get(f"/patients/{web_personas.patient_a}?q=secret-search")
    line = [r.getMessage() for r in caplog.records if r.name == "ketacare.http"][-1]
    assert line.startswith("GET /patients/{patient_id} 200 ")
    assert line.endswith(f"user={web_personas['nurse'].user_id}") and "secret" not in line
