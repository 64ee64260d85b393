"""The sessions routes in the OpenAPI document: each declares its success model and the error bodies it can
send, and the bodies the app really sends (success and refusals) match the declared schemas."""

from __future__ import annotations

from typing import Any

import pytest

from tests.http.test_sessions_http import API, infusing, now  # noqa: F401  (fixtures)

TAG = "infusion sessions"
ERROR_BODY = "#/components/schemas/ErrorBody"
VALIDATION_BODY = "#/components/schemas/ValidationErrorBody"
CONFLICT_BODY = "#/components/schemas/ConflictBody"


def _doc(clients) -> dict[str, Any]:
    return clients.api(None).get("/api/openapi.json").json()


def _operations(doc: dict[str, Any]):
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if TAG in op.get("tags", ()):
                yield path, method, op


def _schema(op: dict[str, Any], code: str) -> dict[str, Any]:
    return op["responses"][code]["content"]["application/json"]["schema"]


def _resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _conforms(doc: dict[str, Any], schema: dict[str, Any], value: Any, where: str = "body") -> list[str]:
    """Return how `value` disagrees with `schema` (the subset of JSON Schema FastAPI emits here)."""
    schema = _resolve(doc, schema)
    if "anyOf" in schema:
        options = [_conforms(doc, s, value, where) for s in schema["anyOf"]]
        return [] if any(not o for o in options) else [f"{where}: matches none of anyOf ({options})"]
    kind = schema.get("type")
    checks = {
        "null": value is None,
        "boolean": isinstance(value, bool),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, int | float) and not isinstance(value, bool),
        "string": isinstance(value, str),
        "array": isinstance(value, list),
        "object": isinstance(value, dict),
    }
    if kind is not None and not checks[kind]:
        return [f"{where}: {value!r} is not {kind}"]
    if "enum" in schema and value not in schema["enum"]:
        return [f"{where}: {value!r} not in {schema['enum']}"]
    problems: list[str] = []
    if kind == "array":
        for i, item in enumerate(value):
            problems += _conforms(doc, schema.get("items", {}), item, f"{where}[{i}]")
    if kind == "object":
        props = schema.get("properties", {})
        problems += [f"{where}.{k}: required, missing" for k in schema.get("required", ()) if k not in value]
        for k, v in value.items():
            if k in props:
                problems += _conforms(doc, props[k], v, f"{where}.{k}")
            elif isinstance(schema.get("additionalProperties"), dict):
                problems += _conforms(doc, schema["additionalProperties"], v, f"{where}.{k}")
            elif schema.get("additionalProperties") is False or props:
                problems.append(f"{where}.{k}: not in the documented schema")
    return problems


def test_every_session_route_declares_its_response_model(clients):
    doc = _doc(clients)
    ops = list(_operations(doc))
    assert len(ops) == 17  # issue #13 added: a reading entered in error
    for path, method, op in ops:
        ok = [c for c in op["responses"] if c.startswith("2")]
        assert len(ok) == 1, (method, path, ok)
        schema = _schema(op, ok[0])
        target = schema.get("items", schema)
        assert "$ref" in target, f"{method.upper()} {path} declares no response model: {schema}"


def test_every_session_route_documents_the_error_bodies_it_sends(clients):
    doc = _doc(clients)
    for path, method, op in _operations(doc):
        name = f"{method.upper()} {path}"
        responses = op["responses"]
        for code in ("401", "403"):
            assert _schema(op, code) == {"$ref": ERROR_BODY}, name
        if "{" in path:
            assert _schema(op, "404") == {"$ref": ERROR_BODY}, name
        if "{" in path or "requestBody" in op:
            assert _schema(op, "422") == {"$ref": VALIDATION_BODY}, name
        if path.endswith("/checks"):
            assert _schema(op, "409") == {"$ref": CONFLICT_BODY}, name
        elif path.endswith("/transitions"):
            assert _schema(op, "409") == {"$ref": "#/components/schemas/TransitionRead"}, name
        else:
            assert "409" not in responses, name
        assert "default" not in responses, name


