"""Attempt counters in Redis, counted *before* the check they guard.

A limit that counts failures after checking can be raced: a burst of guesses sent at once is
all checked before the first failure is counted. Here each attempt is counted first, in one
atomic step (a Lua script: INCR, and the window's expiry set with the first attempt), and only
attempts within the limit go on to the check. A check that succeeds may hand its attempt back
(`refund`) where only failures are meant to count.
"""

from __future__ import annotations

from queue_engine.scripts import RedisClient

from .errors import TooManyAttempts

# One key, so that it runs on Redis Cluster too. The expiry is set by the first attempt of a
# window (fixed window) and repaired should a key ever lack one.
_COUNT = """
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('TTL', KEYS[1])
if count == 1 or ttl < 0 then
    redis.call('EXPIRE', KEYS[1], ARGV[1])
    ttl = tonumber(ARGV[1])
end
return {count, ttl}
"""

_REFUND = """
if redis.call('GET', KEYS[1]) and tonumber(redis.call('GET', KEYS[1])) > 0 then
    return redis.call('DECR', KEYS[1])
end
return 0
"""


async def count(redis: RedisClient, key: str, window: int) -> tuple[int, int]:
    """Count one attempt under `key` in a fixed window of `window` seconds that starts with the
    first attempt: (attempts so far including this one, seconds left in the window)."""
    counted, ttl = await redis.eval(_COUNT, 1, key, window)
    return int(counted), max(1, int(ttl))


async def take(redis: RedisClient, key: str, limit: int, window: int, message: str) -> None:
    """Count one attempt; TooManyAttempts (with the seconds left) once more than `limit` were
    made in the window. Call it before the check it guards."""
    counted, ttl = await count(redis, key, window)
    if counted > limit:
        raise TooManyAttempts("too_many_attempts", message, ttl)


async def refund(redis: RedisClient, key: str) -> None:
    """Give back one counted attempt (a lookup or login that succeeded)."""
    await redis.eval(_REFUND, 1, key)
