"""Clinic settings pages (issue 13): an administrator edits the settings with a reason and sees the history; a
refused value shows beside its field with what was typed kept; the API says the same; the settings in force
reach every page (time zone, units) and the patient's crisis screen."""

from __future__ import annotations

import re

from ketacare.services import clinic

FORM = {
    "name": "Lakeside Clinic (test)",
    "address": "1 Lake Road",
    "timezone": "America/New_York",
    "phone": "+1 212 555 0199",
    "crisis_lines.0.country": "United States",
    "crisis_lines.0.name": "988 Suicide & Crisis Lifeline",
    "crisis_lines.0.number": "988",
    "crisis_lines.0.when": "If you think about hurting yourself.",
    "crisis_lines.1.country": "",
    "weight_unit": "lb",
    "height_unit": "ft_in",
    "weight_bmi_threshold": "30",
    "weight_basis_at_or_above": "ideal",
    "assessment_plan": "standard",
    "threshold.spo2_low.spo2": "93",
    "reminder_subject": "A short questionnaire",
    "reminder_intro": "Please fill it in.",
    "base_version": "0",
    "reason": "Opening day",
}


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]*>", " ", html))


def test_an_administrator_saves_a_version_and_reads_it_in_the_history(clients):
    admin = clients.web("admin")
    page = admin.get("/admin/clinic")
    assert page.status_code == 200 and "Not saved yet" in page.text
    r = admin.post("/admin/clinic", data=FORM)
    assert r.status_code == 303, r.text
    history = _text(admin.get(r.headers["location"]).text)
    assert "Version 1" in history and "Opening day" in history
    r = admin.post("/admin/clinic", data={**FORM, "base_version": "1", "threshold.spo2_low.spo2": "94",
                                         "reason": "Director asked for earlier oxygen alarms"})  # fmt: skip
    assert r.status_code == 303
    history = _text(admin.get("/admin/clinic/history").text)
    assert "Version 2" in history and "Director asked for earlier oxygen alarms" in history
    assert "Oxygen saturation low (SPO2): 93 → 94 %" in history
    now = _text(admin.get("/admin/clinic").text)
    assert "Version 2, saved by" in now and re.search(r"E[SD]T", now)  # the page's own times: New York


def test_a_refused_value_is_shown_beside_its_field_and_nothing_is_saved(clients):
    admin = clients.web("admin")
    bad = {**FORM, "timezone": "Mars/Olympus", "threshold.spo2_low.spo2": "80", "crisis_lines.0.number": "call us",
           "reason": ""}  # fmt: skip
    r = admin.post("/admin/clinic", data=bad)
    assert r.status_code == 422
    text = _text(r.text)
    assert "Not saved" in text
    assert "unknown time zone" in text and "enter a value from 88 to 95 %" in text
    assert "enter a number to dial" in text
    assert 'value="Mars/Olympus"' in r.text and 'value="80"' in r.text  # what was typed is kept
    assert clinic.current(clients.personas.db).version == 0


def test_only_administrators_may_change_the_settings(clients):
    assert clients.web("nurse").get("/admin/clinic").status_code == 403
    assert clients.web("prescriber").get("/admin/clinic").status_code == 200  # reads, cannot save
    assert clients.web("prescriber").post("/admin/clinic", data=FORM).status_code == 403
    assert clients.web("patient_a").get("/admin/clinic").status_code in (403, 404)


def test_the_api_saves_and_refuses_like_the_page(clients):
    api = clients.api("admin")
    body = {
        "name": "Lakeside", "timezone": "Europe/Berlin", "base_version": 0, "reason": "API setup",
        "crisis_lines": [{"country": "Germany", "name": "Emergency", "number": "112", "when": "Danger"}],
    }  # fmt: skip
    r = api.put("/api/v1/clinic/settings", json=body)
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 1
    r = api.put("/api/v1/clinic/settings", json={**body, "base_version": 1, "alert_thresholds": {"hr_low.hr": 10}})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "threshold.hr_low.hr"
    assert api.put("/api/v1/clinic/settings", json=body).status_code == 409  # stale
    assert clients.api("nurse").get("/api/v1/clinic/settings").status_code == 403
    assert [v["version"] for v in api.get("/api/v1/clinic/settings/history").json()] == [1]


def test_the_crisis_screen_dials_the_clinics_numbers(clients):
    clients.web("admin").post("/admin/clinic", data=FORM)
    patient = clients.web("patient_a")
    assert patient.get("/me/questionnaires/phq9").status_code == 200
    answers = {f"phq9_{i}": "0" for i in range(1, 9)}
    answers["phq9_9"] = "3"
    r = patient.post("/me/questionnaires/phq9", data={**answers, "context": "follow_up"})
    html = r.text
    assert r.status_code == 200, html[:2000]
    links = re.findall(r'<a class="button[^"]*crisis-call" href="(tel:[^"]+)">Call ([^<]+)</a>', html)
    assert ("tel:988", "988") in links
    assert ("tel:+12125550199", "+1 212 555 0199") in links  # the clinic's own line
    for href, number in links:
        assert href == "tel:" + re.sub(r"[^\d+]", "", number)  # dials exactly the number it names
    assert "replace this line" not in html and "911 (US) or 112" not in html
