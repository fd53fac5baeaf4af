"""The OpenAPI 3.1 document of Antri's JSON API, served at GET /api/openapi.json.

Built once at import from small helpers. Enumerations come from the domain modules (lanes, fee
choices, statuses, room settings), so the document cannot drift from them; the field lists of
the strict request bodies are checked against their parsers by tests/test_openapi.py.

Every route answers an error as `{"error": code, "message": text, ...}` (api/observed.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from .admin import AdminViews
from .booking.accounts import NewAccount
from .booking.application import BookingRequest, Reschedule
from .booking.documents import DocumentKind
from .handlers.accounts import AccountViews
from .handlers.audit import AuditViews
from .handlers.bookings import BookingViews
from .handlers.events import EventViews
from .handlers.officers import OfficerViews
from .handlers.offices import OfficeViews
from .handlers.payments import PaymentViews
from .health import HealthViews
from .load_accounts import LoadAccountViews
from .models import (
    Credentials,
    EventHold,
    Inventory,
    NewCode,
    NewReleaseEvent,
    OfficerStep,
    PayBillingCode,
    PaymentNotice,
    QuotaChange,
    Revocation,
    RoomPatch,
    TestBatchRequest,
    Verification,
)
from .params import (
    NUL_FREE,
    AnnotationsQuery,
    AvailabilityQuery,
    BatchPath,
    BookingPath,
    EventPath,
    LookupQuery,
    OfficePath,
    Parameters,
    RoomPath,
)
from .rooms import RoomViews
from .views import VIEWS
from .web import json_response

Json = dict[str, Any]

JSON_TYPE = "application/json"

# -- schema helpers ---------------------------------------------------------------------------


def ref(name: str, kind: str = "schemas") -> Json:
    """A reference to a component."""
    return {"$ref": f"#/components/{kind}/{name}"}


def nullable(schema: Json) -> Json:
    """`schema` or JSON null (OpenAPI 3.1: plain JSON Schema, no `nullable`)."""
    return {"anyOf": [schema, {"type": "null"}]}


def string(description: str | None = None, **extra: Any) -> Json:
    """A string schema."""
    schema: Json = {"type": "string", **extra}
    if description:
        schema["description"] = description
    return schema


def integer(description: str | None = None, **extra: Any) -> Json:
    """An integer schema."""
    schema: Json = {"type": "integer", **extra}
    if description:
        schema["description"] = description
    return schema


def enum(values: Iterable[str], description: str | None = None) -> Json:
    """A string schema restricted to `values`."""
    return string(description, enum=list(values))


def array(items: Json, description: str | None = None) -> Json:
    """An array schema."""
    schema: Json = {"type": "array", "items": items}
    if description:
        schema["description"] = description
    return schema


def obj(
    properties: Mapping[str, Json],
    *,
    optional: Iterable[str] = (),
    strict: bool = False,
    description: str | None = None,
) -> Json:
    """An object whose properties are all required except `optional`; `strict` for request
    bodies the server refuses unknown fields of."""
    skip = set(optional)
    schema: Json = {"type": "object", "properties": dict(properties)}
    required = [name for name in properties if name not in skip]
    if required:
        schema["required"] = required
    if strict:
        schema["additionalProperties"] = False
    if description:
        schema["description"] = description
    return schema


# -- component schemas ------------------------------------------------------------------------


def _tidy(node: Any, enums: Mapping[str, Json]) -> Any:
    """Pydantic's JSON Schema as this document writes it: enumerations inline (they are the
    domain's, not components of their own), no generated titles, no `default: null` for the
    fields that may be left out but are never null, and free texts that say they hold no NUL."""
    if isinstance(node, list):
        return [_tidy(item, enums) for item in node]
    if not isinstance(node, dict):
        return node
    name = node.get("$ref", "").rsplit("/", 1)[-1]
    if name in enums:  # the field's own description wins over the enumeration's
        node = {key: value for key, value in node.items() if key != "$ref"}
        return _tidy(enums[name] | node, enums)
    tidy: Json = {}
    for key, value in node.items():
        if key == "title" or (key == "default" and value is None):
            continue
        if key == "properties":
            tidy[key] = {field: _tidy(schema, enums) for field, schema in value.items()}
        else:
            tidy[key] = _tidy(value, enums)
    if tidy.get("type") == "string" and not tidy.keys() & {"pattern", "format", "enum"}:
        tidy["pattern"] = NUL_FREE
    return tidy


def model_schemas(
    *models: type[BaseModel], mode: Literal["validation", "serialization"] = "validation"
) -> Json:
    """The components of `models` (nested models included): request bodies as validated, or
    answers as serialized."""
    _, top = models_json_schema(
        [(model, mode) for model in models], ref_template="#/components/schemas/{model}"
    )
    defs: Json = top["$defs"]
    enums = {name: schema for name, schema in defs.items() if "enum" in schema}
    tidy = {name: _tidy(schema, enums) for name, schema in defs.items() if name not in enums}
    return tidy if mode == "validation" else _without_nul_rule(tidy)


def _without_nul_rule(node: Any) -> Any:
    """An answer's schema: the NUL rule is the request bodies' (answers hold no NUL anyway)."""
    if isinstance(node, list):
        return [_without_nul_rule(item) for item in node]
    if not isinstance(node, dict):
        return node
    return {k: _without_nul_rule(v) for k, v in node.items() if (k, v) != ("pattern", NUL_FREE)}


#: the request bodies; each is the model its handler reads
BODIES: Final[Json] = model_schemas(
    Inventory,
    Revocation,
    NewAccount,
    Verification,
    NewCode,
    Credentials,
    BookingRequest,
    Reschedule,
    OfficerStep,
    PayBillingCode,
    PaymentNotice,
    QuotaChange,
    TestBatchRequest,
    RoomPatch,
    NewReleaseEvent,
    EventHold,
)

#: the answers; the handlers build them as dicts, the conformance checks hold them to these
ANSWERS: Final[Json] = model_schemas(*VIEWS, mode="serialization")
assert not BODIES.keys() & ANSWERS.keys(), "a request body and an answer share a name"

SCHEMAS: Final[Json] = BODIES | ANSWERS

# -- responses --------------------------------------------------------------------------------

HEADERS: Final[Json] = {
    "RetryAfter": {"description": "Seconds to wait before trying again.", "schema": integer()},
    "SetCookie": {
        "description": "Session cookies (HttpOnly, SameSite=Lax).",
        "schema": string(),
    },
}

#: the default error body schema of each status
_ERROR_SCHEMA = {422: "InvalidError"}
_RETRY = {429, 503}


def failure(status: int, *codes: str, note: str = "", schema: Json | None = None) -> Json:
    """An error response whose `error` is one of `codes`."""
    listed = ", ".join(f"`{code}`" for code in codes)
    description = " ".join(part for part in (listed, note) if part) or "Refused."
    response: Json = {
        "description": description,
        "content": {JSON_TYPE: {"schema": schema or ref(_ERROR_SCHEMA.get(status, "Error"))}},
    }
    if status in _RETRY:
        response["headers"] = {"Retry-After": ref("RetryAfter", "headers")}
    return response


def ok(schema: Json, description: str = "OK", cookies: bool = False) -> Json:
    """A JSON success response."""
    response: Json = {"description": description, "content": {JSON_TYPE: {"schema": schema}}}
    if cookies:
        response["headers"] = {"Set-Cookie": ref("SetCookie", "headers")}
    return response


RESPONSES: Final[Json] = {
    "BadJson": failure(400, "bad_json", note="The body is not a JSON object."),
    "Unavailable": failure(
        503, "unavailable", note="Redis or PostgreSQL is briefly unreachable; nothing changed."
    ),
    "AdminOnly": failure(401, "unauthorized", note="A valid admin token is required."),
    "AdmissionRequired": failure(401, "admission_required", schema=ref("AdmissionRequiredError")),
    "LoginRequired": failure(401, "login_required", schema=ref("LoginRequiredError")),
    "AdmissionNotYours": failure(
        403,
        "admission_not_yours",
        note="A copy of someone else's admission.",
        schema=ref("AdmissionNotYoursError"),
    ),
    "TurnNotGiven": failure(
        409,
        "turn_already_held",
        "turn_limit_reached",
        note="Only with a login session, whose account may not take this turn.",
        schema=ref("TurnNotGivenError"),
    ),
    "AdmissionOrLoginRequired": failure(
        401,
        "admission_required",
        "login_required",
        note="The admission is checked first, then the login.",
        schema={"oneOf": [ref("AdmissionRequiredError"), ref("LoginRequiredError")]},
    ),
    "UnknownRoom": failure(404, "unknown_room"),
    "UnknownBooking": failure(404, "unknown_booking", note="No such booking, or not yours."),
    "Internal": failure(500, "internal", note="Unexpected failure; nothing was changed."),
}


def use(name: str) -> Json:
    """A shared response."""
    return ref(name, "responses")


# -- parameters and security ------------------------------------------------------------------


def parameters(model: type[Parameters], where: Literal["query", "path"]) -> list[Json]:
    """The parameters `model` declares, as its parser (api/params.py) reads them: a path's
    are all required, a query's unless they have a default."""
    schema = model.model_json_schema(by_alias=True)
    required = set(schema.get("required", ()))
    found: list[Json] = []
    for name, field in schema["properties"].items():
        field = {key: value for key, value in field.items() if key != "title"}
        description = field.pop("description", None)
        if field.get("default", 0) is None:  # left out, not null: the type without its null
            del field["default"]
            (field,) = (kind for kind in field.pop("anyOf") if kind != {"type": "null"})
        param: Json = {"name": name, "in": where, "required": where == "path" or name in required}
        if description:
            param["description"] = description
        found.append(param | {"schema": field})
    return found


