"""Checks made before Antri says it is up: the port can be listened on, Redis and PostgreSQL
answer. Each failure is a StartError whose message is one line naming the setting at fault."""

from __future__ import annotations

import asyncio
import errno
import os
import socket
import threading
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

#: how long a service may take to answer before the start is given up (the whole start must
#: fail within 10 s, and Redis and PostgreSQL are checked one after the other)
ANSWER_SECONDS = 3.0
T = TypeVar("T")


class StartError(RuntimeError):
    """Antri cannot start; the message is one line for the operator."""


def redacted(url: str) -> str:
    """`url` without its password, fit for a message."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.errno:
        return os.strerror(exc.errno)
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def check_redis(variable: str, url: str, cluster: bool = False) -> None:
    """Raise StartError unless the Redis (or Redis Cluster) at `url` answers PING in time."""
    import redis
    from redis.backoff import NoBackoff
    from redis.cluster import RedisCluster
    from redis.retry import Retry

    def ping() -> bool:
        """Whether the server is a cluster node."""
        timeouts = {"socket_timeout": ANSWER_SECONDS, "socket_connect_timeout": ANSWER_SECONDS}
        client: redis.Redis | RedisCluster = (
            RedisCluster.from_url(url, **timeouts)
            if cluster
            else redis.Redis.from_url(url, retry=Retry(NoBackoff(), 0), **timeouts)
        )
        try:
            client.ping()
            return bool(cluster or client.info("cluster").get("cluster_enabled"))
        finally:
            client.close()

    try:
        is_cluster = _within(ANSWER_SECONDS + 0.5, ping)
    except TimeoutError:
        raise StartError(
            f"{variable}: no answer from {redacted(url)} within {ANSWER_SECONDS:g} s"
        ) from None
    except Exception as exc:
        raise StartError(f"{variable}: no answer from {redacted(url)}: {_reason(exc)}") from None
    if is_cluster and not cluster:
        hint = " (set ANTRI_REDIS_CLUSTER=1)" if variable == "ANTRI_REDIS_URL" else ""
        raise StartError(f"{variable}: {redacted(url)} is a Redis Cluster node{hint}")


def _within(seconds: float, call: Callable[[], T]) -> T:
    """call() in a daemon thread, given up (TimeoutError) after `seconds`: a client's own
    timeouts and retries can add up to far more than the start may take."""
    outcome: list[T] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            outcome.append(call())
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    if failure:
        raise failure[0]
    if not outcome:
        raise TimeoutError
    return outcome[0]


def check_database(url: str) -> None:
    """Raise StartError unless PostgreSQL at `url` accepts a connection in time."""
    import asyncpg

    async def connect() -> None:
        connection = await asyncpg.connect(url, timeout=ANSWER_SECONDS)
        await connection.close(timeout=ANSWER_SECONDS)

    try:
        asyncio.run(asyncio.wait_for(connect(), ANSWER_SECONDS + 0.5))
    except TimeoutError:
        raise StartError(
            f"ANTRI_DATABASE_URL: no answer from {redacted(url)} within {ANSWER_SECONDS:g} s"
        ) from None
    except Exception as exc:
        raise StartError(
            f"ANTRI_DATABASE_URL: cannot connect to {redacted(url)}: {_reason(exc)}"
        ) from None


def listening_sockets(host: str, port: int, count: int) -> list[socket.socket]:
    """`count` sockets listening on host:port, one per app process.

    With more than one they share the port through SO_REUSEPORT, so that the kernel spreads
    new connections over the processes. A plain bind is tried first: it fails if anybody at
    all listens there, even another Antri with SO_REUSEPORT set, which would otherwise be let
    in silently beside this one.
    """
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as exc:
        raise StartError(f"ANTRI_HOST: cannot resolve {host!r}: {exc.strerror}") from None
    probe = socket.socket(family, kind, proto)
    try:
        _bind(probe, address, host, port)
        if count == 1:
            probe.listen(1024)
            return [probe]
    except BaseException:
        probe.close()
        raise
    probe.close()
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            _bind(sock, address, host, port)
            sock.listen(1024)
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    return sockets


def replacement_socket(host: str, port: int, shared: bool) -> socket.socket:
    """A listening socket for an app process that replaces a dead one: on the shared port
    beside the others' (SO_REUSEPORT) when there are several, else a plain one (the dead
    process's socket closed with it)."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        if shared:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        _bind(sock, address, host, port)
        sock.listen(1024)
    except BaseException:
        sock.close()
        raise
    return sock


def _bind(sock: socket.socket, address: Any, host: str, port: int) -> None:
    # SO_REUSEADDR: a port left in TIME_WAIT by the last run can be listened on at once.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise StartError(
                f"ANTRI_PORT: {port} is in use on {host} (something listens there)"
            ) from None
        if exc.errno == errno.EACCES:
            raise StartError(f"ANTRI_PORT: no permission to listen on port {port}") from None
        if exc.errno == errno.EADDRNOTAVAIL:
            raise StartError(f"ANTRI_HOST: {host} is not an address of this machine") from None
        raise StartError(f"ANTRI_PORT: cannot listen on {host}:{port}: {exc.strerror}") from None
