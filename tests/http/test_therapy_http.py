"""Integration therapy over HTTP: the API's 422s name the field, the note form shows each error beside its field
and keeps what was typed, a private note is a 404 for anyone but its author, and the chart shows shared notes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ketacare.services.patients import CareTeamUpdate, set_care_team
from tests.services.therapy.conftest import NO_RISK, add_infusion


def _setup(clients) -> int:
    p = clients.personas
    add_infusion(p.db, p.patient_a, datetime.now(UTC) - timedelta(days=2))
    set_care_team(db=p.db, actor=p["system"], patient_id=p.patient_a, data=CareTeamUpdate(
        prescriber_id=p["prescriber"].user_id, therapist_id=p["therapist"].user_id))
    return p.patient_a


def test_api_refuses_bad_notes_naming_each_field(clients):
    pid = _setup(clients)
    api = clients.api("therapist")
    url = f"/api/v1/patients/{pid}/therapy/notes"
    r = api.post(url, json={"kind": "integration", "modality": "cbt", "risk": {}, "sharing": "everyone"})
    assert r.status_code == 422 and [e["field"] for e in r.json()["errors"]] == ["sharing"]
    r = api.post(url, json={"kind": "integration", "modality": "yoga", "risk": {**NO_RISK, "self_harm": "perhaps"}})
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert fields == {"modality", "risk.self_harm"}
    r = api.post(url, json={"kind": "integration", "modality": "cbt", "risk": NO_RISK, "session_id": 0})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "session_id"
    r = api.post(url, json={"kind": "integration", "modality": "cbt", "risk": NO_RISK, "themes": "Worry",
                            "sharing": "care_team"})
    assert r.status_code == 201, r.text
    note = r.json()
    assert note["timing"] == "2 days after infusion 1"
    sign = f"/api/v1/patients/{pid}/therapy/notes/{note['id']}/sign"
    r = api.post(sign, json={"version": note["version"], "password": "wrong"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "password"
    assert clients.api("nurse").get(f"/api/v1/patients/{pid}/therapy/notes/{note['id']}").status_code == 404
    assert clients.api("prescriber").get(f"/api/v1/patients/{pid}/therapy/notes/{note['id']}").status_code == 200
    assert clients.api("frontdesk").get(f"/api/v1/patients/{pid}/therapy").status_code == 403
    r = api.post(f"/api/v1/patients/{pid}/therapy/goals", json={"goal": ""})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "goal"
    due = api.get("/api/v1/therapy/visits-due").json()
    assert [v["status"] for v in due] == []  # the note linked to infusion 1 closed its visit


def test_the_note_form_shows_errors_beside_fields_and_keeps_what_was_typed(clients):
    pid = _setup(clients)
    web = clients.web("therapist")
    page = web.get(f"/patients/{pid}/therapy")
    assert page.status_code == 200 and "Write a visit note" in page.text and "Due" in page.text
    r = web.post(f"/patients/{pid}/therapy/notes", data={"kind": "integration", "themes": "Kept text",
                                                         "visit_at": "2026-13-40 25:00"})
    assert r.status_code == 422
    assert 'id="e-visit_at"' in r.text
    assert "Kept text" in r.text
    r = web.post(f"/patients/{pid}/therapy/notes", data={"kind": "integration", "themes": "Kept text"})
    assert r.status_code == 422 and 'id="e-modality"' in r.text and 'id="e-risk_suicidal_ideation"' in r.text
    form = {"kind": "integration", "modality": "cbt", "themes": "Shared themes", "sharing": "care_team",
            **{f"risk_{k}": v for k, v in NO_RISK.items()}}
    r = web.post(f"/patients/{pid}/therapy/notes", data=form)
    assert r.status_code == 303, r.text
    note_url = r.headers["location"].split("?")[0]
    r = web.post(f"{note_url}/sign", data={"version": "1", "password": "wrong"})
    assert r.status_code == 422 and 'id="e-password"' in r.text
    chart = clients.web("prescriber").get(f"/patients/{pid}")
    assert "Integration therapy" in chart.text and "Shared themes" in chart.text
    assert clients.web("nurse").get(note_url).status_code == 404
    mine = web.get("/patients?scope=mine")
    assert "Integration visits due" in mine.text
