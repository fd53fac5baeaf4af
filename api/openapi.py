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

from queue_engine.changes import Changes

from . import admin, health, load_accounts
from .booking.accounts import NewAccount
from .booking.application import BookingRequest, Reschedule
from .booking.documents import DocumentKind
from .handlers import accounts, bookings, officers, payments
from .handlers.offices import MAX_DAYS, OfficeViews
from .models import (
    Credentials,
    Inventory,
    JoinProof,
    NewCode,
    OfficerStep,
    PayBillingCode,
    PaymentNotice,
    QuotaChange,
    Revocation,
    TestBatchRequest,
    Verification,
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


DATE = string("A calendar date, YYYY-MM-DD.", format="date")

# -- component schemas ------------------------------------------------------------------------


<<<<<<< HEAD
#: what a free text of a body may hold: anything but NUL, which `web.read_model` refuses (400)
#: since PostgreSQL cannot store it
NUL_FREE: Final = r"^[^\x00]*$"


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
    JoinProof,
    Changes,
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
)

#: the answers; the handlers build them as dicts, the conformance checks hold them to these
ANSWERS: Final[Json] = model_schemas(*VIEWS, mode="serialization")
assert not BODIES.keys() & ANSWERS.keys(), "a request body and an answer share a name"

SCHEMAS: Final[Json] = BODIES | ANSWERS
=======
SCHEMAS: Final[Json] = {
    # errors
    "Error": {
        "type": "object",
        "description": "Every refusal: a machine-readable code and a message for people; some "
        "codes add fields of their own.",
        "properties": {"error": string("Machine-readable code."), "message": string()},
        "required": ["error", "message"],
    },
    "InvalidError": extends(
        "Error",
        {
            "fields": {**STRING_MAP, "description": "Dotted field path -> what is wrong with it."},
            "codes": {**STRING_MAP, "description": "Dotted field path -> machine code."},
        },
        "error = invalid: some fields were refused. Booking-domain refusals also carry `codes`.",
        optional=("codes",),
    ),
    "AdmissionRequiredError": extends(
        "Error",
        {"join_url": string("Where to join the line."), "waiting_room": string("Its page.")},
        "error = admission_required: no live admission token of the guarded room.",
    ),
    "AdmissionNotYoursError": extends(
        "Error",
        {"join_url": string("Where to join the line."), "waiting_room": string("Its page.")},
        "error = admission_not_yours: the admission was presented without the ticket it was "
        "claimed with, or by an account other than the one it is bound to (or, once bound, "
        "without that account's login).",
    ),
    "TurnNotGivenError": extends(
        "Error",
        {
            "waiting_room": string("The waiting room's page."),
            "held_until": INSTANT,
        },
        "error = turn_already_held: the account holds another live turn (until `held_until`); "
        "error = turn_limit_reached: it used the room's `turns_per_account` this epoch.",
        optional=("held_until",),
    ),
    "LoginRequiredError": extends(
        "Error",
        {"login": string("Where to log in.")},
        "error = login_required: no live login session.",
    ),
    "InvalidTicketError": extends(
        "Error",
        {"reason": string("forged, expired, another room…")},
        "error = invalid_ticket: the ticket cannot be used; join again.",
    ),
    "ProofRequiredError": extends(
        "Error",
        {
            "reason": enum(("missing", "invalid", "expired", "replayed")),
            "challenge": string("A fresh challenge: solve it and join again."),
            "algorithm": string("sha256-leading-zero-bits"),
            "difficulty": integer(minimum=0),
            "expires_at": INSTANT,
        },
        "error = proof_required: the room asks for a solved challenge with the join.",
    ),
    "TooManyJoinsError": extends(
        "Error",
        {"retry_after_seconds": integer(minimum=1)},
        "error = too_many_joins: this client address (IPv4, or IPv6 /64) spent its joins.",
    ),
    # the waiting room
    "Challenge": obj(
        {
            "challenge": string("Opaque and single-use; valid until expires_at."),
            "algorithm": string(
                "sha256-leading-zero-bits: find a nonce (decimal digits, at most 16) such that "
                'SHA-256(challenge + ":" + nonce) starts with `difficulty` zero bits.'
            ),
            "difficulty": integer("Zero bits; 0 means any nonce will do.", minimum=0),
            "expires_at": INSTANT,
        }
    ),
    "JoinProof": obj(
        {"challenge": string("From GET …/challenge or a 428."), "nonce": string()},
        description="The solved challenge; needed when the room's pow_difficulty is above 0.",
    ),
    "WaitingStatus": obj(
        {
            "ticket": string(
                "The ticket to hold from now on (also set as a cookie); empty "
                "when a closed room refused it."
            ),
            "state": enum(VisitState),
            "position": nullable(integer("1 = next in line; null in the pre-queue.")),
            "ahead": nullable(integer(minimum=0)),
            "eta_seconds": nullable(obj({"low": integer(), "high": integer()})),
            "poll_after_seconds": {"type": "number", "description": "When to poll next."},
            "admission_token": string(
                "Once admitted: the token for the gated routes (also set "
                "as the antri_admission cookie)."
            ),
            "session_expires_at": INSTANT,
        },
        optional=("admission_token", "session_expires_at"),
    ),
    "RoomState": obj(
        {
            "room": string(),
            "state": enum(RoomState),
            "waiting": integer(),
            "active": integer("Live admitted sessions."),
            "rate_per_minute": integer(),
            "event_starts_at": nullable(INSTANT),
            "admitted_last_minute": integer(),
            "no_show_share": {"type": "number"},
            "sold_out": {"type": "boolean"},
            "shuffle": obj(
                {
                    "commitment": string("Hash of the seed, published before the release."),
                    "seed": nullable(string("Revealed once the cohort is fixed.")),
                    "cohort_first": integer(),
                    "cohort_last": nullable(integer()),
                },
                description="The audit trail of the fair shuffle of the pre-queue.",
            ),
        }
    ),
    "RoomSettings": extends(
        "RoomState",
        {
            "burst": integer(),
            "max_active": integer(),
            "session_minutes": {"type": "number"},
            "keep_place_seconds": integer(),
            "turns_per_account": integer(
                "Turns (admissions bound to an account) one account may take per room epoch; "
                "0: no cap. One live turn per account at a time, always."
            ),
            "inventory": nullable(integer("Places left to book; null when unknown.")),
            "arrivals": integer(),
            "serving": integer(),
            "pow_difficulty": integer(minimum=0),
            "joins_per_minute_per_client": integer(minimum=0),
        },
        "The operator's view: every setting and counter.",
    ),
    "RoomChanges": obj(
        {
            "rate_per_minute": integer(minimum=1, maximum=1_000_000),
            "burst": integer(
                "How many admissions may start at once beyond the rate; any value delivers"
                " rate_per_minute (claims beyond the bucket are booked for its next tokens).",
                minimum=1,
                maximum=100_000,
            ),
            "max_active": integer(minimum=1, maximum=10_000_000),
            "session_minutes": {"type": "number", "minimum": 1, "maximum": 240},
            "keep_place_seconds": integer(minimum=30, maximum=86_400),
            "pow_difficulty": integer(
                "Zero bits of a join's proof of work (0: off).", minimum=0, maximum=MAX_DIFFICULTY
            ),
            "joins_per_minute_per_client": integer(
                "Joins per client address a minute (0: off).", minimum=0, maximum=100_000
            ),
            "turns_per_account": integer(
                "Turns one account may take per room epoch; 0: no cap.", minimum=0, maximum=1000
            ),
            "state": enum(RoomState),
            "event_starts_at": nullable(
                string(
                    "With a zone; a future instant opens a new shuffled cohort.", format="date-time"
                )
            ),
            "reason": string("Why: kept in the audit trail with the change.", maxLength=500),
        },
        optional=[*EDITABLE, "reason"],
        strict=True,
        description="At least one setting to change.",
    )
    | {"minProperties": 1},
    "Session": obj({"room": string(), "admitted_at": INSTANT, "expires_at": INSTANT}),
    # reference data
    "Office": obj(_OFFICE_FIELDS | {"sessions": array(ref("SessionTime"))}),
    "OfficeSummary": obj(_OFFICE_FIELDS, description="An office without its sessions."),
    "SessionTime": _SESSION,
    "Availability": obj(
        {
            "office_id": string(),
            "timezone": _OFFICE_FIELDS["timezone"],
            "released_until": DATE,
            "next_release": INSTANT,
            "dates": array(
                obj(
                    {
                        "date": DATE,
                        "open": {"type": "boolean", "description": "Not a weekend or holiday."},
                        "released": {"type": "boolean", "description": "Bookable now."},
                        "sessions": array(
                            extends(
                                "SessionTime",
                                {
                                    "lanes": {
                                        "type": "object",
                                        "propertyNames": {"enum": list(LANES)},
                                        "additionalProperties": obj(
                                            {"capacity": integer(), "remaining": integer()}
                                        ),
                                    }
                                },
                            )
                        ),
                    }
                )
            ),
        }
    ),
    "FeeLine": _FEE_LINE,
    "FeeTable": obj(
        {
            "regulation": string("e.g. PP 45/2024."),
            "effective_from": DATE,
            "passports": array(
                obj(
                    {
                        "type": enum(PASSPORT_TYPES),
                        "validity_years": _PASSPORT["validity_years"],
                        "amount": RUPIAH,
                    }
                )
            ),
            "surcharges": array(
                extends(
                    "FeeLine",
                    {
                        "by_passport_type": {
                            "type": "object",
                            "additionalProperties": RUPIAH,
                            "description": "Amounts that differ by passport type.",
                        }
                    },
                    optional=("by_passport_type",),
                )
            ),
            "per_application": array(ref("FeeLine")),
        }
    ),
    "Fees": obj({"in_force": ref("FeeTable"), "history": array(ref("FeeTable"), "Newest first.")}),
    # accounts
    "RegistrationRequest": obj(
        {
            "email": string(format="email", maxLength=254),
            "password": string(
                "A capital letter and a digit at least.", minLength=8, maxLength=128
            ),
            "name": string("3 to 100 letters, spaces and . ' - ,"),
            "phone": string(
                "Indonesian mobile number, e.g. 081234567890.", pattern=r"^(\+62|62|0)8[0-9]{7,12}$"
            ),
        },
        strict=True,
    ),
    "AccountCreated": obj(
        {"id": integer(), "email": string(), "verified": {"type": "boolean", "const": False}}
    ),
    "VerifyRequest": obj(
        {"email": string(), "code": string("The code sent by e-mail.")}, strict=True
    ),
    "Verified": obj({"email": string(), "verified": {"type": "boolean", "const": True}}),
    "LoginRequest": obj({"email": string(), "password": string()}, strict=True),
    "LoginResult": obj(
        {
            "account": obj({"id": integer(), "email": string(), "name": string()}),
            "session_token": string("Send as X-Session-Token (also set as a cookie)."),
            "expires_in": integer("Seconds."),
        }
    ),
    # bookings
    "BookingRequest": obj(
        {
            "office_id": string(),
            "date": string("From tomorrow, within the released dates.", format="date"),
            "session_id": string("One of the office's sessions."),
            "lane": enum(LANES),
            "application_kind": enum(APPLICATION_KINDS),
            "passport": obj(_PASSPORT, strict=True),
            "applicant": obj(
                {
                    "nik": string(
                        "16-digit NIK, consistent with birth date and sex.", pattern=r"^\d{16}$"
                    )
                }
                | _APPLICANT_FIELDS,
                strict=True,
            ),
        },
        strict=True,
        description="Parsed strictly: every problem, unknown fields included, is reported at "
        "once as a 422 with `fields` and `codes` by dotted path (e.g. applicant.nik).",
    ),
    "BookingCreated": obj(
        {
            "id": string(format="uuid"),
            "status": {"type": "string", "const": "awaiting_payment"},
            "billing_code": string("15-digit code to pay at the bank.", pattern=r"^\d{15}$"),
            "amount": RUPIAH,
            "currency": {"type": "string", "const": "IDR"},
            "expires_at": string("Unpaid by then, the place is released.", format="date-time"),
            "fee_lines": array(ref("FeeLine")),
        }
    ),
    "Booking": obj(
        {
            "id": string(format="uuid"),
            "status": enum(BOOKING_STATUSES),
            "office": ref("OfficeSummary"),
            "date": DATE,
            "session": obj(
                {
                    "id": string(),
                    "start": nullable(CLOCK),
                    "end": nullable(CLOCK),
                    "starts_at": INSTANT,
                }
            ),
            "lane": enum(LANES),
            "application_kind": enum(APPLICATION_KINDS),
            "passport": obj(_PASSPORT),
            "applicant": obj(
                _APPLICANT_FIELDS
                | {
                    "applicant_type": enum(("dewasa", "anak")),
                    "nik_masked": string("First 4 and last 2 digits of the NIK."),
                }
            ),
            "amount": RUPIAH,
            "currency": {"type": "string", "const": "IDR"},
            "fee_lines": array(ref("FeeLine")),
            "billing_code": nullable(string("While awaiting payment.")),
            "expires_at": nullable(INSTANT),
            "paid_at": nullable(INSTANT),
            "booking_code": nullable(string("Once paid, XXXX-XXXX-XXXXX.")),
            "qr_text": nullable(string("What the proof's QR code holds.")),
            "reschedules_left": integer(minimum=0, maximum=1),
            "documents_required": array(
                enum(DocumentKind), "The document kinds this application must bring."
            ),
            "created_at": INSTANT,
        },
        description="A booking as listed.",
    ),
    "BookingDetail": extends(
        "Booking",
        {
            "timeline": array(
                obj(
                    {
                        "status": enum((*BOOKING_STATUSES, "rescheduled")),
                        "at": INSTANT,
                        "note": nullable(string()),
                    }
                )
            ),
            "documents": array(ref("StoredDocument")),
        },
        "One booking with its timeline and uploaded documents.",
    ),
    "StoredDocument": obj(
        {
            "kind": enum(DocumentKind),
            "media_type": enum(("image/jpeg", "image/png", "application/pdf")),
            "size": integer(maximum=MAX_DOCUMENT_BYTES),
            "uploaded_at": INSTANT,
        },
        optional=("uploaded_at",),
    ),
    "RescheduleRequest": obj(
        {"date": DATE, "session_id": string()},
        strict=True,
        description="Once per booking, until the end of the day before (H-1), same office and "
        "lane.",
    ),
    "OfficerStatusRequest": obj(
        {"status": enum(OFFICER_TARGETS), "note": string()}, optional=("note",), strict=True
    ),
    # payments
    "SandboxPayRequest": obj({"billing_code": string()}, strict=True),
    "PaymentCallback": obj(
        {
            "billing_code": string(),
            "amount": integer("Must equal the amount due.", minimum=0),
            "transaction_id": string("The bank's id; a repeat of it is answered as before."),
            "paid_at": string("ISO 8601; without a zone, UTC.", format="date-time"),
        },
        strict=True,
    ),
    "PaymentConfirmed": obj(
        {
            "status": {"type": "string", "const": "confirmed"},
            "booking_id": string(format="uuid"),
            "booking_code": string(),
            "replayed": {"type": "boolean", "description": "A repeat of a callback accepted."},
        }
    ),
    "SandboxPayment": extends(
        "PaymentConfirmed",
        {"paid": {"type": "boolean", "const": True}, "amount": RUPIAH},
    ),
    # operations
    "Health": obj(
        {
            "status": enum(("ok", "unavailable")),
            "redis": string(),
            "database": string(),
            "worker": enum(("ok", "missing", "unknown")),
            "scheduler": enum(("ok", "missing", "late", "unknown")),
        },
        optional=("redis", "database", "worker", "scheduler"),
    ),
    "Account": obj(
        {
            "id": integer(),
            "email": string(),
            "name": string(),
            "phone": string(),
            "verified": {"type": "boolean"},
            "applicants": integer("People with an active booking (at most 5).", minimum=0),
        }
    ),
    "QuotaRequest": obj(
        {
            "date": string(format="date"),
            "session_id": string(),
            "lane": enum(LANES),
            "capacity": integer(
                "0 closes the slot; never below what is booked.", minimum=0, maximum=MAX_CAPACITY
            ),
            "reason": string("Why: kept in the audit trail with the change."),
        },
        optional=["reason"],
        strict=True,
    ),
    "ReleaseEvent": obj(
        {
            "id": integer(),
            "room": string(),
            "source": {"type": "string", "enum": ["rule", "manual"]},
            "label": string(),
            "prequeue_opens_at": string(format="date-time"),
            "starts_at": string(format="date-time"),
            "closes_at": nullable(string(format="date-time")),
            "rate_per_minute": integer(),
            "max_active": integer(),
            "held": {"type": "boolean"},
            "armed_at": nullable(string(format="date-time")),
            "started_at": nullable(string(format="date-time")),
            "closed_at": nullable(string(format="date-time")),
            "created_by": string(),
        },
        description="A release: the pre-queue arms at prequeue_opens_at, the draw starts at"
        " starts_at; each step's time once taken.",
    ),
    "NewReleaseEvent": obj(
        {
            "room": string(),
            "label": string(maxLength=100),
            "starts_at": string("With a zone.", format="date-time"),
            "prequeue_minutes": integer("Default 30.", minimum=0, maximum=1440),
            "rate_per_minute": integer(minimum=1, maximum=1_000_000),
            "max_active": integer(minimum=1, maximum=10_000_000),
            "closes_at": string("With a zone; after starts_at.", format="date-time"),
            "reason": string(),
        },
        optional=["prequeue_minutes", "closes_at", "reason"],
        strict=True,
    ),
    "Annotation": obj(
        {
            "time": integer("Unix milliseconds of the change."),
            "title": string(),
            "text": string("Who did what to what, and why."),
            "tags": array(string(), "antri, the action, the target and the actor's role."),
        },
        description="One change of the audit trail, as a Grafana annotation.",
    ),
    "Quota": obj({"capacity": integer(), "booked": integer(), "remaining": integer()}),
}
>>>>>>> console

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


