"""The engine's scripts on the app's lean pool (queue_engine/lean_script.py) keep redis-py's
promises: the same bytes on the wire, NOSCRIPT healed, one resend on a broken connection and
none after a time-out, the connection back in the pool, a cancelled call's reply never read by
the next."""

from __future__ import annotations

import asyncio
import time

import pytest
import redis.asyncio as aioredis
from redis.asyncio.connection import Connection
from redis.exceptions import DataError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from api.app import redis_client
from api.embedded import RedisServer
from queue_engine.lean_script import LeanScript, lean_pool
from queue_engine.redis_pool import LeanBlockingPool
from queue_engine.scripts import Scripts

ECHO = "return {KEYS[1], ARGV[1], ARGV[2], redis.call('INCR', KEYS[2])}"


def _script(client: aioredis.Redis, source: str) -> LeanScript:
    pool = lean_pool(client)
    assert pool is not None
    return LeanScript(client, pool, source)


def test_packed_as_redis_py_packs_it() -> None:
    client = aioredis.Redis(connection_pool=LeanBlockingPool(max_connections=1))
    script = _script(client, ECHO)
    keys, args = ["room:{paspor}", "ключ:{x}"], [12, -3, 2.5, b"\x00bytes", "tëxt", ""]
    expected = b"".join(Connection().pack_command("EVALSHA", script.sha, 2, *keys, *args))
    assert script.pack(keys, args) == expected
    with pytest.raises(DataError):
        script.pack(["k"], [True])


def test_only_the_apps_plain_client_takes_the_lean_path(redis_server: RedisServer) -> None:
    assert lean_pool(redis_client(redis_server.url)) is not None
    assert lean_pool(aioredis.Redis.from_url(redis_server.url)) is None
    assert isinstance(Scripts(redis_client(redis_server.url))._join, LeanScript)
    assert not isinstance(Scripts(aioredis.Redis.from_url(redis_server.url))._join, LeanScript)


async def test_answers_errors_and_noscript(redis_server: RedisServer) -> None:
    client = redis_client(redis_server.url)
    key = f"lean:{{{time.monotonic_ns()}}}"
    script = _script(client, ECHO)
    try:
        assert await script(keys=["a", key], args=["b", 7]) == [b"a", b"b", b"7", 1]
        await client.script_flush()  # as after a restart without the script cache
        assert await script(keys=["a", key], args=["b", 7]) == [b"a", b"b", b"7", 2]
        failing = _script(client, "return redis.error_reply('NOPE no such thing')")
        with pytest.raises(ResponseError, match="no such thing"):
            await failing()
        pool = client.connection_pool
        assert not pool._in_use_connections  # type: ignore[attr-defined]
    finally:
        await client.delete(key)
        await client.aclose()


async def test_a_broken_connection_is_resent_once(redis_server: RedisServer) -> None:
    client = redis_client(redis_server.url)
    key = f"lean:{{{time.monotonic_ns()}}}"
    script = _script(client, "return redis.call('INCR', KEYS[1])")
    try:
        assert await asyncio.gather(*(script(keys=[key]) for _ in range(8))) != []
        admin = aioredis.Redis.from_url(redis_server.url)
        try:
            assert await admin.client_kill_filter(_type="normal", skipme=True) >= 1
        finally:
            await admin.aclose()
        await asyncio.sleep(0.05)  # the close reaches the pooled connections
        values = await asyncio.gather(*(script(keys=[key]) for _ in range(8)))
        assert sorted(values) == list(range(9, 17))  # each ran once, none lost, none twice
    finally:
        await client.delete(key)
        await client.aclose()


async def test_a_time_out_fails_fast_and_is_not_resent(redis_server: RedisServer) -> None:
    """A script slower than the socket time-out: the caller hears TimeoutError after the
    time-out, and the script ran once (a resend could take a second place in line)."""
    pool = LeanBlockingPool.from_url(redis_server.url, max_connections=2, socket_timeout=0.2)
    client = aioredis.Redis(connection_pool=pool)
    key = f"lean:{{{time.monotonic_ns()}}}"
    slow = _script(
        client,
        "redis.call('INCR', KEYS[1]) local t = redis.call('TIME') "
        "repeat local n = redis.call('TIME') until (n[1] - t[1]) * 1e6 + (n[2] - t[2]) > 600000 "
        "return 1",
    )
    try:
        await client.set(key, 0)
        started = time.monotonic()
        with pytest.raises(RedisTimeoutError):
            await slow(keys=[key])
        assert time.monotonic() - started < 0.5
        await asyncio.sleep(0.7)  # the script finishes in Redis
        assert await client.get(key) == b"1"
        assert not pool._in_use_connections
    finally:
        await client.delete(key)
        await client.aclose()


async def test_a_cancelled_call_does_not_leave_its_reply_for_the_next(
    redis_server: RedisServer,
) -> None:
    pool = LeanBlockingPool.from_url(redis_server.url, max_connections=1, socket_timeout=5.0)
    client = aioredis.Redis(connection_pool=pool)
    key = f"lean:{{{time.monotonic_ns()}}}"
    sleepy = _script(
        client,
        "local t = redis.call('TIME') "
        "repeat local n = redis.call('TIME') until (n[1] - t[1]) * 1e6 + (n[2] - t[2]) > 200000 "
        "return 'late'",
    )
    echo = _script(client, "return ARGV[1]")
    try:
        call = asyncio.create_task(sleepy(keys=[key]))
        await asyncio.sleep(0.05)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        await asyncio.sleep(0.3)  # the late reply has arrived by now, if anyone kept the socket
        assert await echo(args=["mine"]) == b"mine"
        assert not pool._in_use_connections
    finally:
        await client.aclose()
