"""Baseline B: an aiohttp handler that makes one bare EVALSHA call to Redis per request.

The script is a trivial INCR; the client is redis-py asyncio (hiredis parser when installed) on
uvloop, as in the real app. Run as `python -m bench.evalsha --port N --redis URL`; the join
endpoint, which also makes one script call per request, is compared against it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import redis.asyncio as aioredis
from aiohttp import web

from .serving import port_argument, serve

SCRIPT = "return redis.call('INCR', KEYS[1])"
KEY = "bench:{baseline}:counter"

REDIS_URL = web.AppKey("redis_url", str)
CLIENT = web.AppKey("client", aioredis.Redis)
SHA = web.AppKey("sha", str)


async def _redis_ctx(app: web.Application) -> AsyncIterator[None]:
    client = aioredis.Redis.from_url(app[REDIS_URL])
    app[SHA] = await client.script_load(SCRIPT)
    app[CLIENT] = client
    yield
    await client.aclose()


async def incr(request: web.Request) -> web.Response:
    """GET or POST /: one EVALSHA, the counter's new value as the body."""
    value = await request.app[CLIENT].evalsha(request.app[SHA], 1, KEY)
    return web.Response(text=str(value))


def create_app(redis_url: str) -> web.Application:
    """The one-EVALSHA app on the Redis at `redis_url`."""
    app = web.Application()
    app[REDIS_URL] = redis_url
    app.cleanup_ctx.append(_redis_ctx)
    app.router.add_route("*", "/", incr)
    return app


def main() -> None:
    """Serve the one-EVALSHA app on loopback."""
    parser = port_argument(__doc__)
    parser.add_argument("--redis", required=True, help="redis:// URL of the Redis to call")
    args = parser.parse_args()
    serve(create_app(args.redis), args.port)


if __name__ == "__main__":
    main()