def path_parameter(model: type[Parameters]) -> Json:
    """The one path parameter of `model`."""
    (param,) = parameters(model, "path")
    return param


PARAMETERS: Final[Json] = {
    "Room": path_parameter(RoomPath),
    "BookingId": path_parameter(BookingPath),
    "OfficeId": path_parameter(OfficePath),
    "TicketHeader": {
        "name": "X-Antri-Ticket",
        "in": "header",
        "description": "The waiting-room ticket (preferred over the cookie).",
        "schema": string(),
    },
    "ProofHeader": {
        "name": "X-Antri-Proof",
        "in": "header",
        "description": "The solved challenge for a new place when the room's pow_difficulty is "
        'above 0: the challenge (from GET …/challenge or a 428), ":" and a nonce such that '
        "SHA-256 of this very text starts with `difficulty` zero bits.",
        "schema": string(),
    },
    "TicketCookie": {
        "name": "antri_ticket",
        "in": "cookie",
        "description": "The waiting-room ticket, as set by join.",
        "schema": string(),
    },
    "IdempotencyKey": {
        "name": "Idempotency-Key",
        "in": "header",
        "description": "Makes the request safe to retry: a repeat with the same key (per account, "
        "kept 24 hours) gets the first outcome again (the same 201 body or the same 409) without "
        "a second booking; the same key with a different body is refused with 422 "
        "(`codes`: idempotency_key_reused).",
        "schema": string(pattern=r"^[\x21-\x7e]{1,255}$"),
    },
}

