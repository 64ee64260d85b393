"""The researcher's page and the export over the web and the API (issue 18 point 5)."""

from __future__ import annotations

import base64
import io
import zipfile


def test_the_researcher_finds_the_export_on_the_home_page_and_downloads_it(clients):
    web = clients.web("researcher")
    assert 'href="/research"' in web.get("/welcome").text and "on the roadmap" not in web.get("/welcome").text
    page = web.get("/research")
    assert page.status_code == 200 and "HHS 2012" in page.text
    r = web.post("/research/export", data={"export_key": "study-1", "format": "parquet"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(r.content)).namelist()
    assert {"patients.parquet", "data_dictionary.csv", "risk_summary.json"} <= set(names)
    bad = web.post("/research/export", data={"export_key": "x", "format": "csv"})
    assert bad.status_code == 422 and 'id="e-export_key"' in bad.text


def test_the_api_export_is_for_researchers_only(clients):
    body = {"export_key": "study-1", "format": "csv"}
    r = clients.api("researcher").post("/api/v1/research/exports", json=body)
    assert r.status_code == 200 and r.json()["result"]["risk"]["patients"] == 2
    zipped = zipfile.ZipFile(io.BytesIO(base64.b64decode(r.json()["zip_base64"])))
    assert "patients.csv" in zipped.namelist()
    for persona in ("admin", "prescriber", "nurse", "frontdesk", "patient_a"):
        assert clients.api(persona).post("/api/v1/research/exports", json=body).status_code == 403
    bad = clients.api("researcher").post("/api/v1/research/exports", json={"export_key": "??", "format": "csv"})
    assert bad.status_code == 422 and "export_key" in bad.text
