"""The infusion-session API over HTTP: idempotent gateway batches, one alert per held condition, acknowledgement,
who is refused, and bad readings refused with the field named and nothing stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from ketacare.services import clock, dosing, eligibility, measurement
from ketacare.store.tables import AuditEvent
from ketacare.store.tables.sessions import SessionAlert, VitalSign
from tests.consent_support import give_consent

API = "/api/v1"


class FakeClock:
    def __init__(self) -> None:
        self.t = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.t


@pytest.fixture
def now(monkeypatch) -> FakeClock:
    c = FakeClock()
    monkeypatch.setattr(clock, "now", c)
    return c


@pytest.fixture
def infusing(clients, now, monkeypatch):
    """A session of patient A started through the API (dose order, eligibility, questionnaires stand in; the
    patient's consent is signed and countersigned)."""
    order = SimpleNamespace(id=1, route="iv", signed_at=now.t, double_checked_at=now.t, dose_mg=35.0)
    give_consent(clients.personas)
    pre = [
        SimpleNamespace(instrument_id="gad7", context="pre_session"),
        SimpleNamespace(instrument_id="cssrs_screen", context="pre_session"),
    ]
    evaluation = SimpleNamespace(status="accepted", decision="eligible", override_decision=None)
    monkeypatch.setattr(dosing, "usable_order", lambda s, pid: order)
    monkeypatch.setattr(measurement, "responses_for_session", lambda s, sid: pre)
    monkeypatch.setattr(eligibility, "current_evaluation", lambda s, pid: evaluation)
    # the guard facts read these for all the sessions they are asked about at once
    monkeypatch.setattr(dosing, "usable_order_by_patient", lambda s, pids: {p: order for p in pids if order})
    monkeypatch.setattr(measurement, "responses_for_sessions", lambda s, sids: {i: pre for i in sids})
    monkeypatch.setattr(eligibility, "current_evaluations", lambda s, pids: dict.fromkeys(pids, evaluation))
    nurse = clients.api("nurse")
    pid = clients.personas.patient_a
    r = nurse.post(
        f"{API}/sessions",
        json={"patient_id": pid, "chair": "Chair 2", "planned_dose_mg": 35, "concentration_mg_per_ml": 1.0},
    )
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    assert nurse.post(f"{API}/sessions/{sid}/transitions", json={"event": "check_in"}).status_code == 200
    version = nurse.get(f"{API}/sessions/{sid}").json()["version"]
    checks = {
        "version": version,
        "escort_confirmed": True,
        "pregnancy_test_negative": True,
        "last_food_at": (now.t - timedelta(hours=3)).isoformat(),
        "last_liquid_at": (now.t - timedelta(hours=1)).isoformat(),
    }
    assert nurse.patch(f"{API}/sessions/{sid}/checks", json=checks).status_code == 200
    base = {"sbp": 124, "dbp": 78, "hr": 72, "spo2": 98, "rr": 14}
    assert nurse.post(f"{API}/sessions/{sid}/vitals", json=base).status_code == 201
    for event in ("pass_prechecks", "start_infusion"):
        r = nurse.post(f"{API}/sessions/{sid}/transitions", json={"event": event})
        assert r.status_code == 200, r.text
    assert r.json()["state"] == "infusing"
    return sid


def _reading(client_id: str, at: datetime, sbp=130, dbp=80, **kw) -> dict:
    return {
        "client_id": client_id,
        "measured_at": at.isoformat(),
        "sbp": sbp,
        "dbp": dbp,
        "hr": 78,
        "spo2": 98,
        "rr": 14,
    } | kw


def _count(clients, model, **where) -> int:
    with clients.personas.db.session() as s:
        q = select(func.count()).select_from(model)
        for k, v in where.items():
            q = q.where(getattr(model, k) == v)
        return s.scalar(q)


def test_a_batch_posted_twice_stores_each_reading_once(clients, now, infusing):
    nurse = clients.api("nurse")
    start = now.t
    now.t += timedelta(minutes=12)
    batch = {"readings": [_reading(f"gw-{k}", start + timedelta(minutes=k + 1)) for k in range(10)]}
    first = nurse.post(f"{API}/sessions/{infusing}/vitals/batch", json=batch)
    again = nurse.post(f"{API}/sessions/{infusing}/vitals/batch", json=batch)  # the gateway retried
    assert first.status_code == again.status_code == 200
    assert (first.json()["stored"], first.json()["duplicates"]) == (10, 0)
    assert (again.json()["stored"], again.json()["duplicates"]) == (0, 10)
    assert _count(clients, VitalSign, session_id=infusing, source="gateway") == 10


def test_a_reading_resent_with_other_values_is_a_conflict_the_nurse_sees(clients, now, infusing):
    nurse = clients.api("nurse")
    at = now.t + timedelta(minutes=1)
    now.t += timedelta(minutes=5)
    url = f"{API}/sessions/{infusing}/vitals/batch"
    nurse.post(url, json={"readings": [_reading("mon-0001", at, device_id="bay-1")]})
    res = nurse.post(url, json={"readings": [_reading("mon-0001", at, device_id="bay-1", hr=160)]})
    assert res.status_code == 200
    body = res.json()
    assert body["stored"] == 1 and body["duplicates"] == 0
    assert body["conflicts"][0]["client_id"] == "mon-0001" and body["conflicts"][0]["device_id"] == "bay-1"
    page = clients.web("nurse").get(f"/sessions/{infusing}").text
    assert "1 conflicting reading from a monitor" in page and "HR 160 /min" in page


def test_186_over_104_held_raises_one_alert_and_the_acknowledgement_records_who_and_what(
    clients, now, infusing
):
    nurse = clients.api("nurse")
    start = now.t
    now.t += timedelta(minutes=25)
    high = [_reading(f"hi-{k}", start + timedelta(minutes=5 * k + 1), sbp=186, dbp=104) for k in range(5)]
    r1 = nurse.post(f"{API}/sessions/{infusing}/vitals/batch", json={"readings": high[:2]}).json()
    r2 = nurse.post(f"{API}/sessions/{infusing}/vitals/batch", json={"readings": high[2:]}).json()
    assert len(r1["alerts_raised"]) == 1 and r2["alerts_raised"] == []

    alerts = nurse.get(f"{API}/sessions/{infusing}").json()["alerts"]
    assert len(alerts) == 1
    a = alerts[0]
    assert (a["rule_id"], a["priority"], a["status"]) == ("bp_severe", "high", "raised")
    assert "186/104" in a["trigger"] and a["advice"].startswith("Recheck BP")
    board = nurse.get(f"{API}/board").json()
    assert [x["id"] for c in board if c["session_id"] == infusing for x in c["alerts"]] == [a["id"]]

    r = nurse.post(
        f"{API}/sessions/{infusing}/alerts/{a['id']}/acknowledge",
        json={"action_taken": "rechecked: 184/102, prescriber called"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["acknowledged_by"] == "Nurse" and r.json()["status"] == "acknowledged"
    shown = nurse.get(f"{API}/sessions/{infusing}").json()["alerts"][0]
    assert (
        shown["acknowledged_by"] == "Nurse"
        and shown["action_taken"] == "rechecked: 184/102, prescriber called"
    )
    assert shown["acknowledged_at"] is not None
    with clients.personas.db.session() as s:
        ev = s.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "acknowledge", AuditEvent.resource_id == str(a["id"])
            )
        ).one()
    assert ev.actor_username == "nurse" and "prescriber called" in ev.details
    again = clients.api("prescriber").post(
        f"{API}/sessions/{infusing}/alerts/{a['id']}/acknowledge", json={"action_taken": "again"}
    )
    assert again.status_code == 422


@pytest.mark.parametrize("persona", ["frontdesk", "patient_b", "patient_a", "researcher"])
def test_people_outside_the_care_team_are_refused(clients, now, infusing, persona):
    c = clients.api(persona)
    reading = {"readings": [_reading("x-1", now.t)]}
    assert c.get(f"{API}/sessions/{infusing}").status_code in (403, 404)
    assert c.get(f"{API}/sessions").status_code in (403, 404)
    assert c.post(f"{API}/sessions/{infusing}/vitals/batch", json=reading).status_code in (403, 404)
    assert c.post(f"{API}/sessions/{infusing}/vitals", json={"hr": 80}).status_code in (403, 404)
    assert c.post(
        f"{API}/sessions/{infusing}/alerts/1/acknowledge", json={"action_taken": "looked"}
    ).status_code in (403, 404)
    assert _count(clients, VitalSign, session_id=infusing, client_id="x-1") == 0
    if persona == "patient_b":  # another patient's readings are hidden too
        pid = clients.personas.patient_a
        assert c.get(f"{API}/patients/{pid}/vitals").status_code in (403, 404)


def test_a_nurse_can_read_and_chart_and_an_anonymous_caller_cannot(clients, now, infusing):
    assert clients.api(None).get(f"{API}/sessions/{infusing}").status_code == 401
    assert clients.api("nurse").get(f"{API}/sessions/{infusing}").status_code == 200


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"sbp": 700}, "readings[1].sbp"),
        ({"spo2": 140}, "readings[1].spo2"),
        ({"measured_at": None}, "readings.1.measured_at"),
        ({"client_id": None}, "readings.1.client_id"),
    ],
)
def test_a_bad_reading_is_refused_with_its_field_named_and_nothing_is_stored(
    clients, now, infusing, change, field
):
    nurse = clients.api("nurse")
    before = _count(clients, VitalSign, session_id=infusing)
    good = _reading("ok-1", now.t)
    bad = {k: v for k, v in (_reading("bad-1", now.t) | change).items() if v is not None}
    r = nurse.post(f"{API}/sessions/{infusing}/vitals/batch", json={"readings": [good, bad]})
    assert r.status_code == 422, r.text
    fields = [e["field"] for e in r.json()["errors"]]
    assert field in fields, fields
    assert _count(clients, VitalSign, session_id=infusing) == before
    assert _count(clients, SessionAlert, session_id=infusing) == 0


