"""Serving the app: aiohttp's runner, plus the connection limits aiohttp does not have.

aiohttp closes a connection that stays idle (its keep-alive time-out), but not one that sends a
request's head a byte at a time, nor one whose body stalls: each such socket holds a file
descriptor for as long as the client likes, and a few tens of thousands of them take the
process offline (issue 10). So each connection here has

- a head time-out: the request line and headers must be complete within `header_seconds` of
  the connection opening (or of the previous request's head arriving);
- a body time-out: while a request's body is incomplete, no more than `body_seconds` may pass
  without a byte of it (nginx's `client_body_timeout`);
- a cap: past `max_connections` open connections, a new one is answered 503 and closed at once,
  before anything is read or any handler runs.

A slow connection is answered 408 and closed. One timer per process checks every connection
once a second, so the request path itself only notes when bytes arrive.
A reverse proxy in front should set the same limits (docs/deploy.md); these are the last line.
"""

from __future__ import annotations

import asyncio
import resource
from dataclasses import dataclass
from typing import Any, cast

from aiohttp import web
from aiohttp.streams import StreamReader
from aiohttp.web_protocol import RequestHandler
from prometheus_client import CollectorRegistry, Counter, Gauge

from queue_engine.metrics import NAMESPACE

from .appkeys import REGISTRY
from .settings import Settings

#: how often the connections are checked for slowness
SWEEP_SECONDS = 1.0
#: file descriptors kept free for everything that is not a client (Redis, PostgreSQL, files)
RESERVED_DESCRIPTORS = 256

_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\nContent-Length: 0\r\n"
    b"Connection: close\r\n\r\n"
)
_TOO_SLOW = b"HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


@dataclass(frozen=True)
class ConnectionLimits:
    """How long a request may take to arrive, and how many connections one process holds."""

    max_connections: int
    header_seconds: float = 10.0
    body_seconds: float = 30.0

    @classmethod
    def of(cls, settings: Settings) -> ConnectionLimits:
        """The limits `settings` ask for (the cap: from the descriptor limit unless set)."""
        return cls(
            settings.max_connections or default_max_connections(),
            settings.header_timeout_seconds,
            settings.body_timeout_seconds,
        )


def default_max_connections() -> int:
    """A cap under this process's file-descriptor limit, leaving room for everything else."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return 10_000
    return max(16, soft - max(RESERVED_DESCRIPTORS, soft // 10))


class _GuardedRequestHandler(RequestHandler):
    """aiohttp's protocol, noting when a request's head began and when its body last moved."""

    __slots__ = ("body", "body_moved_at", "head_since")

    def __init__(self, manager: GuardedServer, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self.head_since: float | None = None  #: None: no request head is being received
        self.body: StreamReader | None = None  #: the latest request's body
        self.body_moved_at = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        manager = self._manager
        assert isinstance(manager, GuardedServer)
        if len(manager.connections_open) >= manager.limits.max_connections:
            manager.refused += 1
            manager.count_closed("over_capacity")
            # cast, not isinstance: uvloop's transports are not asyncio.Transport subclasses
            cast(asyncio.Transport, transport).write(_BUSY)
            transport.close()
            self._manager = None  # never counted: connection_lost has nothing to undo
            return
        super().connection_made(transport)
        self.head_since = self._loop.time()
        manager.watch()

    def data_received(self, data: bytes) -> None:
        requests = self._request_count
        super().data_received(data)
        if self._request_count != requests:  # a request's head is complete
            self.head_since = None
            body = self._messages[-1][1] if self._messages else None
            if body is None or body.is_eof():
                self.body = None  # the usual GET: no clock to read
            else:
                self.body, self.body_moved_at = body, self._loop.time()
        elif self.body is not None and not self.body.is_eof():
            self.body_moved_at = self._loop.time()
        elif self.head_since is None:
            self.head_since = self._loop.time()  # the next request's head began

    def too_slow(self, now: float, limits: ConnectionLimits) -> str | None:
        """Why this connection's request is arriving too slowly ("body", "header"), if it is."""
        body = self.body
        if body is not None and not body.is_eof():
            return "body" if now - self.body_moved_at > limits.body_seconds else None
        since = self.head_since
        if since is not None and not self._request_in_progress:
            return "header" if now - since > limits.header_seconds else None
        return None

    def close_slow(self) -> None:
        """Answer 408 and close (a handler reading the body sees the connection lost)."""
        transport = self.transport
        if transport is not None and not transport.is_closing():
            transport.write(_TOO_SLOW)
        self.force_close()