SECURITY_SCHEMES: Final[Json] = {
    "admissionBearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "Admission token from the waiting room (status `admission_token`). It "
        "works only together with the ticket it was claimed with (`X-Antri-Ticket` or the "
        "antri_ticket cookie) and, from the first gated request that carries a login session, "
        "only for that account (and only with its login): a copy gets 403 "
        "`admission_not_yours`. An account holds one live turn at a time (409 "
        "`turn_already_held`). A turn makes one booking: it ends when the booking is made.",
    },
    "admissionCookie": {"type": "apiKey", "in": "cookie", "name": "antri_admission"},
    "sessionHeader": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Session-Token",
        "description": "Login session token from POST /api/v1/login.",
    },
    "sessionCookie": {"type": "apiKey", "in": "cookie", "name": "antri_session"},
    "adminBearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "The admin token (bootstrap), or an operator's API token (`antri"
        " operators token`): a viewer may read, an operator or admin change rooms and quotas,"
        " an officer or admin use the desk's routes; 403 for a role without the right.",
    },
    "paymentSignature": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Antri-Signature",
        "description": '`t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">` with the '
        "payment secret; refused more than 300 s from now.",
    },
}

Security = list[dict[str, list[str]]]
ADMISSION: Final[Security] = [{"admissionBearer": []}, {"admissionCookie": []}]
LOGIN: Final[Security] = [{"sessionHeader": []}, {"sessionCookie": []}]
ADMIN: Final[Security] = [{"adminBearer": []}]
SIGNED: Final[Security] = [{"paymentSignature": []}]
#: admitted AND logged in: every pairing of an admission scheme with a login scheme
ADMITTED_LOGIN: Final[Security] = [a | s for a in ADMISSION for s in LOGIN]

# -- operations -------------------------------------------------------------------------------


def operation(
    operation_id: str,
    summary: str,
    tag: str,
    responses: Mapping[int, Json],
    *,
    description: str | None = None,
    parameters: Iterable[Json] = (),
    body: Json | None = None,
    security: Security | None = None,
    stores: bool = True,
) -> Json:
    """One operation; `body` is the JSON request schema (or a full requestBody with content).
    The 401 its `security` implies and, when it `stores` (reads or writes Redis or PostgreSQL),
    the 503 of a store briefly away are added unless `responses` say otherwise."""
    implied = {401: use(_SIGN_IN[id(security)])} if id(security) in _SIGN_IN else {}
    responses = implied | (UNAVAILABLE if stores else {}) | dict(responses)
    op: Json = {"operationId": operation_id, "summary": summary, "tags": [tag]}
    if description:
        op["description"] = description
    params = list(parameters)
    if params:
        op["parameters"] = params
    if body is not None:
        if "content" in body:
            op["requestBody"] = {"required": True, **body}
        else:  # a JSON body: read_json_object refuses anything but an object with 400
            op["requestBody"] = {"required": True, "content": {JSON_TYPE: {"schema": body}}}
            responses = {400: use("BadJson"), **responses}
    if security is not None:
        op["security"] = security
    ordered = sorted(responses.items())
    op["responses"] = {str(status): response for status, response in ordered}
    op["responses"]["default"] = use("Internal")
    return op


