"""Liveness, readiness and the Prometheus scrape endpoint."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from redis.exceptions import RedisError

from queue_engine.engine import Engine

from .multiprocess import scrape_registry
from .scraped import ScrapedMetrics
from .web import json_response


@dataclass(frozen=True, slots=True)
class HealthViews:
    """Liveness, readiness and metrics: bound to Redis, the database and the registry."""

    engine: Engine
    pool: asyncpg.Pool
    scraped: ScrapedMetrics
    registry: CollectorRegistry

    async def healthz(self, request: web.Request) -> web.Response:
        """GET /healthz: the process is alive."""
        return json_response({"status": "ok"})

    async def readyz(self, request: web.Request) -> web.Response:
        """GET /readyz: Redis and PostgreSQL answer, so the room can admit and bookings be made.
        The RQ worker's and scheduler's state is told too, without failing the check: this
        process serves without them (a load balancer must not take it out), but an operator
        should see it."""
        checks = {"redis": "ok", "database": "ok"}
        try:
            await self.engine.client.ping()
        except (RedisError, OSError) as exc:
            checks["redis"] = str(exc) or type(exc).__name__
        try:
            await self.pool.fetchval("SELECT 1", timeout=1.0)
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
            checks["database"] = str(exc) or type(exc).__name__
        if checks != {"redis": "ok", "database": "ok"}:
            return json_response({"status": "unavailable", **checks}, 503, {"Retry-After": "5"})
        scraped = self.scraped
        await scraped.refresh()
        return json_response({"status": "ok", **checks, **scraped.jobs_health()})

    async def metrics(self, request: web.Request) -> web.Response:
        """GET /metrics: Prometheus text format (Redis, RQ and PostgreSQL read now, or at most
        a couple of seconds ago)."""
        await self.scraped.refresh()
        body = generate_latest(scrape_registry(self.registry))
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