def test_a_nurse_reading_with_only_half_a_blood_pressure_is_refused(clients, now, infusing):
    nurse = clients.api("nurse")
    before = _count(clients, VitalSign, session_id=infusing)
    r = nurse.post(f"{API}/sessions/{infusing}/vitals", json={"sbp": 130, "hr": 80})
    assert r.status_code == 422
    assert "diastolic" in r.json()["detail"]
    assert _count(clients, VitalSign, session_id=infusing) == before


def test_the_session_page_links_each_due_assessment_to_a_prefilled_entry_form(
    clients, now, infusing, monkeypatch
):
    web = clients.web("nurse")
    pid = clients.personas.patient_a
    page = web.get(f"/sessions/{infusing}")
    assert page.status_code == 200 and "Assessments for this session" in page.text
    link = f"/patients/{pid}/questionnaires/moaas?session_id={infusing}&amp;context=during_session"
    assert link in page.text
    form = web.get(link.replace("&amp;", "&"))
    assert form.status_code == 200
    assert f'name="session_id" inputmode="numeric" value="{infusing}"' in form.text
    assert '<option value="during_session" selected>' in form.text
    r = web.post(
        f"/patients/{pid}/questionnaires/moaas",
        data={"context": "during_session", "session_id": str(infusing), "moaas_1": "5"},
    )
    assert r.status_code == 303 and r.headers["location"] == f"/sessions/{infusing}#assessments"
    page = web.get(f"/sessions/{infusing}")
    assert "✓ done: moaas" in page.text
    other = web.post(
        f"/patients/{clients.personas.patient_b}/questionnaires/moaas",
        data={"context": "during_session", "session_id": str(infusing), "moaas_1": "5"},
    )
    assert other.status_code == 422 and "no infusion session with this number" in other.text


