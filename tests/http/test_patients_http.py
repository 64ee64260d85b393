"""The patient record over HTTP: JSON errors naming the field, conflicts, and the same rules on the web."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from ketacare.store.tables import AuditEvent, Patient

NEW = {"given_name": "Dana", "family_name": "Reyes", "date_of_birth": "1988-07-14", "sex_at_birth": "female"}


def _count(db, table=Patient):
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(table))


def test_healthz_reports_app_and_database(clients):
    r = clients.api(None).get("/healthz")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and body["database"]["status"] == "ok" and body["database"]["engine"] == "sqlite"


def test_create_with_pounds_and_read_back(clients, sqlite_db):
    api = clients.api("nurse")
    r = api.post("/api/v1/patients", json={**NEW, "weight": "180 lb", "height": "175 cm"})
    assert r.status_code == 201, r.text
    chart = api.get(f"/api/v1/patients/{r.json()['id']}").json()
    assert chart["clinical"]["latest_weight_kg"] == 81.65


def test_bad_weight_is_422_naming_the_field_and_stores_nothing(clients, sqlite_db):
    api = clients.api("nurse")
    before = (_count(sqlite_db), _count(sqlite_db, AuditEvent))
    for weight in ("1800 kg", "82", "82 stone"):
        r = api.post("/api/v1/patients", json={**NEW, "weight": weight})
        assert r.status_code == 422
        assert r.json()["errors"][0]["field"] == "weight"
    assert (_count(sqlite_db), _count(sqlite_db, AuditEvent)) == before


def test_unknown_field_and_missing_field_are_named(clients):
    r = clients.api("nurse").post("/api/v1/patients", json={**NEW, "shoe_size": 9})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "shoe_size"
    r = clients.api("nurse").post("/api/v1/patients", json={k: v for k, v in NEW.items() if k != "date_of_birth"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "date_of_birth"


def test_second_edit_with_old_version_gets_409_with_current_version(clients, web_personas):
    api = clients.api("frontdesk")
    pid = web_personas.patient_a
    v = api.get(f"/api/v1/patients/{pid}").json()["patient"]["version"]
    assert api.patch(f"/api/v1/patients/{pid}", json={"version": v, "phone": "+1 555 1"}).status_code == 200
    r = clients.api("nurse").patch(f"/api/v1/patients/{pid}", json={"version": v, "phone": "+1 555 2"})
    assert r.status_code == 409
    assert r.json()["current_version"] == v + 1
    assert api.get(f"/api/v1/patients/{pid}").json()["patient"]["phone"] == "+1 555 1"


def test_patient_a_gets_404_for_patient_b_in_api_and_web(clients, web_personas):
    b = web_personas.patient_b
    api = clients.api("patient_a")
    assert api.get(f"/api/v1/patients/{b}").status_code == 404
    assert api.get(f"/api/v1/patients/{b}/access-log").status_code == 404
    web = clients.web("patient_a")
    assert web.get(f"/patients/{b}").status_code == 404
    assert web.get(f"/patients/{web_personas.patient_a}").status_code == 200
    assert api.get("/api/v1/patients/999999").status_code == 404  # same answer as for an existing record


def test_security_headers_on_every_response(clients):
    r = clients.api(None).get("/login")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "no-referrer"


def test_login_form_sets_a_strict_httponly_cookie_and_lands_on_patients(app):
    from fastapi.testclient import TestClient

    web = TestClient(app, follow_redirects=False)
    page = web.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = web.post("/login", data={"username": "prescriber", "password": "correct horse battery staple",
                                 "csrf_token": token})
    assert r.status_code == 303 and r.headers["location"] == "/patients"
    cookie = [h for h in r.headers.get_list("set-cookie") if h.startswith("kc_session=")][0]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    assert web.get("/patients").status_code == 200


def test_login_form_without_csrf_is_refused(app):
    from fastapi.testclient import TestClient

    web = TestClient(app, follow_redirects=False)
    r = web.post("/login", data={"username": "prescriber", "password": "correct horse battery staple"})
    assert r.status_code == 403


def test_cookie_write_without_csrf_token_is_refused_and_changes_nothing(clients, sqlite_db):
    web = clients.web("frontdesk")
    del web.headers["x-csrf-token"]
    before = _count(sqlite_db)
    r = web.post("/patients/new", data={**NEW})
    assert r.status_code == 403
    assert _count(sqlite_db) == before


def test_web_form_shows_error_beside_the_field_and_keeps_what_was_typed(clients, sqlite_db):
    web = clients.web("nurse")
    before = _count(sqlite_db)
    r = web.post("/patients/new", data={**NEW, "given_name": "Keep Me", "weight": "82 stone"})
    assert r.status_code == 422
    assert 'id="e-weight"' in r.text and "unknown weight unit" in r.text
    assert 'value="Keep Me"' in r.text and 'value="82 stone"' in r.text
    assert _count(sqlite_db) == before


def test_web_create_then_chart_shows_weight_in_clinic_unit(clients):
    web = clients.web("nurse")
    r = web.post("/patients/new", data={**NEW, "weight": "180 lb", "height": "5 ft 9 in"})
    assert r.status_code == 303
    page = web.get(r.headers["location"])
    assert "81.65 kg" in page.text and "<svg" in page.text


def test_web_edit_conflict_is_shown_and_keeps_typed_values(clients, web_personas):
    pid = web_personas.patient_a
    web = clients.web("frontdesk")
    r = web.post(f"/patients/{pid}/edit", data={"version": "1", "given_name": "Alicia", "family_name": "Anders",
                                                "date_of_birth": "1985-03-04", "sex_at_birth": "female"})
    assert r.status_code == 303
    r = clients.web("nurse").post(f"/patients/{pid}/edit", data={
        "version": "1", "given_name": "Alison", "family_name": "Anders", "date_of_birth": "1985-03-04",
        "sex_at_birth": "female"})
    assert r.status_code == 409 and "current version is 2" in r.text and 'value="Alison"' in r.text


def test_front_desk_chart_hides_clinical_sections(clients, web_personas):
    page = clients.web("frontdesk").get(f"/patients/{web_personas.patient_a}")
    assert page.status_code == 200 and "not shown to your role" in page.text and "Diagnoses" not in page.text


def test_admin_audit_page_and_patient_access_log(clients, web_personas):
    clients.web("nurse").get(f"/patients/{web_personas.patient_a}")
    page = clients.web("admin").get("/admin/audit?username=nurse")
    assert page.status_code == 200 and "patient chart" in page.text
    mine = clients.web("patient_a").get(f"/patients/{web_personas.patient_a}/access-log")
    assert mine.status_code == 200 and "nurse" in mine.text


def test_search_partial_fragment(clients):
    r = clients.web("prescriber").get("/patients?q=and&partial=1")
    assert r.status_code == 200 and "Anders" in r.text and "<html" not in r.text


def test_api_docs_are_served_offline(clients):
    page = clients.api(None).get("/api/docs")
    assert "/api/docs-assets/swagger-ui-bundle.js" in page.text and "cdn" not in page.text.lower()
    assert clients.api(None).get("/api/docs-assets/swagger-ui-bundle.js").status_code == 200
    assert clients.api(None).get("/api/openapi.json").json()["info"]["title"] == "Ketacare"


def test_each_role_lands_on_a_page_it_may_see(app):
    from fastapi.testclient import TestClient

    landing = {"prescriber": "/patients", "frontdesk": "/patients", "admin": "/admin/audit",
               "researcher": "/welcome", "patienta": "/me"}
    for username, where in landing.items():
        web = TestClient(app, follow_redirects=False)
        token = re.search(r'name="csrf_token" value="([^"]+)"', web.get("/login").text).group(1)
        r = web.post("/login", data={"username": username, "password": "correct horse battery staple",
                                     "csrf_token": token})
        assert r.headers["location"] == where
        assert web.get(where).status_code == 200, username
