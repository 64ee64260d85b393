"""Issue #13 over HTTP: plain field messages (API and pages alike), corrections with history, care teams."""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import func, select

from ketacare.services.patients import records as patients
from ketacare.services.patients.schemas import MedicationCreate
from ketacare.store.tables import CareTeamMember, Patient

NEW = {"given_name": "Dana", "family_name": "Reyes", "date_of_birth": "1988-07-14", "sex_at_birth": "female"}


def _count(db, table=Patient):
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(table))


def test_an_empty_name_reads_the_same_plain_words_in_the_api_and_on_the_page(clients, sqlite_db):
    r = clients.api("nurse").post("/api/v1/patients", json={**NEW, "given_name": "", "date_of_birth": "14/07"})
    assert r.status_code == 422
    messages = {e["field"]: e["message"] for e in r.json()["errors"]}
    assert messages["given_name"] == "Enter the patient's given name"
    assert messages["date_of_birth"] == "Enter the date of birth as a date, e.g. 1990-02-03"
    assert "Input should be" not in r.text
    page = clients.web("nurse").post("/patients/new", data={**NEW, "given_name": ""})
    assert page.status_code == 422 and "Enter the patient&#39;s given name" in page.text
    assert "Input should be" not in page.text and _count(sqlite_db) == 2


def test_required_fields_are_marked_on_the_new_patient_form(clients):
    page = clients.web("frontdesk").get("/patients/new").text
    for name in ("given_name", "family_name", "date_of_birth", "sex_at_birth"):
        label = re.search(rf'<label for="f-{name}">(.*?)</label>', page, re.S).group(1)
        assert "*" in label, name
    assert "Fields marked * are required." in page


def test_a_possible_duplicate_is_shown_on_the_form_until_confirmed(clients, sqlite_db):
    web = clients.web("frontdesk")
    dup = {"given_name": "Alice", "family_name": "Anders", "date_of_birth": "1985-03-04", "sex_at_birth": "female"}
    r = web.post("/patients/new", data=dup)
    assert r.status_code == 422 and "same birth date and a similar name" in r.text
    assert "This is a different person" in r.text and _count(sqlite_db) == 2
    r = web.post("/patients/new", data={**dup, "confirm_not_duplicate": "on"})
    assert r.status_code == 303 and _count(sqlite_db) == 3


def test_sertralin_1500_mg_is_refused_on_the_chart_with_suggestion_and_range(clients, web_personas):
    web, pid = clients.web("nurse"), web_personas.patient_a
    form = {"name": "sertralin", "dose_value": "50", "dose_unit": "mg", "times_per_day": "1", "route": "oral"}
    r = web.post(f"/patients/{pid}/add/medication", data=form)
    assert r.status_code == 422 and "Did you mean sertraline?" in r.text
    r = web.post(f"/patients/{pid}/add/medication", data={**form, "name": "sertraline", "dose_value": "1500"})
    assert r.status_code == 422 and "usual range is 25–200 mg a day" in r.text
    api = clients.api("nurse").post(f"/api/v1/patients/{pid}/medications",
                                    json={"name": "sertraline", "dose_value": 1500, "dose_unit": "mg"})
    assert api.status_code == 422 and api.json()["errors"][0]["field"] == "dose_value"


def test_entered_in_error_on_the_chart_leaves_the_active_list_and_shows_in_the_history(clients, web_personas):
    pid = web_personas.patient_a
    m = patients.add_medication(db=web_personas.db, actor=web_personas["nurse"], patient_id=pid,
                                data=MedicationCreate(name="clonazepam", dose_value=0.5, dose_unit="mg"))
    web = clients.web("prescriber")
    url = f"/patients/{pid}/correct/medication/{m.id}/entered-in-error"
    r = web.post(url, data={"version": "1", "reason": ""})
    assert r.status_code == 422 and "Enter the reason for the correction" in r.text
    r = web.post(url, data={"version": "1", "reason": "belongs to another patient"})
    assert r.status_code == 303
    page = web.get(f"/patients/{pid}").text
    active = page.split('id="active-medications"')[1].split("</table>")[0] if 'id="active-medications"' in page else ""
    assert "clonazepam" not in active
    assert "marked entered in error" in page and "belongs to another patient" in page
    api = clients.api("prescriber").get(f"/api/v1/patients/{pid}/entries/medication/{m.id}/history").json()
    assert [(h["action"], h["reason"]) for h in api] == [("entered_in_error", "belongs to another patient")]
    stale = web.post(url, data={"version": "1", "reason": "again"})
    assert stale.status_code == 409


