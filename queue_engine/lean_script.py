"""The engine's Lua scripts called on the lean pool's connections, without redis-py's command path.

A join is one EVALSHA, and redis-py spends about as much CPU on the way to the socket and back
as the rest of the join: `AsyncScript` rebuilds its argument tuple, `execute_command` looks for a
special command, times the call for its observability hooks and wraps it in the retry policy,
`pack_command` encodes every argument through its Encoder, `parse_response` looks up a callback.
Here the command is packed in one pass and sent and read on the pooled connection directly,
keeping what matters of that path:

- the pool's bound and wait (`LeanBlockingPool.get_connection`), and the connection back to the
  pool whatever happens;
- the connection's own send, and a read as redis-py's with its hiredis parser reads: the
  socket time-out (an outage fails fast), the disconnect on any error or cancellation, the
  health check's clock, redis-py's error classes and wording. The read's time-out is kept by
  the pool's one timer (queue_engine/read_deadlines.py) instead of an `asyncio.timeout` per
  reply, and the reply is read from the stream into the hiredis reader directly, without the
  five coroutines redis-py's read passes through; any other parser or protocol reads
  redis-py's way;
- the connection's retry policy (the app's: one resend when the connection is found broken,
  never after a time-out, since a script that timed out may have run), consulted only once
  the first attempt has failed;
- NOSCRIPT (a Redis restarted without its script cache): the script is loaded and called again.

Only a plain `redis.asyncio.Redis` on a `LeanBlockingPool` takes this path; any other client (a
cluster) calls redis-py's own `AsyncScript`.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from typing import Any

import redis.asyncio as aioredis
from redis._parsers.hiredis import NOT_ENOUGH_DATA, _AsyncHiredisParser
from redis._parsers.socket import SERVER_CLOSED_CONNECTION_ERROR
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import DataError, NoScriptError, RedisError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from .read_deadlines import ReadDeadlines, ReadTimedOut
from .redis_pool import LeanBlockingPool, LeanConnection

Arg = str | bytes | int | float


def lean_pool(client: object) -> LeanBlockingPool | None:
    """The lean pool `client` draws its connections from, if it is a plain client on one."""
    if type(client) is not aioredis.Redis or client.single_connection_client:
        return None
    pool = client.connection_pool
    return pool if isinstance(pool, LeanBlockingPool) else None


class LeanScript:
    """A Lua script of `client` (a plain Redis client on a LeanBlockingPool), called like
    redis-py's `AsyncScript`: `await script(keys=[...], args=[...])`."""

    def __init__(self, client: aioredis.Redis, pool: LeanBlockingPool, source: str) -> None:
        self.client = client
        self.pool = pool
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()  # as redis-py and Redis name it
        self._head = b"$7\r\nEVALSHA\r\n$40\r\n" + self.sha.encode() + b"\r\n"

    async def __call__(self, keys: Sequence[Arg] = (), args: Sequence[Arg] = ()) -> Any:
        command = self.pack(keys, args)
        try:
            return await self._call(command)
        except NoScriptError:
            # Redis lost its script cache (a restart, SCRIPT FLUSH): load it, then call again.
            await self.client.script_load(self.source)
            return await self._call(command)

    def pack(self, keys: Sequence[Arg], args: Sequence[Arg]) -> bytes:
        """EVALSHA sha numkeys *keys *args in Redis's protocol, as redis-py packs it."""
        count = str(len(keys)).encode()
        parts = [
            b"*%d\r\n" % (len(keys) + len(args) + 3),
            self._head,
            b"$%d\r\n%s\r\n" % (len(count), count),
        ]
        for item in (*keys, *args):
            data = _encoded(item)
            parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
        return b"".join(parts)

    async def _call(self, command: bytes) -> Any:
        pool = self.pool
        connection = await pool.get_connection()
        try:
            try:
                return await _exchange(connection, command, pool.read_deadlines)
            except ResponseError:
                raise  # Redis's answer (a script error, NOSCRIPT): nothing to resend
            except RedisError as error:
                return await _resent(connection, command, pool.read_deadlines, error)
        finally:
            if not pool.release_now(connection):
                await pool.release(connection)


async def _resent(
    connection: AbstractConnection, command: bytes, deadlines: ReadDeadlines, error: RedisError
) -> Any:
    """The connection's retry policy, once the first attempt failed with `error`: the policy
    is handed that failure first (it drops the connection, and decides whether to resend)."""
    failed = [error]

    async def attempt() -> Any:
        if failed:
            raise failed.pop()
        return await _exchange(connection, command, deadlines)

    return await connection.retry.call_with_retry(attempt, lambda _: connection.disconnect())


async def _exchange(
    connection: AbstractConnection, command: bytes, deadlines: ReadDeadlines
) -> Any:
    """Send `command` and read its reply."""
    if not (isinstance(connection, LeanConnection) and connection.write_now(command)):
        # connects first if a failed attempt dropped the connection; waits under the time-out
        await connection.send_packed_command(command)
    parser = connection._parser
    timeout = connection.socket_timeout
    if type(parser) is not _AsyncHiredisParser or not timeout:
        return await connection.read_response()
    reader, stream = parser._reader, parser._stream
    if not parser._connected or reader is None or stream is None:
        raise RedisConnectionError(SERVER_CLOSED_CONNECTION_ERROR)
    late = False
    try:
        response = reader.gets()
        if response is NOT_ENOUGH_DATA:
            deadlines.start(stream, timeout)
            while response is NOT_ENOUGH_DATA:
                data = await stream.read(parser._read_size)
                if not data:
                    raise RedisConnectionError(SERVER_CLOSED_CONNECTION_ERROR)
                reader.feed(data)
                response = reader.gets()
            late = not deadlines.finish(stream)
    except BaseException as exc:
        deadlines.finish(stream)
        # As redis-py's read: the connection dropped on any failure or cancellation, a
        # time-out and a socket error told in its words.
        await connection.disconnect(nowait=True)
        if isinstance(exc, ReadTimedOut):
            raise RedisTimeoutError(f"Timeout reading from {connection._host_error()}") from None
        if isinstance(exc, OSError):
            raise RedisConnectionError(
                f"Error while reading from {connection._host_error()} : {exc.args}"
            ) from exc
        raise
    if late:
        # The deadline passed in the very turn the reply came: the reply stands, but the
        # stream is failed, so the connection is not used again.
        await connection.disconnect(nowait=True)
    if connection.health_check_interval:
        connection.next_health_check = (
            asyncio.get_running_loop().time() + connection.health_check_interval
        )
    if isinstance(response, ResponseError):
        raise response from None
    if isinstance(response, RedisConnectionError):
        raise response
    if parser._hiredis_PushNotificationType is not None and isinstance(
        response, parser._hiredis_PushNotificationType
    ):
        # A RESP3 push (none is asked for on these connections): handled, then the reply
        # read redis-py's way.
        await parser.handle_push_response(response)
        return await connection.read_response()
    if isinstance(response, list) and response and isinstance(response[0], RedisConnectionError):
        raise response[0]
    return response


def _encoded(value: Arg) -> bytes:
    """One argument as redis-py's Encoder writes it (no bools, numbers by their repr)."""
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, bytes):
        return value
    if isinstance(value, bool):
        raise DataError(
            "Invalid input of type: 'bool'. Convert to a bytes, string, int or float first."
        )
    if isinstance(value, int | float):
        return repr(value).encode()
    raise DataError(f"Invalid input of type: {type(value).__name__!r}.")
