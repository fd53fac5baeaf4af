"""The app's Redis pool (api/redis_pool.py): bounded, waits at most its timeout, and never hands
out a connection that is closed or holds a stale reply."""

from __future__ import annotations

import asyncio
import time

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError

from api.embedded import RedisServer
from api.redis_pool import BoundedPool, bounded_redis


def _client(url: str, connections: int, timeout: float = 2.0) -> aioredis.Redis:
    return bounded_redis(url, max_connections=connections, timeout=timeout, socket_timeout=5.0)


def _opened(client: aioredis.Redis) -> int:
    pool = client.connection_pool
    assert isinstance(pool, BoundedPool)
    return len(pool._available_connections) + len(pool._in_use_connections)


async def test_a_crowd_shares_the_bounded_connections(redis_server: RedisServer) -> None:
    client = _client(redis_server.url, connections=4)
    key = f"pool-{time.monotonic_ns()}"
    try:
        # 250 at once, each holding its connection for a moment: all served, by 4 connections.
        async def hold_and_count() -> int:
            pipe = client.pipeline(transaction=False)
            pipe.incr(key)
            pipe.execute_command("DEBUG", "SLEEP", "0")
            replies = await pipe.execute()
            return int(replies[0])

        counts = await asyncio.gather(*(hold_and_count() for _ in range(250)))
        assert sorted(counts) == list(range(1, 251))
        assert _opened(client) <= 4
    finally:
        await client.delete(key)
        await client.aclose()


async def test_a_caller_waits_no_longer_than_the_timeout(redis_server: RedisServer) -> None:
    client = _client(redis_server.url, connections=1, timeout=0.2)
    empty = f"pool-empty-{time.monotonic_ns()}"
    try:
        holder = asyncio.create_task(client.blpop([empty], timeout=1))
        await asyncio.sleep(0.1)  # the one connection is now held by the BLPOP
        started = time.monotonic()
        with pytest.raises(RedisConnectionError, match="No connection available"):
            await client.ping()
        assert 0.15 < time.monotonic() - started < 0.9
        assert await holder is None
        assert await client.ping()  # the connection came back, and the slot with it
    finally:
        await client.aclose()


async def test_a_connection_closed_by_redis_is_replaced_before_use(
    redis_server: RedisServer,
) -> None:
    client = _client(redis_server.url, connections=3)
    try:
        await asyncio.gather(*(client.ping() for _ in range(10)))
        admin = aioredis.Redis.from_url(redis_server.url)
        try:
            names = await client.client_id()
            killed = await admin.client_kill_filter(_id=names)
            assert killed == 1
        finally:
            await admin.aclose()
        await asyncio.sleep(0.05)  # the close reaches the pooled connection
        # No retry configured: the pool itself must notice the closed socket.
        assert await asyncio.gather(*(client.ping() for _ in range(10))) == [True] * 10
    finally:
        await client.aclose()


async def test_a_cancelled_command_does_not_leave_its_reply_for_the_next(
    redis_server: RedisServer,
) -> None:
    client = _client(redis_server.url, connections=1)
    key = f"pool-cancel-{time.monotonic_ns()}"
    try:
        await client.set(key, "mine")
        slow = asyncio.create_task(client.execute_command("DEBUG", "SLEEP", "0.2"))
        await asyncio.sleep(0.05)
        slow.cancel()
        with pytest.raises(asyncio.CancelledError):
            await slow
        await asyncio.sleep(0.3)  # the late "+OK" has arrived by now, if anyone kept the socket
        assert await client.get(key) == b"mine"
        assert await client.ping()
    finally:
        await client.delete(key)
        await client.aclose()
