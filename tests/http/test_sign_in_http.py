"""Issue 14 items 1 and 4 over HTTP: one shared address (a clinic behind NAT), known devices, uniform refusals,
required TOTP, the administrator's page and the owner's notice (each test failed on the code before it)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select

from ketacare.app import create_app
from ketacare.config import Settings
from ketacare.services import clock
from ketacare.services.access import totp, users
from ketacare.store.tables import User
from tests.conftest import PASSWORD
from tests.http.conftest import Clients

DEVICE_COOKIE = "kc_device"


def _api_login(client: TestClient, username: str, password: str = PASSWORD, code: str | None = None):
    body = {"username": username, "password": password} | ({"totp_code": code} if code else {})
    return client.post("/api/v1/auth/login", json=body)


def _web_login(clients: Clients, username: str, password: str = PASSWORD, browser: TestClient | None = None):
    browser = browser or clients.web(None)
    r = browser.post("/login", data={"username": username, "password": password, "next": ""})
    return browser, r


def test_100_failed_logins_for_frontdesk_do_not_stop_nurse_logging_in_from_that_address(clients):
    attacker = clients.api(None)  # every TestClient request comes from the same address
    codes = {_api_login(attacker, "frontdesk", "wrong-wrong-wrong").status_code for _ in range(100)}
    assert codes == {401, 429}
    r = _api_login(clients.api(None), "nurse")
    assert r.status_code == 200 and r.json()["role"] == "nurse"
    browser, page = _web_login(clients, "nurse")
    assert page.status_code == 303


def test_anyone_keeping_prescriber_delayed_cannot_stop_her_from_a_known_device(clients):
    her, first = _web_login(clients, "prescriber")
    assert first.status_code == 303 and her.cookies.get(DEVICE_COOKIE)
    her.post("/logout")
    attacker = clients.api(None)
    for _ in range(10):
        _api_login(attacker, "prescriber", "wrong-wrong-wrong")
    assert _api_login(clients.api(None), "prescriber").status_code == 429  # a browser she never used waits
    _, again = _web_login(clients, "prescriber", browser=her)
    assert again.status_code == 303  # her own browser does not
    # and an API client that keeps the cookie it was given is a known device too
    api = clients.api(None)
    api.cookies.set(DEVICE_COOKIE, her.cookies.get(DEVICE_COOKIE))
    assert _api_login(api, "prescriber").status_code == 200


def test_login_refusals_look_the_same_whichever_factor_failed(clients, web_personas):
    users.enable_totp(db=web_personas.db, actor=web_personas["admin"], username="prescriber")
    with web_personas.db.session() as s:
        secret = s.scalar(select(User).where(User.username == "prescriber")).totp_secret
    wrong = f"{(int(totp.code_at(secret, clock.now())) + 1) % 1_000_000:06d}"
    answers = []
    for password, code in (("not-the-password", None), (PASSWORD, None), (PASSWORD, wrong)):
        client = clients.api(None)
        r = _api_login(client, "prescriber", password, code)
        answers.append((r.status_code, r.json()))
    assert len({(s, str(b)) for s, b in answers}) == 1 and answers[0][0] == 401


def test_a_role_the_clinic_requires_a_code_of_is_sent_to_enrol(sqlite_db, web_personas):
    app = create_app(
        Settings(database_url=sqlite_db.url, login_max_failures=3, totp_required_roles="prescriber"), db=sqlite_db
    )
    clients = Clients(app, web_personas)
    browser, r = _web_login(clients, "prescriber")
    assert r.status_code == 303 and r.headers["location"] == "/account/totp"
    blocked = browser.get("/patients")
    assert blocked.status_code == 303 and blocked.headers["location"] == "/account/totp"
    token = _api_login(clients.api(None), "prescriber").json()
    assert token["must_enrol_totp"] is True
    api = clients.api(None)
    api.headers["Authorization"] = f"Bearer {token['access_token']}"
    assert api.get(f"/api/v1/patients/{web_personas.patient_a}").status_code == 403
    page = browser.get("/account/totp")
    assert page.status_code == 200
    secret = re.search(r'name="secret" value="([A-Z2-7]+)"', page.text).group(1)
    wrong = browser.post("/account/totp", data={"secret": secret, "totp_code": "000000", "password": PASSWORD})
    assert wrong.status_code == 422 and 'id="e-totp_code"' in wrong.text
    code = totp.code_at(secret, clock.now())
    done = browser.post("/account/totp", data={"secret": secret, "totp_code": code, "password": PASSWORD})
    assert done.status_code == 303
    assert browser.get("/patients").status_code == 200
    assert api.get(f"/api/v1/patients/{web_personas.patient_a}").status_code == 200


def test_an_administrator_sees_and_clears_sign_in_delays(clients):
    attacker = clients.api(None)
    for _ in range(4):
        _api_login(attacker, "frontdesk", "wrong-wrong-wrong")
    assert _api_login(clients.api(None), "frontdesk").status_code == 429
    admin = clients.web("admin")
    page = admin.get("/admin/sign-in")
    assert page.status_code == 200 and "frontdesk" in page.text and "delayed" in page.text
    assert clients.web("nurse").get("/admin/sign-in").status_code == 403
    r = admin.post("/admin/sign-in/clear", data={"username": "frontdesk"})
    assert r.status_code == 303
    assert _api_login(clients.api(None), "frontdesk").status_code == 200


def test_the_owner_sees_failed_attempts_at_the_next_sign_in(clients):
    attacker = clients.api(None)
    for _ in range(2):
        _api_login(attacker, "therapist", "wrong-wrong-wrong")
    browser, r = _web_login(clients, "therapist")
    assert r.status_code == 303 and r.headers["location"].startswith("/account/sign-in-notice")
    notice = browser.get(r.headers["location"])
    assert "2 failed attempts" in notice.text and "testclient" in notice.text
    api = _api_login(clients.api(None), "therapist").json()
    assert api["failed_attempts"] is None  # told once