#: the 401 response of each kind of credentials (by identity: the lists are shared constants)
_SIGN_IN: Final = {
    id(ADMISSION): "AdmissionRequired",
    id(LOGIN): "LoginRequired",
    id(ADMIN): "AdminOnly",
    id(ADMITTED_LOGIN): "AdmissionOrLoginRequired",
}
ROOM = ref("Room", "parameters")
BOOKING_ID = ref("BookingId", "parameters")
TICKET = [ref("TicketHeader", "parameters"), ref("TicketCookie", "parameters")]
UNAVAILABLE = {503: use("Unavailable")}
INVALID = {422: failure(422, "invalid")}
BOOKING_INVALID = {422: failure(422, "invalid", note="With `fields` and `codes` by dotted path.")}
SLOT_CONFLICTS = ("date_closed", "date_passed", "not_released", "slot_full")
TEST_PREFIX = path_parameter(BatchPath)
#: the load-test accounts' routes: 404 while ANTRI_LOAD_TEST_ACCOUNTS is off
OFF = {404: failure(404, "not_found", note="ANTRI_LOAD_TEST_ACCOUNTS is off."), **BOOKING_INVALID}


@dataclass(frozen=True, slots=True)
class Route:
    """One route of the JSON API, written once: the router serves `handler` at `method` `path`
    and the document describes it with `operation`. A handler that is a method of a views class
    (RoomViews, BookingViews, …) is bound to the app's instance of it when the routes are set up
    (api/routes.py, api/bound.py)."""

    method: str
    path: str
    handler: Callable[..., Awaitable[web.StreamResponse]]
    operation: Json


async def document(request: web.Request) -> web.Response:
    """GET /api/openapi.json."""
    return json_response(DOCUMENT)


