"""The use cases of the booking flow, with their side effects in one place.

The JSON handlers and the pages both call these, so a booking made in the wizard and one made
over the API are counted, scheduled and announced the same way: the expiry job, the
verification and payment mails, the sweeper's poke that tells the waiting room at once that a
place came back or the last one went, the booking metrics. Nothing here reads a request: the
web tier passes typed inputs (`BookingRequest`, `NewAccount` bodies, ids) and gets views back;
what is the gate's (ending the turn) stays with the web tier.

The JSON handlers answer with the domain's dict views as they are (orjson writes them); the
pages get the same views typed (`BookingDetail`, `Booking`: dates as dates, instants as aware
datetimes), read once here from the answer models, and only format them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from .audit import Actor
from .booking.accounts import Accounts, Registration
from .booking.application import BookingRequest
from .booking.bookings import Bookings, Created
from .booking.documents import DocumentKind, DocumentStore, StoredDocument
from .booking.errors import Conflict, Refused
from .booking.payments import Paid, Payments
from .booking.quotas import Cell, Quotas
from .booking.slots import Slots
from .jobs import JobQueue
from .metrics import BookingMetrics
from .sweeper import Sweeper
from .views import Booking, BookingDetail


def typed(view: Mapping[str, Any]) -> BookingDetail:
    """A booking's full dict view (with its timeline and documents) as typed values."""
    return BookingDetail.model_validate(view)


@dataclass(frozen=True, slots=True)
class BookingFlow:
    """Registration, booking, cancelling, quotas and payment, with what follows each."""

    accounts: Accounts
    bookings: Bookings
    slots: Slots
    payments: Payments
    jobs: JobQueue
    sweeper: Sweeper
    metrics: BookingMetrics
    documents: DocumentStore

    async def register(self, body: dict[str, Any]) -> Registration:
        """A new, unverified account; its verification code is mailed."""
        registration = await self.accounts.register(body)
        await self.jobs.verification(registration.account_id)
        return registration

    async def new_code(self, email: str) -> Registration | None:
        """A new verification code mailed, if the address has an unverified account (None
        otherwise, which the caller does not reveal)."""
        registration = await self.accounts.new_code(email)
        if registration is not None:
            await self.jobs.verification(registration.account_id)
        return registration

    async def place(
        self,
        account_id: int,
        booking: BookingRequest,
        now: datetime,
        idempotency: tuple[str, bytes] | None,
        turn: str | None = None,
    ) -> dict[str, Any]:
        """Take a place for `booking` (the API's and the wizard's one way): counted, its expiry
        scheduled, the room told at once when the slot's last place went; `turn` (the waiting
        room's) makes one booking. The booking's body (a replay's, for a key used before)."""
        try:
            result = await self.bookings.create(account_id, booking, now, idempotency, turn)
        except Conflict as refusal:
            self.metrics.bookings.labels(refusal.code).inc()
            raise
        if not isinstance(result, Created):
            self.metrics.bookings.labels("replayed").inc()
            return result
        self.metrics.bookings.labels("created").inc()
        await self.jobs.expiry(result.expires_at)
        if result.remaining == 0:
            self.sweeper.poke()
        return result.body

    async def cancel(self, account_id: int, booking_id: str) -> dict[str, Any]:
        """Cancel a booking; the waiting room counts the freed place now, not at the next
        sweep."""
        view = await self.bookings.cancel(account_id, booking_id)
        self.sweeper.poke()
        return view

    async def reschedule(
        self, account_id: int, booking_id: str, choice: Mapping[str, Any], now: datetime
    ) -> dict[str, Any]:
        """Move a booking once (`choice`: `{"date", "session_id"}`); the waiting room counts the
        slot freed and the one taken now, not at the next sweep."""
        view = await self.bookings.reschedule(account_id, booking_id, choice, now)
        self.sweeper.poke()
        return view

    async def save_document(
        self, booking_id: str, kind: DocumentKind, chunks: Iterable[bytes]
    ) -> StoredDocument:
        """An upload of a booking's document, checked and kept (it replaces that kind's earlier
        one) and recorded; DocumentRejected when its content is refused."""
        stored = await asyncio.to_thread(self.documents.save, booking_id, kind, chunks)
        await self.bookings.record_document(booking_id, stored)
        return stored

    async def stage_document(
        self, folder: str, kind: DocumentKind, chunks: Iterable[bytes]
    ) -> StoredDocument:
        """An upload kept in a draft's staging `folder` until its booking is made."""
        return await asyncio.to_thread(self.documents.save, folder, kind, chunks)

    async def attach_document(self, booking_id: str, staged: StoredDocument) -> StoredDocument:
        """A staged document moved to its booking and recorded."""
        moved = await asyncio.to_thread(self.documents.move, staged, booking_id)
        await self.bookings.record_document(booking_id, moved)
        return moved

    async def discard_staged(self, folder: str) -> None:
        """Delete a draft's staged documents."""
        await asyncio.to_thread(self.documents.discard, folder)

    async def set_status(
        self, booking_id: str, status: str, note: str | None, actor: Actor | None
    ) -> dict[str, Any]:
        """The office moves a booking one step (audited, with the officer's name)."""
        return await self.bookings.set_status(booking_id, status, note, actor)

    async def booking(self, account_id: int, booking_id: str) -> BookingDetail:
        """One of the account's bookings, typed (NotFound otherwise)."""
        return typed(await self.bookings.get(account_id, booking_id))

    async def bookings_of(self, account_id: int) -> list[Booking]:
        """The account's bookings, newest first, typed."""
        return [Booking.model_validate(view) for view in await self.bookings.list_for(account_id)]

    async def found(self, code: str) -> BookingDetail:
        """The booking with this booking code, typed (Refused otherwise)."""
        return typed(await self.bookings.find_by_code(code))

    async def set_quota(
        self,
        office_id: str,
        day: date,
        session_id: str,
        lane: str,
        capacity: int,
        actor: Actor | None = None,
        reason: str | None = None,
    ) -> dict[str, int]:
        """An operator changes one slot's quota (audited when an actor is given); the waiting
        room's inventory follows now."""
        slot = await self.slots.set_capacity(
            office_id, day, session_id, lane, capacity, actor, reason
        )
        self.sweeper.poke()
        return slot

    async def set_quotas(
        self,
        office_id: str,
        first: date,
        last: date,
        lane: str,
        capacity: int,
        actor: Actor,
        reason: str,
    ) -> list[Cell]:
        """An operator changes the quota of a lane's slots over a range of dates, all or none
        (never below what is booked; audited); the waiting room's inventory follows now."""
        cells = await Quotas(self.slots).set_many(
            office_id, first, last, lane, capacity, actor, reason
        )
        self.sweeper.poke()
        return cells

    async def confirm_payment(
        self, code: str, amount: int, transaction_id: str, paid_at: datetime
    ) -> Paid:
        """The bank's notice that `code` was paid: recorded once (a repeat is `replayed`),
        counted, and the proof mailed."""
        try:
            paid = await self.payments.pay(code, amount, transaction_id, paid_at)
        except Refused as refusal:
            self.metrics.payments.labels(refusal.code).inc()
            raise
        self.metrics.payments.labels("replayed" if paid.replayed else "confirmed").inc()
        if not paid.replayed:
            await self.jobs.paid(paid.booking_id)
        return paid
