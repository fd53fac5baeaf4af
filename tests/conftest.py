"""Fixtures: real Redis (single and cluster), engines and the web app on loopback."""

from __future__ import annotations

import dataclasses
import itertools
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import redis.asyncio as aioredis
import time_machine
from aiohttp.test_utils import TestClient, TestServer
from redis import Redis as SyncRedis

from api.app import create_app, redis_client
from api.appkeys import SETTINGS
from api.database import EmbeddedPostgres, create_pool, migrate
from api.embedded import RedisServer
from api.services import booking_services
from api.settings import Settings
from queue_engine.engine import Engine
from queue_engine.settings import EngineSettings, RoomSettings
from queue_engine.tokens import Signer

from .clocks import CLOCKS, fixed_moments
from .support import RedisClusterServers

SECRET = b"test-secret-" + b"x" * 20
ADMIN_TOKEN = "test-admin-token"
FAST = EngineSettings(refresh_interval=0.05, stale_after=2.5, poll_floor=0.5)
DATA_KEY = b"test-data-key-" + b"d" * 18
PAYMENT_SECRET = b"test-payment-secret-" + b"p" * 12
_room_names = itertools.count(1)
_database_names = itertools.count(1)
TEMPLATE_DATABASE = "antri_template"


def antri_process_env(**settings: str) -> dict[str, str]:
    """The environment of an `antri` process a test starts: this one without any ANTRI_*
    setting or metrics folder, releases not planned, plus `settings`. Planned releases follow
    the real clock (offices.json's weekly instants), and in the half hour before each one the
    guard room's pre-queue holds every visitor: a test started then would see nobody admitted.
    A process cannot run under a fixed clock, so none plans them (tests/test_releases.py
    covers planning under fixed clocks)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("ANTRI_") and k != "PROMETHEUS_MULTIPROC_DIR"
    }
    return env | {"ANTRI_PLAN_RELEASES": "0"} | settings


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


#: limits counted per client address; every test client is 127.0.0.1 on the session's Redis
PER_ADDRESS_KEYS = ("login-address", "officer-login-failures", "billing-lookups")


@pytest.fixture(autouse=True)
def fresh_address_limits(redis_server: RedisServer) -> None:
    """Each test starts with the shared address's limits unused, whatever ran before it (the
    fuzz test guesses billing codes, the login tests fail logins)."""
    client = SyncRedis.from_url(redis_server.url)
    try:
        client.delete(*(f"antri:{name}:127.0.0.1" for name in PER_ADDRESS_KEYS))
    finally:
        client.close()


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedPostgres]:
    """A real PostgreSQL (pgserver's embedded build) for the whole run."""
    server = EmbeddedPostgres(tmp_path_factory.mktemp("pg")).start()
    yield server
    server.stop()


def database_url(server_url: str, name: str) -> str:
    """The URL of database `name` on the server of `server_url`."""
    base, _, query = server_url.partition("?")
    return f"{base.rsplit('/', 1)[0]}/{name}" + (f"?{query}" if query else "")


@pytest.fixture(scope="session")
async def template_database(postgres_server: EmbeddedPostgres) -> str:
    """A database with every migration applied and the offices' slots created; each test's
    database is a copy of it (CREATE DATABASE … TEMPLATE is much faster than migrating)."""
    admin = await asyncpg.connect(postgres_server.url)
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {TEMPLATE_DATABASE}")
        await admin.execute(f"CREATE DATABASE {TEMPLATE_DATABASE}")
    finally:
        await admin.close()
    url = database_url(postgres_server.url, TEMPLATE_DATABASE)
    pool = await create_pool(url, size=2)
    try:
        async with pool.acquire() as conn:
            await migrate(conn)
        await booking_services(pool, test_settings(url, Path("."))).slots.sync(datetime.now(UTC))
    finally:
        await pool.close()
    return TEMPLATE_DATABASE


@pytest.fixture
async def database(postgres_server: EmbeddedPostgres, template_database: str) -> str:
    """The URL of a fresh database of this test's own, migrated and seeded."""
    name = f"test_{next(_database_names)}"
    admin = await asyncpg.connect(postgres_server.url)
    try:
        await admin.execute(f"CREATE DATABASE {name} TEMPLATE {template_database}")
    finally:
        await admin.close()
    return database_url(postgres_server.url, name)


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisClusterServers]:
    cluster = RedisClusterServers(tmp_path_factory.mktemp("cluster")).start()
    yield cluster
    cluster.stop()


