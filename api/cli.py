"""The `antri` command: `antri up` starts everything; `serve`, `worker`, `migrate` and
`accounts` do one thing each."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import gc
import logging
import os
import subprocess
import sys
from collections.abc import Iterator

from aiohttp import web

from . import server
from .app import create_app
from .booking.accounts import Accounts
from .booking.errors import BookingError
from .database import EmbeddedPostgres, create_pool, migrate_url
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


@contextlib.contextmanager
def database_for(settings: Settings) -> Iterator[Settings]:
    """Settings with a database URL: the one given, or an embedded PostgreSQL under data_dir."""
    if settings.database_url is not None:
        yield settings
        return
    with EmbeddedPostgres(settings.data_dir / "postgres") as server:
        print(f"PostgreSQL (embedded) at {server.url}")
        yield dataclasses.replace(settings, database_url=server.url)


@contextlib.contextmanager
def worker_for(settings: Settings) -> Iterator[None]:
    """An `antri worker` process beside the web app, stopped with it."""
    env = os.environ | {
        "ANTRI_REDIS_URL": settings.redis_url or "",
        "ANTRI_DATABASE_URL": settings.database_url or "",
        "ANTRI_DATA_DIR": str(settings.data_dir),
    }
    worker = subprocess.Popen([sys.executable, "-m", "api.cli", "worker"], env=env)
    print(f"RQ worker (with scheduler): pid {worker.pid}")
    try:
        yield
    finally:
        worker.terminate()
        try:
            worker.wait(15)
        except subprocess.TimeoutExpired:
            worker.kill()


def _work(settings: Settings, burst: bool = False) -> None:
    from rq import Worker

    from . import jobs

    jobs.configure(settings)
    queue = jobs.queue(settings)
    jobs.schedule_sweep(settings)
    Worker([queue], connection=queue.connection).work(with_scheduler=True, burst=burst)


def _accounts(settings: Settings, args: argparse.Namespace) -> int:
    async def run() -> int:
        assert settings.database_url is not None
        await migrate_url(settings.database_url)
        pool = await create_pool(settings.database_url, size=2)
        try:
            accounts = Accounts(pool, None, settings.secret)
            if args.action == "create":
                account_id = await accounts.create(
                    args.email, args.password, args.name, args.phone, args.verified
                )
                print(f"created account {account_id} <{args.email}>")
            else:
                made = await accounts.bulk_create(args.count, args.prefix, args.password)
                print(f"{made} new accounts ({args.prefix}1..{args.count}@antri.test)")
            return 0
        finally:
            await pool.close()

    try:
        return asyncio.run(run())
    except BookingError as exc:
        print(f"antri accounts: {exc}", file=sys.stderr)
        return 1


def _serve(settings: Settings) -> None:
    with contextlib.suppress(ImportError):
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    url = f"http://{settings.host}:{settings.port}/"
    print(f"Antri is up: {url}  (waiting room: {url}antre/{settings.guard_room})")
    print(f"Admin token: {settings.admin_token}")
    # web.run_app, with the connection limits aiohttp lacks (api/server.py)
    server.run(_app(settings), settings)


async def _app(settings: Settings) -> web.Application:
    # Built inside the running loop: the database pool is bound to it.
    app = create_app(settings)
    app.on_startup.append(_freeze_gc)
    return app


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
        ("up", "start Redis, PostgreSQL (unless their URLs are set), a worker and the web app"),
        ("serve", "start the web app only (needs ANTRI_REDIS_URL and ANTRI_DATABASE_URL)"),
    ):
        cmd = sub.add_parser(name, help=help_text)
        cmd.add_argument("--host", help="address to listen on (ANTRI_HOST, default 127.0.0.1)")
        cmd.add_argument("--port", type=int, help="port to listen on (ANTRI_PORT, default 8080)")
    worker = sub.add_parser("worker", help="run an RQ worker with the scheduler (needs both URLs)")
    worker.add_argument("--burst", action="store_true", help="run what is due, then exit")
    sub.add_parser("migrate", help="apply the database migrations (needs ANTRI_DATABASE_URL)")
    accounts = sub.add_parser("accounts", help="create accounts").add_subparsers(
        dest="action", required=True
    )
    create = accounts.add_parser("create", help="one account")
    create.add_argument("--email", required=True)
    create.add_argument("--password", required=True)
    create.add_argument("--name", required=True)
    create.add_argument("--phone", default="081200000000")
    create.add_argument("--verified", action="store_true", help="skip e-mail verification")
    bulk = accounts.add_parser("bulk-create", help="verified accounts for load tests")
    bulk.add_argument("--count", type=int, required=True)
    bulk.add_argument("--prefix", required=True, help="e-mails are <prefix><n>@antri.test")
    bulk.add_argument("--password", default="Antri-Uji-2026")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"antri: {exc}", file=sys.stderr)
        return 2
    overrides = {
        k: v
        for k, v in (("host", getattr(args, "host", None)), ("port", getattr(args, "port", None)))
        if v is not None
    }
    settings = dataclasses.replace(settings, **overrides)
    if args.command == "up":
        with (
            redis_for(settings) as with_redis,
            database_for(with_redis) as ready,
            worker_for(ready),
        ):
            _serve(ready)
        return 0
    if args.command in ("migrate", "accounts"):
        # These need only the database: the embedded one under data_dir when no URL is set
        # (attached to, if `antri up` is running).
        with database_for(settings) as ready:
            assert ready.database_url is not None
            if args.command == "accounts":
                return _accounts(ready, args)
            applied = asyncio.run(migrate_url(ready.database_url))
            print(f"applied {len(applied)} migrations: {', '.join(applied) or 'none pending'}")
            return 0
    missing = [
        name
        for name, value in (
            ("ANTRI_REDIS_URL", settings.redis_url),
            ("ANTRI_DATABASE_URL", settings.database_url),
        )
        if value is None
    ]
    if missing:
        print(f"antri {args.command}: set {' and '.join(missing)} (or use `antri up`)",
              file=sys.stderr)  # fmt: skip
        return 2
    if args.command == "serve":
        _serve(settings)
    else:
        _work(settings, burst=args.burst)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
