"""Measurement pages and API through HTTP: the PHQ-9 item 9 acceptance case, links, portal, dashboard, reminders."""

from __future__ import annotations

import socket
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from ketacare.config import Settings
from ketacare.services import clock
from ketacare.services.measurement.reminders import send_reminders
from ketacare.store.tables import Patient
from ketacare.store.tables.measurement import QuestionnaireResponse, ReminderOutbox, SafetyAlert

PHQ9_ITEM9 = {f"phq9_{i}": "0" for i in range(1, 9)} | {"phq9_9": "1"}


def _set_primary(personas, who="prescriber"):
    with personas.db.session() as s:
        s.get(Patient, personas.patient_a).primary_clinician_id = personas[who].user_id


def _count(db, table):
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(table))


def _link(clients, instrument="phq9", **extra):
    r = clients.api("nurse").post(
        f"/api/v1/patients/{clients.personas.patient_a}/questionnaire-links",
        json={"instrument_id": instrument, "due_date": date.today().isoformat(), **extra},
    )
    assert r.status_code == 201, r.text
    return r.json()["token"]


def test_phq9_item9_via_one_time_link_alerts_primary_clinician_in_same_request(clients, web_personas):
    _set_primary(web_personas)
    token = _link(clients)
    anon = clients.web(None)
    page = anon.get(f"/q/{token}")
    assert page.status_code == 200 and "Question 9 of 9" in page.text and "PHQ-9" in page.text
    r = anon.post(f"/q/{token}", data=PHQ9_ITEM9)
    assert r.status_code == 200
    assert "988" in r.text and "Suicide &amp; Crisis Lifeline" in r.text and "112" in r.text
    with web_personas.db.session() as s:
        alert = s.scalars(select(SafetyAlert)).one()
    assert alert.assigned_to == web_personas["prescriber"].user_id and alert.acknowledged_at is None
    dash = clients.web("prescriber").get("/dashboard")
    assert dash.status_code == 200 and "URGENT" in dash.text and "Anders, Alice" in dash.text
    api = clients.api("prescriber").get("/api/v1/safety-alerts").json()
    assert [a["id"] for a in api] == [alert.id]
    # acknowledging needs a documented action; then it leaves the dashboard
    prescriber = clients.web("prescriber")
    bad = prescriber.post(f"/alerts/{alert.id}/acknowledge", data={"action_taken": "", "version": "1"})
    assert bad.status_code == 422 and "at least 10 characters" in bad.text
    ok = prescriber.post(
        f"/alerts/{alert.id}/acknowledge",
        data={"action_taken": "Phoned patient, C-SSRS done, safety plan agreed", "version": "1"},
    )
    assert ok.status_code == 303
    assert "URGENT" not in prescriber.get("/dashboard").text


def test_reused_and_expired_links_are_refused_and_store_nothing(clients, web_personas, monkeypatch):
    token = _link(clients, instrument="gad7")
    anon = clients.web(None)
    answers = {f"gad7_{i}": "1" for i in range(1, 8)}
    assert anon.post(f"/q/{token}", data=answers).status_code == 200
    n = _count(web_personas.db, QuestionnaireResponse)
    again = anon.post(f"/q/{token}", data=answers)
    assert again.status_code == 410 and "already been used" in again.text
    assert anon.get(f"/q/{token}").status_code == 410
    expired = _link(clients, instrument="gad7", valid_days=0)
    real = clock.now
    monkeypatch.setattr(clock, "now", lambda: real() + timedelta(days=2))
    r = anon.post(f"/q/{expired}", data=answers)
    assert r.status_code == 410 and "expired" in r.text
    assert anon.post("/q/garbage.token", data=answers).status_code == 410
    assert _count(web_personas.db, QuestionnaireResponse) == n


def test_link_form_errors_keep_answers(clients):
    token = _link(clients, instrument="gad7")
    r = clients.web(None).post(f"/q/{token}", data={"gad7_1": "2", "gad7_2": "9"})
    assert r.status_code == 422 and "not an allowed answer" in r.text
    assert 'value="2" checked' in r.text


def test_portal_lists_due_and_submits(clients, web_personas):
    c = clients.web("patient_a")
    page = c.get("/me/questionnaires")
    assert page.status_code == 200 and "GAD-7" in page.text and "PHQ-9" in page.text
    form = c.get("/me/questionnaires/gad7?context=baseline")
    assert form.status_code == 200 and "Question 3 of 7" in form.text and "data-paged" in form.text
    r = c.post(
        "/me/questionnaires/gad7", data={f"gad7_{i}": "1" for i in range(1, 8)} | {"context": "baseline"}
    )
    assert r.status_code == 200 and "your answers were sent" in r.text
    assert "GAD-7" not in c.get("/me/questionnaires").text
    assert c.get("/me/questionnaires/cadss6").status_code == 404  # clinician-rated


def test_portal_names_the_primary_instrument_of_a_panic_diagnosis_in_plain_words(clients, web_personas):
    pid = web_personas.patient_a
    r = clients.api("prescriber").post(f"/api/v1/patients/{pid}/diagnoses", json={"code": "F41.0"})
    assert r.status_code == 201, r.text
    page = clients.web("patient_a").get("/me/questionnaires")
    assert "<strong>Panic attacks</strong> (PDSS-SR)" in page.text
    assert "<strong>Worry and anxiety</strong> (GAD-7)" in page.text and "before your treatment starts" in page.text
    assert clients.web("patient_a").get("/me/questionnaires/pdss_sr?context=baseline").status_code == 200
    due = clients.api("nurse").get("/api/v1/questionnaires/due").json()
    assert {"pdss_sr", "gad7"} <= {d["instrument_id"] for d in due if d["patient_id"] == pid}