def test_change_dose_over_the_api_keeps_both_versions(clients, web_personas):
    pid = web_personas.patient_a
    api = clients.api("nurse")
    m = api.post(f"/api/v1/patients/{pid}/medications",
                 json={"name": "sertraline", "dose_value": 50, "dose_unit": "mg", "times_per_day": 1}).json()
    r = api.patch(f"/api/v1/patients/{pid}/medications/{m['id']}",
                  json={"version": 1, "reason": "titrated", "dose_value": 100})
    assert r.status_code == 200, r.text
    assert r.json()["action"] == "change_dose" and r.json()["before"]["dose_value"] == 50
    r = api.patch(f"/api/v1/patients/{pid}/medications/{m['id']}", json={"version": 2, "dose_value": 150})
    assert r.status_code == 422 and r.json()["errors"][0]["message"] == "Enter the reason for the correction"


def test_care_team_page_form_and_my_patients_default(clients, web_personas, sqlite_db):
    pid = web_personas.patient_a
    web = clients.web("prescriber")
    chart = web.get(f"/patients/{pid}").text
    assert 'id="care-team"' in chart and "Change the care team" in chart
    r = web.post(f"/patients/{pid}/care-team", data={
        "prescriber_id": str(web_personas["prescriber"].user_id),
        "nurse_ids": str(web_personas["nurse"].user_id),
        "therapist_id": str(web_personas["therapist"].user_id)})
    assert r.status_code == 303 and _count(sqlite_db, CareTeamMember) == 3
    therapist = clients.web("therapist")
    listing = therapist.get("/patients").text
    assert "My patients" in listing and "Anders, Alice" in listing and "Berg, Bob" not in listing
    assert "Berg, Bob" in therapist.get("/patients?q=berg").text  # search reaches every patient
    assert "Berg, Bob" in therapist.get("/patients?scope=all").text
    assert "Change the care team" not in therapist.get(f"/patients/{pid}").text
    assert clients.web("therapist").post(f"/patients/{pid}/care-team", data={}).status_code == 403


def test_the_portal_offers_prefer_not_to_answer_on_phq9_item_9_and_refuses_a_blank(clients):
    web = clients.web("patient_a")
    form = web.get("/me/questionnaires/phq9").text
    assert form.count('value="declined"') == 1 and "Prefer not to answer" in form
    answers = {f"phq9_{i}": "1" for i in range(1, 9)}
    r = web.post("/me/questionnaires/phq9", data={**answers, "context": "follow_up"})
    assert r.status_code == 422 and "This question is about your safety" in r.text
    r = web.post("/me/questionnaires/phq9", data={**answers, "phq9_9": "declined", "context": "follow_up"})
    assert r.status_code == 200
    alerts = clients.api("prescriber").get("/api/v1/safety-alerts?mine=false").json()
    assert [a["kind"] for a in alerts] == ["safety_item_declined"]


def test_under_18_warning_over_the_api(clients):
    young = {**NEW, "date_of_birth": date.today().replace(year=date.today().year - 17).isoformat()}
    r = clients.api("frontdesk").post("/api/v1/patients", json=young)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "confirm_under_18"
    confirmed = clients.api("frontdesk").post("/api/v1/patients", json={**young, "confirm_under_18": True})
    assert confirmed.status_code == 201


def test_a_reading_set_aside_on_the_session_page_leaves_the_chart_and_is_listed_with_its_reason(clients, web_personas):
    from ketacare.services.sessions import vitals, workflow
    from ketacare.services.sessions.schemas import SessionCreate, VitalIn

    nurse = web_personas["nurse"]
    sid = workflow.create_session(db=web_personas.db, actor=nurse, data=SessionCreate(
        patient_id=web_personas.patient_a, chair="Chair 1")).id
    vitals.record_session_reading(db=web_personas.db, actor=nurse, session_id=sid, data=VitalIn(sbp=212, dbp=80))
    web = clients.web("nurse")
    page = web.get(f"/sessions/{sid}").text
    vid = re.search(r'<option value="(\d+)"[^>]*>[^<]*BP 212', page).group(1)
    r = web.post(f"/sessions/{sid}/vitals-in-error", data={"vital_id": vid, "reason": ""})
    assert r.status_code == 422 and "Enter the reason for the correction" in r.text
    r = web.post(f"/sessions/{sid}/vitals-in-error", data={"vital_id": vid, "reason": "cuff on the wrong patient"})
    assert r.status_code == 303
    page = web.get(f"/sessions/{sid}").text
    assert "Readings entered in error (1)" in page and "cuff on the wrong patient" in page
    assert not re.search(r'<option value="\d+"[^>]*>[^<]*BP 212', page)  # no longer offered nor charted
