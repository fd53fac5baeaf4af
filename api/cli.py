"""The `antri` command: `antri up` starts everything; `serve`, `worker`, `migrate` and
`accounts` do one thing each."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import logging
import os
import socket
import sys
from collections.abc import Callable, Iterator

from .database import EmbeddedPostgres, create_pool, migrate_url
from .private_files import owner_only_umask, secure_data_dir
from .settings import Settings, SettingsError


@contextlib.contextmanager
def database_for(settings: Settings) -> Iterator[Settings]:
    """Settings with a database URL: the one given, or an embedded PostgreSQL under data_dir."""
    if settings.database_url is not None:
        yield settings
        return
    with EmbeddedPostgres(settings.data_dir / "postgres") as server:
        print(f"PostgreSQL (embedded) at {server.url}")
        yield dataclasses.replace(settings, database_url=server.url)


def _work(settings: Settings, burst: bool = False, verbose: bool = False) -> None:
    from . import worker

    # RQ logs every job and every scheduler pass at INFO: only with --verbose.
    worker.run(settings, burst=burst, logging_level=_log_level(verbose))


def _log_level(verbose: bool) -> str:
    return "INFO" if verbose else "WARNING"


def _accounts(settings: Settings, args: argparse.Namespace) -> int:
    from .booking.accounts import Accounts
    from .booking.errors import BookingError

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


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    """One app process: on the socket `antri up` gave it (telling it on the ready pipe when
    it serves, or why it could not), or on its own (`antri serve`)."""
    from . import serving, supervisor
    from .preflight import StartError, listening_sockets

    ready_fd: int | None = args.ready_fd

    def ready() -> None:
        nonlocal ready_fd
        if ready_fd is None:
            url = f"http://{settings.host}:{settings.port}/"
            print(f"Antri is up: {url}  (waiting room: {url}antre/{settings.guard_room})")
            print(supervisor.admin_token_notice(settings), flush=True)
        else:
            os.write(ready_fd, b"ok\n")
            os.close(ready_fd)
            ready_fd = None

    try:
        if args.listen_fd is not None:
            sock = socket.socket(fileno=args.listen_fd)
        else:
            _check_services(settings)
            sock = listening_sockets(settings.host, settings.port, 1)[0]
        serving.run(settings, sock, ready)
    except KeyboardInterrupt:
        return 130  # Ctrl-C before the app's own handler was in place: nothing to stop yet
    except Exception as exc:
        reason = exc if isinstance(exc, StartError) else f"the app did not start: {_one_line(exc)}"
        if ready_fd is None:
            print(f"antri: {reason}", file=sys.stderr, flush=True)
        else:
            os.write(ready_fd, f"error {reason}\n".encode())
        if args.verbose:
            logging.exception("the app did not start")
        return 1
    return 0


def _check_services(settings: Settings) -> None:
    """One-line errors, before anything starts, for services that do not answer."""
    from .preflight import check_database, check_redis

    assert settings.redis_url is not None and settings.database_url is not None
    check_redis("ANTRI_REDIS_URL", settings.redis_url, settings.redis_cluster)
    if settings.jobs_redis_url is not None:
        check_redis("ANTRI_JOBS_REDIS_URL", settings.jobs_redis_url)
    check_database(settings.database_url)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `antri` console script."""
    parser = argparse.ArgumentParser(prog="antri", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (
        ("up", "start Redis, PostgreSQL (unless their URLs are set), workers and the web app"),
        ("serve", "start the web app only (needs ANTRI_REDIS_URL and ANTRI_DATABASE_URL)"),
    ):
        cmd = sub.add_parser(name, help=help_text)
        cmd.add_argument("--host", help="address to listen on (ANTRI_HOST, default 127.0.0.1)")
        cmd.add_argument("--port", help="port to listen on (ANTRI_PORT, default 8080)")
        cmd.add_argument("--verbose", action="store_true", help="log at INFO, not WARNING")
    serve = sub.choices["serve"]
    sub.choices["up"].add_argument(
        "--processes",
        type=_count(1),
        default=None,
        help="app processes sharing the port (default: the number of cores)",
    )
    sub.choices["up"].add_argument(
        "--workers", type=_count(0), default=1, help="RQ workers (default 1)"
    )
    # Given by `antri up` to each app process it starts: its listening socket and the pipe
    # on which it says when it serves.
    serve.add_argument("--listen-fd", type=int, help=argparse.SUPPRESS)
    serve.add_argument("--ready-fd", type=int, help=argparse.SUPPRESS)
    worker = sub.add_parser("worker", help="run an RQ worker with the scheduler (needs both URLs)")
    worker.add_argument("--burst", action="store_true", help="run what is due, then exit")
    worker.add_argument("--verbose", action="store_true", help="log every job (INFO)")
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
    from . import operator_cli, ops_cli

    operator_cli.add_parser(sub)
    ops_cli.add_parsers(sub)
    args = parser.parse_args(argv)
    if args.command in ("rooms", "events"):
        # A client of a running Antri: no settings, data directory or database of its own.
        return ops_cli.run(args)
    verbose = bool(getattr(args, "verbose", False))
    # Set once, before anything is created: secrets, the Redis AOF, PostgreSQL's files,
    # receipts, documents and mail are their owner's only (children inherit it).
    owner_only_umask()
    logging.basicConfig(
        level=_log_level(verbose), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # --host and --port are read as their variables are, with the same checks.
    overrides = {
        variable: value
        for variable, value in (
            ("ANTRI_HOST", getattr(args, "host", None)),
            ("ANTRI_PORT", getattr(args, "port", None)),
        )
        if value is not None
    }
    try:
        settings = Settings.from_env({**os.environ, **overrides})
    except SettingsError as exc:
        print(f"antri: {exc}", file=sys.stderr)
        return 1
    secure_data_dir(settings.data_dir)
    if args.command == "up":
        from . import supervisor

        processes = args.processes or supervisor.default_processes()
        return supervisor.up(settings, supervisor.Options(processes, args.workers, verbose))
    if args.command in ("migrate", "accounts", "operators"):
        # These need only the database: the embedded one under data_dir when no URL is set
        # (attached to, if `antri up` is running).
        with database_for(settings) as ready:
            assert ready.database_url is not None
            if args.command == "accounts":
                return _accounts(ready, args)
            if args.command == "operators":
                return operator_cli.run(ready, args)
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
        return 1
    if args.command == "serve":
        return _serve(settings, args)
    from .preflight import StartError

    try:
        _check_services(settings)
    except StartError as exc:
        print(f"antri: {exc}", file=sys.stderr)
        return 1
    _work(settings, burst=args.burst, verbose=verbose)
    return 0


def _count(least: int) -> Callable[[str], int]:
    """An argparse type: a whole number of at least `least`."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < least:
            raise argparse.ArgumentTypeError(f"must be at least {least}")
        return value

    return parse


if __name__ == "__main__":
    raise SystemExit(main())
