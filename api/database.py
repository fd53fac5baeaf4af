"""PostgreSQL: the embedded server, the connection pool and the numbered migrations."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import warnings
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import asyncpg

from .private_files import private_directory

log = logging.getLogger(__name__)

#: a migration file: `NNN_what_it_does.sql`
_MIGRATION = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")
#: any number, held for the duration of a migration run so that processes starting
#: together apply each migration once
_MIGRATION_LOCK = 0x616E747269


class EmbeddedPostgres:
    """A private PostgreSQL (the `pgserver` package's binaries) with its data under `directory`.

    It listens on a Unix socket inside its data directory only, and stops when the process
    that started it exits.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._server: Any = None

    def start(self) -> EmbeddedPostgres:
        """Initialise the data directory if new, then start the server and wait for it."""
        private_directory(self.directory)
        # pgserver logs every step of initdb and pg_ctl at INFO, and platformdirs warns that a
        # runtime directory is missing (it falls back to /tmp): neither tells an operator anything.
        logging.getLogger("pgserver").setLevel(logging.WARNING)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR")
            # imported here: it is only needed when no URL is configured
            from pgserver.postgres_server import get_server

            self._server = get_server(self.directory.resolve(), cleanup_mode="stop")
        if os.geteuid() == 0:
            # As root, pgserver runs PostgreSQL as its own user and opens every folder above
            # the data to group and others (r-x) so that this user can reach it. Reaching it
            # needs only --x: the data dir is kept unlistable and its entries owner-only.
            self.directory.resolve().parent.chmod(0o711)
        return self

    @property
    def url(self) -> str:
        """A postgresql:// URL of the server's `postgres` database."""
        return str(self._server.get_uri())

    @property
    def pid(self) -> int:
        """The postmaster's process id (its backends are its children)."""
        return int(self._server.get_pid())

    def kill(self) -> None:
        """Kill the server and its backends with SIGKILL, as a crash of the machine would
        (for the tests; `start` again runs PostgreSQL's crash recovery)."""
        import psutil

        main = psutil.Process(self._server.get_pid())
        victims = [main, *main.children(recursive=True)]
        for process in victims:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.kill()
        psutil.wait_procs(victims, timeout=10)
        with contextlib.suppress(Exception):
            self._server.cleanup()  # forgets the dead server, so that start() starts anew
        self._server = None

    def stop(self) -> None:
        """Stop the server."""
        if self._server is not None:
            self._server.cleanup()
            self._server = None

    def __enter__(self) -> EmbeddedPostgres:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass(frozen=True)
class Migration:
    """One numbered SQL file."""

    number: int
    name: str
    sql: str


def migrations() -> list[Migration]:
    """The packaged migrations, in order."""
    found = []
    for entry in resources.files("api").joinpath("migrations").iterdir():
        match = _MIGRATION.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), entry.name, entry.read_text("utf-8")))
    return sorted(found, key=lambda m: m.number)


async def migrate(connection: asyncpg.Connection) -> list[str]:
    """Apply every migration not yet applied, each in its own transaction; returns their names."""
    applied: list[str] = []
    await connection.execute("SELECT pg_advisory_lock($1)", _MIGRATION_LOCK)
    try:
        await connection.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " number int PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {r["number"] for r in await connection.fetch("SELECT number FROM schema_migrations")}
        for migration in migrations():
            if migration.number in done:
                continue
            async with connection.transaction():
                await connection.execute(migration.sql)
                await connection.execute(
                    "INSERT INTO schema_migrations (number, name) VALUES ($1, $2)",
                    migration.number,
                    migration.name,
                )
            log.info("applied migration %s", migration.name)
            applied.append(migration.name)
    finally:
        await connection.execute("SELECT pg_advisory_unlock($1)", _MIGRATION_LOCK)
    return applied


async def migrate_url(url: str) -> list[str]:
    """Connect to `url`, apply the pending migrations and disconnect."""
    connection = await asyncpg.connect(url)
    try:
        return await migrate(connection)
    finally:
        await connection.close()


def unready_pool(url: str, size: int = 16) -> asyncpg.Pool:
    """A connection pool not yet opened (`await pool` opens it); statements are prepared once
    per connection and cached."""
    return asyncpg.create_pool(
        url,
        min_size=2,
        max_size=size,
        command_timeout=10,
        max_inactive_connection_lifetime=300,
        reset=_keep_session_state,
    )


async def _keep_session_state(connection: asyncpg.Connection) -> None:
    """Skip the full reset (RESET ALL, UNLISTEN *, …: a round trip) when a connection goes back
    to the pool: Antri sets no session state, and the one advisory lock (migrations) is
    released where it is taken."""


async def create_pool(url: str, size: int = 16) -> asyncpg.Pool:
    """An open connection pool."""
    pool = unready_pool(url, size)
    await pool
    return pool