def path_param(name: str, description: str) -> Json:
    """A path parameter."""
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": string(),
    }


PARAMETERS: Final[Json] = {
    "Room": path_param("room", "Waiting-room name (a-z, 0-9, -), e.g. paspor."),
    "BookingId": path_param("id", "Booking id (a UUID; anything else is 404)."),
    "OfficeId": path_param("id", "Office slug."),
    "TicketHeader": {
        "name": "X-Antri-Ticket",
        "in": "header",
        "description": "The waiting-room ticket (preferred over the cookie).",
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
TEST_PREFIX = path_param("prefix", "The batch: its accounts are <prefix><n>@antri.test.")
#: the load-test accounts' routes: 404 while ANTRI_LOAD_TEST_ACCOUNTS is off
OFF = {404: failure(404, "not_found", note="ANTRI_LOAD_TEST_ACCOUNTS is off."), **BOOKING_INVALID}


@dataclass(frozen=True, slots=True)
class Route:
    """One route of the JSON API, written once: the router serves `handler` at `method` `path`
    and the document describes it with `operation`. A handler that is a method of RoomViews or
    OfficeViews is bound to the app's instance when the routes are set up (api/routes.py)."""

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
                400: use("BadJson"),
                404: use("UnknownRoom"),
                428: failure(428, "proof_required", schema=ref("ProofRequiredError")),
                429: failure(429, "too_many_joins", schema=ref("TooManyJoinsError")),
            },
            description="A ticket held (header or cookie) keeps its place; a bad one is ignored "
            "and a new place taken. A new place needs the solved challenge in the body when the "
            "room's pow_difficulty is above 0, and room in the client address's join budget.",
            parameters=[ROOM, *TICKET],
            body={"required": False, "content": {JSON_TYPE: {"schema": ref("JoinProof")}}},
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
<<<<<<< HEAD
        ),
    ),
    Route(
        "GET",
        "/api/v1/admin/rooms/{room}",
        admin.get_room,
        operation(
=======
        )
    },
    # the operator
    "/api/v1/admin/rooms": {
        "get": operation(
            "adminListRooms",
            "Every room's settings and counters",
            "admin",
            {
                200: ok(array(ref("RoomSettings"))),
                401: use("AdminOnly"),
                403: failure(403, "forbidden"),
                **UNAVAILABLE,
            },
            security=ADMIN,
        )
    },
    "/api/v1/admin/events": {
        "get": operation(
            "adminListEvents",
            "The release events of the next two weeks",
            "admin",
            {
                200: ok(array(ref("ReleaseEvent"))),
                401: use("AdminOnly"),
                403: failure(403, "forbidden"),
                **UNAVAILABLE,
            },
            security=ADMIN,
        ),
        "post": operation(
            "adminAddEvent",
            "Add a one-off release event",
            "admin",
            {
                201: ok(ref("ReleaseEvent"), "Created"),
                401: use("AdminOnly"),
                403: failure(403, "forbidden"),
                **INVALID,
                **UNAVAILABLE,
            },
            body=ref("NewReleaseEvent"),
            security=ADMIN,
        ),
    },
    "/api/v1/admin/events/{id}/hold": {
        "post": operation(
            "adminHoldEvent",
            "Hold a release event (it will not run) or let it go",
            "admin",
            {
                200: ok(ref("ReleaseEvent")),
                401: use("AdminOnly"),
                403: failure(403, "forbidden"),
                404: failure(404, "unknown_event"),
                **INVALID,
                **UNAVAILABLE,
            },
            parameters=[{"name": "id", "in": "path", "required": True, "schema": integer()}],
            body=obj(
                {"held": {"type": "boolean"}, "reason": string()}, optional=["reason"], strict=True
            ),
            security=ADMIN,
        )
    },
    "/api/v1/admin/rooms/{room}": {
        "get": operation(
>>>>>>> console
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
        admin.patch_room,
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
            body=ref("Changes"),
            security=ADMIN,
        ),
    ),
    Route(
        "PUT",
        "/api/v1/admin/rooms/{room}/inventory",
        admin.put_inventory,
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
        admin.revoke,
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
                {
                    "name": "from",
                    "in": "query",
                    "description": "First date (default: today, office-local).",
                    "schema": DATE,
                },
                {
                    "name": "days",
                    "in": "query",
                    "schema": integer(minimum=1, maximum=MAX_DAYS, default=14),
                },
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
        accounts.register,
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
        accounts.verify,
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
        accounts.resend,
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
        accounts.login,
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
        accounts.profile,
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
        accounts.logout,
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
        bookings.create,
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
        bookings.index,
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
        bookings.show,
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
        bookings.documents,
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
        bookings.reschedule,
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
        bookings.cancel,
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
        bookings.proof,
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
        payments.sandbox_pay,
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
        payments.callback,
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
        officers.lookup,
        operation(
            "officerLookup",
            "Find a booking by its booking code or its proof's QR text",
            "office",
            {
                200: ok(ref("BookingDetail")),
                404: failure(404, "unknown_booking", note="Also for a forged QR text."),
            },
            parameters=[
                {
                    "name": "code",
                    "in": "query",
                    "required": True,
                    "description": "XXXX-XXXX-XXXXX, or ANTRI:<code>:<tag>.",
                    "schema": string(),
                },
            ],
            security=ADMIN,
        ),
    ),
    Route(
        "POST",
        "/api/v1/admin/bookings/{id}/status",
        officers.set_status,
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
        officers.set_quota,
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
<<<<<<< HEAD
        ),
    ),
