"""Liveness, readiness and the Prometheus scrape endpoint."""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from redis.exceptions import RedisError

from .appkeys import ENGINE, REGISTRY
from .web import json_response


async def healthz(request: web.Request) -> web.Response:
    """GET /healthz: the process is alive."""
    return json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """GET /readyz: Redis answers, so the waiting room can admit."""
    try:
        await request.config_dict[ENGINE].client.ping()
    except (RedisError, OSError) as exc:
        return json_response(
            {"status": "unavailable", "redis": str(exc)}, 503, {"Retry-After": "5"}
        )
    return json_response({"status": "ok", "redis": "ok"})


async def metrics(request: web.Request) -> web.Response:
    """GET /metrics: Prometheus text format."""
    body = generate_latest(request.config_dict[REGISTRY])
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