class GuardedServer(web.Server):
    """aiohttp's server (the protocol factory) with ConnectionLimits."""

    def __init__(
        self,
        handler: Any,
        *,
        limits: ConnectionLimits,
        registry: CollectorRegistry | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(handler, **kwargs)
        self.limits = limits
        self.refused = 0  #: connections refused at the cap
        self.timed_out = 0  #: connections closed for slowness
        self._sweeper: asyncio.TimerHandle | None = None
        self._closed: Counter | None = None
        self._open: Gauge | None = None
        if registry is not None:
            self._closed = Counter(
                "connections_closed",
                "Connections the server closed itself: over_capacity (refused at the cap), "
                "header_timeout, body_timeout.",
                ["reason"],
                namespace=NAMESPACE,
                registry=registry,
            )
            self._open = Gauge(
                "connections_open",
                "Client connections the app processes hold open.",
                namespace=NAMESPACE,
                registry=registry,
                multiprocess_mode="livesum",
            )

    def connection_made(self, handler: RequestHandler, transport: asyncio.Transport) -> None:
        super().connection_made(handler, transport)
        self._count_open()

    def connection_lost(self, handler: RequestHandler, exc: BaseException | None = None) -> None:
        super().connection_lost(handler, exc)
        self._count_open()

    def _count_open(self) -> None:
        # Set on each change, not read by a callback at scrape time: with several processes
        # the value must be written where the others' are (prometheus-client's multiprocess
        # files), which a callback is not.
        if self._open is not None:
            self._open.set(len(self._connections))

    def count_closed(self, reason: str) -> None:
        """Count a connection closed by the server for `reason`."""
        if self._closed is not None:
            self._closed.labels(reason).inc()

    @property
    def connections_open(self) -> dict[Any, asyncio.Transport]:
        """The connections being served."""
        return self._connections

    def __call__(self) -> RequestHandler:
        return _GuardedRequestHandler(self, loop=self._loop, **self._kwargs)

    def watch(self) -> None:
        """Make sure slow connections are looked for (while any connection is open)."""
        if self._sweeper is None:
            self._sweeper = self._loop.call_later(SWEEP_SECONDS, self._sweep)

    def _sweep(self) -> None:
        self._sweeper = None
        now, limits = self._loop.time(), self.limits
        for handler in list(self._connections):
            if not isinstance(handler, _GuardedRequestHandler):
                continue
            slow = handler.too_slow(now, limits)
            if slow is not None:
                self.timed_out += 1
                self.count_closed(f"{slow}_timeout")
                handler.close_slow()
        if self._connections:
            self.watch()

    async def shutdown(self, timeout: float | None = None) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        await super().shutdown(timeout)


class GuardedAppRunner(web.AppRunner):
    """`web.AppRunner` whose server enforces `limits`."""

    def __init__(self, app: web.Application, limits: ConnectionLimits, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self.limits = limits

    async def _make_server(self) -> web.Server:
        plain = await super()._make_server()  # starts the app up
        return GuardedServer(
            plain.request_handler,
            limits=self.limits,
            registry=self.app.get(REGISTRY),
            request_factory=plain.request_factory,
            handler_cancellation=plain.handler_cancellation,
            loop=plain._loop,
            **plain._kwargs,
        )
