"""A run's Locust statistics for Prometheus, so that the crowd shows beside the server's own
metrics: the locustfile's `--prometheus-port N` serves them on 127.0.0.1:N/metrics from the
master (or the only) Locust process, read from Locust's live stats at each scrape.

    locust_users                                  users running now
    locust_requests_total{method,name}            requests so far (this test)
    locust_failures_total{method,name}            failed requests so far
    locust_response_seconds{method,name,quantile} p50/p95/p99 of the last seconds (Locust's window)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

QUANTILES = (0.5, 0.95, 0.99)


class LocustCollector:
    """Reads the runner's stats when scraped."""

    def __init__(self, environment: Any) -> None:
        self.environment = environment

    def collect(self) -> Iterator[Metric]:
        runner = self.environment.runner
        users = GaugeMetricFamily("locust_users", "Locust users running now")
        users.add_metric([], float(runner.user_count if runner else 0))
        yield users
        labels = ["method", "name"]
        requests = CounterMetricFamily("locust_requests", "Requests so far", labels=labels)
        failures = CounterMetricFamily("locust_failures", "Failed requests so far", labels=labels)
        latency = GaugeMetricFamily(
            "locust_response_seconds",
            "Response time percentiles over Locust's recent window",
            labels=[*labels, "quantile"],
        )
        stats = self.environment.stats
        for entry in [*stats.entries.values(), stats.total]:
            key = [entry.method or "", entry.name]
            requests.add_metric(key, float(entry.num_requests))
            failures.add_metric(key, float(entry.num_failures))
            for q in QUANTILES:
                value = entry.get_current_response_time_percentile(q)
                if value is not None:
                    latency.add_metric([*key, str(q)], value / 1000)
        yield requests
        yield failures
        yield latency


def serve(environment: Any, port: int) -> None:
    """Serve the collector on 127.0.0.1:`port`."""
    registry = CollectorRegistry()
    registry.register(LocustCollector(environment))  # type: ignore[arg-type]
    start_http_server(port, addr="127.0.0.1", registry=registry)
