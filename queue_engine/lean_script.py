"""The engine's Lua scripts called on the lean pool's connections, without redis-py's command path.

A join is one EVALSHA, and redis-py spends about as much CPU on the way to the socket and back
as the rest of the join: `AsyncScript` rebuilds its argument tuple, `execute_command` looks for a
special command, times the call for its observability hooks and wraps it in the retry policy,
`pack_command` encodes every argument through its Encoder, `parse_response` looks up a callback.
Here the command is packed in one pass and sent and read on the pooled connection directly,
keeping what matters of that path:

- the pool's bound and wait (`LeanBlockingPool.get_connection`), and the connection back to the
  pool whatever happens;
- the connection's own send and read: its socket time-outs (an outage fails fast), its
  disconnect on any error or cancellation, its health check, redis-py's error classes;
- the connection's retry policy (the app's: one resend when the connection is found broken,
  never after a time-out, since a script that timed out may have run);
- NOSCRIPT (a Redis restarted without its script cache): the script is loaded and called again.

Only a plain `redis.asyncio.Redis` on a `LeanBlockingPool` takes this path; any other client (a
cluster) calls redis-py's own `AsyncScript`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import DataError, NoScriptError

from .redis_pool import LeanBlockingPool

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
            return await connection.retry.call_with_retry(
                lambda: _send_and_read(connection, command),
                lambda error: connection.disconnect(),
            )
        finally:
            await pool.release(connection)


async def _send_and_read(connection: AbstractConnection, command: bytes) -> Any:
    # send_packed_command connects first if a failed attempt dropped the connection.
    await connection.send_packed_command(command)
    return await connection.read_response()


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
