"""Fixtures: real Redis (single and cluster), engines and the web app on loopback."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestClient, TestServer

from api.app import create_app, redis_client
from api.appkeys import SETTINGS
from api.embedded import RedisServer
from api.settings import Settings
from queue_engine.engine import Engine
from queue_engine.settings import EngineSettings, RoomSettings
from queue_engine.tokens import Signer

from .support import RedisClusterServers

SECRET = b"test-secret-" + b"x" * 20
ADMIN_TOKEN = "test-admin-token"
FAST = EngineSettings(refresh_interval=0.05, stale_after=2.5, poll_floor=0.5)
_room_names = itertools.count(1)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


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


def room_name() -> str:
    """A room name no other test uses."""
    return f"t{next(_room_names)}"


def app_settings(redis_url: str, data_dir: Path, **room_defaults: int) -> Settings:
    """Settings for a test app on `redis_url`, guarding a fresh room and serving another."""
    guard, other = room_name(), room_name()
    return Settings(
        secret=SECRET,
        admin_token=ADMIN_TOKEN,
        data_dir=data_dir,
        redis_url=redis_url,
        rooms=(guard, other),
        guard_room=guard,
        room_defaults=RoomSettings(**room_defaults),  # type: ignore[arg-type]
        engine=FAST,
    )


AppFactory = Callable[..., Awaitable[TestClient]]


@pytest.fixture
async def make_client(tmp_path: Path, redis_server: RedisServer) -> AsyncIterator[AppFactory]:
    """Start the real app (on the session's Redis unless another URL is given) and a client."""
    clients: list[TestClient] = []

    async def make(
        redis_url: str | None = None, *, same_as: TestClient | None = None, **room_defaults: int
    ) -> TestClient:
        """`same_as`: another process of the app `same_as` serves (same rooms and secret)."""
        if same_as is not None:
            settings = same_as.server.app[SETTINGS]
        else:
            settings = app_settings(redis_url or redis_server.url, tmp_path, **room_defaults)
        client = TestClient(TestServer(create_app(settings)))
        await client.start_server()
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()
