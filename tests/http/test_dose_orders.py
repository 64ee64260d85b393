"""Dose orders over HTTP: JSON errors naming the field, 422 with nothing stored, the pages and the PK explorer."""

from __future__ import annotations

import re

from tests.conftest import PASSWORD


def _create(clients, pid, **body):
    return clients.api("prescriber").post(
        f"/api/v1/patients/{pid}/dose-orders", json={"protocol_id": "iv-standard", **body}
    )


def test_api_create_sign_double_check_and_curve(clients, web_personas):
    pid = web_personas.patient_a
    r = _create(clients, pid)
    assert r.status_code == 201, r.text
    o = r.json()
    assert o["dose_mg"] == 35.0 and o["rate_ml_per_h"] == 150.0 and o["status"] == "draft"
    r = clients.api("prescriber").post(
        f"/api/v1/patients/{pid}/dose-orders/{o['id']}/sign", json={"version": o["version"], "password": PASSWORD}
    )
    assert r.status_code == 200 and r.json()["status"] == "signed"
    v = r.json()["version"]
    nurse = clients.api("nurse")
    task = nurse.get(f"/api/v1/patients/{pid}/dose-orders/{o['id']}/double-check").json()
    assert "dose_mg" not in task and task["asks_weight"] and task["blocked_reason"] is None
    r = nurse.post(
        f"/api/v1/patients/{pid}/dose-orders/{o['id']}/double-check",
        json={"version": v, "check_weight_kg": 70, "check_dose_mg": 40, "check_rate_ml_per_h": 150,
              "password": PASSWORD},
    )
    assert r.status_code == 200 and r.json()["match"] is False and r.json()["status"] == "signed"
    r = nurse.post(
        f"/api/v1/patients/{pid}/dose-orders/{o['id']}/double-check",
        json={
            "version": r.json()["version"],
            "check_weight_kg": 70,
            "check_dose_mg": 35,
            "check_rate_ml_per_h": 150,
            "password": PASSWORD,
        },
    )
    assert r.json()["match"] is True and r.json()["status"] == "double_checked"
    r = clients.api("prescriber").post(
        f"/api/v1/patients/{pid}/dose-orders/{o['id']}/sign", json={"version": o["version"], "password": PASSWORD}
    )
    assert r.status_code == 409
    curve = clients.api("nurse").get(f"/api/v1/patients/{pid}/dose-orders/{o['id']}/curve").json()
    assert curve["model_id"] == "kamp2020" and len(curve["median_ng_per_ml"]) == len(curve["times_min"])
    assert any(rg["id"] == "dissociation" for rg in curve["ranges"])


def test_api_hard_limit_is_422_naming_the_field_and_stores_nothing(clients, web_personas):
    pid = web_personas.patient_a
    r = _create(clients, pid, mg_per_kg=2.0, soft_limit_reason="x")
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "mg_per_kg"
    assert clients.api("prescriber").get(f"/api/v1/patients/{pid}/dose-orders").json() == []
    r = _create(clients, pid, mg_per_kg="lots")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "mg_per_kg"


