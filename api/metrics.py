"""HTTP metrics (requests by route and status, latency by route) and the booking flow's.

How they add up across app processes: counters are per process, so dashboards `sum` their rates;
gauges that say one shared fact (a room's settings, Redis's memory, RQ's queues) are the same in
every process, so dashboards take `max`; per-process amounts (pool connections) are summed.
"""

from __future__ import annotations

import platform
from collections.abc import Callable

import asyncpg
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from queue_engine.metrics import NAMESPACE

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 5.0)


class HttpMetrics:
    """Per-request counter and histogram, by route."""

    def __init__(self, registry: CollectorRegistry) -> None:
        #: failures of PostgreSQL met by a request, by the route that met them
        self.database_errors = Counter(
            "database_errors",
            "PostgreSQL operations that failed (not refusals), by route or job.",
            ["operation"],
            namespace=NAMESPACE,
            registry=registry,
        )
        self.requests = Counter(
            "http_requests",
            "HTTP requests handled.",
            ["route", "method", "status"],
            namespace=NAMESPACE,
            registry=registry,
        )
        self.latency = Histogram(
            "http_request_duration_seconds",
            "Time to handle an HTTP request.",
            ["route"],
            namespace=NAMESPACE,
            registry=registry,
            buckets=LATENCY_BUCKETS,
        )

    def route(self, route: str, method: str) -> Callable[[int, float], None]:
        """A function that counts one request of `route` with its status and latency; label
        children are looked up once per status, not on every request."""
        latency = self.latency.labels(route)
        counters: dict[int, Counter] = {}

        def observe(status: int, seconds: float) -> None:
            counter = counters.get(status)
            if counter is None:
                counter = counters[status] = self.requests.labels(route, method, str(status))
            counter.inc()
            latency.observe(seconds)

        return observe


class BookingMetrics:
    """What the booking flow did: bookings and payments by outcome, places left, expiries."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.bookings = Counter(
            "bookings",
            "Booking attempts by outcome (created, or the refusal's code).",
            ["outcome"],
            namespace=NAMESPACE,
            registry=registry,
        )
        self.payments = Counter(
            "payments",
            "Payment callbacks by outcome (confirmed, replayed, or the refusal's code).",
            ["outcome"],
            namespace=NAMESPACE,
            registry=registry,
        )
        self.expired = Counter(
            "bookings_expired",
            "Unpaid bookings this process expired, by what did it (the sweeper).",
            ["by"],
            namespace=NAMESPACE,
            registry=registry,
        )
        self.office_places = Gauge(
            "office_places_remaining",
            "Places left on released, bookable dates, by office.",
            ["office"],
            namespace=NAMESPACE,
            registry=registry,
            multiprocess_mode="max",
        )
        self.pool_connections = Gauge(
            "database_pool_connections",
            "This process's PostgreSQL pool: connections in use and idle.",
            ["state"],
            namespace=NAMESPACE,
            registry=registry,
            multiprocess_mode="livesum",
        )
        self.pool_max = Gauge(
            "database_pool_max_connections",
            "The most connections this process's pool opens.",
            namespace=NAMESPACE,
            registry=registry,
            multiprocess_mode="livesum",
        )
        self.places_remaining = Gauge(
            "places_remaining",
            "Places left on released, bookable dates, all offices.",
            namespace=NAMESPACE,
            registry=registry,
            multiprocess_mode="mostrecent",  # every process's sweeper counts the same places
        )

    def observe_pool(self, pool: asyncpg.Pool) -> None:
        """Export the pool's connections (no I/O: the pool counts them itself)."""
        size, idle = pool.get_size(), pool.get_idle_size()
        self.pool_connections.labels("in_use").set(size - idle)
        self.pool_connections.labels("idle").set(idle)
        self.pool_max.set(pool.get_max_size())


def build_info(registry: CollectorRegistry, version: str) -> Gauge:
    """`antri_build_info{version, python}` = 1 (a gauge, not an Info: it works in
    multiprocess mode too)."""
    info = Gauge(
        "build_info",
        "Antri's version and Python's, always 1.",
        ["version", "python"],
        namespace=NAMESPACE,
        registry=registry,
        multiprocess_mode="max",
    )
    info.labels(version, platform.python_version()).set(1)
    return info
