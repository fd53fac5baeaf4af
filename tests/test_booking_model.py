"""A hypothesis state machine drives the booking service (real PostgreSQL) with random sequences
of bookings, payments, cancellations, reschedules and expiries, and compares every outcome and
every slot's count with a plain-Python model of the rules."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, TypeVar

import hypothesis
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from api.appkeys import BOOKINGS, PAYMENTS
from api.booking.application import parse_booking_request
from api.booking.errors import Conflict

from .booking_support import OFFICE, applicant, booking_body, new_account, nik, pool, released_days
from .conftest import AppFactory

T = TypeVar("T")
CAPACITY = 2
ACCOUNTS = 2
PEOPLE = 7
HOLDING = {"awaiting_payment", "confirmed"}
_transactions = itertools.count(1)


@dataclass
class Booking:
    """What the model knows of one booking."""

    id: str
    account: int
    person: int
    slot: int
    billing_code: str
    amount: int
    status: str = "awaiting_payment"
    rescheduled: bool = False


async def test_the_booking_service_follows_the_model(make_client: AppFactory) -> None:
    client = await make_client(rate_per_minute=60000, burst=500, max_active=1000)
    app = client.server.app
    bookings, payments, db = app[BOOKINGS], app[PAYMENTS], pool(client)
    days = (await released_days(client))[:3]
    slots = [(day, "s1") for day in days]
    for day in days:
        await db.execute(
            "UPDATE slots SET capacity = $2 WHERE office_id = $1 AND day = $3"
            " AND session_id = 's1' AND lane = 'reguler'",
            OFFICE,
            CAPACITY,
            date.fromisoformat(day),
        )
    account_ids = [(await new_account(client))[0] for _ in range(ACCOUNTS)]
    loop = asyncio.get_running_loop()

    def wait(coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result(30)

    class BookingModel(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            # Each run starts from an empty book: no bookings, every place free.
            for table in ("payments", "booking_events", "bookings"):
                wait(db.execute(f"DELETE FROM {table}"))
            wait(db.execute("UPDATE slots SET booked = 0"))
            self.people = [nik(date(1990, 5, 17), "L") for _ in range(PEOPLE)]
            self.made: list[Booking] = []

        def holding(self, slot: int) -> int:
            return sum(1 for b in self.made if b.slot == slot and b.status in HOLDING)

        def active_people(self, account: int) -> set[int]:
            return {b.person for b in self.made if b.account == account and b.status in HOLDING}

        @rule(account=st.integers(0, ACCOUNTS - 1), person=st.integers(0, PEOPLE - 1),
              slot=st.integers(0, len(slots) - 1))  # fmt: skip
        def book(self, account: int, person: int, slot: int) -> None:
            day, session = slots[slot]
            body = booking_body(day, session, applicant=applicant(nik=self.people[person]))
            request = parse_booking_request(body, bookings.offices, datetime.now(UTC).date())
            if any(b.person == person and b.status in HOLDING for b in self.made):
                expected = "nik_has_active_booking"
            elif len(self.active_people(account) - {person}) >= 5:
                expected = "too_many_applicants"
            elif self.holding(slot) >= CAPACITY:
                expected = "slot_full"
            else:
                expected = "ok"
            try:
                created = wait(bookings.create(account_ids[account], request, datetime.now(UTC)))
            except Conflict as refusal:
                assert refusal.code == expected
                return
            assert expected == "ok"
            body = created.body  # type: ignore[union-attr]
            self.made.append(
                Booking(body["id"], account, person, slot, body["billing_code"], body["amount"])
            )

        @rule(data=st.data())
        def pay(self, data: st.DataObject) -> None:
            if not self.made:
                return
            booking = data.draw(st.sampled_from(self.made))
            transaction = f"T{next(_transactions)}"
            try:
                wait(payments.pay(booking.billing_code, booking.amount, transaction,
                                  datetime.now(UTC)))  # fmt: skip
            except Conflict as refusal:
                assert booking.status != "awaiting_payment", refusal.code
                return
            assert booking.status == "awaiting_payment"
            booking.status = "confirmed"

        @rule(data=st.data())
        def cancel(self, data: st.DataObject) -> None:
            if not self.made:
                return
            booking = data.draw(st.sampled_from(self.made))
            try:
                wait(bookings.cancel(account_ids[booking.account], booking.id))
            except Conflict:
                assert booking.status not in (*HOLDING, "cancelled")
                return
            # A cancelled booking cancelled again (a retry) is answered as it is.
            assert booking.status in (*HOLDING, "cancelled")
            booking.status = "cancelled"

        @rule(data=st.data(), slot=st.integers(0, len(slots) - 1))
        def reschedule(self, data: st.DataObject, slot: int) -> None:
            if not self.made:
                return
            booking = data.draw(st.sampled_from(self.made))
            day, session = slots[slot]
            try:
                choice = {"date": day, "session_id": session}
                wait(bookings.reschedule(account_ids[booking.account], booking.id, choice,
                                         datetime.now(UTC)))  # fmt: skip
            except Conflict as refusal:
                assert not (booking.rescheduled and slot == booking.slot), refusal.code
                assert (
                    booking.status not in HOLDING
                    or booking.rescheduled
                    or slot == booking.slot
                    or self.holding(slot) >= CAPACITY
                ), refusal.code
                return
            if booking.rescheduled and slot == booking.slot:
                return  # a retry of the move that was made: answered, nothing changes
            assert booking.status in HOLDING and not booking.rescheduled
            assert slot != booking.slot and self.holding(slot) < CAPACITY
            booking.slot, booking.rescheduled = slot, True

        @rule(data=st.data())
        def deadline_passes(self, data: st.DataObject) -> None:
            if not self.made:
                return
            booking = data.draw(st.sampled_from(self.made))
            wait(db.execute("UPDATE bookings SET expires_at = now() - interval '1 second'"
                            " WHERE id = $1", booking.id))  # fmt: skip
            wait(bookings.expire_due())
            if booking.status == "awaiting_payment":
                booking.status = "expired"

        @invariant()
        def the_database_agrees(self) -> None:
            rows = wait(db.fetch("SELECT id::text, status FROM bookings"))
            assert {r["id"]: r["status"] for r in rows} == {b.id: b.status for b in self.made}
            for index, (day, session) in enumerate(slots):
                taken = wait(db.fetchval(
                    "SELECT booked FROM slots WHERE office_id = $1 AND day = $2"
                    " AND session_id = $3 AND lane = 'reguler'",
                    OFFICE, date.fromisoformat(day), session,
                ))  # fmt: skip
                assert taken == self.holding(index) <= CAPACITY

    settings = hypothesis.settings(
        max_examples=15,
        stateful_step_count=20,
        deadline=None,
        derandomize=True,
        suppress_health_check=list(hypothesis.HealthCheck),
    )
    await asyncio.to_thread(run_state_machine_as_test, BookingModel, settings=settings)
