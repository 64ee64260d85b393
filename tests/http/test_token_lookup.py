"""Requests that arrive together with a token the process has not remembered look it up once (issue 15)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from fastapi.testclient import TestClient

from ketacare.services.access import auth
from tests.http.conftest import issue_token


def test_ten_requests_with_one_new_token_look_it_up_once(app, web_personas, monkeypatch):
    token = issue_token(web_personas.db, web_personas["nurse"].user_id)
    lookups = []
    real = auth.resolve

    def slow_resolve(**kwargs):
        lookups.append(threading.get_ident())
        time.sleep(0.3)  # the database is busy: the other requests arrive while this lookup runs
        return real(**kwargs)

    monkeypatch.setattr(auth, "resolve", slow_resolve)
    with TestClient(app) as client, ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(lambda _: client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}),
                                range(10)))
    assert [a.status_code for a in answers] == [200] * 10
    assert {a.json()["username"] for a in answers} == {"nurse"}
    assert len(lookups) == 1


def test_a_bad_token_is_still_refused_for_every_request_that_waited_for_its_lookup(app, monkeypatch):
    real = auth.resolve

    def slow_resolve(**kwargs):
        time.sleep(0.2)
        return real(**kwargs)

    monkeypatch.setattr(auth, "resolve", slow_resolve)
    with TestClient(app) as client, ThreadPoolExecutor(5) as pool:
        bad = {"Authorization": "Bearer not-a-token"}
        answers = list(pool.map(lambda _: client.get("/api/v1/auth/me", headers=bad), range(5)))
    assert [a.status_code for a in answers] == [401] * 5
