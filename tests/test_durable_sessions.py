"""Login sessions outlive Redis losing them: a power loss under `appendfsync everysec` drops
the last second of the AOF, and with it the sessions opened in that second (7 of 10 in the
fault runs of issue 16). Each session is written through to PostgreSQL (its token's hash
only), and a session Redis does not know is looked up there and put back."""

from __future__ import annotations

import asyncio

from aiohttp.test_utils import TestClient

from api import jobs
from api.appkeys import ACCOUNTS, SETTINGS

from .booking_support import booking_body, new_account, released_days, turn
from .conftest import AppFactory

FAST_ROOM = {"rate_per_minute": 60000, "burst": 500, "max_active": 1000}


async def _forget_logins(client: TestClient) -> None:
    """Drop every login session from Redis, as a lost AOF tail does."""
    redis = client.server.app[ACCOUNTS].redis
    keys = [key async for key in redis.scan_iter(match="antri:login:*")]
    assert keys, "the login is in Redis"
    await redis.delete(*keys)


async def test_a_login_session_outlives_redis_losing_it(make_client: AppFactory) -> None:
    client = await make_client()
    _, login = await new_account(client)
    await _forget_logins(client)
    profile = await client.get("/api/v1/account", headers=login)
    assert profile.status == 200, await profile.text()
    # Put back in Redis: the next request does not ask PostgreSQL again.
    accounts = client.server.app[ACCOUNTS]
    assert await accounts.redis.get(accounts.session_key(login["X-Session-Token"])) is not None


async def test_a_session_lost_by_redis_still_books_with_a_turn_bound_to_it(
    make_client: AppFactory,
) -> None:
    """A turn already bound to the account: the gate must not take the request for a copy."""
    client = await make_client(**FAST_ROOM)
    day = (await released_days(client))[0]
    _, login = await new_account(client)
    gate = await turn(client)
    # The first logged-in request binds the turn to the account (here: reading the session).
    bound = await client.get("/api/v1/session", headers=login | gate)
    assert bound.status == 200, await bound.text()
    await _forget_logins(client)
    booked = await client.post("/api/v1/bookings", json=booking_body(day), headers=login | gate)
    assert booked.status == 201, await booked.text()


async def test_a_logout_ends_the_session_in_postgresql_too(make_client: AppFactory) -> None:
    client = await make_client()
    _, login = await new_account(client)
    assert (await client.post("/api/v1/logout", headers=login)).status in (200, 204)
    assert (await client.get("/api/v1/account", headers=login)).status == 401


async def test_an_unknown_token_is_still_refused(make_client: AppFactory) -> None:
    client = await make_client()
    answer = await client.get("/api/v1/account", headers={"X-Session-Token": "not-a-session"})
    assert answer.status == 401


async def test_the_sweep_deletes_ended_sessions(make_client: AppFactory) -> None:
    client = await make_client()
    await new_account(client)
    pool = client.server.app[ACCOUNTS].pool
    await pool.execute("UPDATE login_sessions SET expires_at = now() - interval '1 second'")
    jobs.configure(client.server.app[SETTINGS])
    try:
        done = await asyncio.to_thread(jobs.sweep)
    finally:
        jobs._context.settings = None
    assert done["sessions"] >= 1
    assert await pool.fetchval("SELECT count(*) FROM login_sessions") == 0
