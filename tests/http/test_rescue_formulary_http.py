"""The rescue formulary and side effects over HTTP: who may configure (403 otherwise), 422 naming the field with
nothing stored, 409 for a stale edit; the pages show each error beside its field and in a summary at the top,
and keep what was typed."""

from __future__ import annotations

import re
from html import unescape

from sqlalchemy import func, select

from ketacare.store.tables.sessions import RescueFormularyEntry, RescueGivenRow, SideEffectRow
from tests.http.test_sessions_http import infusing, now  # noqa: F401 (fixtures)

API = "/api/v1"
ENTRY = {
    "drug": "ondansetron", "route": "iv", "indications": ["nausea", "vomiting"], "dose_min": 4, "dose_max": 8,
    "dose_unit": "mg", "max_doses_per_session": 2, "max_total_per_session": 12,
    "approved_by": "Dr A. Okafor, medical director", "source": "Clinic rescue protocol v3 (2026)",
}  # fmt: skip


def _count(clients, model) -> int:
    with clients.personas.db.session() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def _text(html: str) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def test_api_only_prescribers_configure_and_bad_entries_are_422_naming_the_field(clients):
    for persona in ("nurse", "frontdesk", "therapist", "admin"):
        r = clients.api(persona).post(f"{API}/rescue-formulary", json=ENTRY)
        assert r.status_code == 403, (persona, r.text)
    assert clients.api("nurse").get(f"{API}/rescue-formulary").json() == []
    presc = clients.api("prescriber")
    r = presc.post(f"{API}/rescue-formulary", json={**ENTRY, "dose_min": 10})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "dose_max"
    r = presc.post(f"{API}/rescue-formulary", json={**ENTRY, "approved_by": "", "source": ""})
    assert [x["field"] for x in r.json()["errors"]] == ["approved_by", "source"]
    r = presc.post(f"{API}/rescue-formulary", json={**ENTRY, "dose_min": "four"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "dose_min"
    assert _count(clients, RescueFormularyEntry) == 0
    r = presc.post(f"{API}/rescue-formulary", json=ENTRY)
    assert r.status_code == 201, r.text
    e = r.json()
    assert (e["dose_min"], e["dose_max"], e["dose_unit"], e["version"], e["active"]) == (4, 8, "mg", 1, True)
    r = presc.put(f"{API}/rescue-formulary/{e['id']}", json={**ENTRY, "dose_max": 6, "version": 1})
    assert r.status_code == 200 and r.json()["version"] == 2
    r = presc.put(f"{API}/rescue-formulary/{e['id']}", json={**ENTRY, "dose_max": 5, "version": 1})
    assert r.status_code == 409 and r.json()["current_version"] == 2
    r = clients.api("nurse").post(f"{API}/rescue-formulary/{e['id']}/retire", json={"version": 2, "reason": "x"})
    assert r.status_code == 403
    r = presc.post(f"{API}/rescue-formulary/{e['id']}/retire", json={"version": 2, "reason": "stock withdrawn"})
    assert r.status_code == 200 and r.json()["active"] is False
    assert [x["active"] for x in clients.api("nurse").get(f"{API}/rescue-formulary").json()] == [False]


def test_api_rescue_beyond_the_entry_is_422_on_the_dose_and_nothing_is_stored(clients, infusing):  # noqa: F811
    e = clients.api("prescriber").post(f"{API}/rescue-formulary", json=ENTRY).json()
    nurse = clients.api("nurse")
    se = nurse.post(f"{API}/sessions/{infusing}/side-effects", json={"type": "nausea", "grade": 2}).json()
    body = {"entry_id": e["id"], "dose": 12, "dose_unit": "mg", "side_effect_id": se["id"]}
    r = nurse.post(f"{API}/sessions/{infusing}/rescue", json=body)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "dose"
    assert "single-dose limit of 8 mg" in r.json()["errors"][0]["message"]
    assert _count(clients, RescueGivenRow) == 0
    r = nurse.post(f"{API}/sessions/{infusing}/rescue", json={**body, "dose": 4})
    assert r.status_code == 201 and r.json()["indication"] == "nausea"
    r = clients.api("frontdesk").post(f"{API}/sessions/{infusing}/rescue", json={**body, "dose": 4})
    assert r.status_code == 403
    r = nurse.post(f"{API}/sessions/{infusing}/side-effects/{se['id']}/resolve", json={"resolution": ""})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "resolution"
    r = nurse.post(f"{API}/sessions/{infusing}/side-effects/{se['id']}/resolve", json={"resolution": "settled"})
    assert r.status_code == 200 and r.json()["resolution"] == "settled"
    assert _count(clients, RescueGivenRow) == 1


def test_the_formulary_page_refuses_a_nurse_and_shows_each_error_beside_its_field_and_in_a_summary(clients):
    form = {k: v for k, v in ENTRY.items() if k != "indications"}
    assert clients.web("nurse").post("/admin/rescue-formulary", data=form).status_code == 403
    page = clients.web("nurse").get("/admin/rescue-formulary")
    assert page.status_code == 200 and "The formulary is empty" in page.text and "Add a medicine" not in page.text
    web = clients.web("prescriber")
    r = web.post("/admin/rescue-formulary", data={**form, "approved_by": "", "indications": ["nausea"]})
    assert r.status_code == 422
    assert 'class="error-summary" role="alert"' in r.text
    assert 'href="#f-add-approved_by"' in r.text and "Approved by: say who approved this entry" in _text(r.text)
    assert 'id="e-add-approved_by"' in r.text  # beside the field
    assert 'value="ondansetron"' in r.text and 'value="nausea" checked' in r.text  # kept what was typed
    assert _count(clients, RescueFormularyEntry) == 0
    r = web.post("/admin/rescue-formulary", data={**form, "route": "", "dose_unit": "", "source": ""})
    assert r.status_code == 422 and "Not saved: 4 problems to fix" in r.text
    for field in ("route", "indications", "dose_unit", "source"):
        assert f'href="#f-add-{field}"' in r.text and f'id="e-add-{field}"' in r.text
    r = web.post("/admin/rescue-formulary", data={**form, "indications": ["nausea", "vomiting"]})
    assert r.status_code == 303
    listed = _text(web.get(r.headers["location"]).text)
    assert "ondansetron" in listed and "4–8 mg" in listed and "2 doses, ≤ 12 mg" in listed
    assert "Dr A. Okafor, medical director" in listed and "Clinic rescue protocol v3 (2026)" in listed


def test_the_formulary_edit_page_refuses_a_stale_version_with_409_and_keeps_the_edit(clients):
    e = clients.api("prescriber").post(f"{API}/rescue-formulary", json=ENTRY).json()
    form = {**{k: v for k, v in ENTRY.items() if k != "indications"}, "indications": ["nausea"]}
    web = clients.web("prescriber")
    assert web.post(f"/admin/rescue-formulary/{e['id']}", data={**form, "version": 1}).status_code == 303
    r = web.post(f"/admin/rescue-formulary/{e['id']}", data={**form, "dose_max": 7, "version": 1})
    assert r.status_code == 409 and "the current version is 2" in r.text and 'value="7"' in r.text
    r = web.post(f"/admin/rescue-formulary/{e['id']}/retire", data={"version": 2, "reason": ""})
    assert r.status_code == 422 and 'id="e-retire-reason"' in r.text


def test_the_session_page_records_side_effects_and_rescue_and_shows_an_over_limit_dose_beside_the_field(
    clients, infusing, now  # noqa: F811
):
    e = clients.api("prescriber").post(f"{API}/rescue-formulary", json=ENTRY).json()
    web = clients.web("nurse")
    page = web.get(f"/sessions/{infusing}").text
    assert "Record a side effect" in page and "Give a rescue medicine" in page
    assert "ondansetron IV 4-8 mg (max 2 per session, at most 12 mg)" in page
    onset = now.t.strftime("%Y-%m-%dT%H:%M")
    r = web.post(f"/sessions/{infusing}/side-effects", data={"type": "nausea", "grade": "2", "onset_at": onset})
    assert r.status_code == 303
    r = web.post(f"/sessions/{infusing}/side-effects", data={"type": "other", "grade": "1", "onset_at": onset})
    assert r.status_code == 422 and 'id="e-se-description"' in r.text and 'href="#f-se-description"' in r.text
    assert _count(clients, SideEffectRow) == 1
    with clients.personas.db.session() as s:
        se_id = s.scalar(select(SideEffectRow.id))
    rx = {"entry_id": str(e["id"]), "dose": "9", "dose_unit": "mg", "side_effect_id": str(se_id), "given_at": ""}
    r = web.post(f"/sessions/{infusing}/rescue", data=rx)
    assert r.status_code == 422
    beside = re.search(r'<p class="field-error" id="e-rx-dose">([^<]+)</p>', r.text)
    assert beside and "9 mg is above the clinic's single-dose limit of 8 mg" in unescape(beside.group(1))
    assert 'href="#f-rx-dose"' in r.text and 'id="f-rx-dose" name="dose" type="text" value="9"' in r.text
    assert f'<option value="{se_id}" selected' in r.text
    assert _count(clients, RescueGivenRow) == 0
    assert web.post(f"/sessions/{infusing}/rescue", data={**rx, "dose": "4"}).status_code == 303
    r = web.post(f"/sessions/{infusing}/side-effects/{se_id}/resolve", data={"resolved_at": "", "resolution": ""})
    assert r.status_code == 422 and 'id="e-res' in r.text
    r = web.post(f"/sessions/{infusing}/side-effects/{se_id}/resolve",
                 data={"resolved_at": onset, "resolution": "settled after ondansetron"})  # fmt: skip
    assert r.status_code == 303
    page = _text(web.get(f"/sessions/{infusing}").text)
    assert "Nausea · grade 2 (moderate)" in page and "resolved" in page and "settled after ondansetron" in page
    assert "Rescue: ondansetron 4 mg iv" in page
    pdf = web.get(f"/sessions/{infusing}/record.pdf")
    assert pdf.status_code == 200