#: every JSON route, the busiest first (the router tries dynamic routes in order)
OPERATIONS: Final[tuple[Route, ...]] = (
    Route(
        "GET",
        "/api/v1/rooms/{room}/status",
        RoomViews.status,
        operation(
            "getTicketStatus",
            "Where the held ticket stands (poll after poll_after_seconds)",
            "waiting room",
            {
                200: ok(ref("WaitingStatus"), "Admitted: includes the admission token.", True),
                400: failure(400, "no_ticket", "malformed_ticket"),
                401: failure(401, "invalid_ticket", schema=ref("InvalidTicketError")),
                404: use("UnknownRoom"),
            },
            description="The ticket is required, in X-Antri-Ticket or the antri_ticket cookie.",
            parameters=[ROOM, *TICKET],
        ),
    ),
    Route(
        "POST",
        "/api/v1/rooms/{room}/join",
        RoomViews.join,
        operation(
            "joinRoom",
            "Take a place in line (the same place again for a ticket held)",
            "waiting room",
            {
                200: ok(ref("WaitingStatus"), "The ticket's status; cookies set.", cookies=True),
                404: use("UnknownRoom"),
                428: failure(428, "proof_required", schema=ref("ProofRequiredError")),
                429: failure(429, "too_many_joins", schema=ref("TooManyJoinsError")),
            },
            description="A ticket held (header or cookie) keeps its place; a bad one is ignored "
            "and a new place taken. A new place needs the solved challenge in X-Antri-Proof "
            "when the room's pow_difficulty is above 0, and room in the client address's join "
            "budget. The join has no body.",
            parameters=[ROOM, *TICKET, ref("ProofHeader", "parameters")],
        ),
    ),
    Route(
        "GET",
        "/api/v1/rooms/{room}/challenge",
        RoomViews.challenge,
        operation(
            "getJoinChallenge",
            "A proof-of-work challenge to solve before joining (single-use, short-lived)",
            "waiting room",
            {200: ok(ref("Challenge")), 404: use("UnknownRoom"), **UNAVAILABLE},
            parameters=[ROOM],
            stores=False,
        ),
    ),
    Route(
        "GET",
        "/api/v1/rooms/{room}",
        RoomViews.room_state,
        operation(
            "getRoomState",
            "The room's public state and the shuffle's audit trail",
            "waiting room",
            {200: ok(ref("RoomPublic")), 404: use("UnknownRoom"), **UNAVAILABLE},
            parameters=[ROOM],
            stores=False,
        ),
    ),
    Route(
        "GET",
        "/api/v1/session",
        RoomViews.session,
        operation(
            "getSession",
            "The caller's admitted session",
            "waiting room",
            {
                200: ok(ref("Session")),
                403: use("AdmissionNotYours"),
                409: use("TurnNotGiven"),
            },
            security=ADMISSION,
        ),
    ),
    Route(
        "POST",
        "/api/v1/session/release",
        RoomViews.release,
        operation(
            "releaseSession",
            "End the admitted session now, so the next visitor can come in",
            "waiting room",
            {
                200: ok(
                    ref("Released"),
                    "Released; the admission cookie is cleared.",
                    cookies=True,
                ),
                403: use("AdmissionNotYours"),
                409: use("TurnNotGiven"),
            },
            security=ADMISSION,
        ),
    ),
    Route(
        "GET",
        "/api/v1/admin/rooms/{room}",
        AdminViews.get_room,
        operation(
            "adminGetRoom",
            "Every setting and counter of a room",
            "admin",
            {
                200: ok(ref("RoomSettings")),
                404: use("UnknownRoom"),
            },
            parameters=[ROOM],
            security=ADMIN,
        ),
    ),
    Route(
        "PATCH",
        "/api/v1/admin/rooms/{room}",
        AdminViews.patch_room,
        operation(
            "adminPatchRoom",
            "Change a room's settings at run time",
            "admin",
            {
                200: ok(ref("RoomSettings")),
                404: use("UnknownRoom"),
                **INVALID,
            },
            description="422 names each refused or unknown field.",
            parameters=[ROOM],
            body=ref("RoomPatch"),
            security=ADMIN,
        ),
    ),
    Route(
        "PUT",
        "/api/v1/admin/rooms/{room}/inventory",
        AdminViews.put_inventory,
        operation(
            "adminPutInventory",
            "Tell the room how many places are left (0: sold out, null: unknown)",
            "admin",
            {
                200: ok(ref("RoomSettings")),
                404: use("UnknownRoom"),
                **INVALID,
            },
            parameters=[ROOM],
            body=ref("Inventory"),
            security=ADMIN,
        ),
    ),
    Route(
        "POST",
        "/api/v1/admin/rooms/{room}/revoke",
        AdminViews.revoke,
        operation(
            "adminRevoke",
            "End the session of an admission token now",
            "admin",
            {
                200: ok(ref("Revoked")),
                404: use("UnknownRoom"),
                **INVALID,
            },
            parameters=[ROOM],
            body=ref("Revocation"),
            security=ADMIN,
        ),
    ),
    Route(
        "GET",
        "/api/v1/offices",
        OfficeViews.offices,
        operation(
            "listOffices",
            "The immigration offices and their daily sessions",
            "reference",
            {200: ok(array(ref("Office")))},
            stores=False,
        ),
    ),
    Route(
        "GET",
        "/api/v1/offices/{id}/availability",
        OfficeViews.availability,
        operation(
            "getAvailability",
            "Places left per date, session and lane (cached up to 1 s)",
            "reference",
            {
                200: ok(ref("Availability")),
                404: failure(404, "unknown_office"),
                **INVALID,
            },
            parameters=[
                ref("OfficeId", "parameters"),
                *parameters(AvailabilityQuery, "query"),
            ],
        ),
    ),
    Route(
        "GET",
        "/api/v1/fees",
        OfficeViews.fees,
        operation(
            "getFees",
            "The PNBP fee table in force today, and the earlier ones",
            "reference",
            {200: ok(ref("Fees"))},
            stores=False,
        ),
    ),
    Route(
        "POST",
        "/api/v1/accounts",
        AccountViews.register,
        operation(
            "registerAccount",
            "Register; a verification code is e-mailed",
            "accounts",
            {
                201: ok(ref("AccountCreated"), "Created, not yet verified."),
                409: failure(409, "email_taken"),
                **INVALID,
            },
            body=ref("NewAccount"),
        ),
    ),
    Route(
        "POST",
        "/api/v1/accounts/verify",
        AccountViews.verify,
        operation(
            "verifyAccount",
            "Verify the e-mail address with the code sent",
            "accounts",
            {
                200: ok(ref("Verified"), "Verified (also when it already was)."),
                422: failure(
                    422, "invalid", note="`codes`: wrong_code (also for an unknown address)."
                ),
                429: failure(
                    429, "too_many_attempts", note="5 codes checked; then ask for a new code."
                ),
            },
            body=ref("Verification"),
        ),
    ),
    Route(
        "POST",
        "/api/v1/accounts/verify/resend",
        AccountViews.resend,
        operation(
            "resendVerification",
            "Mail a new verification code (at most one a minute per address)",
            "accounts",
            {
                202: ok(
                    ref("CodeSent"),
                    "The same answer whether or not the address has an unverified account.",
                ),
                **INVALID,
                429: failure(429, "too_many_attempts"),
            },
            body=ref("NewCode"),
        ),
    ),
    Route(
        "POST",
        "/api/v1/login",
        AccountViews.login,
        operation(
            "login",
            "Log in: a session token and cookie (12 hours)",
            "accounts",
            {
                200: ok(ref("LoginResult"), "Logged in; the antri_session cookie is set.", True),
                401: failure(401, "bad_credentials"),
                403: failure(403, "email_not_verified"),
                **INVALID,
                429: failure(
                    429,
                    "too_many_attempts",
                    note="Per account and client address; an account tried from many addresses"
                    " is slowed; per address.",
                ),
            },
            body=ref("Credentials"),
        ),
    ),
    Route(
        "GET",
        "/api/v1/account",
        AccountViews.profile,
        operation(
            "getAccount",
            "The logged-in account",
            "accounts",
            {200: ok(ref("Account")), 401: use("LoginRequired"), **UNAVAILABLE},
            security=LOGIN,
            stores=False,
        ),
    ),
    Route(
        "POST",
        "/api/v1/logout",
        AccountViews.logout,
        operation(
            "logout",
            "End the login session (idempotent; works without one)",
            "accounts",
            {
                200: ok(
                    ref("LoggedOut"),
                    "The session cookie is cleared.",
                    cookies=True,
                ),
            },
            security=[*LOGIN, {}],
        ),
    ),
    Route(
        "POST",
        "/api/v1/bookings",
        BookingViews.create,
        operation(
            "createBooking",
            "Take a place, awaiting payment (admitted and logged in)",
            "bookings",
            {
                201: ok(
                    ref("BookingCreated"),
                    "Booked; pay the billing code before expires_at. The booking ends the turn "
                    "(its place goes back to the line); a retry with the same Idempotency-Key "
                    "after that gets this answer again.",
                ),
                403: use("AdmissionNotYours"),
                409: failure(
                    409,
                    *SLOT_CONFLICTS,
                    "too_many_applicants",
                    "nik_has_active_booking",
                    "turn_already_held",
                    "turn_limit_reached",
                    "turn_used",
                ),
                422: failure(
                    422,
                    "invalid",
                    note="Any field refused (with `fields` and "
                    "`codes`), a malformed Idempotency-Key, or a key reused with a "
                    "different body.",
                ),
            },
            parameters=[ref("IdempotencyKey", "parameters")],
            body=ref("BookingRequest"),
            security=ADMITTED_LOGIN,
        ),
    ),
    Route(
        "GET",
        "/api/v1/bookings",
        BookingViews.index,
        operation(
            "listBookings",
            "The account's bookings, newest first (at most 100)",
            "bookings",
            {200: ok(array(ref("Booking"))), 401: use("LoginRequired"), **UNAVAILABLE},
            security=LOGIN,
            stores=False,
        ),
    ),
    Route(
        "GET",
        "/api/v1/bookings/{id}",
        BookingViews.show,
        operation(
            "getBooking",
            "One booking with its timeline and documents",
            "bookings",
            {
                200: ok(ref("BookingDetail")),
                404: use("UnknownBooking"),
            },
            parameters=[BOOKING_ID],
            security=LOGIN,
        ),
    ),
    Route(
        "POST",
        "/api/v1/bookings/{id}/documents",
        BookingViews.documents,
        operation(
            "uploadDocuments",
            "Upload supporting documents (JPEG, PNG or PDF, 2 MB each)",
            "bookings",
            {
                201: ok(ref("Saved"), "Stored."),
                400: failure(400, "bad_multipart", note="The multipart body is malformed."),
                404: use("UnknownBooking"),
                409: failure(409, "not_changeable", note="The booking is closed."),
                413: failure(413, "too_large"),
                415: failure(415, "unsupported_type", note="Not multipart, or not JPEG/PNG/PDF."),
                422: failure(
                    422,
                    "invalid",
                    "empty",
                    note="A part with an unknown name, no part, or an empty file.",
                    schema=ref("Error"),
                ),
            },
            description="A new upload of a kind replaces the earlier one.",
            parameters=[BOOKING_ID],
            body={
                "content": {
                    "multipart/form-data": {
                        "schema": obj(
                            {kind.value: string(format="binary") for kind in DocumentKind},
                            optional=[kind.value for kind in DocumentKind],
                            strict=True,
                            description="One part per document kind, named after it.",
                        )
                    }
                }
            },
            security=LOGIN,
        ),
    ),
    Route(
        "POST",
        "/api/v1/bookings/{id}/reschedule",
        BookingViews.reschedule,
        operation(
            "rescheduleBooking",
            "Move the booking once, until the day before (admitted and logged in)",
            "bookings",
            {
                200: ok(ref("BookingDetail")),
                403: use("AdmissionNotYours"),
                404: use("UnknownBooking"),
                409: failure(
                    409,
                    "turn_already_held",
                    "turn_limit_reached",
                    "not_reschedulable",
                    "already_rescheduled",
                    "too_late",
                    "same_slot",
                    *SLOT_CONFLICTS,
                ),
                **BOOKING_INVALID,
            },
            parameters=[BOOKING_ID],
            body=ref("Reschedule"),
            security=ADMITTED_LOGIN,
        ),
    ),
    Route(
        "POST",
        "/api/v1/bookings/{id}/cancel",
        BookingViews.cancel,
        operation(
            "cancelBooking",
            "Cancel an unpaid or confirmed booking; its place goes back to the pool",
            "bookings",
            {
                200: ok(ref("BookingDetail")),
                404: use("UnknownBooking"),
                409: failure(409, "not_cancellable"),
            },
            parameters=[BOOKING_ID],
            security=LOGIN,
        ),
    ),
    Route(
        "GET",
        "/api/v1/bookings/{id}/proof.pdf",
        BookingViews.proof,
        operation(
            "getProof",
            "The printable proof of registration, once paid",
            "bookings",
            {
                200: {
                    "description": "The PDF (Content-Disposition: inline).",
                    "content": {"application/pdf": {"schema": string(format="binary")}},
                },
                404: use("UnknownBooking"),
                409: failure(409, "not_paid"),
            },
            parameters=[BOOKING_ID],
            security=LOGIN,
        ),
    ),
    Route(
        "POST",
        "/api/v1/payments/sandbox/pay",
        PaymentViews.sandbox_pay,
        operation(
            "sandboxPay",
            "The sandbox bank: pay a billing code (calls the signed callback)",
            "payments",
            {
                200: ok(ref("SandboxPayment")),
                404: failure(404, "unknown_billing_code"),
                409: failure(409, "billing_expired", "booking_cancelled", "already_paid"),
                **BOOKING_INVALID,
                429: failure(429, "too_many_attempts", note="Unknown codes, per client address."),
                502: failure(502, "callback_failed", note="The callback recorded nothing."),
            },
            description=(
                "Off unless ANTRI_SANDBOX_PAYMENTS is set. The callback goes to ANTRI_PUBLIC_URL"
                " (else this server); the answer is what the database recorded, read back."
            ),
            body=ref("PayBillingCode"),
        ),
    ),
    Route(
        "POST",
        "/api/v1/payments/callback",
        PaymentViews.callback,
        operation(
            "paymentCallback",
            "The bank reports a billing code paid (HMAC-signed; idempotent)",
            "payments",
            {
                200: ok(
                    ref("PaymentConfirmed"),
                    "Confirmed, or a repeat of the same transaction (`replayed`).",
                ),
                401: failure(401, "bad_signature"),
                404: failure(404, "unknown_billing_code"),
                409: failure(409, "billing_expired", "booking_cancelled", "already_paid"),
                422: failure(422, "invalid", note="A field refused, or `codes`: amount_mismatch."),
            },
            body=ref("PaymentNotice"),
            security=SIGNED,
        ),
    ),
    Route(
        "GET",
        "/api/v1/admin/bookings",
        OfficerViews.lookup,
        operation(
            "officerLookup",
            "Find a booking by its booking code or its proof's QR text",
            "office",
            {
                200: ok(ref("BookingDetail")),
                404: failure(404, "unknown_booking", note="Also for a forged QR text."),
            },
            parameters=parameters(LookupQuery, "query"),
            security=ADMIN,
        ),
    ),
    Route(
        "POST",
        "/api/v1/admin/bookings/{id}/status",
        OfficerViews.set_status,
        operation(
            "officerSetStatus",
            "Move a booking one step (check-in, interview, … collected)",
            "office",
            {
                200: ok(ref("BookingDetail")),
                404: use("UnknownBooking"),
                409: failure(409, "invalid_step"),
                **INVALID,
            },
            parameters=[BOOKING_ID],
            body=ref("OfficerStep"),
            security=ADMIN,
        ),
    ),
    Route(
        "PUT",
        "/api/v1/admin/offices/{id}/quota",
        OfficerViews.set_quota,
        operation(
            "setQuota",
            "Change one slot's quota (office, date, session, lane)",
            "office",
            {
                200: ok(ref("Quota")),
                404: failure(404, "unknown_office", "unknown_slot"),
                409: failure(409, "below_booked"),
                **INVALID,
            },
            parameters=[ref("OfficeId", "parameters")],
            body=ref("QuotaChange"),
            security=ADMIN,
        ),
    ),
    # the operations console's API (also `antri rooms` and `antri events`)
    Route(
        "GET",
        "/api/v1/admin/rooms",
        EventViews.list_rooms,
        operation(
            "adminListRooms",
            "Every room's settings and counters",
            "admin",
            {200: ok(array(ref("RoomSettings"))), 403: failure(403, "forbidden")},
            security=ADMIN,
        ),
    ),
    Route(
        "GET",
        "/api/v1/admin/events",
        EventViews.list_events,
        operation(
            "adminListEvents",
            "The release events of the next two weeks",
            "admin",
            {200: ok(array(ref("ReleaseEvent"))), 403: failure(403, "forbidden")},
            security=ADMIN,
        ),
    ),
    Route(
        "POST",
        "/api/v1/admin/events",
        EventViews.add_event,
        operation(
            "adminAddEvent",
            "Add a one-off release event",
            "admin",
            {201: ok(ref("ReleaseEvent"), "Created"), 403: failure(403, "forbidden"), **INVALID},
            body=ref("NewReleaseEvent"),
            security=ADMIN,
        ),
    ),
    Route(
        "POST",
        "/api/v1/admin/events/{id}/hold",
        EventViews.hold_event,
        operation(
            "adminHoldEvent",
            "Hold a release event (it will not run) or let it go",
            "admin",
            {
                200: ok(ref("ReleaseEvent")),
                403: failure(403, "forbidden"),
                404: failure(404, "unknown_event"),
                **INVALID,
            },
            parameters=[path_parameter(EventPath)],
            body=ref("EventHold"),
            security=ADMIN,
        ),
    ),
    Route(
        "GET",
        "/api/v1/admin/audit/annotations",
        AuditViews.grafana_annotations,
        operation(
            "auditAnnotations",
            "The audit trail in a time range, as Grafana annotations (newest first)",
            "admin",
            {200: ok(array(ref("Annotation"))), 403: failure(403, "forbidden"), **INVALID},
            description="`from` and `to` are Grafana's $__from and $__to.",
            parameters=parameters(AnnotationsQuery, "query"),
            security=ADMIN,
        ),
    ),
    # load-test accounts (off unless ANTRI_LOAD_TEST_ACCOUNTS: then 404 says nothing of them)
    Route(
        "POST",
        "/api/v1/admin/test-accounts",
        LoadAccountViews.create,
        operation(
            "createTestAccounts",
            "Make a batch of verified test accounts <prefix><n>@antri.test for a load test",
            "load tests",
            {201: ok(ref("TestBatch"), "The batch (accounts already there are kept)."), **OFF},
            body=ref("TestBatchRequest"),
            security=ADMIN,
        ),
    ),
    Route(
        "GET",
        "/api/v1/admin/test-accounts/{prefix}",
        LoadAccountViews.show,
        operation(
            "getTestAccounts",
            "A batch's accounts and its bookings that hold places",
            "load tests",
            {200: ok(ref("TestBatch")), **OFF},
            parameters=[TEST_PREFIX],
            security=ADMIN,
        ),
    ),
    Route(
        "DELETE",
        "/api/v1/admin/test-accounts/{prefix}",
        LoadAccountViews.remove,
        operation(
            "removeTestAccounts",
            "Delete a batch: its bookings (places given back), then its accounts",
            "load tests",
            {200: ok(ref("TestRemoved")), **OFF},
            parameters=[TEST_PREFIX],
            security=ADMIN,
        ),
    ),
    Route(
        "DELETE",
        "/api/v1/admin/test-accounts/{prefix}/bookings",
        LoadAccountViews.remove_bookings,
        operation(
            "removeTestBookings",
            "Delete a batch's bookings, places given back; the accounts stay",
            "load tests",
            {200: ok(ref("TestRemoved")), **OFF},
            parameters=[TEST_PREFIX],
            security=ADMIN,
        ),
    ),
    Route(
        "GET",
        "/api/openapi.json",
        document,
        operation(
            "getOpenApi",
            "This document",
            "operations",
            {200: ok({"type": "object"}, "OpenAPI 3.1.")},
            stores=False,
        ),
    ),
    Route(
        "GET",
        "/healthz",
        HealthViews.healthz,
        operation(
            "healthz",
            "Liveness: the process answers",
            "operations",
            {200: ok(ref("Health"))},
            stores=False,
        ),
    ),
    Route(
        "GET",
        "/readyz",
        HealthViews.readyz,
        operation(
            "readyz",
            "Readiness: Redis and PostgreSQL answer",
            "operations",
            {
                200: ok(ref("Health")),
                503: ok(ref("Health"), "Redis or PostgreSQL is unreachable; the field says why.")
                | {"headers": {"Retry-After": ref("RetryAfter", "headers")}},
            },
        ),
    ),
    Route(
        "GET",
        "/metrics",
        HealthViews.metrics,
        operation(
            "metrics",
            "Prometheus metrics",
            "operations",
            {
                200: {
                    "description": "Prometheus text exposition format.",
                    "content": {"text/plain": {"schema": string()}},
                }
            },
            stores=False,
        ),
    ),
)


