"""Consent over HTTP (issue 16 point 1): the API answers bad input with 422 naming the field and stores nothing;
the portal form shows each error beside its field; the prescriber countersigns from the consent page."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from ketacare.store.tables.plans import ConsentSignature
from tests.conftest import PASSWORD

API = "/api/v1"


def _count(clients) -> int:
    with clients.personas.db.session() as s:
        return s.scalar(select(func.count()).select_from(ConsentSignature)) or 0


def _body(**changes) -> dict:
    return {
        "template_id": "racemic-iv",
        "version": "1.0",
        "read_confirmed": True,
        "typed_name": "Alice Anders",
        "signature_kind": "click",
        "click_signed": True,
        **changes,
    }


def test_the_api_refuses_bad_input_naming_the_field(clients):
    pid = clients.personas.patient_a
    me = clients.api("patient_a")
    for changes, field in (
        ({"typed_name": "Someone Else"}, "typed_name"),
        ({"click_signed": False}, "signature"),
        ({"read_confirmed": False}, "read_confirmed"),
        ({"version": "0.9"}, "version"),
        ({"template_id": "no-such-document"}, "template_id"),
        ({"signature_kind": "drawn", "signature_svg_path": "<script>"}, "signature_svg_path"),
    ):
        r = me.post(f"{API}/patients/{pid}/consent/sign", json=_body(**changes))
        assert r.status_code == 422, (changes, r.text)
        assert field in r.text, (field, r.text)
    assert _count(clients) == 0
    r = clients.api("nurse").get(
        f"{API}/patients/{pid}/consent/status", params={"route": "iv", "at": "2026-11-30T09:00"}
    )
    assert r.status_code == 422 and '"at"' in r.text
    assert clients.api("patient_b").get(f"{API}/patients/{pid}/consent").status_code == 404


def test_sign_countersign_and_status_through_the_api(clients):
    pid = clients.personas.patient_a
    r = clients.api("patient_a").post(f"{API}/patients/{pid}/consent/sign", json=_body())
    assert r.status_code == 201, r.text
    sig = r.json()
    prescriber = clients.api("prescriber")
    wrong = prescriber.post(
        f"{API}/patients/{pid}/consent/{sig['id']}/countersign",
        json={"version": sig["version"], "password": "not-it"},
    )
    assert wrong.status_code == 422 and "password" in wrong.text
    ok = prescriber.post(
        f"{API}/patients/{pid}/consent/{sig['id']}/countersign",
        json={"version": sig["version"], "password": PASSWORD},
    )
    assert ok.status_code == 200 and ok.json()["countersign_meaning"] == "approved"
    st = clients.api("nurse").get(f"{API}/patients/{pid}/consent/status", params={"route": "iv"}).json()
    assert st["status"] == "in_force" and st["version"] == "1.0"


def test_the_portal_form_shows_each_error_beside_its_field_then_signs(clients):
    web = clients.web("patient_a")
    page = web.get("/me/consent/racemic-iv")
    assert page.status_code == 200 and "What the research says" in page.text
    assert re.search(r'<a class="cite" href="/sources#\w+', page.text)  # "Author Year" linked to the sources
    r = web.post(
        "/me/consent/racemic-iv",
        data={"version": "1.0", "typed_name": "A. Nobody", "signature_kind": "click"},
    )
    assert r.status_code == 422
    for field in ("typed_name", "read_confirmed"):
        assert f'id="e-{field}"' in r.text or f'id="e-f-{field}"' in r.text or f"e-{field}" in r.text, field
    assert 'id="e-signature"' in r.text and _count(clients) == 0
    r = web.post(
        "/me/consent/racemic-iv",
        data={
            "version": "1.0",
            "typed_name": "alice anders",
            "read_confirmed": "on",
            "signature_kind": "drawn",
            "signature_svg_path": "M10 10 L40 50 L80 20 L90 60",
        },
    )
    assert r.status_code == 303 and r.headers["location"] == "/me/consent?notice=signed"
    chart = clients.web("prescriber").get(f"/patients/{clients.personas.patient_a}/consent")
    assert "Countersign" in chart.text and "waiting for the prescriber" in chart.text
