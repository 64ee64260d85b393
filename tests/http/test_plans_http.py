"""Treatment plans over HTTP (issue 16): the API (create, show, propose, decide; 403 and 422 naming the field) and
the plan page: a plan from a template with errors beside the fields, the course table and chart, the proposal with
its rules and sources, a signed decision, and the next dose order pre-filled from it."""

from __future__ import annotations

import re

from ketacare.store.tables.plans import TreatmentPlan
from tests.conftest import PASSWORD
from tests.services.test_plans import _course, at  # noqa: F401  (fixture)


def _count(db) -> int:
    with db.session() as s:
        return s.query(TreatmentPlan).count()


def test_api_create_show_propose_and_refusals(clients, at):  # noqa: F811
    pid = clients.personas.patient_a
    pres, nurse = clients.api("prescriber"), clients.api("nurse")
    body = {"template_id": "iv-induction", "indication": "gad", "goals": [{"instrument_id": "gad7", "target_score": 7}]}
    r = pres.post(f"/api/v1/patients/{pid}/plans", json={**body, "password": "not my password"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "password"
    r = pres.post(f"/api/v1/patients/{pid}/plans", json={**body, "dose_mg_per_kg": 2, "password": PASSWORD})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "dose_mg_per_kg"
    assert nurse.post(f"/api/v1/patients/{pid}/plans", json={**body, "password": PASSWORD}).status_code == 403
    assert _count(clients.personas.db) == 0
    r = pres.post(f"/api/v1/patients/{pid}/plans", json={**body, "password": PASSWORD})
    assert r.status_code == 201, r.text
    plan = r.json()
    assert plan["versions"][0]["signed_meaning"] == "approved"
    view = nurse.get(f"/api/v1/patients/{pid}/plans/current").json()
    assert view["plan"]["id"] == plan["id"] and view["rows"] == [] and view["next_step"]["sessions_given"] == 0
    r = pres.post(f"/api/v1/patients/{pid}/plans/{plan['id']}/proposals")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "plan"  # no session given yet
    assert clients.api("patient_a").get(f"/api/v1/patients/{pid}/plans/current").status_code == 403
    assert any(t["id"] == "sc-ascending" for t in pres.get("/api/v1/plan-templates").json())
    assert pres.get("/api/v1/plans/relapse-flags").json() == []


def test_plan_page_from_template_to_decision_and_prefilled_order(clients, at):  # noqa: F811
    personas = clients.personas
    pid = personas.patient_a
    web = clients.web("prescriber")
    assert f'href="/patients/{pid}/plan"' in web.get(f"/patients/{pid}").text
    page = web.get(f"/patients/{pid}/plan")
    assert page.status_code == 200 and "No plan yet" in page.text
    r = web.post(f"/patients/{pid}/plan/new", data={"template_id": "iv-induction", "indication": "gad",
                                                     "goal_instrument": "gad7", "goal_target": "",
                                                     "password": PASSWORD})
    assert r.status_code == 422 and 'id="e-goal_target"' in r.text  # the error beside its field
    assert '<option value="gad7" selected>' in r.text  # the form keeps what was typed
    assert _count(personas.db) == 0
    plan = _course(personas, at, [(17, 15), (15, 12), (12, 10)])  # three sessions given
    page = web.get(f"/patients/{pid}/plan")
    assert page.status_code == 200
    text = page.text
    assert plan.template_name in text and "Prescriber" in text and 'href="/sources#' in text
    assert text.count('<tr><td class="num"><a href="/sessions/') == 3
    assert '<svg class="chart course-chart"' in text and "<desc" in text
    assert "Propose the next dose" in text
    r = web.post(f"/patients/{pid}/plan/{plan.id}/propose", data={})
    assert r.status_code == 303
    text = web.get(f"/patients/{pid}/plan").text
    assert "Raise the dose" in text and "escalate.not_responding" in text and "0.60 mg/kg" in text
    version = re.search(r'name="version" value="(\d+)"', text.split('id="decision-form"')[1]).group(1)
    url = re.search(r'action="(/patients/\d+/plan/proposals/\d+/decision)"', text).group(1)
    r = web.post(url, data={"version": version, "decision": "accept", "password": "wrong one"})
    assert r.status_code == 422 and 'id="e-dec-password"' in r.text
    r = web.post(url, data={"version": version, "decision": "reject", "password": PASSWORD})
    assert r.status_code == 422 and 'id="e-dec-reason"' in r.text
    r = web.post(url, data={"version": version, "decision": "accept", "password": PASSWORD})
    assert r.status_code == 303
    text = web.get(f"/patients/{pid}/plan").text
    assert "Accepted" in text and "pre-filled from the accepted proposal" in text
    order_page = web.get(f"/patients/{pid}/dose-orders").text
    assert 'id="prefill-note"' in order_page and 'name="mg_per_kg" type="text" value="0.6"' in order_page
    nurse_page = clients.web("nurse").get(f"/patients/{pid}/plan").text
    assert "decision-form" not in nurse_page and plan.template_name in nurse_page
