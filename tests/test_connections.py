"""Slow and vanishing clients against the real server (api/server.py), as `antri up` serves it:
slow heads and stalled bodies are cut off, a connection cap holds, the app keeps answering, and
a client that hangs up is not counted as the server's failure."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from api.app import create_app
from api.server import ConnectionLimits, GuardedAppRunner, default_max_connections
from api.settings import Settings

from .conftest import app_settings

FAST = ConnectionLimits(max_connections=2000, header_seconds=2, body_seconds=2)


@pytest.fixture
def settings(tmp_path: Path, redis_server: object, database: str) -> Settings:
    return app_settings(redis_server.url, database, tmp_path)  # type: ignore[attr-defined]


@contextlib.asynccontextmanager
async def served(
    settings: Settings, limits: ConnectionLimits, runner_class: type = GuardedAppRunner
) -> AsyncIterator[str]:
    """The app served on a loopback port as in production (no handler cancellation); its URL."""
    app = create_app(settings)
    if runner_class is GuardedAppRunner:
        runner: web.AppRunner = GuardedAppRunner(app, limits, access_log=None)
    else:  # today's code, to see the test fail
        runner = runner_class(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


async def _open(url: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    host, port = url.removeprefix("http://").split(":")
    return await asyncio.open_connection(host, int(port))


async def _closed_within(reader: asyncio.StreamReader, seconds: float) -> bool:
    """Whether the server closes this connection within `seconds` (reading what it sends)."""
    try:
        async with asyncio.timeout(seconds):
            while await reader.read(4096):
                pass
        return True
    except TimeoutError:
        return False
    except ConnectionError:
        return True


async def test_hundreds_of_slow_sockets_do_not_take_the_app_offline(settings: Settings) -> None:
    async with served(settings, FAST) as url:
        dribblers, stalled = [], []
        for _ in range(150):
            reader, writer = await _open(url)
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            dribblers.append((reader, writer))
        for _ in range(150):
            reader, writer = await _open(url)
            writer.write(
                b"POST /api/v1/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b'Content-Length: 1000\r\n\r\n{"email": '
            )
            stalled.append((reader, writer))

        async def dribble() -> None:
            # One byte of header every 0.3 s: never idle, never done.
            while True:
                await asyncio.sleep(0.3)
                for _, writer in dribblers:
                    if not writer.is_closing():
                        with contextlib.suppress(ConnectionError):
                            writer.write(b"X")

        dribbling = asyncio.create_task(dribble())
        try:
            await asyncio.sleep(0.5)
            async with aiohttp.ClientSession() as session:
                started = time.monotonic()
                async with session.get(f"{url}/api/v1/offices") as response:
                    assert response.status == 200
                # Honest margin on a loaded machine: "quickly" is well under the time-outs.
                assert time.monotonic() - started < 1.5
            # Every slow socket is answered 408 or closed after its time-out (2 s, swept
            # every second): allow 6 s in all.
            results = await asyncio.gather(
                *(_closed_within(reader, 6) for reader, _ in dribblers + stalled)
            )
            assert all(results), f"{results.count(False)} slow sockets still open"
            async with aiohttp.ClientSession() as session:
                metrics = await (await session.get(f"{url}/metrics")).text()
            for reason in ("header_timeout", "body_timeout"):
                assert _closed(metrics, reason) >= 150, (reason, metrics[-2000:])
        finally:
            dribbling.cancel()
            for _, writer in dribblers + stalled:
                writer.close()


async def test_past_the_connection_cap_a_new_connection_is_refused_at_once(
    settings: Settings,
) -> None:
    limits = dataclasses.replace(FAST, max_connections=20)
    async with served(settings, limits) as url:
        idle = [await _open(url) for _ in range(20)]
        await asyncio.sleep(0.1)
        reader, writer = await _open(url)
        refused = await asyncio.wait_for(reader.read(), 2)
        assert refused.startswith(b"HTTP/1.1 503"), refused
        writer.close()
        # The idle ones are cut off by the head time-out, and the app answers again.
        assert all(await asyncio.gather(*(_closed_within(r, 5) for r, _ in idle)))
        async with aiohttp.ClientSession() as session:
            assert (await session.get(f"{url}/healthz")).status == 200
            metrics = await (await session.get(f"{url}/metrics")).text()
        assert _closed(metrics, "over_capacity") == 1
        assert "antri_connections_open " in metrics
        for _, writer in idle:
            writer.close()


def test_the_default_cap_is_under_the_descriptor_limit() -> None:
    import resource

    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert 16 <= default_max_connections() < soft
    env = {"ANTRI_SECRET": "s", "ANTRI_ADMIN_TOKEN": "a", "ANTRI_DATA_KEY": "k"}
    env |= {"ANTRI_PAYMENT_SECRET": "p"}
    assert Settings.from_env(env).max_connections is None
    assert Settings.from_env(env | {"ANTRI_MAX_CONNECTIONS": "500"}).max_connections == 500
    assert ConnectionLimits.of(Settings.from_env(env)).max_connections == default_max_connections()


def _closed(metrics: str, reason: str) -> float:
    found = re.search(rf'antri_connections_closed_total{{reason="{reason}"}} ([0-9.e+]+)', metrics)
    return float(found.group(1)) if found else 0.0


def _count(metrics: str, route: str, status: str) -> float:
    labels = f'method="POST",route="{route}",status="{status}"'
    found = re.search(rf"antri_http_requests_total{{{re.escape(labels)}}} ([0-9.e+]+)", metrics)
    return float(found.group(1)) if found else 0.0


def _server_errors(metrics: str) -> float:
    pattern = r'antri_http_requests_total{[^}]*status="5\d\d"} ([0-9.e+]+)'
    return sum(float(value) for value in re.findall(pattern, metrics))


async def test_a_client_that_hangs_up_is_not_a_server_error(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    async with served(settings, FAST) as url, aiohttp.ClientSession() as session:
        before = await (await session.get(f"{url}/metrics")).text()
        caplog.set_level(logging.INFO)
        bodies = {
            "/api/v1/login": "application/json",
            "/masuk": "application/x-www-form-urlencoded",
        }
        for path, kind in bodies.items():
            for _ in range(5):
                _, writer = await _open(url)
                writer.write(
                    f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {kind}\r\n"
                    "Content-Length: 1000\r\n\r\nemail=".encode()
                )
                await writer.drain()
                await asyncio.sleep(0.05)
                writer.close()
        await asyncio.sleep(0.5)
        after = await (await session.get(f"{url}/metrics")).text()
        assert _server_errors(after) == _server_errors(before)
        for path in bodies:
            assert _count(after, path, "499") - _count(before, path, "499") == 5, [
                line for line in after.splitlines() if "requests_total{" in line
            ]
        noisy = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert not noisy, [r.getMessage() for r in noisy]


def test_the_limits_hold_under_uvloop_as_antri_serve_runs() -> None:
    """`antri serve` runs on uvloop, whose transports are not asyncio's classes."""
    import uvloop

    async def hello(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/", hello)
        runner = GuardedAppRunner(app, ConnectionLimits(1, 1, 1), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        url = "http://{}:{}".format(*runner.addresses[0][:2])
        try:
            slow_reader, slow = await _open(url)
            slow.write(b"GET / HTTP/1.1\r\nHost: x\r\n")
            await asyncio.sleep(0.1)
            over_reader, over = await _open(url)
            assert (await asyncio.wait_for(over_reader.read(), 2)).startswith(b"HTTP/1.1 503")
            answer = await asyncio.wait_for(slow_reader.read(), 4)
            assert answer.startswith(b"HTTP/1.1 408"), answer
            slow.close()
            over.close()
        finally:
            await runner.cleanup()

    uvloop.run(main())
