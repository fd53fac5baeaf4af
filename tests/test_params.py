"""Query and path parameters: the document's schema and the parser are one model, so a value
is refused by the app (422, with `fields` and `codes` by parameter) exactly when the document
forbids it."""

from __future__ import annotations

import re
from typing import Any

import jsonschema
import pytest

from api import openapi
from api.models import QuotaChange
from api.params import AvailabilityQuery, event_id, read_query
from queue_engine.validation import Problems, validated
from tests.conftest import ADMIN_TOKEN, AppFactory

AVAILABILITY = "/api/v1/offices/tanjung-priok/availability"
ANNOTATIONS = "/api/v1/admin/audit/annotations"


def documented(path: str, name: str) -> dict[str, Any]:
    """The schema the document gives the query parameter `name` of GET `path`."""
    for param in openapi.DOCUMENT["paths"][path.replace("tanjung-priok", "{id}")]["get"][
        "parameters"
    ]:
        if param.get("name") == name:
            schema: dict[str, Any] = param["schema"]
            return schema
    raise AssertionError(f"{name} is not documented on {path}")


def allowed(schema: dict[str, Any], text: str) -> bool:
    """Whether `text` (as a query string holds it) fits `schema`: OpenAPI's form style, a
    number written in digits for an integer."""
    value: Any = (
        int(text) if schema.get("type") == "integer" and re.fullmatch(r"-?[0-9]+", text) else text
    )
    checker = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    return checker.is_valid(value)


SAMPLES = {
    (AVAILABILITY, "days"): ["1", "14", "62", "0", "63", "-1", "x", "", "1.0", "²", "١٤", " 3"],
    (AVAILABILITY, "from"): [
        "2026-01-05",
        "20260105",
        "2026-W01-1",
        "2026-13-01",
        "",
        "x",
        "0",
        "86400",
    ],
    (ANNOTATIONS, "limit"): ["1", "500", "0", "501", "x", "1e2"],
    (ANNOTATIONS, "from"): ["0", "1700000000000", "-5", "yesterday", "99999999999999999999"],
}


@pytest.mark.parametrize(("path", "name"), list(SAMPLES))
async def test_a_parameter_is_refused_exactly_when_the_document_forbids_it(
    make_client: AppFactory, path: str, name: str
) -> None:
    client = await make_client()
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    schema = documented(path, name)
    for text in SAMPLES[path, name]:
        response = await client.get(path, params={name: text}, headers=admin)
        if allowed(schema, text):
            assert response.status == 200, (name, text, await response.text())
            continue
        assert response.status == 422, (name, text, response.status)
        body = await response.json()
        assert body["error"] == "invalid" and name in body["fields"], (text, body)
        assert body["codes"][name] in {"type", "range", "date", "required"}, (text, body)


async def test_the_officer_lookup_needs_its_code(make_client: AppFactory) -> None:
    client = await make_client()
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    refused = await client.get("/api/v1/admin/bookings", headers=admin)
    assert refused.status == 422
    assert (await refused.json())["codes"] == {"code": "required"}
    assert [
        p["name"] for p in openapi.DOCUMENT["paths"]["/api/v1/admin/bookings"]["get"]["parameters"]
    ] == ["code"]
    unknown = await client.get("/api/v1/admin/bookings", params={"code": "x"}, headers=admin)
    assert unknown.status == 404


def test_the_parsed_values_are_typed() -> None:
    query = read_query({"from": "2026-01-05", "days": "3", "lang": "en"}, AvailabilityQuery)
    assert query.start is not None and query.start.isoformat() == "2026-01-05"
    assert query.days == 3
    assert read_query({}, AvailabilityQuery).days == 14
    with pytest.raises(Problems) as refused:
        read_query({"from": "9999-12-31"}, AvailabilityQuery)
    assert refused.value.codes == {"from": "range"}
    # pydantic alone reads a Unix time of a midnight as a date; `format: date` does not
    for given in ("0", "86400"):
        with pytest.raises(Problems) as refused:
            validated(QuotaChange, {"date": given, "session_id": "pagi", "lane": "reguler",
                                    "capacity": 1})  # fmt: skip
        assert refused.value.codes == {"date": "date"}
    assert event_id({"id": "12"}) == 12
    assert event_id({"id": "12x"}) is None and event_id({"id": "-1"}) is None


def test_the_documented_parameters_come_from_the_models() -> None:
    schema = documented(AVAILABILITY, "days")
    assert schema == {"type": "integer", "minimum": 1, "maximum": 62, "default": 14}
    assert documented(AVAILABILITY, "from") == {"type": "string", "format": "date"}
    for _, item in openapi.DOCUMENT["paths"].items():
        for op in item.values():
            for param in op.get("parameters", []):
                # pydantic's own names for bounds it could not write as JSON Schema
                assert not param.get("schema", {}).keys() & {"ge", "le", "gt", "lt"}, param
    hold = openapi.DOCUMENT["paths"]["/api/v1/admin/events/{id}/hold"]["post"]["parameters"]
    assert hold[0]["schema"] == {"type": "integer"} and hold[0]["required"] is True
