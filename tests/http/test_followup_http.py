"""Follow-up over HTTP (issue 16): the API answers and errors, the nurse's call list and call form (errors beside
each field; a risk answer shows the escalation), the discharge instructions on the session page, the PDF and the
administrator's edit page."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from ketacare.services import clock
from ketacare.services.sessions import workflow
from ketacare.services.sessions.schemas import SessionCreate
from ketacare.store.tables.sessions import InfusionSession

API = "/api/v1"
CALM = {"suicidal_thoughts": "no", "feels_safe": "yes", "side_effects": ["none"], "mood": "better",
        "sleep": "normal", "driving_advice_kept": "yes"}


# Discharged 53 h ago: two local days back at any time of day, so the call (due the day after discharge at the form's
# local time) is due or overdue whenever the suite runs (30 h was "not yet due" early in the morning).
DAYS_BEFORE_H = 54


def _session(personas, state: str, hours_ago: float) -> int:
    """A session of patient A already in `state`, its infusion ended `hours_ago` (discharged an hour later)."""
    sid = workflow.create_session(db=personas.db, actor=personas["nurse"],
                                  data=SessionCreate(patient_id=personas.patient_a, chair="Chair 2")).id
    end = clock.now() - timedelta(hours=hours_ago)
    with personas.db.session() as s:
        s.execute(update(InfusionSession).where(InfusionSession.id == sid).values(
            state=state, infusion_started_at=end - timedelta(minutes=40), infusion_ended_at=end,
            discharged_at=end + timedelta(hours=1) if state == "discharged" else None))
    return sid


def test_the_api_records_a_call_and_names_each_refused_field(clients, web_personas):
    sid = _session(web_personas, "discharged", DAYS_BEFORE_H)
    nurse = clients.api("nurse")
    assert [t["session_id"] for t in nurse.get(f"{API}/followup/calls").json()] == [sid]
    bad = nurse.post(f"{API}/sessions/{sid}/followup-calls", json={"reached": True, "answers": {**CALM, "mood": "ok"}})
    assert bad.status_code == 422 and {e["field"] for e in bad.json()["errors"]} == {"mood"}
    ok = nurse.post(f"{API}/sessions/{sid}/followup-calls", json={"reached": True, "answers": CALM})
    assert ok.status_code == 201 and ok.json()["outcome"] == "completed" and ok.json()["by_username"] == "nurse"
    rr = nurse.get(f"{API}/patients/{web_personas.patient_a}/rapid-response").json()
    assert rr[0]["session_id"] == sid and rr[0]["responder"] == "unknown" and "no score before" in rr[0]["why"]
    assert clients.api("frontdesk").get(f"{API}/followup/calls").status_code == 403
    ack = nurse.post(f"{API}/sessions/{sid}/discharge-acknowledgements",
                     json={"party": "patient", "name": "Alice Anders", "instructions_version": 0})
    assert ack.status_code == 422 and ack.json()["errors"][0]["field"] == "party"  # after discharge: too late


def test_the_nurse_calls_from_the_list_and_sees_errors_beside_the_fields_and_the_escalation(clients, web_personas):
    sid = _session(web_personas, "discharged", DAYS_BEFORE_H)
    nurse = clients.web("nurse")
    page = nurse.get("/followup")
    assert page.status_code == 200 and "Anders, Alice" in page.text and f'href="/followup/{sid}"' in page.text
    refused = nurse.post(f"/followup/{sid}", data={"reached": "yes", "suicidal_thoughts": "no", "notes": "kept"})
    assert refused.status_code == 422
    assert 'id="e-mood"' in refused.text and "answer this question" in refused.text
    assert ">kept</textarea>" in refused.text
    form = {**CALM, "suicidal_thoughts": "yes", "reached": "yes"}
    risk = nurse.post(f"/followup/{sid}", data=form)
    assert risk.status_code == 200 and "a safety alert was sent" in risk.text and 'href="tel:988"' in risk.text
    assert "risk: alert raised" in risk.text
    chart = nurse.get(f"/patients/{web_personas.patient_a}")
    assert "Next-day calls" in chart.text and "Rapid response after each session" in chart.text


def test_the_session_page_shows_the_instructions_and_takes_both_acknowledgements(clients, web_personas):
    sid = _session(web_personas, "recovery", 1)
    nurse = clients.web("nurse")
    page = nurse.get(f"/sessions/{sid}")
    assert 'id="discharge-instructions"' in page.text and "Do not drive" in page.text
    assert 'id="ack-patient"' in page.text and 'id="ack-escort"' in page.text
    refused = nurse.post(f"/sessions/{sid}/discharge-acknowledgements",
                         data={"party": "patient", "name": "", "instructions_version": "0"})
    assert refused.status_code == 422 and 'id="e-ack-patient-name"' in refused.text
    done = nurse.post(f"/sessions/{sid}/discharge-acknowledgements",
                      data={"party": "patient", "name": "Alice Anders", "instructions_version": "0"})
    assert done.status_code == 303
    page = nurse.get(f"/sessions/{sid}")
    assert "Patient: Alice Anders" in page.text and 'id="ack-patient"' not in page.text
    pdf = nurse.get(f"/sessions/{sid}/discharge-instructions.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")


def test_an_administrator_saves_a_new_version_with_a_reason(clients):
    admin = clients.web("admin")
    assert "Version 0" in admin.get("/admin/discharge-instructions").text
    form = {"heading": "After today", "sections": "no title line", "reason": "x", "base_version": "0"}
    refused = admin.post("/admin/discharge-instructions", data=form)
    assert refused.status_code == 422 and 'id="e-sections"' in refused.text
    form = {**form, "sections": "# Call us\nRing {clinic_phone}.", "reason": "Shorter"}
    saved = admin.post("/admin/discharge-instructions", data=form)
    assert saved.status_code == 303
    page = admin.get("/admin/discharge-instructions")
    assert "Version 1" in page.text and "Shorter" in page.text and "Ring {clinic_phone}." in page.text
    assert clients.web("nurse").post("/admin/discharge-instructions", data={}).status_code == 403
