"""A bounded Redis connection pool that costs little per command.

redis-py's `BlockingConnectionPool` takes an `asyncio.Condition`, starts a timeout, runs the
connection's connect-with-retry and records wait-time metrics on every command: on the booking
path (three round trips a booking) that was about a third of the app's Redis CPU. This pool keeps
its promise (at most `max_connections` in use; a caller waits at most `timeout` for one, then
gets a ConnectionError as before) and pays for waiting only when it has to wait.
"""

from __future__ import annotations

import asyncio
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import ConnectionError as RedisConnectionError


class BoundedPool(aioredis.ConnectionPool):
    """At most `max_connections` connections in use; a caller waits up to `timeout` seconds."""

    def __init__(self, *, timeout: float = 2.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.timeout = timeout
        self._free = asyncio.Semaphore(self.max_connections)

    async def get_connection(
        self, command_name: Any = None, *keys: Any, **options: Any
    ) -> AbstractConnection:
        """A connected connection, waiting for one to come back when all are in use."""
        if self._free.locked():
            try:
                async with asyncio.timeout(self.timeout):
                    await self._free.acquire()
            except TimeoutError as exc:
                raise RedisConnectionError("No connection available.") from exc
        else:
            await self._free.acquire()  # free: returns at once
        try:
            connection: AbstractConnection = self.get_available_connection()  # type: ignore[no-untyped-call]
        except BaseException:
            self._free.release()
            raise
        try:
            if not connection.is_connected:
                await connection.connect()  # type: ignore[no-untyped-call]
            else:
                await self._check(connection)
        except BaseException:
            await self.release(connection)
            raise
        return connection

    async def _check(self, connection: AbstractConnection) -> None:
        """redis-py's own check of a pooled connection: one given back with unread data, or
        closed under us (Redis restarted), is connected afresh before it is used."""
        try:
            if await connection.can_read():
                raise RedisConnectionError("Connection has data")
        except (RedisConnectionError, TimeoutError, OSError):
            await connection.disconnect()
            await connection.connect()  # type: ignore[no-untyped-call]
            if await connection.can_read():
                raise RedisConnectionError("Connection not ready") from None

    async def release(self, connection: AbstractConnection) -> None:
        """Give `connection` back; a connection marked for reconnecting is closed first."""
        try:
            self._in_use_connections.remove(connection)
        except KeyError:
            return  # not ours, or given back twice: the slot was freed the first time
        try:
            if connection.should_reconnect():  # type: ignore[no-untyped-call]
                await connection.disconnect()
        finally:
            self._available_connections.append(connection)
            self._free.release()


def bounded_redis(url: str, **kwargs: Any) -> aioredis.Redis:
    """A client on a BoundedPool for `url` (kwargs as for `ConnectionPool.from_url`)."""
    return aioredis.Redis(connection_pool=BoundedPool.from_url(url, **kwargs))
