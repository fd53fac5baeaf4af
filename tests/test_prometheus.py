"""Every dashboard panel's query, evaluated by a real Prometheus (Debian's) scraping two app
processes on one Redis and one PostgreSQL after a short load: each returns data, and where the
truth is known (the admin API's counts, the configured rate) the panel shows it -- not the
process count times it."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from api import jobs
from api.appkeys import SETTINGS
from dashboards import build
from dashboards.monitor import command, write_config

from .booking_support import booker, booking_body, pay, released_days
from .conftest import AppFactory
from .test_http import ADMIN, rooms
from .test_start_stop import ROOM, Antri

#: the ports this project's tests may listen on (Prometheus takes the first free one)
PORTS = range(18850, 18900)
RATE, BURST, CAP = 600, 10, 30
#: where the `antri up` of the two-process test listens (outside PORTS)
UP_PORT = 18840

Query = Callable[[str], Awaitable[list[dict[str, Any]]]]


def free_port() -> int:
    for port in PORTS:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port for Prometheus")


@pytest.fixture
async def prometheus(tmp_path: Path) -> AsyncIterator[Callable[[list[str]], Awaitable[Query]]]:
    """Start Debian's Prometheus (1 s scrapes) on the given targets; a query function."""
    processes: list[subprocess.Popen[bytes]] = []
    session = aiohttp.ClientSession()

    async def start(targets: list[str]) -> Query:
        config = write_config(tmp_path / "prometheus", targets, scrape_interval="1s")
        listen = f"127.0.0.1:{free_port()}"
        log = (tmp_path / "prometheus.log").open("wb")
        processes.append(
            subprocess.Popen(
                command(config, tmp_path / "prometheus" / "data", listen),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
        base = f"http://{listen}"
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(f"{base}/-/ready") as response:
                    if response.status == 200:
                        break
            assert time.monotonic() < deadline, (tmp_path / "prometheus.log").read_text()
            await asyncio.sleep(0.3)

        async def query(expr: str) -> list[dict[str, Any]]:
            async with session.get(f"{base}/api/v1/query", params={"query": expr}) as response:
                body = await response.json()
            assert body["status"] == "success", (expr, body)
            return list(body["data"]["result"])

        return query

    yield start
    await session.close()
    for process in processes:
        process.terminate()
        process.wait(15)


def value(result: list[dict[str, Any]]) -> float:
    assert len(result) == 1, result
    return float(result[0]["value"][1])


def substituted(expr: str, room: str) -> str:
    """A panel's query as Grafana sends it, for one room and every instance."""
    return expr.replace("$room", room).replace("$instance", ".*").replace("$__rate_interval", "1m")


async def load(apps: list[TestClient], room: str, visitors: int, seconds: float) -> None:
    """`visitors` join through either process, then poll whichever process they meet."""

    async def visit(i: int) -> None:
        response = await apps[i % 2].post(f"/api/v1/rooms/{room}/join", cookies={})
        assert response.status == 200, await response.text()
        ticket = (await response.json())["ticket"]
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            status = await apps[(i + int(time.monotonic())) % 2].get(
                f"/api/v1/rooms/{room}/status", headers={"X-Antri-Ticket": ticket}
            )
            assert status.status == 200, await status.text()
            if (await status.json())["state"] == "admitted":
                return
            await asyncio.sleep(0.5)

    await asyncio.gather(*(visit(i) for i in range(visitors)))


async def scraped_the_quiet_room(
    query: Query, room: str, truth: Callable[[], Awaitable[dict[str, Any]]], targets: int
) -> None:
    """Wait until Prometheus shows the room's active sessions as the admin API counts them,
    from every target; then a few more scrapes, so that every rate has its samples."""
    active_panel = f'max by (room) (antri_sessions_active{{room="{room}"}})'
    deadline = time.monotonic() + 60
    while True:
        counted = await truth()
        seen = await query(active_panel)
        up = await query('up{job="antri"}')
        if seen and value(seen) == counted["active"] and len(up) == targets:
            break
        assert time.monotonic() < deadline, (seen, counted)
        await asyncio.sleep(1)
    await asyncio.sleep(3)


@pytest.mark.timeout(600)
async def test_every_panel_answers_from_a_real_prometheus(
    make_client: AppFactory, prometheus: Callable[[list[str]], Awaitable[Query]]
) -> None:
    first = await make_client(rate_per_minute=RATE, burst=BURST, max_active=CAP)
    second = await make_client(same_as=first)
    apps = [first, second]
    guard, _ = rooms(first)
    query = await prometheus([f"127.0.0.1:{app.server.port}" for app in apps])

    # A booking paid at the sandbox bank, a worker job run, then a crowd of 120 in line.
    headers = await booker(first)
    day = (await released_days(first))[0]
    made = await first.post("/api/v1/bookings", json=booking_body(day), headers=headers)
    assert made.status == 201, await made.text()
    await pay(first, headers, await made.json())
    jobs.configure(first.server.app[SETTINGS])
    await asyncio.to_thread(jobs.expire_due)
    await load(apps, guard, visitors=120, seconds=8)

    # The truth, from the admin API, once Prometheus has scraped the quiet room.
    async def truth() -> dict[str, Any]:
        response = await first.get(f"/api/v1/admin/rooms/{guard}", headers=ADMIN)
        return dict(await response.json())

    await scraped_the_quiet_room(query, guard, truth, targets=2)

    empty = []
    for dashboard in build.DASHBOARDS:
        for panel in dashboard.panels:
            for target in panel.queries:
                if not await query(substituted(target.expr, guard)):
                    empty.append(f"{dashboard.title} / {panel.title}: {target.expr}")
    assert not empty, "panels without data:\n" + "\n".join(empty)

    def panel(title: str) -> build.Panel:
        (found,) = (p for p in build.WAITING_ROOM.panels if p.title == title)
        return found

    room = await truth()
    active, cap = panel("Active sessions / cap").queries
    shown_active = value(await query(substituted(active.expr, guard)))
    shown_cap = value(await query(substituted(cap.expr, guard)))
    assert 0 < shown_active == room["active"] <= shown_cap == CAP
    # What the old panels showed: the same gauge summed over the two processes.
    assert value(await query(f'sum(antri_sessions_active{{room="{guard}"}})')) == 2 * room["active"]
    (line,) = panel("In line").queries
    assert value(await query(substituted(line.expr, guard))) == room["waiting"]
    (configured,) = panel("Configured rate").queries
    assert (
        value(await query(substituted(configured.expr, guard))) == RATE == room["rate_per_minute"]
    )
    target = panel("Admissions per minute: offered vs claimed vs configured").queries[3]
    assert value(await query(substituted(target.expr, guard))) >= RATE
    up = await query('up{job="antri"}')
    assert sorted(float(r["value"][1]) for r in up) == [1.0, 1.0]


@pytest.mark.timeout(600)
async def test_the_waiting_room_panels_over_antri_up_with_two_processes(
    tmp_path: Path, prometheus: Callable[[list[str]], Awaitable[Query]]
) -> None:
    """`antri up --processes 2` serves one port and one set of metrics (prometheus-client's
    multiprocess mode): one scrape target, one series per room, right where the truth is known."""
    antri = Antri(
        tmp_path / "antri",
        UP_PORT,
        "--processes", "2", "--workers", "1",
        ANTRI_RATE_PER_MINUTE=str(RATE), ANTRI_BURST=str(BURST), ANTRI_MAX_ACTIVE=str(CAP),
        ANTRI_POW_DIFFICULTY="0", ANTRI_JOINS_PER_MINUTE_PER_CLIENT="0",
    )  # fmt: skip
    try:
        await asyncio.to_thread(antri.wait_until_up)
        admin = {"Authorization": f"Bearer {(antri.data_dir / 'admin-token').read_text().strip()}"}
        query = await prometheus([f"127.0.0.1:{UP_PORT}"])
        # Each visitor on a connection of its own: the kernel spreads them over the processes.
        async with aiohttp.ClientSession(
            antri.url,
            cookie_jar=aiohttp.DummyCookieJar(),
            connector=aiohttp.TCPConnector(force_close=True),
        ) as http:

            async def visit() -> None:
                async with http.post(f"/api/v1/rooms/{ROOM}/join") as response:
                    assert response.status == 200, await response.text()
                    ticket = (await response.json())["ticket"]
                deadline = time.monotonic() + 8
                while time.monotonic() < deadline:
                    async with http.get(
                        f"/api/v1/rooms/{ROOM}/status", headers={"X-Antri-Ticket": ticket}
                    ) as status:
                        assert status.status == 200, await status.text()
                        if (await status.json())["state"] == "admitted":
                            return
                    await asyncio.sleep(0.5)

            await asyncio.gather(*(visit() for _ in range(120)))

            async def truth() -> dict[str, Any]:
                async with http.get(f"/api/v1/admin/rooms/{ROOM}", headers=admin) as response:
                    return dict(await response.json())

            await scraped_the_quiet_room(query, ROOM, truth, targets=1)
            active_panel = f'max by (room) (antri_sessions_active{{room="{ROOM}"}})'

            empty = [
                f"{panel.title}: {target.expr}"
                for panel in build.WAITING_ROOM.panels
                for target in panel.queries
                if not await query(substituted(target.expr, ROOM))
            ]
            assert not empty, "panels without data:\n" + "\n".join(empty)
            room = await truth()
            # One series per room, whatever the number of processes behind the port.
            assert value(await query(f'count(antri_sessions_active{{room="{ROOM}"}})')) == 1
            assert 0 < value(await query(active_panel)) == room["active"] <= CAP
            assert (
                value(await query(f'sum(antri_visitors_waiting{{room="{ROOM}"}})'))
                == (room["waiting"])
            )
            configured = f'max by (room) (antri_room_rate_per_minute{{room="{ROOM}"}})'
            assert value(await query(configured)) == RATE == room["rate_per_minute"]
            joins = f'sum(antri_joins_total{{room="{ROOM}"}})'
            assert value(await query(joins)) == 120
            # The infrastructure dashboard's process panels: each app process, by its pid.
            assert len(await query('process_resident_memory_bytes{job="antri"}')) == 2
    finally:
        antri.kill()
