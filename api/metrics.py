"""HTTP metrics: requests by route and status, and latency by route."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Histogram

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
