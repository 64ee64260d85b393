"""Issue 13 item 5 over HTTP: signing asks for the password in the page (error beside the field) and in the API
(a body field; 422 naming it, nothing stored); the meaning shows wherever the signature appears."""

from __future__ import annotations

import re

from tests.conftest import PASSWORD


def _draft(clients, pid):
    r = clients.api("prescriber").post(f"/api/v1/patients/{pid}/dose-orders", json={"protocol_id": "iv-standard"})
    assert r.status_code == 201, r.text
    return r.json()


def test_api_sign_needs_the_password_in_the_body(clients, web_personas):
    pid = web_personas.patient_a
    o = _draft(clients, pid)
    api = clients.api("prescriber")
    url = f"/api/v1/patients/{pid}/dose-orders/{o['id']}/sign"
    missing = api.post(url, json={"version": o["version"]})
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "password"
    wrong = api.post(url, json={"version": o["version"], "password": "not-my-password"})
    assert wrong.status_code == 422 and wrong.json()["errors"] == [
        {"field": "password", "message": "it does not match your account: enter your own password to sign"}
    ]
    assert api.get(f"/api/v1/patients/{pid}/dose-orders/{o['id']}").json()["status"] == "draft"
    ok = api.post(url, json={"version": o["version"], "password": PASSWORD})
    assert ok.status_code == 200 and ok.json()["signed_meaning"] == "approved"


def test_api_signing_is_delayed_after_repeated_wrong_passwords(clients, web_personas):
    pid = web_personas.patient_a
    o = _draft(clients, pid)
    api = clients.api("prescriber")
    url = f"/api/v1/patients/{pid}/dose-orders/{o['id']}/sign"
    for _ in range(5):  # the app's default threshold is 5 free failures
        assert api.post(url, json={"version": o["version"], "password": "not-my-password"}).status_code == 422
    r = api.post(url, json={"version": o["version"], "password": PASSWORD})
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0


def test_the_sign_page_asks_for_the_password_and_shows_the_meaning(clients, web_personas):
    pid = web_personas.patient_a
    o = _draft(clients, pid)
    web = clients.web("prescriber")
    url = f"/patients/{pid}/dose-orders/{o['id']}"
    page = web.get(f"{url}/sign")
    assert 'name="password"' in page.text and "Your signature: <span" in page.text and "Approved" in page.text
    wrong = web.post(f"{url}/sign", data={"version": o["version"], "password": "not-my-password"})
    assert wrong.status_code == 422
    assert re.search(r'id="e-password">it does not match your account', wrong.text)  # beside the field
    assert 'href="#f-password"' in wrong.text  # and in the summary at the top
    assert web.post(f"{url}/sign", data={"version": o["version"], "password": PASSWORD}).status_code == 303
    shown = web.get(url).text
    assert "signed by prescriber" in shown.lower() and "Approved" in shown  # the display name
    nurse = clients.web("nurse")
    check = nurse.get(f"{url}/double-check")
    assert 'name="password"' in check.text and "Reviewed" in check.text
    form = {"version": str(o["version"] + 1), "check_weight_kg": "70", "check_dose_mg": "35",
            "check_rate_ml_per_h": "150"}
    refused = nurse.post(f"{url}/double-check", data={**form, "password": "nope-nope-nope"})
    assert refused.status_code == 422 and 'id="e-password"' in refused.text
    assert 'value="35"' in refused.text  # the form keeps what was typed
    assert nurse.post(f"{url}/double-check", data={**form, "password": PASSWORD}).status_code == 303
    assert "Reviewed" in web.get(url).text


def test_the_eligibility_review_is_signed_on_its_confirmation_page(clients, web_personas):
    pid = web_personas.patient_a
    pres = clients.api("prescriber")
    ev = pres.post(f"/api/v1/patients/{pid}/eligibility/evaluate").json()["evaluation"]
    web = clients.web("prescriber")
    url = f"/patients/{pid}/screening/{ev['id']}/review"
    form = {"action": "accept", "version": ev["version"]}
    confirm = web.post(url, data=form)
    assert confirm.status_code == 200 and 'name="password"' in confirm.text and "Approved" in confirm.text
    wrong = web.post(url, data={**form, "confirmed": "yes", "password": "not-my-password"})
    assert wrong.status_code == 422 and 'id="e-password"' in wrong.text and 'name="confirmed"' in wrong.text
    assert web.post(url, data={**form, "confirmed": "yes", "password": PASSWORD}).status_code == 303
    read = pres.get(f"/api/v1/patients/{pid}/eligibility").json()
    assert read["status"] == "accepted" and read["review_meaning"] == "approved"
    page = web.get(f"/patients/{pid}/screening").text
    assert '(signature: <span class="signature-meaning">Approved</span>)' in page
