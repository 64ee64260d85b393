"""Course safety over HTTP: the API refuses bad input with 422 naming the field, the chart shows the panel, and
the entry forms show each error beside its field in the clinic's local time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def _url(clients, tail=""):
    return f"/api/v1/patients/{clients.personas.patient_a}/course-safety{tail}"


def _fields(r):
    return {e["field"] for e in r.json()["errors"]}


def test_api_records_and_refuses_bad_input_naming_the_field(clients):
    nurse = clients.api("nurse")
    now = datetime.now(UTC)
    r = nurse.post(_url(clients, "/pregnancy-tests"),
                   json={"taken_at": now.isoformat(), "result": "maybe", "method": "urine hCG"})
    assert r.status_code == 422 and "result" in _fields(r)
    r = nurse.post(_url(clients, "/pregnancy-tests"),
                   json={"taken_at": "2026-11-30T08:00:00", "result": "negative", "method": "urine hCG"})
    assert r.status_code == 422 and "taken_at" in _fields(r)  # no offset: refused, never assumed
    future = (now + timedelta(hours=2)).isoformat()
    r = nurse.post(_url(clients, "/pregnancy-tests"), json={"taken_at": future, "result": "negative",
                                                           "method": "urine hCG"})
    assert r.status_code == 422 and "taken_at" in _fields(r)
    r = nurse.post(_url(clients, "/puf"), json={"taken_at": now.isoformat(), "total": 40})
    assert r.status_code == 422 and "total" in _fields(r)
    r = nurse.post(_url(clients, "/misuse-checks"), json={"checked_at": now.isoformat(), "signs": ["nope"]})
    assert r.status_code == 422 and "signs" in _fields(r)
    r = nurse.post(_url(clients, "/pregnancy-applicability"), json={"applicable": True, "reason": ""})
    assert r.status_code == 422 and "reason" in _fields(r)
    assert nurse.get(_url(clients)).json()["records"] == []  # nothing stored
    r = nurse.post(_url(clients, "/pregnancy-tests"),
                   json={"taken_at": (now - timedelta(days=9)).isoformat(), "result": "negative",
                         "method": "urine hCG"})
    assert r.status_code == 201
    assert nurse.post(_url(clients, "/pregnancy-applicability"),
                      json={"applicable": True, "reason": "can become pregnant"}).status_code == 201
    panel = nurse.get(_url(clients)).json()
    preg = next(c for c in panel["checks"] if c["id"] == "pregnancy")
    assert preg["status"] == "hold" and "9 days ago" in preg["reason"]
    assert clients.api("frontdesk").get(_url(clients)).status_code == 403


def test_chart_panel_and_forms_with_errors_beside_fields(clients):
    pid = clients.personas.patient_a
    web = clients.web("nurse")
    chart = web.get(f"/patients/{pid}")
    assert chart.status_code == 200 and 'id="course-safety"' in chart.text
    assert "not recorded whether pregnancy tests apply" in chart.text
    r = web.post(f"/patients/{pid}/course-safety/puf", data={"puf_taken_at": "2026-13-40 08:00", "puf_total": "x"})
    assert r.status_code == 422
    assert 'id="e-puf_total"' in r.text and 'id="e-puf_taken_at"' in r.text and 'value="x"' in r.text
    r = web.post(f"/patients/{pid}/course-safety/puf", data={"puf_taken_at": "2026-11-29 08:00", "puf_total": "12"})
    assert r.status_code == 303
    r = web.post(f"/patients/{pid}/course-safety/pregnancy",
                 data={"preg_taken_at": "2026-11-29 08:00", "preg_result": "", "preg_method": "urine hCG"})
    assert r.status_code == 422 and 'id="e-preg_result"' in r.text
    r = web.post(f"/patients/{pid}/course-safety/misuse",
                 data={"misuse_checked_at": "2026-11-29 08:00", "misuse_signs": ["craving"]})
    assert r.status_code == 303
    page = web.get(f"/patients/{pid}/course-safety")
    assert "PUF total 12" in page.text and "craving" in page.text.lower()
    assert "Hong Kong Med J 2012" in page.text  # the source is cited by name, never an internal note
