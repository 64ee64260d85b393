"""Downloading one's own record from the portal and a clinician downloading it for the patient (issue 15)."""

from __future__ import annotations

import io
import json


def test_the_patient_downloads_a_pdf_summary_and_the_complete_json_from_the_portal(clients, web_personas):
    me = clients.web("patient_a")
    page = me.get("/me").text
    pid = web_personas.patient_a
    assert f"/patients/{pid}/export.pdf" in page and f"/patients/{pid}/export.json" in page
    pdf = me.get(f"/patients/{pid}/export.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF") and "attachment" in pdf.headers["content-disposition"]
    data = me.get(f"/patients/{pid}/export.json")
    record = json.load(io.BytesIO(data.content))
    assert record["patient_id"] == pid and record["tables"]["patients"][0]["id"] == pid
    assert me.get(f"/patients/{web_personas.patient_b}/export.json").status_code == 404


def test_a_clinician_downloads_it_over_the_api_and_front_desk_may_not(clients, web_personas):
    pid = web_personas.patient_a
    r = clients.api("nurse").get(f"/api/v1/patients/{pid}/export")
    assert r.status_code == 200 and r.json()["mrn"]
    assert clients.api("frontdesk").get(f"/api/v1/patients/{pid}/export").status_code == 403
