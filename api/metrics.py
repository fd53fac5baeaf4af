"""HTTP metrics (requests by route and status, latency by route) and the booking flow's."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from queue_engine.metrics import NAMESPACE

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 5.0)


class HttpMetrics:
    """Per-request counter and histogram, by route."""

    def __init__(self, registry: CollectorRegistry) -> None:
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
            "Unpaid bookings this process's sweeper expired.",
            namespace=NAMESPACE,
            registry=registry,
        )
        self.places_remaining = Gauge(
            "places_remaining",
            "Places left on released, bookable dates, all offices.",
            namespace=NAMESPACE,
            registry=registry,
            multiprocess_mode="mostrecent",  # every process's sweeper counts the same places
        )
