"""The pool's one timer for its reads' time-outs (queue_engine/read_deadlines.py): a late read
fails within its time-out however long the timer has been running, a read that gets its reply
is never failed, and the lean script path keeps failing fast, and only the late call."""

from __future__ import annotations

import asyncio
import time

import pytest
import redis.asyncio as aioredis
from redis.exceptions import TimeoutError as RedisTimeoutError

from api.embedded import RedisServer
from queue_engine.lean_script import LeanScript, lean_pool
from queue_engine.read_deadlines import ReadDeadlines, ReadTimedOut
from queue_engine.redis_pool import LeanBlockingPool


async def _read(deadlines: ReadDeadlines, stream: asyncio.StreamReader, timeout: float) -> bytes:
    deadlines.start(stream, timeout)
    try:
        return await stream.read(100)
    finally:
        deadlines.finish(stream)


async def test_a_read_without_its_reply_fails_at_its_deadline() -> None:
    deadlines = ReadDeadlines()
    stream = asyncio.StreamReader()
    started = time.monotonic()
    with pytest.raises(ReadTimedOut):
        await _read(deadlines, stream, 0.1)
    assert 0.09 < time.monotonic() - started < 0.5
    assert len(deadlines) == 0


async def test_reads_answered_in_time_are_left_alone_and_a_late_one_still_fails() -> None:
    """Many reads come and go while the timer runs (it was set for the first, long gone);
    each answered one returns its bytes, and a read started last fails on time."""
    deadlines = ReadDeadlines()

    async def answered(i: int) -> bytes:
        stream = asyncio.StreamReader()
        asyncio.get_running_loop().call_later(0.02 * (i % 5), stream.feed_data, b"%d" % i)
        return await _read(deadlines, stream, 0.15)

    for _ in range(6):  # 6 waves of 50 reads, 0.5 s in all: the timer fires several times
        replies = await asyncio.gather(*(answered(i) for i in range(50)))
        assert replies == [b"%d" % i for i in range(50)]
    late = asyncio.StreamReader()
    started = time.monotonic()
    with pytest.raises(ReadTimedOut):
        await _read(deadlines, late, 0.15)
    assert 0.14 < time.monotonic() - started < 0.6
    assert len(deadlines) == 0


async def test_a_shorter_time_out_is_not_held_up_by_a_longer_one() -> None:
    deadlines = ReadDeadlines()
    slow = asyncio.create_task(_read(deadlines, asyncio.StreamReader(), 5.0))
    await asyncio.sleep(0)
    started = time.monotonic()
    with pytest.raises(ReadTimedOut):
        await _read(deadlines, asyncio.StreamReader(), 0.1)
    assert time.monotonic() - started < 0.5
    slow.cancel()
    with pytest.raises(asyncio.CancelledError):
        await slow
    assert len(deadlines) == 0


async def test_a_reply_in_the_turn_of_the_deadline_is_told_as_late() -> None:
    """The deadline passes in the same turn of the loop as the reply comes: the read returns
    its bytes, and finish() says the stream was failed (the caller drops the connection)."""
    deadlines = ReadDeadlines()
    stream = asyncio.StreamReader()
    deadlines.start(stream, 0.05)
    reading = asyncio.create_task(stream.read(100))
    await asyncio.sleep(0)
    stream.feed_data(b"reply")  # the reader is woken ...
    deadlines._expire(asyncio.get_running_loop())  # ... and nothing expired yet
    assert deadlines.finish(stream) is True
    deadlines.start(stream, 0.0)
    stream.feed_data(b"!")
    deadlines._expire(asyncio.get_running_loop())  # the deadline passes as the reply waits
    assert await reading == b"reply!"
    assert deadlines.finish(stream) is False
    assert isinstance(stream.exception(), ReadTimedOut)


async def test_the_lean_path_times_out_only_the_late_call(redis_server: RedisServer) -> None:
    """Fast calls run beside a script slower than the socket time-out: the slow one fails
    within the time-out (ran once, not resent), every fast one answers, and the pool serves
    the next calls on healthy connections."""
    pool = LeanBlockingPool.from_url(redis_server.url, max_connections=8, socket_timeout=0.3)
    client = aioredis.Redis(connection_pool=pool)
    assert lean_pool(client) is pool
    key = f"deadlines:{{{time.monotonic_ns()}}}"
    slow = LeanScript(
        client,
        pool,
        "redis.call('INCR', KEYS[1]) local t = redis.call('TIME') "
        "repeat local n = redis.call('TIME') until (n[1] - t[1]) * 1e6 + (n[2] - t[2]) > 700000 "
        "return 1",
    )
    fast = LeanScript(client, pool, "return redis.call('INCR', KEYS[1])")
    try:
        await client.set(key, 0)
        for _ in range(10):  # the time-out's timer starts, fires and is set again meanwhile
            await asyncio.gather(*(fast(keys=[key + "f"]) for _ in range(8)))
            await asyncio.sleep(0.05)
        started = time.monotonic()
        with pytest.raises(RedisTimeoutError):
            await slow(keys=[key])
        assert time.monotonic() - started < 0.6
        await asyncio.sleep(0.6)  # the script finishes in Redis
        assert await client.get(key) == b"1"  # ran once: no resend after a time-out
        values = await asyncio.gather(*(fast(keys=[key + "f"]) for _ in range(16)))
        assert sorted(values) == list(range(81, 97))
        assert not pool._in_use_connections
        assert len(pool.read_deadlines) == 0
    finally:
        await client.delete(key, key + "f")
        await client.aclose()


async def test_a_due_health_check_goes_redis_pys_way(redis_server: RedisServer) -> None:
    """The lean path's write shortcut holds only in the usual case: a connection whose health
    check is due is checked first (a PING before the command), then answers as usual."""
    pool = LeanBlockingPool.from_url(
        redis_server.url, max_connections=1, socket_timeout=1.0, health_check_interval=0.05
    )
    client = aioredis.Redis(connection_pool=pool)
    admin = aioredis.Redis.from_url(redis_server.url)
    echo = LeanScript(client, pool, "return ARGV[1]")
    try:
        assert await echo(args=["one"]) == b"one"
        pings = (await admin.info("commandstats")).get("cmdstat_ping", {}).get("calls", 0)
        assert await echo(args=["two"]) == b"two"  # not due yet: no PING
        await asyncio.sleep(0.1)  # the health check falls due
        assert await echo(args=["three"]) == b"three"
        after = (await admin.info("commandstats")).get("cmdstat_ping", {}).get("calls", 0)
        assert after == pings + 1
        assert len(pool.read_deadlines) == 0
    finally:
        await client.aclose()
        await admin.aclose()


async def test_a_connection_holding_an_unread_reply_is_not_reused_as_it_is(
    redis_server: RedisServer,
) -> None:
    """A pooled connection with a reply nobody read is opened afresh before its next command
    (redis-py's own check skips this while its maintenance notifications are on, as they are
    by default), so the next call reads its own reply, not the stale one."""
    pool = LeanBlockingPool.from_url(redis_server.url, max_connections=1, socket_timeout=1.0)
    client = aioredis.Redis(connection_pool=pool)
    echo = LeanScript(client, pool, "return ARGV[1]")
    try:
        assert await echo(args=["one"]) == b"one"
        connection = pool._available_connections[0]
        await connection.send_packed_command(echo.pack([], ["stale"]))
        await asyncio.sleep(0.05)  # the stale reply waits unread on the socket
        assert await echo(args=["two"]) == b"two"
        assert await client.get("no-such-key") is None  # redis-py's own commands too
    finally:
        await client.aclose()
