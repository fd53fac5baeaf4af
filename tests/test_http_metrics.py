"""The per-request HTTP metrics: a request only adds to its process's tallies, so the series
must still come out exact at every scrape, and reach the series on their own soon after."""

from __future__ import annotations

import asyncio

from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from api.metrics import FLUSH_SECONDS, LATENCY_BUCKETS, HttpMetrics

from .conftest import AppFactory

HEALTHZ = {"route": "/healthz", "method": "GET", "status": "200"}


def _samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _value(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def test_every_request_is_in_the_next_scrape_once(make_client: AppFactory) -> None:
    client = await make_client()

    async def healthz() -> None:
        async with client.get("/healthz") as response:
            assert response.status == 200

    async def no_ticket() -> None:
        async with client.get("/api/v1/rooms/nowhere/status") as response:
            assert response.status == 404

    await asyncio.gather(*(healthz() for _ in range(250)), *(no_ticket() for _ in range(7)))
    first = _samples(await (await client.get("/metrics")).text())
    assert _value(first, "antri_http_requests_total", **HEALTHZ) == 250
    status_404 = {"route": "/api/v1/rooms/{room}/status", "method": "GET", "status": "404"}
    assert _value(first, "antri_http_requests_total", **status_404) == 7
    route = {"route": "/healthz"}
    assert _value(first, "antri_http_request_duration_seconds_count", **route) == 250
    assert _value(first, "antri_http_request_duration_seconds_sum", **route) > 0
    cumulative = [
        _value(first, "antri_http_request_duration_seconds_bucket", le=str(bound), **route)
        for bound in LATENCY_BUCKETS
    ] + [_value(first, "antri_http_request_duration_seconds_bucket", le="+Inf", **route)]
    assert cumulative == sorted(cumulative) and cumulative[-1] == 250

    # The next scrape adds what came since (three more and the first scrape), counted once.
    for _ in range(3):
        await healthz()
    second = _samples(await (await client.get("/metrics")).text())
    assert _value(second, "antri_http_requests_total", **HEALTHZ) == 253
    assert _value(second, "antri_http_request_duration_seconds_count", **route) == 253
    metrics_route = {"route": "/metrics", "method": "GET", "status": "200"}
    assert _value(second, "antri_http_requests_total", **metrics_route) == 1


async def test_counts_reach_the_series_unscraped_within_the_flush_time() -> None:
    # With several processes each one's series are files that another process reads: a tally
    # must get there without a scrape of its own process.
    metrics = HttpMetrics(CollectorRegistry())
    observe = metrics.route("/healthz", "GET")
    for seconds in (0.0005, 0.003, 0.003, 7.0):
        observe(200, seconds)
    observe(503, 0.2)
    requests = metrics.requests.labels("/healthz", "GET", "200")
    assert requests._value.get() == 0  # still in the tally
    await asyncio.sleep(FLUSH_SECONDS * 3)
    assert requests._value.get() == 4
    assert metrics.requests.labels("/healthz", "GET", "503")._value.get() == 1
    latency = metrics.latency.labels("/healthz")
    per_bucket = [value.get() for value in latency._buckets]
    assert per_bucket == [1, 0, 2, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]
    assert abs(latency._sum.get() - 7.2065) < 1e-9
