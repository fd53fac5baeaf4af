"""Bookings made together (api/booking/booking_batch.py, migration 010): the bookings of one step
of the loop share one statement and one commit, yet each keeps its own outcome, a refusal by a
key is undone alone, a batch PostgreSQL fails whole is booked again one by one, and two batches
at once never wait for each other in a circle."""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from api.appkeys import BOOKINGS
from api.booking.application import parse_booking_request
from api.booking.booking_batch import BookingBatch, Taken, Taking
from api.booking.bookings import MAX_PEOPLE_PER_ACCOUNT
from api.booking.errors import Conflict

from .booking_support import (
    OFFICE,
    applicant,
    assert_invariants,
    booked,
    booking_body,
    new_account,
    pool,
    released_days,
    set_capacity,
)
from .conftest import AppFactory

FAST_ROOM = {"rate_per_minute": 60000, "burst": 500, "max_active": 1000}


def taking(account_id: int, day: str, session_id: str = "s1", **changes: object) -> Taking:
    """A booking to make, with a NIK hash and billing code of its own."""
    fields: dict[str, object] = {
        "account_id": account_id,
        "office_id": OFFICE,
        "day": date.fromisoformat(day),
        "session_id": session_id,
        "lane": "reguler",
        "nik_cipher": b"\x00",
        "nik_hash": os.urandom(32),
        "nik_masked": "317201**********",
        "kind": "baru",
        "passport_type": "elektronik",
        "validity_years": 10,
        "applicant": {},
        "amount": 650000,
        "fee_lines": [],
        "billing_code": f"test-{os.urandom(8).hex()}",
        "expires_at": datetime.now(UTC) + timedelta(hours=2),
    }
    return Taking(**(fields | changes))  # type: ignore[arg-type]


async def accounts(client: TestClient, count: int) -> list[int]:
    return [(await new_account(client))[0] for _ in range(count)]


async def test_the_bookings_of_one_step_share_statements_and_no_place_is_sold_twice(
    make_client: AppFactory,
) -> None:
    client = await make_client(**FAST_ROOM)
    bookings = client.server.app[BOOKINGS]
    day = (await released_days(client))[0]
    for session_id in ("s1", "s2"):
        await set_capacity(client, day, session_id, 25)
    now = datetime.now(UTC)
    people = await accounts(client, 100)

    async def attempt(n: int, account_id: int) -> str:
        body = booking_body(day, ("s1", "s2")[n % 2], applicant=applicant())
        request = parse_booking_request(body, bookings.offices, now.date())
        try:
            await bookings.create(account_id, request, now)
        except Conflict as refusal:
            return refusal.code
        return "made"

    outcomes = Counter(await asyncio.gather(*(attempt(n, a) for n, a in enumerate(people))))
    assert outcomes == {"made": 50, "slot_full": 50}
    assert await booked(client, day, "s1") == 25 and await booked(client, day, "s2") == 25
    # One step of the loop: 100 bookings in statements of at most 32, none failed whole.
    assert (bookings.batch.batches, bookings.batch.batched, bookings.batch.retried) == (4, 100, 0)
    await assert_invariants(client)


async def test_a_refusal_by_a_key_is_undone_alone(make_client: AppFactory) -> None:
    client = await make_client(**FAST_ROOM)
    batch = client.server.app[BOOKINGS].batch
    day = (await released_days(client))[0]
    before = await booked(client, day)
    a, b, c, d, e, f = await accounts(client, 6)
    person = os.urandom(32)
    takings = [
        taking(a, day, nik_hash=person),  # one NIK, two accounts: one booking
        taking(b, day, nik_hash=person),
        taking(c, day, turn="paspor:1:1"),  # one turn, two requests: one booking
        taking(d, day, turn="paspor:1:1"),
        taking(e, day, turn="paspor:1:2"),
        taking(f, day),
    ]
    taken = await asyncio.gather(*(batch.take(t) for t in takings))
    outcomes = [t.outcome for t in taken]
    assert sorted(outcomes[:2]) == ["nik_has_active_booking", "ok"]
    assert sorted(outcomes[2:4]) == ["ok", "turn_bookings_pkey"]
    assert outcomes[4:] == ["ok", "ok"]
    assert (batch.batches, batch.batched, batch.retried) == (1, 6, 0)
    assert await booked(client, day) == before + 4
    turns = await pool(client).fetch(
        "SELECT turn FROM turn_bookings WHERE turn LIKE 'paspor:1:%' ORDER BY turn"
    )
    assert [row["turn"] for row in turns] == ["paspor:1:1", "paspor:1:2"]
    await assert_invariants(client)


async def test_a_batch_that_fails_whole_is_booked_one_by_one(make_client: AppFactory) -> None:
    client = await make_client(**FAST_ROOM)
    batch = client.server.app[BOOKINGS].batch
    day = (await released_days(client))[0]
    before = await booked(client, day)
    a, b, c = await accounts(client, 3)
    # Two bookings with one billing code: not a refusal, an error, which fails the statement.
    takings = [taking(a, day, billing_code="test-twice"), taking(b, day, billing_code="test-twice")]
    taken = await asyncio.gather(
        *(batch.take(t) for t in [*takings, taking(c, day)]), return_exceptions=True
    )
    assert batch.retried == 1
    assert isinstance(taken[0], Taken) and taken[0].outcome == "ok"
    assert isinstance(taken[1], asyncpg.UniqueViolationError)  # told to its caller alone
    assert isinstance(taken[2], Taken) and taken[2].outcome == "ok"
    assert await booked(client, day) == before + 2
    await assert_invariants(client)


@pytest.mark.parametrize("crossing", ["slots", "accounts"])
async def test_two_batches_at_once_never_deadlock(make_client: AppFactory, crossing: str) -> None:
    """Two processes' batches at once, one in the other's order reversed: over four slots with
    accounts of their own, or over one slot with the same accounts. Locked in the items' order,
    each would hold what the other waits for: PostgreSQL would find a deadlock after a second
    and fail a batch."""
    client = await make_client(**FAST_ROOM)
    days = (await released_days(client))[:2]
    slots = [(day, session_id) for day in days for session_id in ("s1", "s2")]
    for day, session_id in slots:
        await set_capacity(client, day, session_id, 100)
    batches = [BookingBatch(pool(client), MAX_PEOPLE_PER_ACCOUNT) for _ in range(2)]
    if crossing == "slots":
        orders = [await accounts(client, 32) for _ in batches]
        plans = [[taking(a, *slots[n % 4]) for n, a in enumerate(people)] for people in orders]
    else:
        shared = sorted(await accounts(client, 32))
        plans = [[taking(a, *slots[0]) for a in shared] for _ in batches]
    plans[1].reverse()
    # The first slot held meanwhile: both batches are under way, waiting, when it is let go.
    day, session_id = slots[0]
    async with pool(client).acquire() as holder, holder.transaction():
        await holder.execute(
            "SELECT 1 FROM slots WHERE office_id = $1 AND day = $2 AND session_id = $3"
            " AND lane = 'reguler' FOR UPDATE",
            OFFICE,
            date.fromisoformat(day),
            session_id,
        )
        work = asyncio.gather(
            *(b.take(t) for b, plan in zip(batches, plans, strict=True) for t in plan)
        )
        await asyncio.sleep(0.3)
    taken = await work
    assert Counter(t.outcome for t in taken) == {"ok": 64}
    assert [(b.batches, b.retried) for b in batches] == [(1, 0), (1, 0)]
    await assert_invariants(client)