@pytest.fixture(params=["single", "cluster"])
async def redis(
    request: pytest.FixtureRequest,
) -> AsyncIterator[aioredis.Redis | aioredis.RedisCluster]:
    """A client of a real single Redis, then of a real 3-master cluster: contracts run on both."""
    if request.param == "single":
        client = redis_client(request.getfixturevalue("redis_server").url)
    else:
        client = redis_client(request.getfixturevalue("redis_cluster").url, cluster=True)
    yield client
    await client.aclose()


@pytest.fixture
async def engine(redis: aioredis.Redis | aioredis.RedisCluster) -> AsyncIterator[Engine]:
    """An engine without its background refresher: tests refresh when they mean to."""
    yield Engine(redis, Signer(SECRET), FAST)


#: Test rooms ask for no proof of work and count no joins per address (every test client is
#: 127.0.0.1) unless a test turns them on: tests/test_join_defences.py does.
DEFENCES_OFF = {"pow_difficulty": 0, "joins_per_minute_per_client": 0}


def room_name() -> str:
    """A room name no other test uses."""
    return f"t{next(_room_names)}"


def test_settings(
    database: str, data_dir: Path, redis_url: str = "redis://127.0.0.1:1/0"
) -> Settings:
    """Settings of a test app (its rooms are set by `app_settings`)."""
    return Settings(
        secret=SECRET,
        admin_token=ADMIN_TOKEN,
        data_dir=data_dir,
        redis_url=redis_url,
        database_url=database,
        data_key=DATA_KEY,
        payment_secret=PAYMENT_SECRET,
        # The tests pay their bookings at the sandbox bank (off unless asked for).
        sandbox_payments=True,
        feed_inventory=False,
        # No release events from the offices' rules: a test near a real release would see its
        # rooms armed (tests/test_releases.py turns them on where it means to).
        plan_releases=False,
        sweep_seconds=0.5,
        engine=FAST,
    )


def app_settings(redis_url: str, database: str, data_dir: Path, **room_defaults: int) -> Settings:
    """Settings for a test app on `redis_url`, guarding a fresh room and serving another."""
    guard, other = room_name(), room_name()
    return dataclasses.replace(
        test_settings(database, data_dir, redis_url),
        rooms=(guard, other),
        guard_room=guard,
        room_defaults=RoomSettings(**(DEFENCES_OFF | room_defaults)),  # type: ignore[arg-type]
    )


AppFactory = Callable[..., Awaitable[TestClient]]


@pytest.fixture
async def make_client(
    tmp_path: Path, redis_server: RedisServer, database: str
) -> AsyncIterator[AppFactory]:
    """Start the real app (on the session's Redis unless another URL is given, and on this
    test's database) and a client."""
    clients: list[TestClient] = []

    async def make(
        redis_url: str | None = None,
        *,
        same_as: TestClient | None = None,
        changes: dict[str, Any] | None = None,
        **room_defaults: int,
    ) -> TestClient:
        """`same_as`: another process of the app `same_as` serves (same rooms and secret);
        `changes`: settings to override."""
        if same_as is not None:
            settings = same_as.server.app[SETTINGS]
        else:
            settings = app_settings(
                redis_url or redis_server.url, database, tmp_path, **room_defaults
            )
        settings = dataclasses.replace(settings, **(changes or {}))
        client = TestClient(TestServer(create_app(settings)))
        await client.start_server()
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()


@pytest.fixture(params=CLOCKS)
def clock(request: pytest.FixtureRequest) -> Iterator[datetime]:
    """The test runs on the real clock and again at each fixed moment of `tests/clocks.py`, the
    whole process's clock moved there (PostgreSQL's and Redis's own clocks stay real). Request it
    before `make_client`, so the app starts at that moment."""
    if request.param == "today":
        yield datetime.now(UTC)
        return
    moment = fixed_moments(datetime.now(UTC).date())[request.param]
    if moment is None:
        pytest.skip(f"no {request.param} ahead in the packaged calendar")
    with time_machine.travel(moment, tick=True):
        yield moment
