"""One app process: serve on a listening socket until SIGTERM or SIGINT, then stop gracefully
(stop accepting, let the requests in flight finish within a grace period, close the pools).

`antri up` starts N of these, each on its own socket of the shared port; `antri serve` is one
on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import signal
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING

from .settings import Settings

if TYPE_CHECKING:
    from aiohttp import web

#: how long the requests in flight at a stop may take to finish
GRACE_SECONDS = 10.0


async def serve(
    settings: Settings,
    sock: socket.socket,
    ready: Callable[[], None],
    grace: float = GRACE_SECONDS,
) -> None:
    """Serve `settings`' app on `sock`; call `ready()` once requests are answered; return
    after a stop signal, once the app has stopped."""
    # Imported here: `antri up` reads GRACE_SECONDS, and must fail fast on a bad setting.
    from aiohttp import web

    from .app import create_app
    from .server import ConnectionLimits, GuardedAppRunner

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    app = create_app(settings)
    app.on_startup.append(_freeze_gc)
    # aiohttp's runner with the connection limits it lacks (slow heads and bodies, a cap)
    runner = GuardedAppRunner(
        app,
        ConnectionLimits.of(settings),
        handle_signals=False,
        access_log=None,
        shutdown_timeout=grace,
    )
    try:
        await runner.setup()
        await web.SockSite(runner, sock).start()
        if not stop.is_set():
            ready()
            await stop.wait()
    finally:
        await runner.cleanup()


async def _freeze_gc(app: web.Application) -> None:
    # Everything alive at start-up lives as long as the process: keeping it out of the
    # collector's scans saves ~10% of a status poll's cost.
    gc.collect()
    gc.freeze()


def run(settings: Settings, sock: socket.socket, ready: Callable[[], None]) -> None:
    """serve() on uvloop where it is installed."""
    with contextlib.suppress(ImportError):
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    asyncio.run(serve(settings, sock, ready))
