"""Dashboards and alerts query only metrics the app really exposes (they cannot drift apart)."""

from __future__ import annotations

import asyncio
import json
import logging
import platform
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from prometheus_client.parser import text_string_to_metric_families

from api.appkeys import BOOKINGS, ENGINE, SETTINGS
from api.embedded import RedisServer
from api.jobs import expire_due, queue
from api.refusals import UnavailableLog
from dashboards import build

from .conftest import AppFactory
from .test_http import ADMIN, admitted, rooms

DASHBOARDS = Path(__file__).parent.parent / "dashboards"
METRIC = re.compile(r"\bantri_[a-z_]+\b")
SUFFIXES = ("_bucket", "_count", "_sum", "_total")


def queried_metrics() -> set[str]:
    texts = [p.read_text() for p in DASHBOARDS.rglob("*") if p.suffix in {".json", ".yml"}]
    return {name for text in texts for name in METRIC.findall(text)}


def family(name: str) -> str:
    for suffix in SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def test_dashboard_is_valid_json_with_panels() -> None:
    paths = sorted((DASHBOARDS / "grafana" / "dashboards").glob("*.json"))
    assert len(paths) == 3
    for path in paths:
        dashboard = json.loads(path.read_text())
        assert dashboard["panels"], path
        for panel in dashboard["panels"]:
            assert panel["targets"] and all(t["expr"] for t in panel["targets"]), panel["title"]


def test_dashboard_files_are_what_the_builder_makes() -> None:
    for dashboard in build.DASHBOARDS:
        assert build.path(dashboard).read_text() == build.text(dashboard), (
            f"{build.path(dashboard).name} is stale: run `python -m dashboards.build`"
        )


def panels() -> list[tuple[str, dict[str, Any]]]:
    return [
        (dashboard["title"], panel)
        for dashboard in map(build.render, build.DASHBOARDS)
        for panel in dashboard["panels"]
    ]


def test_dashboards_import_with_any_prometheus() -> None:
    for dashboard in map(build.render, build.DASHBOARDS):
        assert [i["name"] for i in dashboard["__inputs"]] == ["DS_PROMETHEUS"]
        variables = {v["name"]: v for v in dashboard["templating"]["list"]}
        assert variables["DS_PROMETHEUS"]["type"] == "datasource"  # provisioning resolves it
        assert "instance" in variables
        text = json.dumps(dashboard)
        assert '"uid": "prometheus"' not in text, "a fixed datasource breaks UI imports"
    for title, panel in panels():
        assert panel["datasource"]["uid"] == "${DS_PROMETHEUS}", title
        assert all(t["datasource"]["uid"] == "${DS_PROMETHEUS}" for t in panel["targets"])


def test_every_panel_has_legends_units_and_a_description() -> None:
    for title, panel in panels():
        name = f"{title} / {panel['title']}"
        assert panel["description"], name
        assert panel["fieldConfig"]["defaults"]["unit"], name
        assert all(t["legendFormat"] for t in panel["targets"]), name
        if panel["type"] == "timeseries":
            assert panel["options"]["legend"]["showLegend"], name


def test_queries_add_up_across_processes() -> None:
    """Counters' rates are summed over processes; a gauge that every process reports the same
    (a room's view, a shared store's state) is never summed; windows are $__rate_interval."""
    shared = re.compile(
        r"\bsum\b[^(]*\((?:\s*)(antri_(visitors_waiting|sessions_active|room_|no_show|"
        r"admission_rate|eta_last|redis_|rq_|database_up|places_remaining|office_places))"
    )
    for title, panel in panels():
        for target in panel["targets"]:
            expr = target["expr"]
            assert not shared.search(expr), f"{panel['title']}: sums a shared gauge: {expr}"
            assert not re.search(r"\[\d+[smh]\]", expr), f"{panel['title']}: fixed window"
            if "rate(" in expr and "antri_" in expr and "_total" in expr:
                assert re.match(r"^(sum|max|histogram_quantile)", expr), expr
            assert 'instance=~"$instance"' in expr, f"{title} / {panel['title']}: {expr}"


def test_error_panels_show_zero_when_healthy() -> None:
    errors = re.compile(r'5\.\.|"503"|errors_total|rejected|_oom_|outcome!~')
    checked = 0
    for _, panel in panels():
        for target in panel["targets"]:
            if errors.search(target["expr"]):
                checked += 1
                assert target["expr"].endswith("or vector(0)"), f"{panel['title']}: {target}"
    assert checked >= 8


async def test_every_queried_metric_is_exposed(make_client: AppFactory) -> None:
    client = await make_client(rate_per_minute=6000, burst=10)
    guard, _ = rooms(client)
    await admitted(client, guard)
    exposed = await (await client.get("/metrics")).text()
    families = set(re.findall(r"^# TYPE (\S+) ", exposed, re.MULTILINE))
    names = queried_metrics()
    assert len(names) >= 8
    missing = {n for n in names if family(n) not in families and n not in exposed}
    assert not missing, f"dashboards query metrics the app does not expose: {missing}"


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a /metrics page, by name and labels."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def scrape(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = await client.get("/metrics")
    assert response.status == 200
    return samples(await response.text())


