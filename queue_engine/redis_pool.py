"""A lean bounded connection pool for redis-py's asyncio client: a join's script call is most of
its cost, and redis-py's own pools spend about a quarter of it on the way to a connection.

redis-py's BlockingConnectionPool takes an `asyncio.Condition`, starts an asyncio time-out and
enters an async context manager for every command, and records observability counters on the
way in and out; every pooled connection with a socket time-out also writes each command inside
`asyncio.wait_for`, a task of its own and an extra turn of the event loop. Here a free connection
is taken with no lock (asyncio runs one task at a time, and nothing is awaited between the check
and the take), a command waits only when all `max_connections` are busy (up to `timeout`, then
ConnectionError as redis-py's pool raises; woken in turn as connections come back), and the
write's time-out is a plain time-out scope.

What it leaves out: redis-py's OpenTelemetry pool counters and the connection-released event
(used only to re-authenticate connections with streaming credential providers); Antri uses
neither.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterable
from typing import Any

import redis.asyncio as aioredis
from redis._parsers.hiredis import _AsyncHiredisParser
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from .read_deadlines import ReadDeadlines


class LeanConnection(aioredis.Connection):
    """redis-py's TCP connection, writing under a time-out scope instead of `wait_for`, and
    only when there is something to wait for."""

    async def send_packed_command(
        self, command: bytes | str | Iterable[bytes], check_health: bool = True
    ) -> None:
        timeout = self.socket_timeout
        writer = self._writer
        if timeout and writer is not None and not (check_health and self._health_check_due()):
            # The usual command: connected, no health check due. The bytes go to the socket
            # at once; only what it did not take yet is waited for, under the time-out.
            try:
                if isinstance(command, str):
                    command = command.encode()
                if isinstance(command, bytes):
                    writer.write(command)
                else:
                    writer.writelines(command)
                if writer.transport.get_write_buffer_size():
                    async with asyncio.timeout(timeout):
                        await writer.drain()
                else:
                    await writer.drain()  # nothing buffered: returns at once (or says it broke)
            except BaseException as exc:
                await self.disconnect(nowait=True)
                if isinstance(exc, TimeoutError):
                    raise RedisTimeoutError("Timeout writing to socket") from None
                if isinstance(exc, OSError):  # worded as redis-py words it
                    number, message = ("UNKNOWN", *exc.args) if len(exc.args) == 1 else exc.args[:2]
                    raise RedisConnectionError(
                        f"Error {number} while writing to socket. {message}."
                    ) from exc
                raise
            return
        if not timeout:
            await super().send_packed_command(command, check_health)
            return
        # redis-py's own path with the time-out lifted for its duration (nothing else uses this
        # connection meanwhile: it is out of the pool) and enforced around it instead. A
        # time-out is told as redis-py tells it, after redis-py has dropped the connection.
        self.socket_timeout = None
        try:
            async with asyncio.timeout(timeout):
                await super().send_packed_command(command, check_health)
        except TimeoutError:
            raise RedisTimeoutError("Timeout writing to socket") from None
        finally:
            self.socket_timeout = timeout

    def write_now(self, command: bytes) -> bool:
        """Hand `command` to the transport without awaiting, in the usual case: connected, with a
        socket time-out, no health check due, the transport open with nothing still waiting in
        it. False, with nothing written, in any other case (`send_packed_command` then sends
        it). A socket that cannot take the bytes now shows as a reply that does not come, so the
        caller's read time-out covers the write too."""
        writer = self._writer
        if not self.socket_timeout or writer is None or self._health_check_due():
            return False
        transport = writer.transport
        if transport.is_closing() or transport.get_write_buffer_size():
            return False
        writer.write(command)
        return True

    def _health_check_due(self) -> bool:
        return bool(self.health_check_interval) and (
            asyncio.get_running_loop().time() > self.next_health_check
        )


class LeanBlockingPool(aioredis.ConnectionPool):
    """At most `max_connections` connections; when all are busy a command waits up to
    `timeout` seconds for one (a burst queues rather than fails)."""

    def __init__(self, *, timeout: float = 2.0, **kwargs: Any) -> None:
        kwargs.setdefault("connection_class", LeanConnection)
        super().__init__(**kwargs)
        self.timeout = timeout
        self._waiters: deque[asyncio.Future[None]] = deque()
        #: the socket time-outs of the replies awaited on this pool's connections by the lean
        #: script path (queue_engine/lean_script.py), kept by one timer
        self.read_deadlines = ReadDeadlines()

    async def get_connection(
        self, command_name: Any = None, *keys: Any, **options: Any
    ) -> AbstractConnection:
        """A connected connection, waiting for one while all are busy."""
        if not self.can_get_connection():
            await self._wait_for_free()
        connection: AbstractConnection = self.get_available_connection()  # type: ignore[no-untyped-call]
        if _plainly_clean(connection):
            return connection
        try:
            await self.ensure_connection(connection)
        except BaseException:
            await self.release(connection)
            raise
        return connection

    async def ensure_connection(self, connection: AbstractConnection) -> None:
        """redis-py's check that a pooled connection is open and clean, without its connect
        call (a retry wrapper and two coroutines) when the connection is plainly open. One that
        holds unread bytes (a reply nobody read) is opened afresh: redis-py's own check lets it
        through while its maintenance notifications are on, as they are by default, and the
        next command would read that stale reply as its own."""
        if connection.is_connected:
            try:
                if not await connection.can_read():
                    return
            except (RedisConnectionError, RedisTimeoutError, OSError):
                pass  # redis-py's own check below reconnects
            await connection.disconnect()
        await super().ensure_connection(connection)

    async def _wait_for_free(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.timeout):
                while not self.can_get_connection():
                    waiter: asyncio.Future[None] = loop.create_future()
                    self._waiters.append(waiter)
                    try:
                        await waiter
                    except BaseException:
                        if waiter in self._waiters:
                            self._waiters.remove(waiter)
                        elif self.can_get_connection():
                            self._wake_next()  # woken, but leaving: the next one may go
                        raise
        except TimeoutError as exc:
            raise RedisConnectionError("No connection available.") from exc

    def release_now(self, connection: AbstractConnection) -> bool:
        """Give `connection` back without awaiting when it needs no reconnect; False, having done
        nothing, when it does (then `release`)."""
        if connection.should_reconnect():  # type: ignore[no-untyped-call]
            return False
        self._in_use_connections.remove(connection)
        self._put_back(connection)
        return True

    async def release(self, connection: AbstractConnection) -> None:
        """Give `connection` back and wake the first command waiting for one."""
        self._in_use_connections.remove(connection)
        if connection.should_reconnect():  # type: ignore[no-untyped-call]
            await connection.disconnect()
        self._put_back(connection)

    def _put_back(self, connection: AbstractConnection) -> None:
        self._available_connections.append(connection)
        self._wake_next()

    def _wake_next(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return


def _plainly_clean(connection: AbstractConnection) -> bool:
    """Whether `connection` is open with nothing unread, told without awaiting: the check of
    redis-py's hiredis parser (`can_read`) made in place. False for any other parser, and for a
    connection that is closed, at EOF or holds unread bytes: `ensure_connection` then decides."""
    parser = connection._parser
    if type(parser) is not _AsyncHiredisParser or not connection.is_connected:
        return False
    reader, stream = parser._reader, parser._stream
    return (
        parser._connected
        and reader is not None
        and stream is not None
        and not reader.has_data()
        and not stream.at_eof()
        and not stream._buffer
    )