def test_api_signer_cannot_double_check_and_nurse_cannot_create(clients, web_personas):
    pid = web_personas.patient_a
    assert (
        clients.api("nurse")
        .post(f"/api/v1/patients/{pid}/dose-orders", json={"protocol_id": "iv-standard"})
        .status_code
        == 403
    )
    o = _create(clients, pid).json()
    s = (
        clients.api("prescriber")
        .post(f"/api/v1/patients/{pid}/dose-orders/{o['id']}/sign",
              json={"version": o["version"], "password": PASSWORD})
        .json()
    )
    r = clients.api("prescriber").post(
        f"/api/v1/patients/{pid}/dose-orders/{o['id']}/double-check",
        json={
            "version": s["version"],
            "check_weight_kg": 70,
            "check_dose_mg": 35,
            "check_rate_ml_per_h": 150,
            "password": PASSWORD,
        },
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "double_check"


def test_web_calculate_save_sign_and_check(clients, web_personas):
    pid = web_personas.patient_a
    web = clients.web("prescriber")
    page = web.get(f"/patients/{pid}/dose-orders")
    assert page.status_code == 200 and "New order" in page.text
    r = web.post(f"/patients/{pid}/dose-orders/new", data={"protocol_id": "iv-standard", "step": "calculate"})
    assert r.status_code == 200
    assert "Calculated order" in r.text and "150.0 mL/h" in r.text and "<svg" in r.text
    assert "recommended" in r.text and "Dissociation" in r.text
    r = web.post(
        f"/patients/{pid}/dose-orders/new",
        data={"protocol_id": "iv-standard", "mg_per_kg": "0.8", "step": "calculate"},
    )
    assert r.status_code == 422 and 'name="soft_limit_reason"' in r.text
    r = web.post(
        f"/patients/{pid}/dose-orders/new",
        data={"protocol_id": "iv-standard", "mg_per_kg": "1.2", "step": "create"},
    )
    assert r.status_code == 422 and "hard limit" in r.text
    r = web.post(f"/patients/{pid}/dose-orders/new", data={"protocol_id": "iv-standard", "step": "create"})
    assert r.status_code == 303
    url = r.headers["location"]
    oid = int(url.rsplit("/", 1)[1])
    confirm = web.get(f"{url}/sign")
    assert confirm.status_code == 200 and "You are about to sign" in confirm.text and "35 mg" in confirm.text
    version = re.search(r'name="version" value="(\d+)"', confirm.text).group(1)
    assert web.post(f"{url}/sign", data={"version": version, "password": PASSWORD}).status_code == 303
    own = web.get(f"{url}/double-check")
    assert "cannot double-check" in own.text
    nurse = clients.web("nurse")
    form = nurse.get(f"{url}/double-check")
    assert form.status_code == 200 and 'name="check_dose_mg"' in form.text
    body = form.text.split('<main id="main"', 1)[1]
    assert "35 mg" not in body and "150.0" not in body and "70.0 kg" not in body  # first entry not shown
    version = re.search(r'name="version" value="(\d+)"', form.text).group(1)
    bad = nurse.post(
        f"{url}/double-check",
        data={
            "version": version,
            "check_weight_kg": "70",
            "check_dose_mg": "3.5",
            "check_rate_ml_per_h": "150",
            "password": PASSWORD,
        },
    )
    assert bad.status_code == 200 and "MISMATCH" in bad.text
    version = re.search(r'name="version" value="(\d+)"', bad.text).group(1)
    ok = nurse.post(
        f"{url}/double-check",
        data={
            "version": version,
            "check_weight_kg": "70",
            "check_dose_mg": "35",
            "check_rate_ml_per_h": "150",
            "password": PASSWORD,
        },
    )
    assert ok.status_code == 303
    done = nurse.get(url)
    assert "Signed and double-checked" in done.text and oid


def test_chart_links_the_dose_orders_and_pk_explorer_renders(clients, web_personas):
    pid = web_personas.patient_a
    chart = clients.web("prescriber").get(f"/patients/{pid}")
    assert f"/patients/{pid}/dose-orders" in chart.text
    assert f"/patients/{pid}/dose-orders" not in clients.web("frontdesk").get(f"/patients/{pid}").text
    r = clients.web("prescriber").get("/pk")
    assert r.status_code == 200 and r.text.count('class="pk-median') == 3
    r = clients.web("prescriber").get(
        "/pk",
        params={
            "weight_kg": "80",
            "r1_protocol": "iv-standard",
            "r1_mg_per_kg": "3",
            "r2_protocol": "iv-slow",
        },
    )
    assert r.status_code == 422 and "hard limit" in r.text
    assert clients.web("nurse").get("/pk").status_code == 403


# --- blinded reads while an order awaits its independent double check --------------------------------------

# numbers a blinded reader may see: identifiers, the chart's height and age, the protocol's duration
VISIBLE_NUMBERS = {
    "id",
    "patient_id",
    "version",
    "created_by",
    "signed_by",
    "double_checked_by",
    "cancelled_by",
    "by",
    "height_cm",
    "age_years",
    "duration_min",
    "order_id",
}


def _numbers(value, key=None):
    """Yield (key, number) for every number in a JSON document (bools excluded)."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _numbers(v, k)
    elif isinstance(value, list):
        for v in value:
            yield from _numbers(v, key)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        yield key, value


def _signed_order(clients, pid):
    o = _create(clients, pid).json()
    s = clients.api("prescriber").post(
        f"/api/v1/patients/{pid}/dose-orders/{o['id']}/sign", json={"version": o["version"], "password": PASSWORD}
    )
    assert s.status_code == 200
    return s.json()


def _pass_check(clients, pid, o):
    r = clients.api("nurse").post(
        f"/api/v1/patients/{pid}/dose-orders/{o['id']}/double-check",
        json={
            "version": o["version"],
            "check_weight_kg": 70,
            "check_dose_mg": 35,
            "check_rate_ml_per_h": 150,
            "password": PASSWORD,
        },
    )
    assert r.json()["match"] is True


def test_api_nurse_gets_a_blinded_signed_order_and_the_signer_does_not(clients, web_personas):
    pid = web_personas.patient_a
    o = _signed_order(clients, pid)
    base = f"/api/v1/patients/{pid}/dose-orders"
    nurse = clients.api("nurse")
    got = nurse.get(f"{base}/{o['id']}")
    assert got.status_code == 200
    listed = nurse.get(base)
    assert listed.status_code == 200 and [x["id"] for x in listed.json()] == [o["id"]]
    for doc in (got.json(), listed.json()[0]):
        assert doc["blinded"] is True and "enter weight and dose" in doc["blinded_reason"]
        assert doc["dose_mg"] is None and doc["weight_kg"] is None and doc["rate_ml_per_h"] is None
        assert doc["dosing_weight_kg"] is None and doc["mg_per_kg"] is None and doc["order_json"] is None
        leaked = [(k, v) for k, v in _numbers(doc) if k not in VISIBLE_NUMBERS]
        assert leaked == []
    curve = nurse.get(f"{base}/{o['id']}/curve")
    assert curve.status_code == 200
    body = curve.json()
    assert body["curve"] is None and body["blinded"] is True
    assert "median_ng_per_ml" not in body and "dose_mg" not in body and "weight_kg" not in body
    signer = clients.api("prescriber").get(f"{base}/{o['id']}").json()
    assert signer["blinded"] is False and signer["dose_mg"] == 35.0 and signer["rate_ml_per_h"] == 150.0
    assert "median_ng_per_ml" in clients.api("prescriber").get(f"{base}/{o['id']}/curve").json()
    _pass_check(clients, pid, o)
    after = nurse.get(f"{base}/{o['id']}").json()
    assert after["blinded"] is False and after["dose_mg"] == 35.0 and after["weight_kg"] == 70.0
    assert nurse.get(base).json()[0]["rate_ml_per_h"] == 150.0
    assert "median_ng_per_ml" in nurse.get(f"{base}/{o['id']}/curve").json()


def _main(page) -> str:
    return page.text.split('<main id="main"', 1)[1]


def test_web_pages_blind_a_signed_order_for_the_nurse(clients, web_personas):
    pid = web_personas.patient_a
    o = _signed_order(clients, pid)
    url = f"/patients/{pid}/dose-orders/{o['id']}"
    nurse = clients.web("nurse")
    for page in (nurse.get(url), nurse.get(f"/patients/{pid}/dose-orders")):
        assert page.status_code == 200
        body = _main(page)
        assert "35 mg" not in body and "150.0" not in body and "70.0 kg" not in body
        assert "pk-median" not in body and f'href="{url}/double-check"' in body
    body = _main(nurse.get(url))
    assert "are hidden" in body and "awaiting your independent double check" in body
    signer = _main(clients.web("prescriber").get(url))
    assert "35 mg" in signer and "150.0 mL/h" in signer and "are hidden" not in signer
    _pass_check(clients, pid, o)
    done = _main(nurse.get(url))
    assert "35 mg" in done and "150.0 mL/h" in done and "are hidden" not in done and "pk-median" in done


def test_web_a_second_prescriber_sees_the_signed_order_blinded(clients, web_personas):
    from ketacare.services.access import Actor, users
    from ketacare.services.access.schemas import UserCreate
    from tests.conftest import PASSWORD

    u = users.create_user(
        db=web_personas.db,
        actor=web_personas["system"],
        data=UserCreate(username="drtwo", display_name="Dr Two", role="prescriber", password=PASSWORD),
    )
    web_personas.actors["drtwo"] = Actor(u.id, "drtwo", "prescriber")
    pid = web_personas.patient_a
    o = _signed_order(clients, pid)
    url = f"/patients/{pid}/dose-orders/{o['id']}"
    two = clients.web("drtwo")
    for path in (url, f"{url}/sign", f"/patients/{pid}/dose-orders"):
        page = two.get(path)
        assert page.status_code == 200, path
        body = _main(page)
        assert "35 mg" not in body and "150.0" not in body and "70.0 kg" not in body, path
        assert f'href="{url}/double-check"' in body, path
    assert clients.api("drtwo").get(f"/api/v1{url}").json()["dose_mg"] is None


def test_web_order_form_offers_the_50_mg_per_ml_vial_and_calculates_with_it(clients, web_personas):
    """Issue 11 point 9: the IV order can be made from a 50 mg/mL vial (0.7 mL for 35 mg)."""
    pid = web_personas.patient_a
    web = clients.web("prescriber")
    assert '<option value="50"' in web.get(f"/patients/{pid}/dose-orders").text
    r = web.post(
        f"/patients/{pid}/dose-orders/new",
        data={"protocol_id": "iv-standard", "vial_strength_mg_per_ml": "50", "step": "calculate"},
    )
    assert r.status_code == 200, r.text
    assert "50 mg/mL" in r.text and "0.70 mL" in r.text


def test_web_at_bmi_30_the_prescriber_chooses_the_basis_in_the_browser(clients, web_personas):
    """Issue 11 point 4: no silent switch; the choices side by side, the error beside the field, the choice and
    its reason on the order page and in the API."""
    from datetime import date

    from ketacare.services.patients import records as patients
    from ketacare.services.patients.schemas import PatientCreate

    pid = patients.create_patient(
        db=web_personas.db,
        actor=web_personas["system"],
        data=PatientCreate(
            given_name="Wanda",
            family_name="Weiss",
            date_of_birth=date(1980, 6, 1),
            sex_at_birth="female",
            weight="96 kg",
            height="165 cm",
        ),
    ).id
    web = clients.web("prescriber")
    page = web.get(f"/patients/{pid}/dose-orders")
    assert 'name="weight_basis"' in page.text and "At BMI 30 or more you choose" in page.text
    r = web.post(f"/patients/{pid}/dose-orders/new", data={"protocol_id": "iv-standard", "step": "calculate"})
    assert r.status_code == 422
    field = r.text.split('id="f-weight_basis"', 1)[1].split("</div>", 1)[0]
    assert 'class="field-error"' in field and "choose the dosing weight" in field  # beside the field
    assert "Choose the dosing weight" in r.text and "mg/kg of actual weight" in r.text
    table = r.text.split("Choose the dosing weight", 1)[1].split("</table>", 1)[0]
    assert "48 mg" in table and "0.5" in table and "28.5 mg" in table and "0.297" in table
    assert "recommended" in table and "Save as draft" not in r.text
    r = web.post(
        f"/patients/{pid}/dose-orders/new",
        data={"protocol_id": "iv-standard", "weight_basis": "actual", "step": "calculate"},
    )
    assert r.status_code == 422
    reason = r.text.split('id="f-weight_basis_reason"', 1)[1].split("</div>", 1)[0]
    assert 'class="field-error"' in reason and "state a reason" in reason
    data = {
        "protocol_id": "iv-standard",
        "weight_basis": "actual",
        "weight_basis_reason": "the trials dosed on actual weight",
    }
    r = web.post(f"/patients/{pid}/dose-orders/new", data={**data, "step": "calculate"})
    assert r.status_code == 200 and "Save as draft" in r.text
    r = web.post(f"/patients/{pid}/dose-orders/new", data={**data, "step": "create"})
    assert r.status_code == 303
    url = r.headers["location"]
    page = web.get(url)
    assert "Prescriber's choice" in page.text and "the trials dosed on actual weight" in page.text
    assert "recommends ideal" in page.text and "48 mg" in page.text
    api = clients.api("prescriber").get(f"/api/v1/patients/{pid}/dose-orders/{url.rsplit('/', 1)[1]}")
    body = api.json()
    assert body["weight_basis"] == "actual" and body["weight_basis_chosen"] is True
    assert body["weight_basis_reason"] == "the trials dosed on actual weight"
    assert body["mg_per_kg_actual_weight"] == 0.5 and body["computed_dose_mg"] == 48.0


def test_web_an_oral_dose_is_kept_or_refused_with_the_nearest_doses(clients, web_personas):
    pid = web_personas.patient_b
    web = clients.web("prescriber")
    r = web.post(
        f"/patients/{pid}/dose-orders/new",
        data={"protocol_id": "oral", "dose_mg": "62", "vial_strength_mg_per_ml": "50", "step": "calculate"},
    )
    assert r.status_code == 422
    field = r.text.split('id="f-dose_mg"', 1)[1].split("</div>", 1)[0]
    assert "60 mg or 65 mg" in field
    r = web.post(
        f"/patients/{pid}/dose-orders/new", data={"protocol_id": "oral", "dose_mg": "60", "step": "calculate"}
    )
    assert r.status_code == 200 and "60 mg" in r.text
