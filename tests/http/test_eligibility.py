"""Eligibility screening over HTTP: the API and the screening page with its two-step review (issue #5)."""

from __future__ import annotations

import re

from ketacare.services.eligibility import screening as eligibility
from ketacare.store.tables.eligibility import EligibilityEvaluation
from tests.conftest import PASSWORD


def _pid(clients) -> int:
    return clients.personas.patient_a


def test_api_evaluate_read_and_review(clients):
    pid = _pid(clients)
    pres, nurse = clients.api("prescriber"), clients.api("nurse")
    assert pres.get(f"/api/v1/patients/{pid}/eligibility").json() is None
    r = nurse.post(f"/api/v1/patients/{pid}/eligibility/answers",
                   json={"answers": {"pregnant": "no", "substance.alcohol": "none"}})
    assert r.status_code == 201 and len(r.json()) == 2
    assert nurse.post(f"/api/v1/patients/{pid}/eligibility/evaluate").status_code == 403
    r = pres.post(f"/api/v1/patients/{pid}/eligibility/evaluate")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["stored"] and body["evaluation"]["decision"] == "insufficient_information"
    ev = body["evaluation"]
    assert nurse.get(f"/api/v1/patients/{pid}/eligibility").json()["id"] == ev["id"]
    url = f"/api/v1/patients/{pid}/eligibility/{ev['id']}/review"
    r = pres.post(url, json={"action": "override", "version": ev["version"], "decision": "eligible"})
    assert r.status_code == 422 and "reason" in r.text
    assert nurse.post(url, json={"action": "accept", "version": ev["version"], "password": PASSWORD}).status_code == 403
    r = pres.post(url, json={"action": "accept", "version": ev["version"], "password": PASSWORD})
    assert r.status_code == 200 and r.json()["status"] == "accepted"
    assert pres.post(url, json={"action": "accept", "version": ev["version"], "password": PASSWORD}).status_code == 409
    assert clients.api("patient_a").get(f"/api/v1/patients/{pid}/eligibility").status_code == 403


def test_screening_page_vitals_answers_evaluate_and_confirmed_override(clients):
    pid = _pid(clients)
    web = clients.web("prescriber")
    page = web.get(f"/patients/{pid}/screening")
    assert page.status_code == 200 and "No evaluation yet" in page.text
    assert f'href="/patients/{pid}/screening"' in web.get(f"/patients/{pid}").text
    r = web.post(f"/patients/{pid}/screening/vitals", data={"sbp": "185", "dbp": "", "hr": "80"})
    assert r.status_code == 422 and "diastolic" in r.text.lower()
    assert 'value="185"' in r.text  # the form keeps what was typed
    r = web.post(f"/patients/{pid}/screening/vitals", data={"sbp": "185", "dbp": "105", "hr": "80"})
    assert r.status_code == 303
    r = web.post(f"/patients/{pid}/screening/answers", data={"pregnant": "no", "breastfeeding": "no"})
    assert r.status_code == 303
    r = web.post(f"/patients/{pid}/screening/evaluate")
    assert r.status_code == 303
    page = web.get(r.headers["location"]).text
    assert "Decision: Not eligible" in page and "CI-BP-UNCONTROLLED" in page
    assert "Clinic-configurable · unverified" in page or "unverified" in page
    assert "Record it in" in page and "#screening-vitals" not in page  # BP is recorded now
    with clients.personas.db.session() as s:
        ev = s.query(EligibilityEvaluation).one()
    url = f"/patients/{pid}/screening/{ev.id}/review"
    r = web.post(url, data={"action": "override", "version": ev.version, "decision": "eligible", "reason": ""})
    assert r.status_code == 422 and "written reason" in r.text
    reason = "Repeat BP 142/88 after rest; discussed with cardiology."
    form = {"action": "override", "version": ev.version, "decision": "eligible", "reason": reason}
    r = web.post(url, data=form)
    assert r.status_code == 200 and "The rules decided <strong>Not eligible</strong>" in r.text
    assert re.search(r'name="confirmed" value="yes"', r.text)
    with clients.personas.db.session() as s:
        assert s.get(EligibilityEvaluation, ev.id).status == "pending_review"  # not yet
    r = web.post(url, data={**form, "confirmed": "yes", "password": PASSWORD})
    assert r.status_code == 303
    page = web.get(r.headers["location"]).text
    assert "Overridden by the prescriber" in page and reason in page
    with clients.personas.db.session() as s:
        row = s.get(EligibilityEvaluation, ev.id)
        assert row.status == "overridden" and eligibility.effective_decision(row) == "eligible"


def test_nurse_sees_the_page_but_cannot_evaluate_or_review(clients):
    pid = _pid(clients)
    eligibility.evaluate_patient(db=clients.personas.db, actor=clients.personas["prescriber"], patient_id=pid)
    web = clients.web("nurse")
    page = web.get(f"/patients/{pid}/screening").text
    assert "Insufficient information" in page and "Re-evaluate" not in page and "Override…" not in page
    assert web.post(f"/patients/{pid}/screening/evaluate").status_code == 403
    assert clients.web("frontdesk").get(f"/patients/{pid}/screening").status_code == 403
