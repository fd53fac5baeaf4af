"""Helpers for the booking tests: applicants with valid NIKs, logged-in admitted clients, the
database's invariants."""

from __future__ import annotations

import asyncio
import itertools
from datetime import date
from typing import Any

import aiohttp
import asyncpg
from aiohttp.test_utils import TestClient

from api.appkeys import ACCOUNTS, BOOKINGS, SETTINGS
from testkit import people as kit
from testkit.people import applicant as applicant  # the tests' builders are the kit's
from testkit.people import nik as nik

from .test_http import admitted, refresh

OFFICE = kit.OFFICE
_emails = itertools.count(1)


def booking_body(day: str, session_id: str = "s1", **changes: Any) -> dict[str, Any]:
    """A valid booking request for `day` at OFFICE."""
    return kit.booking_body(day, session_id, **changes)


async def released_days(client: TestClient, office: str = OFFICE) -> list[str]:
    """The released dates of the office that have sessions, earliest first."""
    response = await client.get(f"/api/v1/offices/{office}/availability?days=40")
    assert response.status == 200, await response.text()
    body = await response.json()
    return [d["date"] for d in body["dates"] if d["released"] and d["sessions"]]


async def new_account(client: TestClient) -> tuple[int, dict[str, str]]:
    """A verified account and the headers of a live login session for it."""
    accounts = client.server.app[ACCOUNTS]
    n = next(_emails)
    account_id = await accounts.pool.fetchval(
        "INSERT INTO accounts (email, name, phone, password_hash, verified_at)"
        " VALUES ($1, 'Pemohon Uji', '081200000000', 'x', now()) RETURNING id",
        f"pemohon{n}-{id(client)}@antri.test",
    )
    token = await accounts.open_session(account_id)
    return account_id, {"X-Session-Token": token}


async def admission(client: TestClient) -> dict[str, str]:
    """The headers of a live admission to the guarded room, taken with the client's cookie jar
    (which keeps both cookies): the token and the ticket it was claimed with."""
    guard = client.server.app[SETTINGS].guard_room
    status = await admitted(client, guard)
    return {
        "Authorization": f"Bearer {status['admission_token']}",
        "X-Antri-Ticket": status["ticket"],
    }


async def turn(client: TestClient) -> dict[str, str]:
    """The headers of a new visitor's own admission (token and ticket), taken without touching
    the client's cookie jar: a turn of its own for each booking or booker."""
    guard = client.server.app[SETTINGS].guard_room
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as visitor:
        async with visitor.post(client.make_url(f"/api/v1/rooms/{guard}/join")) as response:
            assert response.status == 200, await response.text()
            body = await response.json()
        ticket = {"X-Antri-Ticket": body["ticket"]}
        for _ in range(100):
            if body["state"] == "admitted":
                return {"Authorization": f"Bearer {body['admission_token']}"} | ticket
            await asyncio.sleep(0.02)
            await refresh(client)
            url = client.make_url(f"/api/v1/rooms/{guard}/status")
            async with visitor.get(url, headers=ticket) as response:
                body = await response.json()
    raise AssertionError(f"never admitted: {body}")


async def new_turn(client: TestClient, headers: dict[str, str]) -> dict[str, str]:
    """`headers` with a turn of their own instead of the one they had (the login is kept): a
    turn makes one booking."""
    gate = ("Authorization", "X-Antri-Ticket")
    return {k: v for k, v in headers.items() if k not in gate} | await turn(client)


async def booker(client: TestClient) -> dict[str, str]:
    """Headers of an admitted, logged-in applicant (a turn is one booking: take another with
    `turn` for the next)."""
    _, login = await new_account(client)
    return login | await turn(client)


async def pay(
    client: TestClient, headers: dict[str, str], receipt: dict[str, Any]
) -> dict[str, Any]:
    """Pay a new booking (its 201 body) at the sandbox bank; the booking as its owner sees it."""
    paid = await client.post(
        "/api/v1/payments/sandbox/pay", json={"billing_code": receipt["billing_code"]}
    )
    assert paid.status == 200, await paid.text()
    response = await client.get(f"/api/v1/bookings/{receipt['id']}", headers=headers)
    return dict(await response.json())


def pool(client: TestClient) -> asyncpg.Pool:
    """The app's database pool."""
    return client.server.app[BOOKINGS].pool


async def set_capacity(client: TestClient, day: str, session_id: str, capacity: int) -> None:
    """Make one reguler slot of OFFICE this small."""
    await pool(client).execute(
        "UPDATE slots SET capacity = $4 WHERE office_id = $1 AND day = $2 AND session_id = $3"
        " AND lane = 'reguler'",
        OFFICE,
        date.fromisoformat(day),
        session_id,
        capacity,
    )


async def booked(client: TestClient, day: str, session_id: str = "s1") -> int:
    """Places taken in a reguler slot of OFFICE."""
    value = await pool(client).fetchval(
        "SELECT booked FROM slots WHERE office_id = $1 AND day = $2 AND session_id = $3"
        " AND lane = 'reguler'",
        OFFICE,
        date.fromisoformat(day),
        session_id,
    )
    return int(value)


async def assert_invariants(client: TestClient) -> None:
    """The whole database: no slot over capacity, each slot's count equal to the bookings that
    hold a place in it, and no NIK with two active bookings."""
    db = pool(client)
    over = await db.fetchval("SELECT count(*) FROM slots WHERE booked > capacity OR booked < 0")
    assert over == 0, "a slot is over capacity"
    drift = await db.fetch(
        "SELECT s.id, s.booked, count(b.id) AS holding FROM slots s"
        " LEFT JOIN bookings b ON b.slot_id = s.id AND b.status IN ('awaiting_payment',"
        " 'confirmed', 'checked_in', 'interviewed', 'approved', 'rejected', 'printing',"
        " 'ready', 'collected')"
        " GROUP BY s.id HAVING s.booked <> count(b.id)"
    )
    assert not drift, f"slot counts differ from their bookings: {drift[:5]}"
    doubles = await db.fetchval(
        "SELECT count(*) FROM (SELECT nik_hash FROM bookings WHERE status IN"
        " ('awaiting_payment', 'confirmed', 'checked_in', 'interviewed', 'approved',"
        " 'printing', 'ready') GROUP BY nik_hash HAVING count(*) > 1) d"
    )
    assert doubles == 0, "a NIK has two active bookings"
