"""Session forms tell the truth (issue 12 point 2): each error beside its field and in the summary at the top, what
was typed kept, nothing stored; pause is entered once; the pump's bag concentration is asked for only when no
order gives it; booking refuses an order that is not this patient's."""

from __future__ import annotations

from ketacare.store.tables.sessions import InfusionEventRow, InfusionSession, SessionTransition
from tests.http.test_sessions_http import API, _count, infusing, now  # noqa: F401  (fixtures)


def test_a_rate_change_without_a_rate_is_refused_beside_the_field(clients, now, infusing):  # noqa: F811
    web = clients.web("nurse")
    before = _count(clients, InfusionEventRow, session_id=infusing)
    r = web.post(f"/sessions/{infusing}/pump", data={"kind": "rate_change", "rate_ml_per_h": ""})
    assert r.status_code == 422
    assert 'id="e-rate_ml_per_h"' in r.text and "needs a rate" in r.text
    assert "Not saved: 1 problem to fix" in r.text
    assert '<option value="rate_change" selected>' in r.text  # kept what was chosen
    assert _count(clients, InfusionEventRow, session_id=infusing) == before


def test_without_any_concentration_the_pump_form_asks_for_it_and_shows_its_error(clients, now, infusing):  # noqa: F811
    with clients.personas.db.session() as s:  # a session started before orders carried a concentration
        s.get(InfusionSession, infusing).concentration_mg_per_ml = None
        s.commit()
    web = clients.web("nurse")
    page = web.get(f"/sessions/{infusing}").text
    assert 'id="f-concentration_mg_per_ml"' in page
    r = web.post(f"/sessions/{infusing}/pump", data={"kind": "start", "rate_ml_per_h": "100"})
    assert r.status_code == 422
    assert 'id="e-concentration_mg_per_ml"' in r.text and "bag concentration" in r.text
    assert 'value="100"' in r.text
    assert _count(clients, InfusionEventRow, session_id=infusing) == 0
    ok = web.post(
        f"/sessions/{infusing}/pump",
        data={"kind": "start", "rate_ml_per_h": "100", "concentration_mg_per_ml": "0.4"},
    )
    assert ok.status_code in (200, 303)
    assert _count(clients, InfusionEventRow, session_id=infusing) == 1
    assert 'id="f-concentration_mg_per_ml"' not in web.get(f"/sessions/{infusing}").text


def test_pause_and_resume_are_entered_once_and_record_the_pump_and_the_workflow(clients, now, infusing):  # noqa: F811
    web = clients.web("nurse")
    assert web.post(f"/sessions/{infusing}/pump", data={"kind": "start", "rate_ml_per_h": "60"}).status_code in (
        200,
        303,
    )
    assert web.post(f"/sessions/{infusing}/step", data={"kind": "pause"}).status_code in (200, 303)
    assert clients.api("nurse").get(f"{API}/sessions/{infusing}").json()["state"] == "paused"
    assert _count(clients, InfusionEventRow, session_id=infusing, kind="pause") == 1
    assert _count(clients, SessionTransition, session_id=infusing, event="pause", allowed=True) == 1
    page = web.get(f"/sessions/{infusing}").text
    assert ">Resume infusion</button>" in page and ">Pause infusion</button>" not in page
    assert '<input type="hidden" name="event" value="resume">' not in page  # not offered twice
    assert web.post(f"/sessions/{infusing}/step", data={"kind": "resume"}).status_code in (200, 303)
    assert _count(clients, InfusionEventRow, session_id=infusing, kind="resume") == 1
    assert clients.api("nurse").get(f"{API}/sessions/{infusing}").json()["state"] == "infusing"


def test_booking_refuses_an_order_that_is_not_this_patients_and_keeps_the_form(clients):
    web = clients.web("frontdesk")
    pid = clients.personas.patient_a
    page = web.get(f"/patients/{pid}/sessions/new")
    assert page.status_code == 200 and "No signed, double-checked dose order" in page.text
    r = web.post(
        f"/patients/{pid}/sessions/new",
        data={"dose_order_id": "999999", "chair": "Chair 5", "scheduled_at": "2026-12-01T09:30"},
    )
    assert r.status_code == 422
    assert 'id="e-dose_order_id"' in r.text and "not an order of this patient" in r.text
    r = web.post(f"/patients/{pid}/sessions/new", data={"dose_order_id": "", "chair": "", "scheduled_at": ""})
    assert "Not saved: 3 problems to fix" in r.text and "name the chair" in r.text


def test_discharge_items_appear_only_after_the_infusion(clients, now, infusing):  # noqa: F811
    web = clients.web("nurse")
    page = web.get(f"/sessions/{infusing}").text
    assert 'id="discharge-items"' not in page and 'name="dissociation_resolved"' not in page
    web.post(f"/sessions/{infusing}/step", data={"kind": "stop"})
    page = web.get(f"/sessions/{infusing}").text
    assert 'id="discharge-items"' in page
    assert '<option value="" selected>not answered</option>' in page.split('id="f-dissociation_resolved"', 1)[1]
