"""`antri up`: start everything, say "Antri is up" only once it is, and stop it all in order.

The start: the data folder's lock, the listening sockets (so a busy port is known at once),
PostgreSQL and Redis (embedded under the data folder unless their URLs are given, in which
case they must answer), the RQ workers, then the app processes, each on its own SO_REUSEPORT
socket of the shared port. Every failure ends the start with one line naming the setting.

The stop, on Ctrl-C or SIGTERM: the app processes (each finishes the requests in flight within
its grace period), the workers (each finishes its job), Redis, PostgreSQL; then
"Antri stopped.". The children live in process groups of their own, so the terminal's Ctrl-C
reaches this process alone and the order holds.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import os
import selectors
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from . import children, multiprocess, restarts
from .database import EmbeddedPostgres
from .datadir import DataDirBusy, DataDirLock
from .embedded import EmbeddedError, RedisServer
from .preflight import (
    StartError,
    check_database,
    check_redis,
    listening_sockets,
    redacted,
    replacement_socket,
)
from .private_files import generated, kept_secret
from .serving import GRACE_SECONDS
from .settings import Settings

#: how long the app processes may take to start (migrations run at the first start)
APP_START_SECONDS = 120.0
#: how long a worker may take to finish its job at a stop before it is killed
WORKER_STOP_SECONDS = 30.0


class Interrupted(BaseException):
    """Ctrl-C or SIGTERM: stop (a BaseException, like KeyboardInterrupt, so that no
    `except Exception` on the way swallows it)."""


class Failed(RuntimeError):
    """What Antri runs on died while it was up."""


@dataclass(frozen=True)
class Options:
    """The arguments of `antri up`."""

    processes: int
    workers: int
    verbose: bool = False


def default_processes() -> int:
    """One app process per core this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def up(settings: Settings, options: Options) -> int:
    """Run `antri up`; the exit status."""
    signals = _Signals()
    status = 0
    with contextlib.ExitStack() as stack:
        try:
            _watch(*_start(stack, settings, options))
        except Interrupted:
            pass
        except (StartError, Failed, DataDirBusy) as exc:
            print(f"antri: {exc}", file=sys.stderr, flush=True)
            status = 1
        except Exception as exc:
            # Unforeseen: still one line (and the traceback with --verbose), and a clean stop.
            print(f"antri: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
            if options.verbose:
                logging.exception("antri up failed")
            status = 1
        finally:
            # From here on a signal must not cut the stop short.
            signals.ignore()
            if status == 0:
                print("Stopping…", flush=True)
    if status == 0:
        print("Antri stopped.", flush=True)
    return status


Processes = list[restarts.Supervised]


Workers = list[restarts.Supervised]


def _start(
    stack: contextlib.ExitStack, settings: Settings, options: Options
) -> tuple[Processes, Workers]:
    """Start everything; the app processes and the workers."""
    # The exit stack stops things in the reverse order of their start: the app processes,
    # the workers, Redis, PostgreSQL.
    stack.enter_context(DataDirLock(settings.data_dir))
    sockets = listening_sockets(settings.host, settings.port, options.processes)
    for sock in sockets:
        stack.callback(sock.close)
    _check_given_services(settings)
    settings = stack.enter_context(_database(settings))
    settings = stack.enter_context(_redis(settings))
    env = _child_env(settings)
    verbose = ["--verbose"] if options.verbose else []
    # A worker that exits (it should not) is started again, with backoff.
    worker_argv = [sys.executable, "-m", "api.cli", "worker", *verbose]
    workers = [
        restarts.Supervised("worker", functools.partial(children.spawn, worker_argv, env))
        for _ in range(options.workers)
    ]
    for worker in workers:
        stack.callback(worker.stop, WORKER_STOP_SECONDS)
    metrics_dir = multiprocess.prepare_directory(settings.data_dir)
    # Shared metrics cost each request ~20 µs more (memory-mapped files, a lock per value):
    # only when there are processes to share them between.
    shared = {multiprocess.DIRECTORY_VARIABLE: str(metrics_dir)} if len(sockets) > 1 else {}
    started = _start_apps(stack, sockets, env | shared, verbose, metrics_dir)
    # An app process that exits is started again too, on a socket of its own on the port.
    again = _app_starter(settings, env | shared, verbose, len(sockets) > 1)
    apps = [
        restarts.Supervised(
            "app process",
            again,
            app,
            functools.partial(multiprocess.process_exited, metrics_dir),
        )
        for app in started
    ]
    for app in apps:
        stack.callback(_stop_app, app, metrics_dir)
    if workers:
        print(f"RQ workers (with scheduler): pid {', '.join(str(w.process.pid) for w in workers)}")
    url = f"http://{settings.host}:{settings.port}/"
    print(
        f"Antri is up: {url}  (waiting room: {url}antre/{settings.guard_room};"
        f" {len(apps)} app processes, {len(workers)} workers)"
    )
    print(admin_token_notice(settings), flush=True)
    return apps, workers


def admin_token_notice(settings: Settings) -> str:
    """The admin token itself only at the start that generated it; afterwards, where it is (a
    token printed at every start ends up in every log the output is kept in)."""
    kept = settings.data_dir / "admin-token"
    if kept in generated:
        return f"Admin token (new, shown this once; kept in {kept}): {settings.admin_token}"
    if kept.exists():
        return f"Admin token: in {kept}"
    return "Admin token: from ANTRI_ADMIN_TOKEN"


def _watch(apps: Processes, workers: Workers) -> None:
    """Wait for a stop signal. An app process or a worker that exits is reported in one line
    and started again (with backoff; the other app processes keep serving the port meanwhile);
    when no app process is left at all, stop."""
    while True:
        for child in (*apps, *workers):
            child.check()
        if not any(app.running for app in apps):
            raise Failed("no app process is left; stopping")
        time.sleep(0.5)


def _app_starter(
    settings: Settings, env: dict[str, str], verbose: list[str], shared: bool
) -> Callable[[], subprocess.Popen[bytes]]:
    """How a dead app process is replaced: a new socket on the port, given to a new one."""

    def start() -> subprocess.Popen[bytes]:
        sock = replacement_socket(settings.host, settings.port, shared)
        try:
            fd = sock.fileno()
            argv = [sys.executable, "-m", "api.cli", "serve", "--listen-fd", str(fd), *verbose]
            return children.spawn(argv, env, pass_fds=(fd,))
        finally:
            sock.close()  # the app process owns it now (see _start_apps)

    return start


def _start_apps(
    stack: contextlib.ExitStack,
    sockets: list[socket.socket],
    env: dict[str, str],
    verbose: list[str],
    metrics_dir: Path,
) -> list[subprocess.Popen[bytes]]:
    """One app process per socket; returns once every one answers requests."""
    apps: list[subprocess.Popen[bytes]] = []
    ready: dict[int, subprocess.Popen[bytes]] = {}
    for sock in sockets:
        read_end, write_end = os.pipe()
        fd = sock.fileno()
        argv = [sys.executable, "-m", "api.cli", "serve", "--listen-fd", str(fd),
                "--ready-fd", str(write_end), *verbose]  # fmt: skip
        try:
            app = children.spawn(argv, env, pass_fds=(fd, write_end))
        finally:
            os.close(write_end)
            # The app process owns its socket now: if this process kept a copy, connections
            # would queue on it unanswered once the app closes its own at a stop.
            sock.close()
        # Stopped here if the start fails; once up, through its Supervised (_start).
        stack.callback(_stop_if_unsupervised, app, metrics_dir)
        apps.append(app)
        ready[read_end] = app
        stack.callback(os.close, read_end)
    _wait_until_ready(ready)
    return apps


def _wait_until_ready(pipes: dict[int, subprocess.Popen[bytes]]) -> None:
    """Each app process writes "ok" on its pipe once it serves, or "error <one line>"."""
    deadline = time.monotonic() + APP_START_SECONDS
    waiting = dict(pipes)
    answers: dict[int, bytes] = dict.fromkeys(pipes, b"")
    with selectors.DefaultSelector() as selector:
        for fd in waiting:
            selector.register(fd, selectors.EVENT_READ)
        while waiting:
            left = deadline - time.monotonic()
            if left <= 0:
                raise StartError(f"the app processes did not start within {APP_START_SECONDS:g} s")
            for key, _ in selector.select(left):
                fd = int(key.fd)
                chunk = os.read(fd, 4096)
                answers[fd] += chunk
                if chunk and not answers[fd].endswith(b"\n"):
                    continue
                selector.unregister(fd)
                app = waiting.pop(fd)
                answer = answers[fd].decode(errors="replace").strip()
                if answer.startswith("error "):
                    raise StartError(answer.removeprefix("error "))
                if answer != "ok":
                    app.wait()
                    raise StartError(
                        f"an app process exited at start (status {app.returncode}); "
                        "run `antri up --verbose` to see why"
                    )


def _stop_app(app: restarts.Supervised, metrics_dir: Path) -> None:
    app.stop(GRACE_SECONDS + 5)
    multiprocess.process_exited(metrics_dir, app.process.pid)


def _stop_if_unsupervised(app: subprocess.Popen[bytes], metrics_dir: Path) -> None:
    """Stop an app process of a start that failed (a no-op for one that is stopped already)."""
    children.stop(app, GRACE_SECONDS + 5)
    multiprocess.process_exited(metrics_dir, app.pid)


def _check_given_services(settings: Settings) -> None:
    """The services given by URL answer (checked before anything is started)."""
    if settings.redis_url is not None:
        check_redis("ANTRI_REDIS_URL", settings.redis_url, settings.redis_cluster)
    if settings.jobs_redis_url is not None:
        check_redis("ANTRI_JOBS_REDIS_URL", settings.jobs_redis_url)
    if settings.database_url is not None:
        check_database(settings.database_url)


@contextlib.contextmanager
def _database(settings: Settings) -> Iterator[Settings]:
    """Settings with a database: the one given, or an embedded PostgreSQL."""
    if settings.database_url is not None:
        yield settings
        return
    server = EmbeddedPostgres(settings.data_dir / "postgres")
    try:
        server.start()
    except Exception as exc:
        raise StartError(f"ANTRI_DATA_DIR: the embedded PostgreSQL did not start: {exc}") from None
    try:
        print(f"PostgreSQL (embedded) at {redacted(server.url)}")
        yield dataclasses.replace(settings, database_url=server.url)
    finally:
        server.stop()


@contextlib.contextmanager
def _redis(settings: Settings) -> Iterator[Settings]:
    """Settings with a Redis: the one given, or a private server."""
    if settings.redis_url is not None:
        yield settings
        return
    # A password, so that no other local process can read or forge what Redis holds (login
    # sessions, admissions); kept beside the data, 0600, given to redis-server on its stdin.
    password_file = settings.data_dir / "redis-password"
    password = kept_secret(password_file).decode()
    server = RedisServer(settings.data_dir / "redis", child_of_antri=True, password=password)
    try:
        server.start()
    except EmbeddedError as exc:
        raise StartError(f"ANTRI_DATA_DIR: the embedded Redis did not start: {exc}") from None
    try:
        print(
            f"Redis (embedded, AOF on, password in {password_file}) at {server.address},"
            f" data in {server.directory}/"
        )
        yield dataclasses.replace(settings, redis_url=server.url)
    finally:
        server.stop()


def _child_env(settings: Settings) -> dict[str, str]:
    """The environment of the workers and app processes: this one, with the services found."""
    found = {
        "ANTRI_HOST": settings.host,
        "ANTRI_PORT": str(settings.port),
        "ANTRI_DATA_DIR": str(settings.data_dir),
        "ANTRI_REDIS_URL": settings.redis_url or "",
        "ANTRI_DATABASE_URL": settings.database_url or "",
    }
    if settings.jobs_redis_url is not None:
        found["ANTRI_JOBS_REDIS_URL"] = settings.jobs_redis_url
    env = {k: v for k, v in os.environ.items() if k != multiprocess.DIRECTORY_VARIABLE}
    return env | found


class _Signals:
    """SIGINT and SIGTERM raise Interrupted until `ignore()`; after it they are noted only."""

    def __init__(self) -> None:
        self._raise = True
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, self._handle)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self._raise:
            self._raise = False
            raise Interrupted

    def ignore(self) -> None:
        self._raise = False