REMS_ANSWERS = {
    "rems_enrolled": "yes",
    "rems_first_treatment": "no",
    "concomitant_benzodiazepines": "no",
    "concomitant_non_benzodiazepine_hypnotics": "no",
    "concomitant_psychostimulants": "yes",
    "concomitant_maois": "no",
    "concomitant_opioids": "no",
}


def test_esketamine_session_page_records_the_rems_patient_and_concomitant_medication_answers(clients, now):
    """Issue 11 point 10: the REMS form's enrolment, first-treatment and concomitant-medication questions are
    on the session page, stored, and part of the completeness check."""
    nurse = clients.api("nurse")
    r = nurse.post(
        f"{API}/sessions",
        json={
            "patient_id": clients.personas.patient_a,
            "chair": "Chair 3",
            "product": "esketamine",
            "planned_dose_mg": 56,
        },
    )
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    web = clients.web("nurse")
    page = web.get(f"/sessions/{sid}")
    assert page.status_code == 200 and 'name="concomitant_maois"' in page.text
    assert "enrolled in the SPRAVATO REMS (yes/no) is not recorded" in page.text
    assert "Concomitant opioids (yes/no) are not recorded" in page.text
    version = nurse.get(f"{API}/sessions/{sid}").json()["version"]
    form = {"version": str(version)} | REMS_ANSWERS | {f"has_{k}": "1" for k in REMS_ANSWERS}
    assert web.post(f"/sessions/{sid}/checks", data=form).status_code in (200, 303)
    after = nurse.get(f"{API}/sessions/{sid}").json()
    assert after["rems_enrolled"] is True and after["concomitant_psychostimulants"] is True
    assert after["concomitant_maois"] is False
    missing = {m["field"] for m in after["rems_missing"]}
    assert not missing & {"enrolled", "first_treatment", "concomitant_benzodiazepines", "concomitant_opioids"}
    rems_card = web.get(f"/sessions/{sid}").text.split('id="h-rems"', 1)[1].split("</section>", 1)[0]
    assert "SPRAVATO REMS (yes/no)" not in rems_card and "Concomitant" not in rems_card
    not_enrolled = {"version": str(after["version"]), "rems_enrolled": "no", "has_rems_enrolled": "1"}
    web.post(f"/sessions/{sid}/checks", data=not_enrolled)
    assert "must enrol the patient before the first treatment" in web.get(f"/sessions/{sid}").text


