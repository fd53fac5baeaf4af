"""Bookings made together: the bookings a process takes in one step of its event loop go to
PostgreSQL in one statement and one commit (`create_bookings`, migration 010).

Under load many requests reach the booking in the same step of the loop (their gate calls came
back in one Redis pipeline, queue_engine/batched.py), and a transaction each costs PostgreSQL a
commit, a WAL flush and a wake-up per booking: with pgbench, ten bookings in one transaction took
half the CPU of ten transactions. Each booking keeps its own outcome, and one refused by a key is
undone alone (a subtransaction each). When nothing else is waiting a booking goes alone, a step of
the loop later. A batch PostgreSQL fails as a whole (a deadlock with another kind of change, an
unexpected error) is booked again one by one, so each caller hears its own outcome or error.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import asyncpg
import orjson

#: bookings in one statement at most: a transaction with more than 64 writing subtransactions
#: slows every other backend's snapshots
MAX_BATCH = 32

_CREATE_BOOKINGS = (
    "SELECT item, outcome, booking_id, remaining FROM create_bookings($1, $2, $3, $4, $5, $6,"
    " $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)"
)
_CREATE_BOOKING = (
    "SELECT * FROM create_booking($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14,"
    " $15, $16, $17)"
)
#: the booking and its turn in one statement (migration 009): a second booking of the turn waits
#: for the first's commit, then violates turn_bookings' key and is undone with its place
_CREATE_TURNS_BOOKING = (
    f"WITH made AS ({_CREATE_BOOKING}),"
    " taken AS (INSERT INTO turn_bookings (turn, booking_id)"
    " SELECT $18, booking_id FROM made WHERE outcome = 'ok')"
    " SELECT * FROM made"
)


@dataclass(frozen=True, slots=True)
class Taking:
    """One booking to make: `create_booking`'s arguments, and the turn that makes it (if any)."""

    account_id: int
    office_id: str
    day: date
    session_id: str
    lane: str
    nik_cipher: bytes
    nik_hash: bytes
    nik_masked: str
    kind: str
    passport_type: str
    validity_years: int
    applicant: dict[str, Any]
    amount: int
    fee_lines: list[dict[str, Any]]
    billing_code: str
    expires_at: datetime
    turn: str | None = None

    @property
    def slot(self) -> tuple[str, date, str, str]:
        """The slot it takes a place in: batches lock slots in this order."""
        return self.office_id, self.day, self.session_id, self.lane

    def arguments(self, max_people: int) -> tuple[Any, ...]:
        """`create_booking`'s arguments, then the turn's when there is one."""
        return (
            self.account_id, self.office_id, self.day, self.session_id, self.lane,
            max_people, self.nik_cipher, self.nik_hash, self.nik_masked, self.kind,
            self.passport_type, self.validity_years, orjson.dumps(self.applicant).decode(),
            self.amount, orjson.dumps(self.fee_lines).decode(), self.billing_code,
            self.expires_at,
            *(() if self.turn is None else (self.turn,)),
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Taken:
    """What PostgreSQL said of one booking: `create_booking`'s outcome (or the name of the key it
    violated: `bookings_one_active_per_nik`, `turn_bookings_pkey`), its id, what its slot has
    left."""

    outcome: str
    booking_id: Any = None
    remaining: int | None = None


@dataclass(slots=True)
class _Waiting:
    taking: Taking
    future: asyncio.Future[Taken] = field(repr=False)


class BookingBatch:
    """Sends the bookings of one step of the loop together, on `pool`; an account applies for at
    most `max_people` people at a time."""

    def __init__(self, pool: asyncpg.Pool, max_people: int) -> None:
        self._pool = pool
        self.max_people = max_people
        self._pending: list[_Waiting] = []
        #: so far: statements of several bookings, the bookings they carried, and those
        #: statements PostgreSQL failed as a whole (booked again one by one)
        self.batches = self.batched = self.retried = 0
        #: the tasks sending a batch (kept: the loop holds tasks only weakly)
        self._sending: set[asyncio.Task[None]] = set()

    async def take(self, taking: Taking) -> Taken:
        """Make `taking`, with the other bookings of this step of the loop."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Taken] = loop.create_future()
        if not self._pending:
            # The task's first step runs at the loop's next step, after every request that is
            # ready now has reached its booking.
            task = loop.create_task(self._send())
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)
        self._pending.append(_Waiting(taking, future))
        return await future

    async def take_alone(self, conn: asyncpg.Connection, taking: Taking) -> Taken:
        """Make `taking` in a statement of its own on `conn` (in the caller's transaction, if
        any)."""
        try:
            row = await conn.fetchrow(
                _CREATE_BOOKING if taking.turn is None else _CREATE_TURNS_BOOKING,
                *taking.arguments(self.max_people),
            )
        except asyncpg.UniqueViolationError as exc:
            if exc.constraint_name in ("bookings_one_active_per_nik", "turn_bookings_pkey"):
                return Taken(exc.constraint_name)
            raise
        return Taken(row["outcome"], row["booking_id"], row["remaining"])

    async def _send(self) -> None:
        waiting, self._pending = self._pending, []
        # In slot order, so that every batch locks slots in one order.
        waiting.sort(key=lambda w: w.taking.slot)
        chunks = [waiting[i : i + MAX_BATCH] for i in range(0, len(waiting), MAX_BATCH)]
        await asyncio.gather(*(self._send_chunk(chunk) for chunk in chunks))

    async def _send_chunk(self, chunk: list[_Waiting]) -> None:
        try:
            async with self._pool.acquire() as conn:
                if len(chunk) == 1:
                    _settle(chunk[0].future, await self.take_alone(conn, chunk[0].taking))
                    return
                self.batches += 1
                self.batched += len(chunk)
                try:
                    rows = await conn.fetch(_CREATE_BOOKINGS, *self._columns(chunk))
                except asyncpg.PostgresError:
                    self.retried += 1
                    # The batch failed as a whole (rolled back): each booking goes again alone,
                    # and hears its own outcome or error.
                    for one in chunk:
                        try:
                            _settle(one.future, await self.take_alone(conn, one.taking))
                        except Exception as exc:
                            _fail(one.future, exc)
                    return
            for row in rows:
                _settle(
                    chunk[row["item"] - 1].future,
                    Taken(row["outcome"], row["booking_id"], row["remaining"]),
                )
        except Exception as exc:  # no connection, a time-out…: every caller hears it
            for one in chunk:
                _fail(one.future, exc)
        finally:
            for one in chunk:
                if not one.future.done():  # cancelled while sending: so are the callers' waits
                    one.future.cancel()

    def _columns(self, chunk: Sequence[_Waiting]) -> list[Any]:
        """`create_bookings`' parallel arrays (and the one limit) for `chunk`."""
        takings = [w.taking for w in chunk]
        rows = [t.arguments(self.max_people)[:17] for t in takings]
        columns: list[Any] = [list(column) for column in zip(*rows, strict=True)]
        columns[5] = self.max_people  # a scalar: one limit for every account
        return [*columns, [t.turn for t in takings]]


def _settle(future: asyncio.Future[Taken], taken: Taken) -> None:
    if not future.done():  # else the caller gave up (its request was cancelled)
        future.set_result(taken)


def _fail(future: asyncio.Future[Taken], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)
