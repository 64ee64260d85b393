"""The board's live push (issue #12): one change is loaded and rendered once per app process, however many board
streams are open, and every open board receives it."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from ketacare.services.sessions import board as board_reads
from tests.http import test_sessions_http as sessions_http
from tests.http.conftest import issue_token

API = "/api/v1"
STREAMS = 12
now, infusing = sessions_http.now, sessions_http.infusing  # the sessions HTTP tests' fixtures


class _Stream:
    """One open `GET /board/events` (or another event stream: `path`), as an EventSource opens it, driven
    directly through the app's ASGI interface."""

    def __init__(self, app, token: str, path: str = "/board/events", cookie: str = "") -> None:
        self.app, self.token, self.path, self.cookie = app, token, path, cookie
        self.text = ""
        self.gone = asyncio.Event()
        self.task: asyncio.Task | None = None

    def open(self) -> None:
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": self.path,
            "raw_path": self.path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [
                (b"host", b"testserver"),
                (b"accept", b"text/event-stream"),
                (b"authorization", f"Bearer {self.token}".encode()),
                *([(b"cookie", self.cookie.encode())] if self.cookie else []),
            ],
            "client": ("127.0.0.1", 50000),
            "server": ("testserver", 80),
        }
        asked = False

        async def receive():
            nonlocal asked
            if not asked:
                asked = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await self.gone.wait()
            return {"type": "http.disconnect"}

        async def send(message):
            if message["type"] == "http.response.start":
                assert message["status"] == 200
            elif message["type"] == "http.response.body":
                self.text += message.get("body", b"").decode()

        await self.app(scope, receive, send)

    def events(self, name: str) -> list[str]:
        return [block for block in self.text.split("\n\n") if f"event: {name}\n" in block]


async def _until(check, timeout_s: float = 30.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not check():
            await asyncio.sleep(0.01)


def test_one_change_is_loaded_once_per_process_and_reaches_every_open_board(clients, monkeypatch):
    nurse = clients.api("nurse")
    r = nurse.post(
        f"{API}/sessions",
        json={"patient_id": clients.personas.patient_a, "chair": "Chair 3", "concentration_mg_per_ml": 1.0},
    )
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    assert nurse.post(f"{API}/sessions/{sid}/transitions", json={"event": "check_in"}).status_code == 200

    loads: list[list[int]] = []
    lock = threading.Lock()
    real = board_reads.board_chairs

    def counted(**kw):
        with lock:
            loads.append(kw["session_ids"])
        return real(**kw)

    monkeypatch.setattr(board_reads, "board_chairs", counted)
    db, personas = clients.personas.db, clients.personas
    who = ["nurse", "prescriber"]  # the roles that may read the board; each stream is its own login
    tokens = [issue_token(db, personas[who[k % len(who)]].user_id) for k in range(STREAMS)]

    def post_reading(sbp: int) -> None:
        r = nurse.post(f"{API}/sessions/{sid}/vitals", json={"sbp": sbp, "dbp": 80, "hr": 72, "spo2": 98})
        assert r.status_code == 201, r.text

    async def scenario() -> None:
        streams = [_Stream(clients.app, t) for t in tokens]
        for s in streams:
            s.open()
        try:
            await _until(lambda: all(s.events("snapshot") for s in streams))
            assert all("Chair 3" in s.events("snapshot")[0] for s in streams)

            await asyncio.to_thread(post_reading, 141)
            await _until(lambda: all(s.events("chair") for s in streams))
            assert loads == [[sid]]  # one load for twelve open boards
            first = {s.events("chair")[0] for s in streams}
            assert len(first) == 1 and "141" in first.pop()  # the same card, showing the new reading

            await asyncio.to_thread(post_reading, 152)
            await _until(lambda: all(len(s.events("chair")) == 2 for s in streams))
            assert loads == [[sid], [sid]]  # the next change is loaded again, once
            assert all("152" in s.events("chair")[1] for s in streams)
        finally:
            for s in streams:
                s.gone.set()
            await asyncio.gather(*(s.task for s in streams), return_exceptions=True)

    # its own thread and event loop (the streams' server side), whatever loop the test session already runs
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, scenario()).result()


def test_each_open_board_gets_the_shared_card_with_its_own_csrf_token(clients, now, infusing):
    nurse = clients.api("nurse")
    db, personas = clients.personas.db, clients.personas
    tokens = [issue_token(db, personas["nurse"].user_id) for _ in range(2)]
    start = now.t
    now.t += timedelta(minutes=3)
    high = [sessions_http._reading("csrf-hi", start + timedelta(minutes=2), sbp=182, dbp=112)]

    async def scenario() -> tuple[str, str]:
        a = _Stream(clients.app, tokens[0], cookie="kc_csrf=token-of-a")
        b = _Stream(clients.app, tokens[1], cookie="kc_csrf=token-of-b")
        for s in (a, b):
            s.open()
        try:
            await _until(lambda: bool(a.events("snapshot") and b.events("snapshot")))
            r = await asyncio.to_thread(
                nurse.post, f"{API}/sessions/{infusing}/vitals/batch", json={"readings": high}
            )
            assert r.status_code == 200, r.text
            await _until(lambda: bool(a.events("chair") and b.events("chair")))
            return a.events("chair")[0], b.events("chair")[0]
        finally:
            for s in (a, b):
                s.gone.set()
            await asyncio.gather(*(s.task for s in (a, b)), return_exceptions=True)

    with ThreadPoolExecutor(1) as pool:
        seen_a, seen_b = pool.submit(asyncio.run, scenario()).result()
    # the alarm a nurse may acknowledge from the board, each with the token of the browser it is in
    assert "Acknowledge" in seen_a and "Acknowledge" in seen_b
    assert 'value=\\"token-of-a\\"' in seen_a and "token-of-b" not in seen_a
    assert 'value=\\"token-of-b\\"' in seen_b and "token-of-a" not in seen_b
