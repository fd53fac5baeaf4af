"""The application factory: `create_app(settings)` wires the engine, routes and middleware."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from importlib.metadata import version

import redis.asyncio as aioredis
from aiohttp import web
from prometheus_client import CollectorRegistry, GCCollector, PlatformCollector, ProcessCollector
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from queue_engine.engine import Engine
from queue_engine.metrics import EngineMetrics
from queue_engine.scripts import RedisClient
from queue_engine.tokens import Signer

from . import multiprocess
from .appkeys import (
    ACCOUNTS,
    BOOKING_METRICS,
    BOOKINGS,
    DOCUMENTS,
    DRAFTS,
    ENGINE,
    FLOW,
    JOBS,
    OPERATORS,
    PAYMENTS,
    REGISTRY,
    RELEASES,
    SCRAPED,
    SETTINGS,
    SLOTS,
    SWEEPER,
    TEMPLATES,
)
from .booking.accounts import Accounts
from .booking.documents import DocumentStore
from .database import migrate, unready_pool
from .flows import BookingFlow
from .handlers.offices import OfficeViews
from .jobs import JobQueue
from .metrics import BookingMetrics, HttpMetrics, build_info
from .multiprocess import GcCounts
from .operators import Operators
from .pages.drafts import Drafts
from .pages.render import strict_transport
from .redis_pool import bounded_redis
from .releases import Releases
from .rooms import RoomViews
from .routes import setup_routes
from .scraped import ScrapedMetrics
from .services import booking_services
from .settings import Settings
from .sweeper import Sweeper
from .web import static_urls, templates


def redis_client(url: str, cluster: bool = False) -> RedisClient:
    """A Redis client with short timeouts, so that an outage is noticed and refused quickly.

    A burst of joins waits for one of a bounded set of connections instead of opening one per
    request; the cluster client has no waiting pool, so its per-node bound is set high.
    """
    timeouts = {"socket_timeout": 1.0, "socket_connect_timeout": 1.0}
    if cluster:
        return aioredis.RedisCluster.from_url(url, max_connections=2048, **timeouts)
    # After a Redis restart every pooled connection is dead, and each would fail the request
    # that next used it: a command whose connection is found broken is sent once more, on a
    # new connection. Only for a broken connection, never a time-out: a script that timed out
    # may have run, and running a join twice would take two places.
    resend_once = Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,))
    return bounded_redis(
        url,
        max_connections=64,
        timeout=2.0,
        health_check_interval=5,
        retry=resend_once,
        **timeouts,
    )


def create_app(settings: Settings) -> web.Application:
    """The Antri web application; settings.redis_url must name a reachable Redis."""
    if settings.redis_url is None or settings.database_url is None:
        raise ValueError("create_app needs a Redis and a database URL (antri up starts both)")
    registry = CollectorRegistry()
    client = redis_client(settings.redis_url, settings.redis_cluster)
    engine = Engine(client, Signer(settings.secret), settings.engine, EngineMetrics(registry))
    env = templates()
    # No middlewares: see api/observed.py for why each route is wrapped instead.
    app = web.Application(client_max_size=4 << 20)
    app[SETTINGS] = settings
    app[REGISTRY] = registry
    app[TEMPLATES] = env
    app[ENGINE] = engine
    # The pool is made now and opened at start-up, so that handlers can be bound to it.
    services = booking_services(
        unready_pool(settings.database_url, settings.database_pool_size), settings
    )
    bookings = services.bookings
    app[BOOKINGS] = bookings
    app[SLOTS] = services.slots
    app[PAYMENTS] = services.payments
    app[ACCOUNTS] = Accounts(bookings.pool, client, settings.secret)
    app[OPERATORS] = Operators(bookings.pool, client, settings.secret)
    defaults = settings.room_defaults
    app[RELEASES] = Releases(
        bookings.pool, engine, services.slots.offices, settings.guard_room,
        defaults.rate_per_minute, defaults.max_active, planning=settings.plan_releases,
    )  # fmt: skip
    app[DOCUMENTS] = DocumentStore(settings.documents_dir)
    app[DRAFTS] = Drafts(client, settings.data_key)
    app[JOBS] = JobQueue(settings)
    booking_metrics = BookingMetrics(registry)
    app[BOOKING_METRICS] = booking_metrics
    gc_counts = _process_metrics(registry)
    app[SWEEPER] = Sweeper(
        bookings, services.slots, booking_metrics, settings.sweep_seconds, gc_counts
    )
    app[FLOW] = BookingFlow(
        app[ACCOUNTS], bookings, services.slots, services.payments, app[JOBS], app[SWEEPER],
        booking_metrics,
    )  # fmt: skip
    app[SCRAPED] = ScrapedMetrics(registry, client, settings.redis_url, bookings.pool)
    app.cleanup_ctx.append(_serve_rooms)
    app.cleanup_ctx.append(_serve_bookings)
    app.cleanup_ctx.append(_serve_releases)
    setup_routes(
        app,
        RoomViews(engine, settings),
        OfficeViews(services.slots, bookings.fees),
        HttpMetrics(registry),
    )
    env.globals["static"] = static_urls(app)
    if settings.cookie_secure:
        app.on_response_prepare.append(strict_transport)
    return app


def _process_metrics(registry: CollectorRegistry) -> GcCounts | None:
    """The process's CPU, memory, file descriptors and GC, and the build: prometheus-client's
    default collectors, on this app's own registry."""
    PlatformCollector(registry=registry)
    build_info(registry, version("antri"))
    if multiprocess.shared():
        # Read across the processes instead (api/multiprocess.py): process metrics at scrape
        # time for every pid, GC counts added by each process's sweeper.
        return GcCounts(registry)
    ProcessCollector(namespace="", registry=registry)
    GCCollector(registry=registry)
    return None


async def _serve_rooms(app: web.Application) -> AsyncIterator[None]:
    settings, engine = app[SETTINGS], app[ENGINE]
    for name in settings.rooms:
        await engine.add_room(name, settings.room_defaults)
    await engine.start()
    yield
    await engine.stop()
    await engine.client.aclose()


async def _serve_releases(app: web.Application) -> AsyncIterator[None]:
    """The release scheduler (after the rooms and the database are up)."""
    releases = app[RELEASES]
    releases.start()
    yield
    await releases.stop()


async def _serve_bookings(app: web.Application) -> AsyncIterator[None]:
    settings, bookings, sweeper = app[SETTINGS], app[BOOKINGS], app[SWEEPER]
    await bookings.pool  # opens the pool
    async with bookings.pool.acquire() as conn:
        await migrate(conn)
    await app[SLOTS].sync(datetime.now(UTC))
    room = app[ENGINE].room(settings.guard_room) if settings.feed_inventory else None
    sweeper.start(room)
    yield
    await sweeper.stop()
    app[JOBS].close()
    app[SCRAPED].close()
    await bookings.pool.close()
