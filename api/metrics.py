"""HTTP metrics (requests by route and status, latency by route) and the booking flow's.

How they add up across app processes: counters are per process, so dashboards `sum` their rates;
gauges that say one shared fact (a room's settings, Redis's memory, RQ's queues) are the same in
every process, so dashboards take `max`; per-process amounts (pool connections) are summed.
"""

from __future__ import annotations

import asyncio
import platform
from bisect import bisect_left
from collections.abc import Callable, Iterable

import asyncpg
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from queue_engine.metrics import NAMESPACE

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 5.0)


class HttpMetrics:
    """Per-request counter and histogram, by route.

    A request only adds to this process's plain tallies (a dict, a list, a float: no lock, no
    file); they are moved into the Prometheus series when this registry is collected, at most
    FLUSH_SECONDS after the first request not yet moved (so that with several processes each
    one's memory-mapped files are current within that), and when the app stops. prometheus-
    client's own `inc` and `observe` take a lock each, and with several processes write to the
    files: about a tenth of a status poll's cost.
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        # Registered before the series it fills in, so a scrape of this registry sees them whole.
        registry.register(_FlushFirst(self))
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
        self._unflushed: list[_RouteTally] = []
        self._flush_due: asyncio.TimerHandle | None = None

    def route(self, route: str, method: str) -> Callable[[int, float], None]:
        """A function that counts one request of `route` with its status and latency."""
        return _RouteTally(self, route, method).observe

    def flush(self) -> None:
        """Move every tally into the Prometheus series."""
        if self._flush_due is not None:
            self._flush_due.cancel()
            self._flush_due = None
        unflushed, self._unflushed = self._unflushed, []
        for tally in unflushed:
            tally.flush()

    def _changed(self, tally: _RouteTally) -> None:
        self._unflushed.append(tally)
        if self._flush_due is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # not in the app's loop (a direct call): no later to wait for
                self.flush()
                return
            self._flush_due = loop.call_later(FLUSH_SECONDS, self.flush)


#: how long a request's count may wait in its process's tally before the series show it
FLUSH_SECONDS = 0.1


class _RouteTally:
    """One route's requests since the last flush: counts by status, latency bucket counts."""

    __slots__ = ("buckets", "counters", "counts", "latency", "method", "metrics", "route", "sum")

    def __init__(self, metrics: HttpMetrics, route: str, method: str) -> None:
        self.metrics = metrics
        self.route = route
        self.method = method
        self.latency = metrics.latency.labels(route)
        self.counters: dict[int, Counter] = {}  #: the series of each status met
        self.counts: dict[int, int] = {}
        #: requests per bucket of LATENCY_BUCKETS, the last one past them all (+Inf), as the
        #: histogram counts them (non-cumulative): an observation falls in the first bucket
        #: whose bound it does not exceed
        self.buckets = [0] * (len(LATENCY_BUCKETS) + 1)
        self.sum = 0.0

    def observe(self, status: int, seconds: float) -> None:
        """Count one request answered with `status` after `seconds`."""
        counts = self.counts
        if not counts:
            self.metrics._changed(self)  # the first since the last flush
        counts[status] = counts.get(status, 0) + 1
        self.buckets[bisect_left(LATENCY_BUCKETS, seconds)] += 1
        self.sum += seconds

    def flush(self) -> None:
        """Add the counts to the Prometheus series and start again from zero."""
        for status, count in self.counts.items():
            counter = self.counters.get(status)
            if counter is None:
                counter = self.metrics.requests.labels(self.route, self.method, str(status))
                self.counters[status] = counter
            counter.inc(count)
        self.counts = {}
        # Histogram has no public call to add n observations at once: its child's values are
        # used directly (private, but the same `_buckets` and `_sum` since prometheus-client
        # 0.4; one value each, a file entry each in multiprocess mode). tests/test_http.py
        # reads the series back.
        values = self.latency._buckets
        for index, count in enumerate(self.buckets):
            if count:
                values[index].inc(count)
                self.buckets[index] = 0
        self.latency._sum.inc(self.sum)
        self.sum = 0.0


class _FlushFirst(Collector):
    """Collected before the HTTP series: moves the tallies into them first."""

    def __init__(self, metrics: HttpMetrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterable[Metric]:
        self.metrics.flush()
        return ()


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
