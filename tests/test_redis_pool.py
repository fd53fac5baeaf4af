"""The app's lean Redis pool keeps redis-py's BlockingConnectionPool's promises: never more than
`max_connections` connections, a burst waits for one instead of failing, a wait gives up after
`timeout` with redis-py's ConnectionError, and a connection comes back after every command."""

from __future__ import annotations

import asyncio
import time

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError

from api.app import redis_client
from api.embedded import RedisServer
from queue_engine.redis_pool import LeanBlockingPool, LeanConnection


async def test_a_burst_of_250_commands_shares_four_connections(redis_server: RedisServer) -> None:
    pool = LeanBlockingPool.from_url(redis_server.url, max_connections=4, timeout=5.0)
    client = aioredis.Redis(connection_pool=pool)
    busiest = 0

    async def incr() -> int:
        nonlocal busiest
        busiest = max(busiest, len(pool._in_use_connections))
        value: int = await client.incr("pool-test:counter")
        busiest = max(busiest, len(pool._in_use_connections))
        return value

    try:
        await client.delete("pool-test:counter")
        values = await asyncio.gather(*(incr() for _ in range(250)))
        assert sorted(values) == list(range(1, 251))
        assert busiest <= 4
        assert len(pool._available_connections) <= 4 and not pool._in_use_connections
        assert not pool._waiters
    finally:
        await client.aclose()


async def test_a_wait_gives_up_after_the_timeout_and_the_pool_recovers(
    redis_server: RedisServer,
) -> None:
    pool = LeanBlockingPool.from_url(redis_server.url, max_connections=1, timeout=0.2)
    client = aioredis.Redis(connection_pool=pool)
    try:
        held = await pool.get_connection()
        with pytest.raises(RedisConnectionError, match="No connection available"):
            await client.ping()
        assert not pool._waiters  # the one that gave up left no trace

        waiting = asyncio.create_task(client.ping())
        await asyncio.sleep(0.05)
        assert len(pool._waiters) == 1
        await pool.release(held)  # ... is handed over to the waiting command
        assert await waiting is True
        assert await client.ping() is True
        assert not pool._waiters and not pool._in_use_connections
    finally:
        await client.aclose()


async def test_a_cancelled_waiter_passes_its_turn_on(redis_server: RedisServer) -> None:
    pool = LeanBlockingPool.from_url(redis_server.url, max_connections=1, timeout=5.0)
    client = aioredis.Redis(connection_pool=pool)
    try:
        held = await pool.get_connection()
        first = asyncio.create_task(client.ping())
        second = asyncio.create_task(client.ping())
        await asyncio.sleep(0.05)
        await pool.release(held)  # wakes `first` ...
        first.cancel()  # ... which leaves before it runs: `second` must get the connection
        assert await second is True
        with pytest.raises(asyncio.CancelledError):
            await first
        assert not pool._waiters and not pool._in_use_connections
    finally:
        await client.aclose()


def test_the_app_client_uses_it(redis_server: RedisServer) -> None:
    client = redis_client(redis_server.url)
    assert isinstance(client, aioredis.Redis)
    pool = client.connection_pool
    assert isinstance(pool, LeanBlockingPool) and pool.max_connections == 64
    assert pool.connection_class is LeanConnection


def _lean_client(url: str, connections: int) -> aioredis.Redis:
    pool = LeanBlockingPool.from_url(url, max_connections=connections, socket_timeout=5.0)
    return aioredis.Redis(connection_pool=pool)


async def test_connections_closed_by_redis_are_replaced(redis_server: RedisServer) -> None:
    """The app's client (the lean pool with its one resend on a broken connection): every
    pooled connection killed by Redis, and the next burst still answered in full."""
    client = redis_client(redis_server.url)
    try:
        await asyncio.gather(*(client.ping() for _ in range(10)))
        admin = aioredis.Redis.from_url(redis_server.url)
        try:
            assert await admin.client_kill_filter(_type="normal", skipme=True) >= 1
        finally:
            await admin.aclose()
        await asyncio.sleep(0.05)  # the close reaches the pooled connections
        assert await asyncio.gather(*(client.ping() for _ in range(10))) == [True] * 10
    finally:
        await client.aclose()


async def test_a_cancelled_command_does_not_leave_its_reply_for_the_next(
    redis_server: RedisServer,
) -> None:
    client = _lean_client(redis_server.url, connections=1)
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
