"""The `antri` command: `antri up` starts everything, `antri serve` only the web app."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import gc
import logging
import sys
from collections.abc import Iterator

from aiohttp import web

from .app import create_app
from .embedded import RedisServer
from .settings import Settings, SettingsError


@contextlib.contextmanager
def redis_for(settings: Settings) -> Iterator[Settings]:
    """Settings with a Redis URL: the one given, or a private server under data_dir."""
    if settings.redis_url is not None:
        yield settings
        return
    with RedisServer(settings.data_dir / "redis") as server:
        print(f"Redis (embedded, AOF on) at {server.url}, data in {server.directory}/")
        yield dataclasses.replace(settings, redis_url=server.url)


def _serve(settings: Settings) -> None:
    with contextlib.suppress(ImportError):
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    url = f"http://{settings.host}:{settings.port}/"
    print(f"Antri is up: {url}  (waiting room: {url}antre/{settings.guard_room})")
    print(f"Admin token: {settings.admin_token}")
    app = create_app(settings)
    app.on_startup.append(_freeze_gc)
    web.run_app(
        app,
        host=settings.host,
        port=settings.port,
        print=None,
        access_log=None,
    )


async def _freeze_gc(app: web.Application) -> None:
    # Everything alive at start-up lives as long as the process: keeping it out of the
    # collector's scans saves ~10% of a status poll's cost.
    gc.collect()
    gc.freeze()


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `antri` console script."""
    parser = argparse.ArgumentParser(prog="antri", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (
        ("up", "start Redis (unless ANTRI_REDIS_URL is set) and the web app"),
        ("serve", "start the web app only (needs ANTRI_REDIS_URL)"),
    ):
        cmd = sub.add_parser(name, help=help_text)
        cmd.add_argument("--host", help="address to listen on (ANTRI_HOST, default 127.0.0.1)")
        cmd.add_argument("--port", type=int, help="port to listen on (ANTRI_PORT, default 8080)")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"antri: {exc}", file=sys.stderr)
        return 2
    overrides = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    settings = dataclasses.replace(settings, **overrides)
    if args.command == "serve":
        if settings.redis_url is None:
            print("antri serve: set ANTRI_REDIS_URL (or use `antri up`)", file=sys.stderr)
            return 2
        _serve(settings)
        return 0
    with redis_for(settings) as ready:
        _serve(ready)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