def test_clinician_entry_and_trend_page(clients, web_personas):
    c = clients.web("nurse")
    pid = web_personas.patient_a
    assert c.get(f"/patients/{pid}/questionnaires/gad7").status_code == 200
    for ctx, v in (("baseline", "3"), ("follow_up", "0")):
        r = c.post(
            f"/patients/{pid}/questionnaires/gad7",
            data={f"gad7_{i}": v for i in range(1, 8)} | {"context": ctx},
        )
        assert r.status_code == 303
    empty = c.post(f"/patients/{pid}/questionnaires/gad7", data={"context": "follow_up"})
    assert empty.status_code == 422 and "answer at least one question" in empty.text
    page = c.get(f"/patients/{pid}/scores")
    assert page.status_code == 200 and "<svg" in page.text and "Remission" in page.text and "-21" in page.text
    hist = clients.api("therapist").get(f"/api/v1/patients/{pid}/scores/history").json()
    assert hist["series"][0]["points"][-1]["outcomes"]["remission"] is True
    assert clients.api("frontdesk").get(f"/api/v1/patients/{pid}/responses").status_code == 403


def test_api_submit_recomputes_and_refuses_a_typed_total(clients, web_personas):
    api = clients.api("nurse")
    url = f"/api/v1/patients/{web_personas.patient_a}/responses"
    r = api.post(url, json={"instrument_id": "gad7", "answers": [1, 1, 1, 1, 1, 1, 1]})
    assert r.status_code == 201 and r.json()["total"] == 7
    assert api.post(url, json={"instrument_id": "gad7", "answers": [1] * 7, "total": 21}).status_code == 422
    due = api.get("/api/v1/questionnaires/due").json()
    assert any(d["patient_id"] == web_personas.patient_b for d in due)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_reminders_go_to_a_local_smtp_server_at_most_three_times(web_personas, monkeypatch):
    aiosmtpd = pytest.importorskip("aiosmtpd.controller")
    from aiosmtpd.handlers import Message

    got = []

    class Collect(Message):
        def handle_message(self, message):
            got.append(message)

    port = _free_port()
    server = aiosmtpd.Controller(Collect(), hostname="127.0.0.1", port=port)
    server.start()
    try:
        db = web_personas.db
        with db.session() as s:
            s.get(Patient, web_personas.patient_a).email = "alice@example.org"
        st = Settings(
            database_url=db.url,
            smtp_host="127.0.0.1",
            smtp_port=port,
            smtp_from="clinic@example.org",
            link_key="x" * 32,
            public_url="https://clinic.example",
        )
        report = send_reminders(db=db, settings=st)
        assert (
            report.sent == 2 and report.failed == 0
        )  # GAD-7 and PHQ-9 baseline for the only patient with email
        assert len(got) == 2 and got[0]["To"] == "alice@example.org"
        body = got[0].get_payload()
        assert "https://clinic.example/q/" in body and "988" in body
        assert send_reminders(db=db, settings=st).sent == 0  # not again within 24 h
        real = clock.now
        for day in (1, 2, 3, 4):
            monkeypatch.setattr(clock, "now", lambda d=day: real() + timedelta(days=d, hours=1))
            send_reminders(db=db, settings=st)
        with db.session() as s:
            counts = s.execute(
                select(ReminderOutbox.instrument_id, func.count())
                .group_by(ReminderOutbox.instrument_id)
                .where(ReminderOutbox.status == "sent")
            ).all()
        assert dict(counts) == {"gad7": 3, "phq9": 3}
    finally:
        server.stop()


def test_cssrs_skip_logic_is_enforced_by_the_api_and_the_clinician_form(clients, web_personas):
    """Issue 11 point 7: "Yes" to items 3-5 after "No" to item 2 is refused naming the item; nothing stored."""
    pid = web_personas.patient_a
    n = _count(web_personas.db, QuestionnaireResponse)
    r = clients.api("nurse").post(
        f"/api/v1/patients/{pid}/responses",
        json={"instrument_id": "cssrs_screen", "answers": [1, 0, 0, 1, None, 0, None]},
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "item 4 (cssrs_4)" and "item 2 (cssrs_2)" in r.text
    form = {"cssrs_1": "1", "cssrs_2": "0", "cssrs_3": "1", "cssrs_6": "0", "context": "follow_up"}
    page = clients.web("nurse").post(f"/patients/{pid}/questionnaires/cssrs_screen", data=form)
    assert page.status_code == 422 and "asked only when item 2 (cssrs_2)" in page.text
    assert _count(web_personas.db, QuestionnaireResponse) == n
    ok = clients.api("nurse").post(
        f"/api/v1/patients/{pid}/responses",
        json={"instrument_id": "cssrs_screen", "answers": [1, 1, 1, 0, 0, 0, None]},
    )
    assert ok.status_code == 201 and ok.json()["severity"] == "moderate"


def test_audit_c_can_be_entered_by_the_patient_and_flags_a_positive_screen(clients, web_personas):
    """Issue 11 point 11: the alcohol screen the eligibility advice names is available in the portal."""
    c = clients.web("patient_a")
    form = c.get("/me/questionnaires/audit_c?context=baseline")
    assert form.status_code == 200 and "How often do you have a drink containing alcohol?" in form.text
    r = c.post("/me/questionnaires/audit_c", data={"audit_c_1": "2", "audit_c_2": "1", "audit_c_3": "1",
                                                    "context": "baseline"})
    assert r.status_code == 200 and "your answers were sent" in r.text
    rows = clients.api("nurse").get(f"/api/v1/patients/{web_personas.patient_a}/responses").json()
    audit = next(x for x in rows if x["instrument_id"] == "audit_c")
    assert audit["total"] == 4 and {"positive_screen_women", "positive_screen_men"} <= set(audit["flags"])
