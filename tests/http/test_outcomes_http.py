"""Outcomes through HTTP: the JSON API, the dashboard page with its filters (422 beside the field), the chart's
outcome page, the portal's plain words and the two PDF reports."""

from __future__ import annotations

import io
import re

from pypdf import PdfReader

from ketacare.services import clinic
from tests.services.test_outcomes import T0, add_course


def _pdf_text(content: bytes) -> str:
    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(content)).pages)


def test_api_patient_outcome_and_dashboard(clients):
    p = clients.personas
    add_course(p.db, p.patient_a)
    r = clients.api("nurse").get(f"/api/v1/patients/{p.patient_a}/outcome")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "remitted" and body["baseline"]["total"] == 16 and body["sessions_given"] == 3
    assert clients.api("frontdesk").get(f"/api/v1/patients/{p.patient_a}/outcome").status_code == 403
    d = clients.api("researcher").get("/api/v1/outcomes")
    assert d.status_code == 200 and d.json()["judged"] == 1
    assert clients.api("nurse").get("/api/v1/outcomes").status_code == 403
    bad = clients.api("prescriber").get("/api/v1/outcomes", params={"date_from": "2026-10-01", "date_to": "2026-09-01"})
    assert bad.status_code == 422 and "date_to" in bad.text


def test_dashboard_page_filters_and_refuses_bad_dates_beside_the_field(clients):
    p = clients.personas
    add_course(p.db, p.patient_a)
    web = clients.web("prescriber")
    page = web.get("/outcomes")
    assert page.status_code == 200
    assert 'id="n-patients">2<' in page.text and 'id="n-judged">1<' in page.text
    assert "<svg" in page.text and "Kaplan-Meier" in page.text and "Bandelow 2006" in page.text
    later = web.get("/outcomes", params={"date_from": (T0.date().replace(day=2)).isoformat()})
    assert 'id="n-judged">0<' in later.text
    bad = web.get("/outcomes", params={"date_from": "2026-10-01", "date_to": "2026-09-01"})
    assert bad.status_code == 422
    assert 'id="e-date_to"' in bad.text and "on or after the start date" in bad.text
    assert 'value="2026-10-01"' in bad.text  # the form keeps what was typed
    assert 'name="site_id"' in page.text
    no_site = web.get("/outcomes", params={"site_id": "0"})
    assert no_site.status_code == 422 and 'id="e-site_id"' in no_site.text


def test_chart_outcome_page_portal_and_pdfs(clients):
    p = clients.personas
    add_course(p.db, p.patient_a)
    staff = clients.web("prescriber")
    page = staff.get(f"/patients/{p.patient_a}/outcome")
    assert page.status_code == 200 and "Remission" in page.text and "GAD-7" in page.text
    assert f'href="/patients/{p.patient_a}/outcome"' in staff.get(f"/patients/{p.patient_a}").text
    me = clients.web("patient_a").get("/me/progress")
    assert me.status_code == 200
    assert "range where symptoms are few" in me.text and "remission" not in me.text.lower()
    report = staff.get(f"/patients/{p.patient_a}/outcome.pdf")
    assert report.headers["content-type"] == "application/pdf"
    text = _pdf_text(report.content)
    assert "Alice Anders" in text and "Remission" in text and "Bandelow 2006" in text
    mine = _pdf_text(clients.web("patient_a").get(f"/patients/{p.patient_a}/outcome.pdf").content)
    assert "How you are doing" in mine and "Reliable change" not in mine
    q = clients.web("admin").get("/outcomes/report.pdf", params={"quarter": "2026-Q3"})
    assert q.status_code == 200
    qt = _pdf_text(q.content)
    assert "2026 Q3" in qt and "Cohort flow" in qt and "Alice" not in qt
    assert clients.web("nurse").get("/outcomes/report.pdf").status_code == 403


def test_the_clinic_chooses_the_primary_instrument_on_its_settings_page_and_a_save_keeps_it(clients):
    from tests.http.test_clinic_pages import FORM

    p = clients.personas
    add_course(p.db, p.patient_a, concept="panic", display="Panic disorder")
    staff = clients.web("prescriber")
    assert staff.get(f"/api/v1/patients/{p.patient_a}/outcome").json()["instrument_id"] == "pdss_sr"
    admin = clients.web("admin")
    assert 'name="outcome_primary.panic"' in admin.get("/admin/clinic").text
    r = admin.post("/admin/clinic", data={**FORM, "outcome_primary.panic": "gad7", "outcome_primary.gad": "gad7"})
    assert r.status_code == 303, r.text
    o = staff.get(f"/api/v1/patients/{p.patient_a}/outcome").json()
    assert o["instrument_id"] == "gad7" and o["status"] == "remitted"
    assert clinic.current(p.db).outcome_primary_instruments == {"panic": "gad7"}  # only what differs is stored
    page = admin.get("/admin/clinic").text  # the form shows the choice, so the next save keeps it
    assert re.search(r'<option value="gad7"\s+selected>GAD-7</option>', page.split('name="outcome_primary.panic"')[1])
