"""The live session page's stream (issue #12 point 5): a new reading, a pump change and an alarm reach the open
page of that session, rendered by the server, and nothing of that session reaches another session's stream; the
stream is authorized and audited like the page, once when it is opened. On SQLite and on PostgreSQL, where the
change notices travel by LISTEN/NOTIFY."""

from __future__ import annotations

import asyncio
import json
import re
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select, text

from ketacare.app import create_app
from ketacare.config import Settings
from ketacare.services.sessions import bus
from ketacare.store.tables import AuditEvent
from tests.conftest import make_personas
from tests.http.conftest import issue_token
from tests.http.test_board_push import _Stream, _until
from tests.http.test_sessions_http import API, infusing, now  # noqa: F401 - fixtures


@pytest.fixture
def web_personas(db):
    return make_personas(db)


@pytest.fixture
def app(db, web_personas):
    application = create_app(Settings(database_url=db.url, login_max_failures=3), db=db)
    yield application
    bus.stop_listener(db)


def _listening(db) -> None:
    """On PostgreSQL, wait until this process's LISTEN thread receives notices (a notice sent before it listens
    is not delivered to it)."""
    if db.dialect != "postgresql":
        return
    bus.ensure_listener(db)
    b, deadline = bus.broadcaster(db), time.monotonic() + 30
    seen = b.seq
    while b.seq == seen:
        assert time.monotonic() < deadline, "the board listener never received a notice"
        with db.session() as s:
            s.execute(text("SELECT pg_notify(:c, :p)"), {"c": bus.CHANNEL, "p": '{"s": 0, "k": "probe"}'})
        time.sleep(0.1)


def _sessions(stream: _Stream) -> list[dict]:
    """The `session` events a stream received, as the page's script reads them."""
    out = []
    for block in stream.events("session"):
        data = next(line for line in block.splitlines() if line.startswith("data: "))
        out.append(json.loads(data.removeprefix("data: ")))
    return out


def _other_session(clients) -> int:
    """A second session, of patient B in another chair, checked in."""
    nurse = clients.api("nurse")
    r = nurse.post(
        f"{API}/sessions",
        json={"patient_id": clients.personas.patient_b, "chair": "Chair 7", "concentration_mg_per_ml": 1.0},
    )
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    assert nurse.post(f"{API}/sessions/{sid}/transitions", json={"event": "check_in"}).status_code == 200
    return sid


def _views(clients, sid: int) -> list[AuditEvent]:
    with clients.personas.db.session() as s:
        return list(
            s.scalars(
                select(AuditEvent).where(
                    AuditEvent.action == "view",
                    AuditEvent.resource_type == "infusion_session",
                    AuditEvent.resource_id == str(sid),
                )
            )
        )