=======
        )
    },
    "/api/v1/admin/audit/annotations": {
        "get": operation(
            "auditAnnotations",
            "The audit trail in a time range, as Grafana annotations (newest first)",
            "admin",
            {
                200: ok(array(ref("Annotation"))),
                401: use("AdminOnly"),
                403: failure(403, "forbidden"),
                **INVALID,
                **UNAVAILABLE,
            },
            description="`from` and `to` in Unix milliseconds (Grafana's $__from and $__to),"
            " `target` (e.g. room:antri) and `limit` (1 to 500, default 100) are optional.",
            parameters=[
                {"name": name, "in": "query", "required": False, "schema": schema}
                for name, schema in (
                    ("from", integer()),
                    ("to", integer()),
                    ("target", string()),
                    ("limit", integer(minimum=1, maximum=500)),
                )
            ],
            security=ADMIN,
        )
    },
>>>>>>> console
    # load-test accounts (off unless ANTRI_LOAD_TEST_ACCOUNTS: then 404 says nothing of them)
    Route(
        "POST",
        "/api/v1/admin/test-accounts",
        load_accounts.create,
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
        load_accounts.show,
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
        load_accounts.remove,
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
        load_accounts.remove_bookings,
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
        health.healthz,
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
        health.readyz,
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
        health.metrics,
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
