"""Message pages and API (issue 17 point 3): an administrator edits a template (a bad placeholder or a dose is
refused beside its field, nothing saved); the front desk reads the log, a nurse may not; a patient opts out of
reminders in the portal and through the API, and cannot touch another patient's setting."""

from __future__ import annotations

from sqlalchemy import select

from ketacare.store.tables.messages import MessagePreference, MessageTemplateVersion


def test_templates_page_and_api_refuse_beside_the_field_and_save_a_version(clients):
    admin = clients.web("admin")
    page = admin.get("/admin/messages/templates")
    assert page.status_code == 200 and "{site_name}" in page.text and "48 h before" in page.text
    r = admin.post("/admin/messages/templates/appointment_reminder",
                   data={"subject": "Hi {diagnosis}", "body": "See you {when}", "base_version": "0", "reason": "x"})
    assert r.status_code == 422
    assert 'id="f-appointment_reminder-subject"' in r.text and "unknown placeholder {diagnosis}" in r.text
    assert 'value="Hi {diagnosis}"' in r.text  # what was typed is kept
    r = admin.post("/admin/messages/templates/appointment_reminder",
                   data={"subject": "See you {date}", "body": "At {site_name}, {when}.", "base_version": "0",
                         "reason": "shorter"})  # fmt: skip
    assert r.status_code == 303
    api = clients.api("admin")
    r = api.put("/api/v1/messages/templates/appointment_reminder",
                json={"subject": "x", "body": "You get 0.5 mg/kg", "base_version": 1, "reason": "y"})
    assert r.status_code == 422 and "body" in r.text
    r = api.put("/api/v1/messages/templates/appointment_reminder",
                json={"subject": "x", "body": "{when}", "base_version": 0, "reason": "stale"})
    assert r.status_code == 409
    assert clients.api("frontdesk").put("/api/v1/messages/templates/appointment_reminder",
                                        json={"subject": "x", "body": "{when}", "base_version": 1,
                                              "reason": "y"}).status_code == 403  # fmt: skip
    with clients.personas.db.session() as s:
        assert s.scalars(select(MessageTemplateVersion.version)).all() == [1]
    got = {t["id"]: t for t in clients.api("frontdesk").get("/api/v1/messages/templates").json()}
    assert got["appointment_reminder"]["version"] == 1 and got["pre_session_instructions"]["essential"]


def test_log_for_the_front_desk_and_the_patient_opts_out(clients):
    assert clients.web("frontdesk").get("/admin/messages").status_code == 200
    assert clients.web("nurse").get("/admin/messages").status_code == 403
    assert clients.api("frontdesk").get("/api/v1/messages?status=sent").json() == []
    assert clients.api("frontdesk").get("/api/v1/messages?status=lost").status_code == 422
    me = clients.web("patient_a")
    assert "Send me reminders" in me.get("/me/messages").text
    assert me.post("/me/messages", data={"reminders": "no"}).status_code == 303
    a, b = clients.personas.patient_a, clients.personas.patient_b
    with clients.personas.db.session() as s:
        assert s.get(MessagePreference, a).opt_out_non_essential
    api = clients.api("patient_a")
    r = api.put(f"/api/v1/patients/{a}/message-preferences", json={"opt_out_non_essential": False})
    assert r.status_code == 200 and r.json()["opt_out_non_essential"] is False
    assert api.put(f"/api/v1/patients/{b}/message-preferences",
                   json={"opt_out_non_essential": True}).status_code == 404
    assert api.put(f"/api/v1/patients/{a}/message-preferences", json={"opt_out": True}).status_code == 422
