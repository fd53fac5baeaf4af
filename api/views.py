"""The JSON answers of the API, as pydantic models: the OpenAPI document's response components
are generated from them (`openapi.model_schemas`).

Documentation models: the handlers build their answers as plain dicts (orjson encodes them, on
the hot paths too), and the conformance checks of `tests/test_fuzz.py` and schemathesis compare
every answer with these schemas. Enumerations come from the domain, so they cannot drift.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from queue_engine.room import VisitState
from queue_engine.settings import RoomState as RoomStateName
from queue_engine.validation import optional

from .booking.application import MaritalStatus, Purpose, Sex
from .booking.bookings import ACTIVE
from .booking.documents import MAX_DOCUMENT_BYTES, DocumentKind
from .booking.fees import VALIDITY_YEARS, ApplicationKind, PassportType
from .booking.offices import ZONE_LABELS, Lane

BOOKING_STATUSES = (*ACTIVE, "collected", "rejected", "cancelled", "expired")


def one_of(values: Any, description: str | None = None) -> Any:
    """A text that is one of `values` (a domain's tuple of names)."""
    return Field(description=description, json_schema_extra={"enum": list(values)})


Rupiah = Annotated[int, Field(ge=0, description="Rupiah.")]
Clock = Annotated[str, Field(pattern=r"^\d{2}:\d{2}$", description="Office-local time, HH:MM.")]
Instant = Annotated[dt.datetime, Field(description="A UTC instant, ISO 8601 (…Z).")]
Day = Annotated[dt.date, Field(description="A calendar date, YYYY-MM-DD.")]
Zone = Annotated[str, one_of(sorted(set(ZONE_LABELS.values())), "Zone label: WIB, WITA or WIT.")]
Validity = Annotated[
    int,
    Field(
        json_schema_extra={"enum": list(VALIDITY_YEARS)},
        description="10 needs the applicant to be 17 or older on the date, or married.",
    ),
]


class View(BaseModel):
    """Base of the answers' models."""


# -- the waiting room -------------------------------------------------------------------------


class Challenge(View):
    challenge: str = Field(description="Opaque and single-use; valid until expires_at.")
    algorithm: str = Field(
        description="sha256-leading-zero-bits: find a nonce (decimal digits, at most 16) such "
        'that SHA-256(challenge + ":" + nonce) starts with `difficulty` zero bits, and join '
        'with that text, challenge + ":" + nonce, in the X-Antri-Proof header.'
    )
    difficulty: int = Field(ge=0, description="Zero bits; 0 means any nonce will do.")
    expires_at: Instant


class Eta(View):
    low: int
    high: int


class WaitingStatus(View):
    ticket: str = Field(
        description="The ticket to hold from now on (also set as a cookie); empty when a closed "
        "room refused it."
    )
    state: VisitState
    position: int | None = Field(description="1 = next in line; null in the pre-queue.")
    ahead: Annotated[int, Field(ge=0)] | None
    eta_seconds: Eta | None
    poll_after_seconds: float = Field(description="When to poll next.")
    admission_token: str = optional(
        description="Once admitted: the token for the gated routes (also set as the "
        "antri_admission cookie)."
    )
    session_expires_at: Instant = optional()


class Shuffle(View):
    """The audit trail of the fair shuffle of the pre-queue."""

    commitment: str = Field(description="Hash of the seed, published before the release.")
    seed: str | None = Field(description="Revealed once the cohort is fixed.")
    cohort_first: int
    cohort_last: int | None


class RoomPublic(View):
    room: str
    state: RoomStateName
    waiting: int
    active: int = Field(description="Live admitted sessions.")
    rate_per_minute: int
    event_starts_at: Instant | None
    admitted_last_minute: int
    no_show_share: float
    sold_out: bool
    shuffle: Shuffle


class RoomSettings(RoomPublic):
    """The operator's view: every setting and counter."""

    burst: int
    max_active: int
    session_minutes: float
    keep_place_seconds: int
    turns_per_account: int = Field(
        description="Turns (admissions bound to an account) one account may take per room "
        "epoch; 0: no cap. One live turn per account at a time, always."
    )
    inventory: int | None = Field(description="Places left to book; null when unknown.")
    arrivals: int
    serving: int
    pow_difficulty: int = Field(ge=0)
    joins_per_minute_per_client: int = Field(ge=0)


class Session(View):
    room: str
    admitted_at: Instant
    expires_at: Instant


class Released(View):
    released: Literal[True]


class Revoked(View):
    revoked: bool = Field(description="False: no such live session.")


# -- reference data ---------------------------------------------------------------------------


class SessionTime(View):
    id: str = Field(description="Session id, e.g. s1.")
    start: Clock
    end: Clock


class OfficeSummary(View):
    """An office without its sessions."""

    id: str = Field(description="Office slug, e.g. jakarta-selatan.")
    name: str
    city: str
    province: str
    timezone: Zone
    tz: str = one_of(sorted(ZONE_LABELS), "IANA time zone.")


class Office(OfficeSummary):
    """An office and its daily sessions."""

    sessions: list[SessionTime]


class LaneQuota(View):
    capacity: int
    remaining: int


class SessionPlaces(SessionTime):
    lanes: dict[Lane, LaneQuota]


class AvailableDate(View):
    date: Day
    open: bool = Field(description="Not a weekend or holiday.")
    released: bool = Field(description="Bookable now.")
    sessions: list[SessionPlaces]


class Availability(View):
    office_id: str
    timezone: Zone
    released_until: Day
    next_release: Instant
    dates: list[AvailableDate]


class FeeLine(View):
    code: str = Field(description="Machine code, e.g. paspor_elektronik_10, percepatan.")
    label_id: str = Field(description="Label in Bahasa Indonesia.")
    label_en: str = Field(description="Label in English.")
    amount: Rupiah


class PassportFee(View):
    type: PassportType
    validity_years: Validity
    amount: Rupiah


class Surcharge(FeeLine):
    by_passport_type: dict[str, Rupiah] = optional(
        description="Amounts that differ by passport type."
    )


class FeeTable(View):
    regulation: str = Field(description="e.g. PP 45/2024.")
    effective_from: Day
    passports: list[PassportFee]
    surcharges: list[Surcharge]
    per_application: list[FeeLine]


class Fees(View):
    in_force: FeeTable
    history: list[FeeTable] = Field(description="Newest first.")


# -- accounts ---------------------------------------------------------------------------------


class AccountCreated(View):
    id: int
    email: str
    verified: Literal[False]


class Verified(View):
    email: str
    verified: Literal[True]


class CodeSent(View):
    sent: Literal[True]


class AccountName(View):
    id: int
    email: str
    name: str


class LoginResult(View):
    account: AccountName
    session_token: str = Field(description="Send as X-Session-Token (also set as a cookie).")
    expires_in: int = Field(description="Seconds.")


class LoggedOut(View):
    logged_out: Literal[True]


class Account(View):
    id: int
    email: str
    name: str
    phone: str
    verified: bool
    applicants: int = Field(ge=0, description="People with an active booking (at most 5).")


# -- bookings ---------------------------------------------------------------------------------


class BookingCreated(View):
    id: str = Field(json_schema_extra={"format": "uuid"})
    status: Literal["awaiting_payment"]
    billing_code: str = Field(pattern=r"^\d{15}$", description="15-digit code to pay at the bank.")
    amount: Rupiah
    currency: Literal["IDR"]
    expires_at: dt.datetime = Field(description="Unpaid by then, the place is released.")
    fee_lines: list[FeeLine]


class BookedSession(View):
    id: str
    start: Clock | None
    end: Clock | None
    starts_at: Instant


class PassportChosen(View):
    type: PassportType
    validity_years: Validity


class ApplicantView(View):
    full_name: str
    birth_place: str
    birth_date: Day
    sex: Sex
    phone: str = Field(description="+628…")
    address: str
    marital_status: MaritalStatus
    purpose: Purpose
    destination: str
    applicant_type: str = one_of(("dewasa", "anak"))
    nik_masked: str = Field(description="First 4 and last 2 digits of the NIK.")


class Booking(View):
    """A booking as listed."""

    id: str = Field(json_schema_extra={"format": "uuid"})
    status: str = one_of(BOOKING_STATUSES)
    office: OfficeSummary
    date: Day
    session: BookedSession
    lane: Lane
    application_kind: ApplicationKind
    passport: PassportChosen
    applicant: ApplicantView
    amount: Rupiah
    currency: Literal["IDR"]
    fee_lines: list[FeeLine]
    billing_code: str | None = Field(description="While awaiting payment.")
    expires_at: Instant | None
    paid_at: Instant | None
    booking_code: str | None = Field(description="Once paid, XXXX-XXXX-XXXXX.")
    qr_text: str | None = Field(description="What the proof's QR code holds.")
    reschedules_left: int = Field(ge=0, le=1)
    documents_required: list[DocumentKind] = Field(
        description="The document kinds this application must bring."
    )
    created_at: Instant


class Step(View):
    status: str = one_of((*BOOKING_STATUSES, "rescheduled"))
    at: Instant
    note: str | None


class StoredDocument(View):
    kind: DocumentKind
    media_type: str = one_of(("image/jpeg", "image/png", "application/pdf"))
    size: int = Field(le=MAX_DOCUMENT_BYTES)
    uploaded_at: Instant = optional()


class BookingDetail(Booking):
    """One booking with its timeline and uploaded documents."""

    timeline: list[Step]
    documents: list[StoredDocument]


class Saved(View):
    saved: list[StoredDocument]


class Quota(View):
    capacity: int
    booked: int
    remaining: int


class TestBatch(View):
    prefix: str
    emails: str = Field(description="The batch's addresses, <prefix><n>@antri.test")
    accounts: int = Field(ge=0)
    bookings_holding_places: int = Field(ge=0)
    created: int = optional(ge=0, description="New accounts (POST only)")


class TestRemoved(View):
    prefix: str
    bookings_removed: int = Field(ge=0)
    places_freed: int = Field(ge=0)
    accounts_removed: int = Field(ge=0)


# -- the operations console's API -------------------------------------------------------------


class ReleaseEvent(View):
    """A release: the pre-queue arms at prequeue_opens_at, the draw starts at starts_at; each
    step's time once taken."""

    id: int
    room: str
    source: Literal["rule", "manual"]
    label: str
    prequeue_opens_at: Instant
    starts_at: Instant
    closes_at: Instant | None
    rate_per_minute: int
    max_active: int
    held: bool
    armed_at: Instant | None
    started_at: Instant | None
    closed_at: Instant | None
    created_by: str


class Annotation(View):
    """One change of the audit trail, as a Grafana annotation."""

    time: int = Field(description="Unix milliseconds of the change.")
    title: str
    text: str = Field(description="Who did what to what, and why.")
    tags: list[str] = Field(description="antri, the action, the target and the actor's role.")


# -- payments and operations ------------------------------------------------------------------


class PaymentConfirmed(View):
    status: Literal["confirmed"]
    booking_id: str = Field(json_schema_extra={"format": "uuid"})
    booking_code: str
    replayed: bool = Field(description="A repeat of a callback accepted.")


class SandboxPayment(PaymentConfirmed):
    paid: Literal[True]
    amount: Rupiah


class Health(View):
    status: str = one_of(("ok", "unavailable"))
    redis: str = optional()
    database: str = optional()
    worker: str = optional(json_schema_extra={"enum": ["ok", "missing", "unknown"]})
    scheduler: str = optional(json_schema_extra={"enum": ["ok", "missing", "late", "unknown"]})


# -- refusals ---------------------------------------------------------------------------------


class Error(View):
    """Every refusal: a machine-readable code and a message for people; some codes add fields
    of their own."""

    error: str = Field(description="Machine-readable code.")
    message: str


class InvalidError(Error):
    """error = invalid: some fields were refused, each with a machine code in `codes`."""

    fields: dict[str, str] = Field(description="Dotted field path -> what is wrong with it.")
    codes: dict[str, str] = optional(description="Dotted field path -> machine code.")


class AdmissionRequiredError(Error):
    """error = admission_required: no live admission token of the guarded room."""

    join_url: str = Field(description="Where to join the line.")
    waiting_room: str = Field(description="Its page.")


class AdmissionNotYoursError(AdmissionRequiredError):
    """error = admission_not_yours: the admission was presented without the ticket it was
    claimed with, or by an account other than the one it is bound to (or, once bound, without
    that account's login)."""


class TurnNotGivenError(Error):
    """error = turn_already_held: the account holds another live turn (until `held_until`);
    error = turn_limit_reached: it used the room's `turns_per_account` this epoch."""

    waiting_room: str = Field(description="The waiting room's page.")
    held_until: Instant = optional()


class LoginRequiredError(Error):
    """error = login_required: no live login session."""

    login: str = Field(description="Where to log in.")


class InvalidTicketError(Error):
    """error = invalid_ticket: the ticket cannot be used; join again."""

    reason: str = Field(description="forged, expired, another room…")


class ProofRequiredError(Error):
    """error = proof_required: the room asks for a solved challenge with the join."""

    reason: str = one_of(("missing", "invalid", "expired", "replayed"))
    challenge: str = Field(description="A fresh challenge: solve it and join again.")
    algorithm: str = Field(description="sha256-leading-zero-bits")
    difficulty: int = Field(ge=0)
    expires_at: Instant


class TooManyJoinsError(Error):
    """error = too_many_joins: this client address (IPv4, or IPv6 /64) spent its joins."""

    retry_after_seconds: int = Field(ge=1)


#: every refusal's model
ERRORS = (
    Error, InvalidError, AdmissionRequiredError, AdmissionNotYoursError, TurnNotGivenError,
    LoginRequiredError, InvalidTicketError, ProofRequiredError, TooManyJoinsError,
)  # fmt: skip

#: every answer's model, for the document's components
VIEWS = (
    Challenge, WaitingStatus, RoomPublic, RoomSettings, Session, Released, Revoked, Office,
    OfficeSummary, Availability, Fees, AccountCreated, Verified, CodeSent, LoginResult,
    LoggedOut, Account, BookingCreated, Booking, BookingDetail, Saved, Quota, PaymentConfirmed,
    SandboxPayment, Health, TestBatch, TestRemoved, ReleaseEvent, Annotation, *ERRORS,
)  # fmt: skip
