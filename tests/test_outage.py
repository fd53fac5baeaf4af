"""Redis goes away: the waiting room and the bookings fail closed with 503 and Retry-After,
then heal alone."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from api.appkeys import ACCOUNTS
from api.embedded import RedisServer

from .booking_support import booker, booking_body, new_account, pool, released_days
from .conftest import AppFactory
from .page_support import csrf_of, post_form
from .test_http import join, rooms, status


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    # fsync always: what Redis acknowledged before the crash is on disk after it.
    server = RedisServer(tmp_path / "redis", fsync="always").start()
    yield server
    server.stop()


async def test_redis_killed_then_back(make_client: AppFactory, own_redis: RedisServer) -> None:
    client = await make_client(own_redis.url, rate_per_minute=1, burst=1)
    guard, _ = rooms(client)
    await join(client, guard)
    client.session.cookie_jar.clear()
    ticket = (await join(client, guard))["ticket"]
    before = await status(client, guard, ticket)
    assert before.status == 200
    place = (await before.json())["position"]

    own_redis.kill()
    await asyncio.sleep(2.8)  # longer than the engine's stale_after in the tests
    down = await status(client, guard, ticket)
    assert down.status == 503
    assert int(down.headers["Retry-After"]) > 0
    assert (await down.json())["error"] == "unavailable"
    refused = await client.post(f"/api/v1/rooms/{guard}/join")
    assert refused.status == 503 and "Retry-After" in refused.headers
    assert (await client.get("/readyz")).status == 503
    gated = await client.get("/api/v1/session", headers={"Authorization": "Bearer x.y"})
    assert gated.status in (401, 503)
    page = await client.get(f"/antre/{guard}")
    assert page.status == 503 and "Sedang padat" in await page.text()

    own_redis.start()  # same port, same AOF directory
    started = time.monotonic()
    while True:
        back = await status(client, guard, ticket)
        if back.status == 200:
            break
        assert time.monotonic() - started < 10, "did not recover within 10 s"
        await asyncio.sleep(0.2)
    body = await back.json()
    assert body["ticket"] == ticket and 1 <= body["position"] <= place, "the place was kept"
    assert (await client.get("/readyz")).status == 200
    assert (await client.post(f"/api/v1/rooms/{guard}/join")).status == 200


async def test_no_booking_while_redis_is_down(
    make_client: AppFactory, own_redis: RedisServer
) -> None:
    client = await make_client(own_redis.url, rate_per_minute=60000, burst=500, max_active=1000)
    day = (await released_days(client))[0]
    headers = await booker(client)
    own_redis.kill()
    down = await client.post("/api/v1/bookings", json=booking_body(day), headers=headers)
    assert down.status == 503 and "Retry-After" in down.headers
    assert await pool(client).fetchval("SELECT count(*) FROM bookings") == 0
    own_redis.start()
    started = time.monotonic()
    while (
        await client.post("/api/v1/bookings", json=booking_body(day), headers=headers)
    ).status != 201:
        assert time.monotonic() - started < 10, "bookings did not resume within 10 s"
        await asyncio.sleep(0.2)
    assert await pool(client).fetchval("SELECT count(*) FROM bookings") == 1


async def test_redis_refusing_writes_is_a_503_on_every_path(
    make_client: AppFactory, own_redis: RedisServer
) -> None:
    """A full Redis (maxmemory reached under noeviction) refuses writes with OOM: a login, which
    writes its session there, answers 503 with Retry-After, never 500."""
    client = await make_client(own_redis.url, rate_per_minute=60000, burst=500, max_active=1000)
    accounts = client.server.app[ACCOUNTS]
    email, password = "penuh@contoh.id", "Kata-Sandi-Panjang-9"
    await accounts.create(email, password, "Siti Rahma", "081234567890", verified=True)
    _, session = await new_account(client)
    csrf = await csrf_of(client)
    redis = aioredis.Redis.from_url(own_redis.url)
    try:
        await redis.config_set("maxmemory", 1)
        answers = [
            await client.post("/api/v1/login", json={"email": email, "password": password}),
            await post_form(client, "/masuk", {"email": email, "password": password}, csrf=csrf),
        ]
        for answer in answers:
            assert answer.status == 503, f"{answer.url}: {answer.status} {await answer.text()}"
            assert int(answer.headers["Retry-After"]) > 0
        # Reads and deletes still work in a full Redis: the logged-in applicant is served.
        assert (await client.get("/api/v1/account", headers=session)).status == 200
        assert (await client.post("/api/v1/logout", headers=session)).status == 200
    finally:
        await redis.config_set("maxmemory", 0)
        await redis.aclose()


async def test_pooled_connections_survive_a_redis_restart(
    make_client: AppFactory, own_redis: RedisServer
) -> None:
    """After Redis restarts, every pooled connection is dead; the requests that next use them
    are answered anyway (each such command is sent once more on a new connection)."""
    client = await make_client(own_redis.url, rate_per_minute=60000, burst=500, max_active=1000)
    guard, _ = rooms(client)

    async def joins() -> list[int]:
        answers = await asyncio.gather(
            *(client.post(f"/api/v1/rooms/{guard}/join", cookies={}) for _ in range(40))
        )
        return [a.status for a in answers]

    assert await joins() == [200] * 40  # 40 connections in the pool now
    own_redis.kill()
    own_redis.start()  # same port, same AOF
    assert await joins() == [200] * 40