@pytest.mark.parametrize("code", ["ErrorBody", "ValidationErrorBody", "ConflictBody"])
def test_the_error_body_schemas_are_in_the_document(clients, code):
    doc = _doc(clients)
    schema = doc["components"]["schemas"][code]
    assert "detail" in schema["required"]


def test_the_bodies_the_sessions_api_sends_match_the_document(clients, now, infusing):  # noqa: F811
    doc = _doc(clients)
    ops = {(method, path): op for path, method, op in _operations(doc)}
    nurse, frontdesk = clients.api("nurse"), clients.api("frontdesk")
    sid = infusing

    def check(method: str, template: str, response, code: int) -> None:
        assert response.status_code == code, response.text
        schema = _schema(ops[(method, template)], str(code))
        problems = _conforms(doc, schema, response.json())
        assert not problems, f"{method.upper()} {template} {code}: {problems}"

    check("get", "/api/v1/sessions/{session_id}", nurse.get(f"{API}/sessions/{sid}"), 200)
    check("get", "/api/v1/sessions", nurse.get(f"{API}/sessions"), 200)
    check("get", "/api/v1/board", nurse.get(f"{API}/board"), 200)
    reading = {"sbp": 128, "dbp": 80, "hr": 74, "spo2": 98, "rr": 14}
    check(
        "post",
        "/api/v1/sessions/{session_id}/vitals",
        nurse.post(f"{API}/sessions/{sid}/vitals", json=reading),
        201,
    )
    pump = {"kind": "start", "rate_ml_per_h": 52.5}
    check(
        "post",
        "/api/v1/sessions/{session_id}/infusion-events",
        nurse.post(f"{API}/sessions/{sid}/infusion-events", json=pump),
        201,
    )
    stale = nurse.patch(f"{API}/sessions/{sid}/checks", json={"version": 999, "escort_present": True})
    check("patch", "/api/v1/sessions/{session_id}/checks", stale, 409)
    assert stale.json()["current_version"] >= 1
    impossible = nurse.post(f"{API}/sessions/{sid}/transitions", json={"event": "discharge"})
    check("post", "/api/v1/sessions/{session_id}/transitions", impossible, 422)
    ended = nurse.post(f"{API}/sessions/{sid}/transitions", json={"event": "end_infusion"})
    check("post", "/api/v1/sessions/{session_id}/transitions", ended, 200)
    refused = nurse.post(f"{API}/sessions/{sid}/transitions", json={"event": "discharge"})
    check("post", "/api/v1/sessions/{session_id}/transitions", refused, 409)
    assert refused.json()["failed_guards"] and not refused.json()["allowed"]
    bad = nurse.post(f"{API}/sessions/{sid}/vitals", json={"sbp": 130, "hr": 80})
    check("post", "/api/v1/sessions/{session_id}/vitals", bad, 422)
    check("get", "/api/v1/sessions/{session_id}", nurse.get(f"{API}/sessions/999999"), 404)
    check("get", "/api/v1/board", frontdesk.get(f"{API}/board"), 403)
    check("get", "/api/v1/board", clients.api(None).get(f"{API}/board"), 401)


def test_the_conformance_check_itself_refuses_an_undocumented_key_a_missing_field_and_a_wrong_type(clients):
    doc = _doc(clients)
    schema = {"$ref": CONFLICT_BODY}
    assert _conforms(doc, schema, {"detail": "changed", "current_version": 3}) == []
    assert _conforms(doc, schema, {"detail": "changed"}) == ["body.current_version: required, missing"]
    assert _conforms(doc, schema, {"detail": "changed", "current_version": 3, "extra": 1}) == [
        "body.extra: not in the documented schema"
    ]
    assert _conforms(doc, schema, {"detail": 1, "current_version": 3}) == ["body.detail: 1 is not string"]
