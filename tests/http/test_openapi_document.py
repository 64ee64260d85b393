"""The OpenAPI document describes every /api/v1 operation's success body and the refusals it can really send.

A client reading /api/openapi.json learns, per operation, the schema of its 2xx body and each 4xx it may get,
with the bodies the app really sends: 422 `ValidationErrorBody` (`detail` + `errors[{field, message}]`), 409
`ConflictBody` (`current_version`), every other refusal `ErrorBody` (`detail`). What an operation must
declare is derived from the route itself: a login (401, 403), input to parse (422), a record id in the path or
a policy condition that hides records (404), a `version` to compare (409).
"""

from __future__ import annotations

import re

from fastapi import APIRouter, Depends

from ketacare.http.access import Access
from ketacare.http.routes import route_table
from ketacare.services.access import Actor
from ketacare.services.access.policy import grants

BODY_FOR = {409: "ConflictBody", 422: "ValidationErrorBody"}
# A refusal whose body is not a version conflict, by operation: a refused session transition answers 409 with the
# transition and every failed check (`TransitionRead`); its request carries no version to conflict with.
OWN_BODY = {("POST", "/api/v1/sessions/{session_id}/transitions", 409): "TransitionRead"}


def _ref_name(schema: dict) -> str | None:
    ref = schema.get("$ref", "")
    return ref.rpartition("/")[2] or None


def _required_codes(method: str, path: str, op: dict, access: Access | None, doc: dict) -> set[int]:
    """The 4xx answers this operation can give, read from what it declares it needs and takes."""
    codes: set[int] = set()
    if access is not None and not access.public:
        codes |= {401, 403}
        conditions = {g.condition for g in grants() if (g.action, g.resource) == (access.action, access.resource)}
        if conditions - {None, "break_glass"}:
            codes.add(404)  # the policy answers "not found" where a record condition is not met (break-glass: 403)
    if op.get("parameters") or op.get("requestBody"):
        codes.add(422)
    if re.search(r"\{\w+_id\}", path):
        codes.add(404)
    body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
    name = _ref_name(body)
    if name and "version" in doc["components"]["schemas"][name].get("properties", {}):
        codes.add(409)
    return codes


def document_problems(app) -> list[str]:
    """Return what the OpenAPI document leaves undescribed or describes with a body the app does not send."""
    doc = app.openapi()
    access = {(r.method, r.path): r.access for r in route_table(app)}
    problems = [
        f"FastAPI's default schema {n} is in the document"
        for n in ("HTTPValidationError", "ValidationError")
        if n in doc.get("components", {}).get("schemas", {})
    ]
    for path, item in doc["paths"].items():
        if not path.startswith("/api/v1/"):
            continue
        for method, op in item.items():
            where = f"{method.upper()} {path}"
            responses = {int(code): r for code, r in op["responses"].items() if code.isdigit()}
            ok = {c: r for c, r in responses.items() if 200 <= c < 300}
            if not ok:
                problems.append(f"{where}: no 2xx response")
            for code, r in ok.items():
                schema = r.get("content", {}).get("application/json", {}).get("schema")
                if code != 204 and not schema:
                    problems.append(f"{where}: {code} has no body schema (declare response_model)")
            for code, r in responses.items():
                if 400 <= code < 500:
                    got = _ref_name(r.get("content", {}).get("application/json", {}).get("schema", {}))
                    want = OWN_BODY.get((method.upper(), path, code)) or BODY_FOR.get(code, "ErrorBody")
                    if got != want:
                        problems.append(f"{where}: {code} documents {got}, the app sends {want}")
            missing = _required_codes(
                method.upper(), path, op, access.get((method.upper(), path)), doc
            ) - set(responses)
            if missing:
                problems.append(f"{where}: undocumented {sorted(missing)} (use http.errors.error_responses)")
    return problems


def test_every_api_operation_documents_its_success_body_and_its_refusals(app):
    assert document_problems(app) == []


def test_the_document_shows_the_bodies_the_app_sends(app):
    doc = app.openapi()
    schemas = doc["components"]["schemas"]
    assert set(schemas["ValidationErrorBody"]["required"]) == {"detail", "errors"}
    assert set(schemas["FieldError"]["required"]) == {"field", "message"}
    assert set(schemas["ConflictBody"]["required"]) == {"detail", "current_version"}
    update = doc["paths"]["/api/v1/patients/{patient_id}"]["patch"]["responses"]
    assert update["409"]["content"]["application/json"]["schema"]["$ref"].endswith("/ConflictBody")
    assert update["422"]["content"]["application/json"]["schema"]["$ref"].endswith("/ValidationErrorBody")
    login = doc["paths"]["/api/v1/auth/login"]["post"]["responses"]
    assert {"401", "422", "429"} <= set(login)


def test_a_route_that_documents_nothing_is_caught(app):
    router = APIRouter()

    @router.get("/api/v1/patients/{patient_id}/forgotten")
    def forgotten(patient_id: int, actor: Actor = Depends(Access("patient", "read"))):
        return {"patient_id": patient_id}

    app.include_router(router)
    app.openapi_schema = None  # rebuild the document with the new route
    problems = document_problems(app)
    assert (
        "GET /api/v1/patients/{patient_id}/forgotten: 200 has no body schema (declare response_model)"
        in problems
    )
    assert (
        "GET /api/v1/patients/{patient_id}/forgotten: undocumented [401, 403, 404] (use http.errors."
        "error_responses)" in problems
    )
    assert (
        "GET /api/v1/patients/{patient_id}/forgotten: 422 documents HTTPValidationError, the app sends "
        "ValidationErrorBody" in problems
    )
