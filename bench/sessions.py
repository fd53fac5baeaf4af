"""What a durable login session costs: a login's session written to Redis alone (as it was)
against written through to PostgreSQL too (as it is), and the alternative of `appendfsync
always` for the whole Redis, which every waiting-room write would pay.

    .venv/bin/python -m bench.sessions        # ~20 s

On a real Redis (AOF, everysec) and a real PostgreSQL in a scratch folder: N session opens
each way (one after another, as logins come), N reads of a session Redis lost (found in
PostgreSQL and put back), and N Redis SETs under everysec and under always. Ratios against the
baseline measured in the same run; a login's argon2 check is printed beside them for scale.
"""

from __future__ import annotations

import asyncio
import secrets
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from api.app import redis_client
from api.booking.accounts import SESSION_SECONDS, Accounts
from api.database import EmbeddedPostgres, create_pool, migrate
from api.embedded import RedisServer

N = 500


async def _per_call(call: Callable[[], Awaitable[object]]) -> float:
    """Mean milliseconds of `call`, run N times one after another."""
    started = time.perf_counter()
    for _ in range(N):
        await call()
    return (time.perf_counter() - started) * 1000 / N


async def _run(redis_url: str, database_url: str) -> None:
    pool = await create_pool(database_url, size=4)
    redis = redis_client(redis_url)
    try:
        async with pool.acquire() as conn:
            await migrate(conn)
        accounts = Accounts(pool, redis, secrets.token_bytes(32))
        account = await accounts.create(
            "bangku@antri.test", "Kursi-Panjang-Biru-2026", "Pemohon Uji", "081200000000", True
        )

        async def redis_only() -> None:
            key = "antri:login:" + secrets.token_hex(32)
            await redis.set(key, account, ex=SESSION_SECONDS)

        before = await _per_call(redis_only)
        after = await _per_call(lambda: accounts.open_session(account))
        # N sessions that Redis lost (as a lost AOF tail does): each read finds it in
        # PostgreSQL and puts it back
        tokens = [await accounts.open_session(account) for _ in range(N)]
        await redis.delete(*(accounts.session_key(token) for token in tokens))
        lost = iter(tokens)
        found = await _per_call(lambda: accounts.account_id(next(lost)))
        hit = await _per_call(lambda: accounts.account_id(tokens[0]))
        await redis.config_set("appendfsync", "always")
        always = await _per_call(redis_only)
        await redis.config_set("appendfsync", "everysec")
        hash_ = await accounts.hash_password("Kursi-Panjang-Biru-2026")
        started = time.perf_counter()
        await asyncio.to_thread(accounts.hasher.verify, hash_, "Kursi-Panjang-Biru-2026")
        argon = (time.perf_counter() - started) * 1000
    finally:
        await redis.aclose()
        await pool.close()
    print(f"session open, {N} each: Redis only {before:.2f} ms; Redis + PostgreSQL {after:.2f} ms"
          f" (ratio {after / before:.1f}x); a session read {hit:.2f} ms, one Redis lost read from"
          f" PostgreSQL {found:.2f} ms;"
          f" a login's argon2 check {argon:.0f} ms")  # fmt: skip
    print(f"one Redis SET: appendfsync everysec {before:.2f} ms, always {always:.2f} ms"
          f" (ratio {always / before:.1f}x, on every waiting-room write)")  # fmt: skip


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="antri-bench-sessions-") as tmp:
        redis_server = RedisServer(Path(tmp) / "redis").start()
        postgres = EmbeddedPostgres(Path(tmp) / "postgres").start()
        try:
            asyncio.run(_run(redis_server.url, postgres.url))
        finally:
            postgres.stop()
            redis_server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