async def test_metrics_say_what_is_configured(make_client: AppFactory) -> None:
    client = await make_client(rate_per_minute=600, burst=7, max_active=33)
    guard, _ = rooms(client)
    change = {"rate_per_minute": 90, "state": "paused", "event_starts_at": "2031-01-02T03:04:05Z"}
    changed = await client.patch(f"/api/v1/admin/rooms/{guard}", json=change, headers=ADMIN)
    assert changed.status == 200, await changed.text()
    put = await client.put(
        f"/api/v1/admin/rooms/{guard}/inventory", json={"remaining": 0}, headers=ADMIN
    )
    assert put.status == 200, await put.text()
    room = (("room", guard),)
    for _ in range(100):  # the background refresher exports the view it fetched
        got = await scrape(client)
        if got[("antri_room_sold_out", room)] == 1:
            break
        await asyncio.sleep(0.05)

    def of(name: str, *labels: tuple[str, str]) -> float:
        return got[(f"antri_{name}", tuple(sorted(room + labels)))]

    assert of("room_rate_per_minute") == 90
    assert of("room_burst") == 7
    assert of("room_max_active") == 33
    assert of("room_state", ("state", "paused")) == 1
    assert of("room_state", ("state", "open")) == 0
    assert of("room_sold_out") == 1
    assert of("room_inventory") == 0
    assert of("room_offers_pending") == 0
    start = datetime(2031, 1, 2, 3, 4, 5, tzinfo=UTC).timestamp()
    assert of("room_event_start_timestamp_seconds") == start
    assert abs(time.time() - of("room_view_refreshed_timestamp_seconds")) < 5
    assert got[("antri_build_info", (("python", platform.python_version()), ("version", "0.1.0")))]
    assert got[("process_resident_memory_bytes", ())] > 0
    assert ("python_gc_collections_total", (("generation", "0"),)) in got
    assert got[("antri_redis_up", ())] == 1
    assert got[("antri_redis_used_memory_bytes", ())] > 0
    assert got[("antri_database_up", ())] == 1
    assert got[("antri_database_pool_max_connections", ())] > 0
    assert got[("antri_rq_up", ())] == 1


async def test_rq_metrics_show_a_scheduler_that_does_not_run(
    make_client: AppFactory, tmp_path: Path
) -> None:
    # A Redis of its own: a worker another test killed stays registered on the shared one.
    own = RedisServer(tmp_path / "redis").start()
    try:
        await rq_metrics_of_a_dead_scheduler(await make_client(own.url))
    finally:
        own.stop()


async def rq_metrics_of_a_dead_scheduler(client: TestClient) -> None:
    settings = client.server.app[SETTINGS]
    # A job due half a minute ago that no scheduler moved to the queue: what a dead worker
    # and scheduler look like (no worker runs on this Redis).
    queue(settings).enqueue_at(
        datetime.now(UTC) - timedelta(seconds=30), expire_due, job_id=f"late-{time.time_ns()}"
    )
    got = await scrape(client)
    assert got[("antri_rq_scheduled_jobs", ())] >= 1
    assert got[("antri_rq_scheduled_overdue_seconds", ())] >= 29
    assert got[("antri_rq_workers", ())] == 0
    assert got[("antri_rq_scheduler_up", ())] == 0
    ready = await (await client.get("/readyz")).json()
    # Told, without failing readiness: this process serves without a worker.
    assert ready == {
        "status": "ok",
        "redis": "ok",
        "database": "ok",
        "worker": "missing",
        "scheduler": "missing",
    }


async def test_metrics_say_redis_is_down(make_client: AppFactory) -> None:
    client = await make_client("redis://127.0.0.1:1/0")
    got = await scrape(client)
    assert got[("antri_redis_up", ())] == 0
    assert got[("antri_rq_up", ())] == 0
    assert got[("antri_database_up", ())] == 1


def test_a_burst_of_503s_is_logged_once_then_counted(caplog: pytest.LogCaptureFixture) -> None:
    log = UnavailableLog(every=0.2)
    outage = ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
    with caplog.at_level(logging.WARNING, logger="api.unavailable"):
        for _ in range(500):
            log.refused("/api/v1/rooms/{room}/status", outage)
        time.sleep(0.25)
        log.refused("/api/v1/rooms/{room}/join", outage)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2, lines
    assert "503 on /api/v1/rooms/{room}/status: ConnectionError" in lines[0]
    assert "499 more requests refused" in lines[1]
    assert "/api/v1/rooms/{room}/status 499" in lines[1]


async def test_scrapes_read_the_stores_at_most_once_per_two_seconds(
    make_client: AppFactory,
) -> None:
    client = await make_client()
    redis = client.server.app[ENGINE].client

    async def info_calls() -> int:
        stats = await redis.info("commandstats")
        return int(stats.get("cmdstat_info", {}).get("calls", 0))

    await scrape(client)
    before = await info_calls()
    for _ in range(10):
        await scrape(client)
    # one refresh at most (INFO and INFO errorstats), plus the INFO that counted them
    assert await info_calls() - before <= 1 + 2


async def test_database_failures_are_counted_by_route(make_client: AppFactory) -> None:
    client = await make_client()
    await client.server.app[BOOKINGS].pool.close()  # every query now fails (InterfaceError)
    login = {"email": "nobody@antri.test", "password": "Rahasia-2026"}
    response = await client.post("/api/v1/login", json=login)
    assert response.status == 503, await response.text()
    got = samples(await (await client.get("/metrics")).text())
    assert got[("antri_database_errors_total", (("operation", "/api/v1/login"),))] == 1
    assert got[("antri_database_up", ())] == 0