def test_a_reading_a_pump_change_and_an_alarm_reach_that_session_page_only(clients, now, infusing):  # noqa: F811
    mine, other = infusing, _other_session(clients)
    nurse = clients.api("nurse")
    name = nurse.get(f"{API}/sessions/{mine}").json()["patient"]["name"]
    db, personas = clients.personas.db, clients.personas
    token = issue_token(db, personas["nurse"].user_id)
    views_before = len(_views(clients, mine))
    _listening(db)

    def post(path: str, body: dict, status: int = 201) -> None:
        r = nurse.post(f"{API}/sessions/{mine}/{path}", json=body)
        assert r.status_code == status, r.text

    async def scenario() -> None:
        page = _Stream(clients.app, token, f"/sessions/{mine}/events")
        elsewhere = _Stream(clients.app, token, f"/sessions/{other}/events")
        for s in (page, elsewhere):
            s.open()
        try:
            await _until(lambda: _sessions(page) and _sessions(elsewhere))
            opened = _sessions(page)[0]
            assert opened["state"] == "infusing"
            assert {"live-vitals", "alerts", "live-pump", "live-times", "live-guards"} <= set(opened["fragments"])

            # a monitor reading beyond the alert limit: the readings, the chart and the alarm come live
            await asyncio.to_thread(
                post, "vitals", {"sbp": 187, "dbp": 109, "hr": 88, "spo2": 97, "rr": 15}
            )
            await _until(lambda: len(_sessions(page)) >= 2)
            update = _sessions(page)[1]
            assert "alert" in update["kinds"]
            vitals = update["fragments"]["live-vitals"]
            assert 'data-vital="bp">187/109</span>' in vitals
            assert "abnormal abn-high" in vitals and "high" in vitals  # marked in words too
            assert 'data-series="sbp"' in vitals and 'data-series="rr"' in vitals  # the chart came with it
            alarm = update["fragments"]["alerts"]
            assert "HIGH" in alarm and "Blood pressure at or above 180/110" in alarm

            # the pump starts: the pump line and the dose come live
            await asyncio.to_thread(post, "infusion-events", {"kind": "start", "rate_ml_per_h": 120})
            await _until(lambda: any("infusion" in e["kinds"] for e in _sessions(page)))
            pumped = next(e for e in _sessions(page) if "infusion" in e["kinds"])
            assert "running" in pumped["fragments"]["live-pump"]
            assert "120.0 mL/h" in pumped["fragments"]["live-pump"]

            # nothing of that session reached the other session's page
            assert all(e["kinds"] in ([], ["time"]) for e in _sessions(elsewhere))
            assert "187/109" not in elsewhere.text and name not in elsewhere.text

            # ...which does receive its own session's reading
            r = nurse.post(f"{API}/sessions/{other}/vitals", json={"sbp": 118, "dbp": 74, "hr": 70, "spo2": 99})
            assert r.status_code == 201, r.text
            await _until(lambda: any("vitals" in e["kinds"] for e in _sessions(elsewhere)))
            assert "118/74" in elsewhere.text and "187/109" not in elsewhere.text
        finally:
            for s in (page, elsewhere):
                s.gone.set()
            await asyncio.gather(*(s.task for s in (page, elsewhere)), return_exceptions=True)

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, scenario()).result()

    # audited like the page: one view when the stream opened, none per update
    views = _views(clients, mine)
    assert len(views) == views_before + 1
    assert json.loads(views[-1].details) == {"live": True} and views[-1].actor_username == "nurse"


def test_the_stream_is_refused_to_whoever_may_not_read_the_session(clients, now, infusing):  # noqa: F811
    name = clients.api("nurse").get(f"{API}/sessions/{infusing}").json()["patient"]["name"]
    for who in ("patient_a", "patient_b", "frontdesk", "researcher"):
        r = clients.api(who).get(f"/sessions/{infusing}/events")
        assert r.status_code in (403, 404), (who, r.status_code)
        assert name not in r.text and "live-vitals" not in r.text
    anonymous = clients.api(None).get(f"/sessions/{infusing}/events")
    assert anonymous.status_code in (303, 401) and name not in anonymous.text  # sent to the sign-in page
    assert clients.api("nurse").get("/sessions/999999/events").status_code == 404


def test_a_client_that_does_not_follow_the_stream_gets_the_page_once(clients, now, infusing):  # noqa: F811
    r = clients.api("nurse").get(f"/sessions/{infusing}/events")  # no text/event-stream: one event, then the end
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/event-stream")
    assert r.text.count("event: session") == 1
    data = json.loads(next(ln for ln in r.text.splitlines() if ln.startswith("data: ")).removeprefix("data: "))
    assert data["state"] == "infusing"
    assert 'id="live-vitals"' in data["fragments"]["live-vitals"] and 'id="alerts"' in data["fragments"]["alerts"]


def test_the_board_and_the_page_mark_a_value_beyond_its_limit_in_words_not_colour_alone(
    clients, now, infusing  # noqa: F811
):
    nurse = clients.api("nurse")
    r = nurse.post(f"{API}/sessions/{infusing}/vitals", json={"sbp": 186, "dbp": 96, "hr": 80, "spo2": 90, "rr": 14})
    assert r.status_code == 201, r.text
    web = clients.web("nurse")
    board = web.get("/board").text
    chair = board[board.index(f'id="chair-{infusing}"') :]
    page = web.get(f"/sessions/{infusing}").text
    latest = page[page.index('class="vitals latest-vitals"') :]
    for html in (chair, latest):
        assert 'abnormal abn-high" data-vital="bp">186/96</span>' in html
        assert 'data-flag="sbp"' in html and "</span> high<" in html  # "↑ high": an arrow and a word
        assert "beyond the alert limit systolic BP ≥ 180 mmHg" in html  # said in full to screen readers
        assert 'data-vital="spo2">90</span>' in html and 'data-flag="spo2"' in html and "</span> low<" in html
        assert re.search(r'data-vital="hr">80</span> <span class="unit">/min</span>\s*<time', html)  # normal: no mark
