"""The JSON bodies the web tier takes that are only the HTTP shape of a call (log in, verify, pay,
steer an office): strict pydantic models, read by `web.read_model`, documented from their schema.

The booking request, the registration and a room's changes carry the domain's rules, so they
are models of the domain (`booking.application`, `booking.accounts`, `queue_engine.changes`);
these here hold no rule beyond their shape.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import AwareDatetime, Field

from queue_engine.changes import Changes
from queue_engine.validation import Strict, optional

from .booking.application import Day
from .booking.bookings import OFFICER_STEPS
from .booking.offices import Lane
from .booking.slots import MAX_CAPACITY

#: the statuses an officer may move a booking to
OFFICER_TARGETS = tuple(sorted({s for nexts in OFFICER_STEPS.values() for s in nexts}))

#: why an operator made a change, kept in the audit trail
Reason = Annotated[str, Field(max_length=500, description="Why: kept in the audit trail.")]


class Verification(Strict):
    """The code mailed to an address."""

    email: str
    code: str = Field(description="The code sent by e-mail.")


class NewCode(Strict):
    """An address to mail a new code to."""

    email: str


class Credentials(Strict):
    """A login."""

    email: str
    password: str


class PayBillingCode(Strict):
    """A billing code for the sandbox bank to pay."""

    billing_code: str


class PaymentNotice(Strict):
    """The bank's word that a billing code was paid."""

    billing_code: str
    amount: Annotated[int, Field(ge=0, description="Must equal the amount due.")]
    transaction_id: str = Field(description="The bank's id; a repeat of it is answered as before.")
    paid_at: dt.datetime = Field(description="ISO 8601; without a zone, UTC.")


class OfficerStep(Strict):
    """The next status of a booking at the office, with a note."""

    status: str = Field(json_schema_extra={"enum": list(OFFICER_TARGETS)})
    note: str = optional()


class QuotaChange(Strict):
    """One slot's new capacity."""

    date: Day
    session_id: str
    lane: Lane
    capacity: int = Field(
        ge=0, le=MAX_CAPACITY, description="0 closes the slot; never below what is booked."
    )
    reason: Reason = optional()


class Inventory(Strict):
    """Places left to book (0: sold out; null: unknown)."""

    remaining: int | None


class Revocation(Strict):
    """An admission token whose session is to end now."""

    admission_token: str


class TestBatchRequest(Strict):
    """A batch of load-test accounts to make."""

    prefix: str = Field(max_length=32, description="a-z, 0-9 and -, starting with a letter")
    count: int = Field(le=10_000, description="How many: <prefix>1 .. <prefix><count>")
    password: str = Field(min_length=8, max_length=128, description="One password for all")


class RoomPatch(Changes):
    """Settings of a room to change, and why."""

    reason: Reason = optional()


class NewReleaseEvent(Strict):
    """A one-off release: the pre-queue arms `prequeue_minutes` before `starts_at`."""

    room: str
    label: str = Field(max_length=100)
    starts_at: AwareDatetime = Field(description="With a zone.")
    prequeue_minutes: int = optional(ge=0, le=1440, description="Default 30.")
    rate_per_minute: int = Field(ge=1, le=1_000_000)
    max_active: int = Field(ge=1, le=10_000_000)
    closes_at: AwareDatetime = optional(description="With a zone; after starts_at.")
    reason: Reason = optional()


class EventHold(Strict):
    """Hold a release event (it will not run) or let it go."""

    held: bool
    reason: Reason = optional()