def test_rems_medication_questions_show_what_the_medication_list_holds(clients, now):
    """The nurse answers each REMS medication question; the page shows the active medications of that class."""
    pid = clients.personas.patient_a
    presc = clients.api("prescriber")
    for name in ("Ativan", "zolpidem"):
        r = presc.post(
            f"{API}/patients/{pid}/medications",
            json={"name": name, "dose_value": 1, "dose_unit": "mg", "times_per_day": 1},
        )
        assert r.status_code == 201, r.text
    r = clients.api("nurse").post(
        f"{API}/sessions", json={"patient_id": pid, "chair": "Chair 4", "product": "esketamine"}
    )
    sid = r.json()["id"]
    page = clients.web("nurse").get(f"/sessions/{sid}").text
    benzo = page.split('id="f-concomitant_benzodiazepines"', 1)[1].split('<div class="field">', 1)[0]
    hypnotic = page.split('id="f-concomitant_non_benzodiazepine_hypnotics"', 1)[1].split(
        '<div class="field">', 1
    )[0]
    assert "On the medication list: Ativan (lorazepam)" in benzo
    assert "On the medication list: zolpidem" in hypnotic
    assert '<option value="" selected>not answered' in benzo  # a hint, never a recorded answer


def test_a_record_id_too_large_to_be_a_record_is_a_refused_field_and_nothing_is_stored(clients):
    from ketacare.store.tables.sessions import InfusionSession

    nurse = clients.api("nurse")
    too_large = {"patient_id": 2**63, "chair": "Chair 1"}
    r = nurse.post(f"{API}/sessions", json=too_large)
    assert r.status_code == 422 and [e["field"] for e in r.json()["errors"]] == ["patient_id"]
    r = nurse.post(
        f"{API}/sessions", json={**too_large, "patient_id": clients.personas.patient_a, "dose_order_id": 0}
    )
    assert r.status_code == 422 and [e["field"] for e in r.json()["errors"]] == ["dose_order_id"]
    assert _count(clients, InfusionSession) == 0
    r = nurse.get(f"{API}/sessions/{2**31}")
    assert r.status_code == 422 and [e["field"] for e in r.json()["errors"]] == ["session_id"]