def paths(routes: Iterable[Route]) -> Json:
    """The document's `paths` of `routes`."""
    found: Json = {}
    for route in routes:
        found.setdefault(route.path, {})[route.method.lower()] = route.operation
    return found


PATHS: Final[Json] = paths(OPERATIONS)

DOCUMENT: Final[Json] = {
    "openapi": "3.1.0",
    "info": {
        "title": "Antri",
        "version": "1",
        "summary": "A virtual waiting room in front of passport-appointment booking.",
        "description": 'Errors are JSON objects `{"error": code, "message": text}` (see '
        "Error); 422 adds `fields` (and, for booking rules, `codes`) by dotted field path; "
        "429 and 503 carry Retry-After. Gated routes need the admission token the waiting "
        "room hands out once the visitor's turn comes. A change (POST, PUT, PATCH) "
        "authenticated by a cookie rather than a header token is refused 403 `cross_origin` "
        "when the browser says it came from another site (Origin, Sec-Fetch-Site), and 415 "
        "`json_required` when its body is not JSON; a body over 4 MiB is refused 413 "
        "`too_large`. Every answer carries `Cache-Control: no-store`.",
    },
    "paths": PATHS,
    "components": {
        "schemas": SCHEMAS,
        "responses": RESPONSES,
        "parameters": PARAMETERS,
        "headers": HEADERS,
        "securitySchemes": SECURITY_SCHEMES,
    },
}
