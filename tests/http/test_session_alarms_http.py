"""Alarms over HTTP: a HIGH alarm for 182/112 stays latched ("resolved, not acknowledged") after a normal reading,
is acknowledged with the action taken from the API, the session page or the board, and the pages carry
role=alert / aria-live, the state in words, and the sound controls."""

from __future__ import annotations

from datetime import timedelta

from tests.http import test_sessions_http as base

API = base.API
now, infusing = base.now, base.infusing  # the sessions HTTP tests' fixtures
_reading = base._reading


def _latched(clients, now, sid):
    """182/112, then 5 s later a normal reading: the alarm stays, waiting for acknowledgement."""
    nurse = clients.api("nurse")
    start = now.t
    now.t += timedelta(minutes=3)
    batch = [
        _reading("g-hi", start + timedelta(minutes=2), sbp=182, dbp=112),
        _reading("g-ok", start + timedelta(minutes=2, seconds=5), sbp=128, dbp=80),
    ]
    r = nurse.post(f"{API}/sessions/{sid}/vitals/batch", json={"readings": batch})
    assert r.status_code == 200 and len(r.json()["alerts_raised"]) == 1 and r.json()["alerts_resolved"] == []
    (a,) = nurse.get(f"{API}/sessions/{sid}").json()["alerts"]
    return a


def test_the_api_keeps_a_high_alarm_latched_until_acknowledged_with_the_action(clients, now, infusing):
    a = _latched(clients, now, infusing)
    assert (a["priority"], a["status"], a["status_text"]) == (
        "high",
        "resolved_unacknowledged",
        "resolved, not acknowledged",
    )
    assert a["needs_acknowledgement"] and not a["condition_present"] and "128/80" in a["clear_reason"]
    nurse = clients.api("nurse")
    board = nurse.get(f"{API}/board").json()
    assert [x["status"] for c in board if c["session_id"] == infusing for x in c["alerts"]] == [
        "resolved_unacknowledged"
    ]
    url = f"{API}/sessions/{infusing}/alerts/{a['id']}/acknowledge"
    for body in ({}, {"action_taken": "   "}):
        r = nurse.post(url, json=body)
        assert r.status_code == 422 and [e["field"] for e in r.json()["errors"]] == ["action_taken"]
    assert nurse.get(f"{API}/sessions/{infusing}").json()["alerts"][0]["status"] == "resolved_unacknowledged"
    r = nurse.post(url, json={"action_taken": "manual cuff 130/84; patient well; prescriber told"})
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["status"] == "resolved" and done["resolution"] == "acknowledged after the condition resolved"
    assert done["acknowledgements"][0]["action_taken"].startswith("manual cuff")
    assert [h["text"].split(":")[0] for h in done["history"]][:2] == [
        "Blood pressure at or above 180/110",
        "back within limits with margin",
    ]
    board = nurse.get(f"{API}/board").json()
    assert [x for c in board if c["session_id"] == infusing for x in c["alerts"]] == []
    assert nurse.post(url, json={"action_taken": "again"}).status_code == 422


def test_the_session_page_shows_the_latched_alarm_and_takes_the_action(clients, now, infusing):
    a = _latched(clients, now, infusing)
    web = clients.web("nurse")
    page = web.get(f"/sessions/{infusing}")
    assert page.status_code == 200
    html = page.text
    assert 'id="alarm-summary" role="alert"' in html and 'aria-live="polite"' in html
    assert (
        "1 alarm waiting for acknowledgement: HIGH Blood pressure at or above 180/110 (resolved, not acknowledged)"
        in " ".join(html.split())  # as the page reads
    )
    assert 'data-alarm="high"' in html and "▲" in html
    assert (
        'id="sound-toggle"' in html and 'id="sound-pause" hidden' in html and "/static/alarm_sound.js" in html
    )
    fragment = web.get(f"/sessions/{infusing}/alarms")
    assert (
        fragment.status_code == 200
        and "<html" not in fragment.text
        and "resolved, not acknowledged" in fragment.text
    )
    # an empty action is refused beside the field, nothing stored
    url = f"/sessions/{infusing}/alerts/{a['id']}/acknowledge"
    r = web.post(url, data={"action_taken": ""})
    assert r.status_code == 422
    assert f'id="e-ack{a["id"]}-action_taken"' in r.text and f'href="#f-ack{a["id"]}-action_taken"' in r.text
    assert (
        clients.api("nurse").get(f"{API}/sessions/{infusing}").json()["alerts"][0]["acknowledgements"] == []
    )
    r = web.post(url, data={"action_taken": "rechecked 126/80, prescriber informed"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/sessions/{infusing}#alerts"
    html = web.get(f"/sessions/{infusing}").text
    assert "No alarm waiting for acknowledgement." in " ".join(html.split())
    assert "Acknowledged by Nurse at" in html and "rechecked 126/80, prescriber informed" in html


def test_the_board_acknowledges_with_the_action_and_goes_back_to_the_board(clients, now, infusing):
    a = _latched(clients, now, infusing)
    web = clients.web("nurse")
    board = web.get("/board").text
    assert f'action="/sessions/{infusing}/alerts/{a["id"]}/acknowledge"' in board
    assert (
        'name="back" value="board"' in board
        and "resolved, not acknowledged" in board
        and 'role="alert"' in board
    )
    r = web.post(
        f"/sessions/{infusing}/alerts/{a['id']}/acknowledge",
        data={"action_taken": "paused the pump, Dr Okafor called", "back": "board"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == f"/board#chair-{infusing}"
    shown = clients.api("nurse").get(f"{API}/sessions/{infusing}").json()["alerts"][0]
    assert shown["status"] == "resolved" and shown["acknowledged_by"] == "Nurse"


def test_an_unacknowledged_high_alarm_escalates_to_the_board_and_the_prescribers_dashboard(
    clients, now, infusing
):
    from ketacare.services.sessions import alerts

    nurse = clients.api("nurse")
    start = now.t
    now.t += timedelta(minutes=1)
    r = nurse.post(
        f"{API}/sessions/{infusing}/vitals/batch",
        json={"readings": [_reading("esc-1", start + timedelta(seconds=30), sbp=186, dbp=104)]},
    )
    (aid,) = r.json()["alerts_raised"]
    assert "Escalated chair alarms" not in clients.web("prescriber").get("/dashboard").text
    now.t = start + timedelta(minutes=2, seconds=31)  # unacknowledged for 2 min: escalates
    alerts.sweep_overdue(db=clients.personas.db, now=now.t)
    (a,) = nurse.get(f"{API}/sessions/{infusing}").json()["alerts"]
    assert a["escalated"] and a["escalated_at"] is not None
    dash = clients.web("prescriber").get("/dashboard").text
    assert (
        "Escalated chair alarms" in dash and "Chair 2" in dash and f"/sessions/{infusing}#alarm-{aid}" in dash
    )
    assert (
        "HIGH · ESCALATED" in dash and "Blood pressure at or above 180/110 (active, not acknowledged)" in dash
    )
    board = clients.web("nurse").get("/board").text
    assert "Escalated: not acknowledged in time" in board and "chair level-high escalated" in board
    done = nurse.post(
        f"{API}/sessions/{infusing}/alerts/{aid}/acknowledge",
        json={"action_taken": "infusion paused; BP 170/98"},
    ).json()
    assert done["status"] == "acknowledged" and not done["escalated"]
    assert "Escalated chair alarms" not in clients.web("prescriber").get("/dashboard").text
