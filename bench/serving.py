"""How the benchmark's own baseline apps are served: like `antri serve`, with uvloop."""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from aiohttp import web

HOST = "127.0.0.1"


def port_argument(description: str | None) -> argparse.ArgumentParser:
    """A parser with the `--port` option every baseline app takes."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--port", type=int, required=True, help="loopback port to listen on")
    return parser


def serve(app: web.Application, port: int) -> None:
    """Run `app` on 127.0.0.1:`port` until SIGTERM/SIGINT, on uvloop as the real app does."""
    with contextlib.suppress(ImportError):
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    web.run_app(app, host=HOST, port=port, print=None, access_log=None)
