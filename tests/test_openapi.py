"""The OpenAPI document against the route table and the strict parsers (no servers started)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from api import openapi
from api.app import create_app
from api.booking import application
from api.booking.accounts import check_registration
from api.booking.errors import Invalid
from api.settings import Settings
from queue_engine.changes import EDITABLE

DOC = openapi.DOCUMENT
OPERATIONAL = {"/healthz", "/readyz", "/metrics"}
METHODS = {"get", "put", "post", "delete", "patch", "options", "head", "trace"}


def operations() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in DOC["paths"].items():
        for method, op in item.items():
            if method in METHODS:
                yield method.upper(), path, op


def operation(method: str, path: str) -> dict[str, Any]:
    op: dict[str, Any] = DOC["paths"][path][method.lower()]
    return op


def resolve(pointer: str) -> Any:
    assert pointer.startswith("#/"), pointer
    node: Any = DOC
    for part in pointer[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict) and part in node, f"unresolved $ref {pointer}"
        node = node[part]
    return node


def deref(node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        node = resolve(node["$ref"])
    return node


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


def json_body(method: str, path: str) -> dict[str, Any]:
    schema: dict[str, Any] = deref(
        operation(method, path)["requestBody"]["content"]["application/json"]["schema"]
    )
    return schema


async def test_document_covers_exactly_the_json_routes(tmp_path: Path) -> None:
    # Building the app opens no connection: the Redis client and the database pool are lazy.
    # (Async only because asyncpg's unopened pool takes the current event loop, and would make
    # and leak one of its own outside a running loop.)
    app = create_app(
        Settings(
            secret=b"x" * 32,
            admin_token="t",
            redis_url="redis://127.0.0.1:1/0",
            database_url="postgresql://u@127.0.0.1:1/db",
            data_key=b"k" * 32,
            payment_secret=b"p" * 32,
            data_dir=tmp_path,
        )
    )
    served = set()
    for route in app.router.routes():
        path = route.resource.canonical if route.resource is not None else ""
        if route.method in ("HEAD", "*") or path.startswith("/static"):
            continue
        if path.startswith("/api/") or path in OPERATIONAL:
            served.add((route.method, path))
    documented = {(method, path) for method, path, _ in operations()}
    assert served == documented
    assert ("GET", "/api/openapi.json") in served


def test_document_is_structurally_valid() -> None:
    validator = pytest.importorskip("openapi_spec_validator")
    validator.validate(DOC)


def test_every_ref_resolves() -> None:
    found = list(refs(DOC))
    assert found
    for pointer in found:
        resolve(pointer)


def test_every_component_is_used() -> None:
    used = set(refs(DOC["paths"])) | set(refs(DOC["components"]))
    for kind, components in DOC["components"].items():
        if kind == "securitySchemes":
            continue
        for name in components:
            assert f"#/components/{kind}/{name}" in used, f"{kind}/{name} is never referenced"


def test_operations_are_complete_and_ids_unique() -> None:
    ids = [op["operationId"] for _, _, op in operations()]
    assert len(ids) == len(set(ids))
    schemes = DOC["components"]["securitySchemes"]
    for method, path, op in operations():
        assert op["summary"], (method, path)
        assert any(code.startswith("2") for code in op["responses"]), (method, path)
        for requirement in op.get("security", []):
            assert set(requirement) <= set(schemes), (method, path)
        templated = {part[1:-1] for part in path.split("/") if part.startswith("{")}
        in_path = {deref(p)["name"] for p in op.get("parameters", []) if deref(p)["in"] == "path"}
        assert in_path == templated, (method, path)


def test_gated_routes_need_admission_and_login() -> None:
    for path in ("/api/v1/bookings", "/api/v1/bookings/{id}/reschedule"):
        for requirement in operation("POST", path)["security"]:
            assert len(requirement.keys() & {"admissionBearer", "admissionCookie"}) == 1
            assert len(requirement.keys() & {"sessionHeader", "sessionCookie"}) == 1
    for method, path, op in operations():
        if path.startswith("/api/v1/admin/"):
            assert op["security"] == [{"adminBearer": []}], (method, path)
    params = operation("POST", "/api/v1/bookings")["parameters"]
    assert [deref(p)["name"] for p in params] == ["Idempotency-Key"]


def test_booking_request_schema_matches_the_strict_parser() -> None:
    schema = json_body("POST", "/api/v1/bookings")
    fields = {"office_id", "date", "session_id", "lane", "application_kind", "passport"}
    assert set(schema["properties"]) == fields | {"applicant"}
    assert set(schema["required"]) == set(schema["properties"])
    assert schema["additionalProperties"] is False
    assert set(schema["properties"]) == set(application.BookingRequest.model_fields)
    for name, allowed in (
        ("passport", set(application.Passport.model_fields)),
        ("applicant", set(application.Applicant.model_fields)),
    ):
        nested = deref(schema["properties"][name])
        assert set(nested["properties"]) == allowed
        assert set(nested["required"]) == allowed
        assert nested["additionalProperties"] is False
    # ... and the parser does refuse what the schema forbids.
    with pytest.raises(Invalid) as refused:
        application.parse_booking_request({"extra": 1}, {}, dt.date(2026, 1, 5))
    assert refused.value.codes["extra"] == "unknown_field"


def test_other_strict_bodies_match_their_parsers() -> None:
    reschedule = json_body("POST", "/api/v1/bookings/{id}/reschedule")
    assert set(reschedule["properties"]) == set(application.Reschedule.model_fields)
    changes = json_body("PATCH", "/api/v1/admin/rooms/{room}")
    assert set(changes["properties"]) == {*EDITABLE, "reason"}
    strict = {
        ("POST", "/api/v1/accounts"): {"email", "password", "name", "phone"},
        ("POST", "/api/v1/accounts/verify"): {"email", "code"},
        ("POST", "/api/v1/login"): {"email", "password"},
        ("POST", "/api/v1/payments/callback"): {
            "billing_code",
            "amount",
            "transaction_id",
            "paid_at",
        },
        ("POST", "/api/v1/payments/sandbox/pay"): {"billing_code"},
        ("POST", "/api/v1/admin/bookings/{id}/status"): {"status", "note"},
        ("PUT", "/api/v1/admin/rooms/{room}/inventory"): {"remaining"},
        ("POST", "/api/v1/bookings/{id}/reschedule"): {"date", "session_id"},
        ("PATCH", "/api/v1/admin/rooms/{room}"): {*EDITABLE, "reason"},
    }
    for (method, path), names in strict.items():
        schema = json_body(method, path)
        assert set(schema["properties"]) == names, (method, path)
        assert schema["additionalProperties"] is False, (method, path)


def test_error_responses_use_the_shared_shapes() -> None:
    for method, path, op in operations():
        for status, response in op["responses"].items():
            if status.startswith("2") or path == "/readyz":
                continue
            response = deref(response)
            schema = deref(response["content"]["application/json"]["schema"])
            alternatives = [deref(s) for s in schema.get("oneOf", [schema])]
            for alternative in alternatives:  # an Error, or a model that extends it
                assert {"error", "message"} <= set(alternative["required"]), (method, path)
            if status in ("429", "503"):
                assert "Retry-After" in response["headers"], (method, path, status)
            if status == "422" and not path.endswith("/documents"):  # multipart: no fields
                assert schema is DOC["components"]["schemas"]["InvalidError"], (method, path)


async def test_handler_serves_the_document() -> None:
    request = make_mocked_request("GET", "/api/openapi.json", app=web.Application())
    response = await openapi.document(request)
    assert response.status == 200
    assert response.content_type == "application/json"
    assert isinstance(response.body, bytes)
    assert orjson.loads(response.body) == orjson.loads(orjson.dumps(DOC))


@pytest.mark.parametrize(
    ("phone", "taken"),
    [
        ("081234567890", True),
        ("0812-3456-7890", True),
        ("+62 812 3456 7890", True),
        ("0812345678", True),  # 10 digits
        ("+628123456789012", True),  # 15 digits
        ("6281234567890", False),  # no +
        ("081234567", False),  # 9 digits
        ("0812345678901234", False),  # 16 digits
        ("0212345678", False),  # a landline
        ("\t081234567890", False),  # a tab is not a separator people type
    ],
)
def test_the_documented_phone_is_the_one_taken(phone: str, taken: bool) -> None:
    """The drift issue 15 found: the document's pattern and the parser disagreed on numbers."""
    pattern = deref(json_body("POST", "/api/v1/accounts"))["properties"]["phone"]["pattern"]
    assert bool(re.search(pattern, phone)) is taken
    body = {"email": "a@example.com", "password": "Rahasia123", "name": "Budi", "phone": phone}
    if taken:
        assert check_registration(body).phone.startswith("+628")
    else:
        with pytest.raises(Invalid) as refused:
            check_registration(body)
        assert refused.value.codes == {"phone": "phone"}


def test_every_json_body_is_its_models_schema() -> None:
    """Each JSON request body is a component generated from the model its handler reads."""
    generated = openapi.BODIES
    for method, path, op in operations():
        content = op.get("requestBody", {}).get("content", {})
        if "application/json" in content:
            name = content["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
            assert DOC["components"]["schemas"][name] is generated[name], (method, path)
