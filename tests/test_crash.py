"""No acknowledged booking is lost when PostgreSQL is killed with SIGKILL under load, and the
app recovers on its own once it is back (reliability promise P6)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from uuid import UUID

import asyncpg
import pytest

from api.database import EmbeddedPostgres

from .booking_support import assert_invariants, booking_body, new_account, released_days, turn
from .conftest import AppFactory, database_url

FAST_ROOM = {"rate_per_minute": 60000, "burst": 500, "max_active": 1000}


@pytest.fixture
def own_postgres(tmp_path: Path) -> EmbeddedPostgres:
    server = EmbeddedPostgres(tmp_path / "pg").start()
    yield server  # type: ignore[misc]
    server.stop()


async def test_no_acknowledged_booking_is_lost_when_postgres_is_killed(
    make_client: AppFactory, own_postgres: EmbeddedPostgres, tmp_path: Path
) -> None:
    url = database_url(own_postgres.url, "postgres")
    client = await make_client(changes={"database_url": url}, **FAST_ROOM)
    days = await released_days(client)
    logins = [(await new_account(client))[1] for _ in range(40)]
    acknowledged: list[str] = []
    statuses: list[int] = []
    stop = asyncio.Event()

    async def applicant_loop(n: int) -> None:
        login, gate = logins[n], await turn(client)
        while not stop.is_set():
            body = booking_body(days[n % len(days)], f"s{1 + n % 3}")
            try:
                response = await client.post("/api/v1/bookings", json=body, headers=login | gate)
            except Exception:
                continue
            statuses.append(response.status)
            if response.status == 201:
                acknowledged.append((await response.json())["id"])
                gate = await turn(client)  # the booking ended the turn (Redis is up: no outage)
                # Cancel at once: each account keeps well under its 5 applicants.
                await client.post(f"/api/v1/bookings/{acknowledged[-1]}/cancel", headers=login)
            elif response.status >= 500:
                await asyncio.sleep(0.05)

    loops = [asyncio.create_task(applicant_loop(n)) for n in range(len(logins))]
    await asyncio.sleep(1.0)
    before_crash = len(acknowledged)
    await asyncio.to_thread(own_postgres.kill)
    await asyncio.sleep(1.0)
    await asyncio.to_thread(own_postgres.start)
    restarted = time.monotonic()
    while len(acknowledged) == before_crash or statuses[-1] != 201:
        assert time.monotonic() - restarted < 15, "the app did not recover within 15 s"
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.5)
    stop.set()
    await asyncio.gather(*loops)

    assert before_crash > 0 and len(acknowledged) > before_crash
    assert 500 not in statuses, "a crash of the database is a 503, not a 500"
    assert any(s == 503 for s in statuses), "the outage was seen"
    conn = await asyncpg.connect(url)
    try:
        found = {r["id"] for r in await conn.fetch("SELECT id FROM bookings")}
    finally:
        await conn.close()
    missing = {UUID(i) for i in acknowledged} - found
    assert not missing, f"{len(missing)} acknowledged bookings were lost"
    await assert_invariants(client)
