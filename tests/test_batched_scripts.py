"""Script calls sent together in one pipeline (queue_engine/batched.py), on a real Redis: each
caller gets its own reply or its own error, whatever else shares its round trip."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from api.app import redis_client
from api.embedded import RedisServer
from queue_engine.batched import ScriptBatch

ECHO = "redis.call('INCR', KEYS[1]); return {KEYS[1], ARGV[1], redis.call('TYPE', KEYS[1]).ok}"


@pytest.fixture
async def client(redis_server: RedisServer) -> AsyncIterator[aioredis.Redis]:
    client = redis_client(redis_server.url)
    yield client
    await client.aclose()


async def test_two_hundred_calls_at_once_each_get_their_own_reply(client: aioredis.Redis) -> None:
    script, batch = client.register_script(ECHO), ScriptBatch(client)
    calls = [batch.call(script, [f"batched:{n % 7}"], [str(n)]) for n in range(200)]
    replies = await asyncio.gather(*calls)
    assert [r[1] for r in replies] == [str(n).encode() for n in range(200)]
    assert [r[0] for r in replies] == [f"batched:{n % 7}".encode() for n in range(200)]
    assert sum([int(await client.getdel(f"batched:{n}")) for n in range(7)]) == 200


async def test_an_error_is_told_to_its_caller_alone(client: aioredis.Redis) -> None:
    script, batch = client.register_script(ECHO), ScriptBatch(client)
    await client.set("batched:text", "not a number")
    keys = ["batched:text" if n == 50 else "batched:fine" for n in range(100)]
    replies = await asyncio.gather(
        *(batch.call(script, [k], ["x"]) for k in keys), return_exceptions=True
    )
    assert isinstance(replies[50], ResponseError)
    assert all(isinstance(r, list) for n, r in enumerate(replies) if n != 50)
    assert int(await client.getdel("batched:fine")) == 99


async def test_scripts_lost_by_redis_are_loaded_again(client: aioredis.Redis) -> None:
    script, batch = client.register_script(ECHO), ScriptBatch(client)
    await batch.call(script, ["batched:lost"], ["warm"])
    await client.script_flush()
    replies = await asyncio.gather(*(batch.call(script, ["batched:lost"], [n]) for n in range(50)))
    assert len(replies) == 50 and int(await client.getdel("batched:lost")) == 51


async def test_a_caller_that_gives_up_leaves_the_others_their_replies(
    client: aioredis.Redis,
) -> None:
    script, batch = client.register_script(ECHO), ScriptBatch(client)
    tasks = [asyncio.ensure_future(batch.call(script, ["batched:gone"], [n])) for n in range(20)]
    await asyncio.sleep(0)  # every call is queued; the batch has not been sent yet
    tasks[3].cancel()
    replies = await asyncio.gather(*tasks, return_exceptions=True)
    assert isinstance(replies[3], asyncio.CancelledError)
    assert sum(isinstance(r, list) for r in replies) == 19
    await client.delete("batched:gone")


async def test_an_unreachable_redis_fails_every_caller_at_once() -> None:
    dead = redis_client("redis://127.0.0.1:1/0")
    script, batch = dead.register_script(ECHO), ScriptBatch(dead)
    try:
        replies = await asyncio.wait_for(
            asyncio.gather(
                *(batch.call(script, ["k"], [n]) for n in range(30)), return_exceptions=True
            ),
            10,
        )
    finally:
        await dead.aclose()
    assert all(isinstance(r, RedisConnectionError) for r in replies), replies
