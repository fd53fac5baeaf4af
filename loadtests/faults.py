"""The faults the chaos run injects, each into a process the run started itself (by pid).

Each fault returns when what it broke is repaired (or, for a process that `antri up` restarts
or replaces, at once): when it was injected, when it was repaired, and notes for the report.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import psutil
import redis
from redis.asyncio import Redis as AsyncRedis

from api.database import EmbeddedPostgres
from api.embedded import RedisServer

#: how long a fault lasts (a kill's downtime, a pause, a full memory)
HOLD_SECONDS = 4.0
#: rq's scheduler lock of the queue `antri`
SCHEDULER_LOCK = "rq:scheduler-lock:antri"


@dataclass
class Target:
    """What the run started: the servers, and `antri up` (whose children are its app processes
    and workers)."""

    redis: RedisServer
    postgres: EmbeddedPostgres
    antri_pid: int
    hold: float = HOLD_SECONDS
    #: background measurements a fault started (the scheduler's takeover), awaited at the end
    pending: list[asyncio.Task[None]] = field(default_factory=list)

    def redis_pid(self) -> int:
        process = self.redis._process
        assert process is not None, "Redis is not running"
        return process.pid

    def redis_client(self) -> AsyncRedis:
        return AsyncRedis.from_url(self.redis.url, socket_timeout=30)

    def children(self, word: str) -> list[psutil.Process]:
        """The processes `antri up` started whose command line has `word` (`serve`, `worker`)."""
        found = []
        with contextlib.suppress(psutil.NoSuchProcess):
            for child in psutil.Process(self.antri_pid).children():
                with contextlib.suppress(psutil.Error):  # gone, or a zombie
                    if word in child.cmdline():
                        found.append(child)
        return found


@dataclass
class Done:
    """When a fault was injected and repaired, and what the report should say about it."""

    injected: float
    repaired: float
    notes: dict[str, Any] = field(default_factory=dict)


Fault = Callable[[Target], Awaitable[Done]]


async def redis_kill(target: Target) -> Done:
    """kill -9 of Redis; started again (on its AOF) after the hold."""
    injected = time.time()
    await asyncio.to_thread(target.redis.kill)
    await asyncio.sleep(target.hold)
    await asyncio.to_thread(target.redis.start)
    return Done(injected, time.time())


async def redis_sigstop(target: Target) -> Done:
    """SIGSTOP of Redis (a stalled host), SIGCONT after the hold."""
    pid = target.redis_pid()
    injected = time.time()
    os.kill(pid, signal.SIGSTOP)
    try:
        await asyncio.sleep(target.hold)
    finally:
        os.kill(pid, signal.SIGCONT)
    return Done(injected, time.time())


async def redis_debug_sleep(target: Target) -> Done:
    """`DEBUG SLEEP`: Redis blocks every client for the hold (a slow script, a long fork)."""
    client = target.redis_client()
    try:
        injected = time.time()
        await client.execute_command("DEBUG", "SLEEP", str(target.hold))  # type: ignore[no-untyped-call]
        return Done(injected, time.time())
    finally:
        await client.aclose()


async def redis_maxmemory(target: Target) -> Done:
    """`maxmemory` reached (under noeviction every write is refused with OOM) for the hold."""
    client = target.redis_client()
    try:
        injected = time.time()
        await client.config_set("maxmemory", 1)
        await asyncio.sleep(target.hold)
        await client.config_set("maxmemory", 0)
        return Done(injected, time.time())
    finally:
        await client.aclose()


async def aof_tail_lost(target: Target) -> Done:
    """A power loss under `appendfsync everysec`: Redis killed, and the last second of its AOF
    cut off (the size it had a second before the kill), then started again."""
    aof = target.redis.directory / "appendonly.aof"
    sizes: list[tuple[float, int]] = []
    for _ in range(int(target.hold / 0.1)):
        sizes.append((time.time(), aof.stat().st_size))
        await asyncio.sleep(0.1)
    injected = time.time()
    await asyncio.to_thread(target.redis.kill)
    killed_size = aof.stat().st_size
    kept = max((size for at, size in sizes if at <= injected - 1.0), default=killed_size)
    with aof.open("r+b") as file:
        file.truncate(kept)
    await asyncio.to_thread(target.redis.start)
    return Done(injected, time.time(), {"aof bytes lost": killed_size - kept})


async def postgres_kill(target: Target) -> Done:
    """kill -9 of PostgreSQL and its backends; started again (crash recovery) after the hold."""
    injected = time.time()
    await asyncio.to_thread(target.postgres.kill)
    await asyncio.sleep(target.hold)
    await asyncio.to_thread(target.postgres.start)
    return Done(injected, time.time())


async def postgres_backend(target: Target) -> Done:
    """pg_terminate_backend of one of Antri's database connections each second for the hold."""
    connection = await asyncpg.connect(target.postgres.url)
    terminated = 0
    try:
        injected = time.time()
        for _ in range(max(1, round(target.hold))):
            pids = await connection.fetch(
                "SELECT pid FROM pg_stat_activity WHERE backend_type = 'client backend'"
                " AND pid <> pg_backend_pid()"
            )
            if pids:
                victim = random.choice(pids)["pid"]
                terminated += bool(
                    await connection.fetchval("SELECT pg_terminate_backend($1)", victim)
                )
            await asyncio.sleep(1.0)
        return Done(injected, time.time(), {"backends terminated": terminated})
    finally:
        await connection.close()


async def worker_kill(target: Target) -> Done:
    """kill -9 of the RQ worker (the one holding the scheduler lock); `antri up` starts another.
    How long the new one takes to hold the scheduler lock is measured in the background."""
    workers = target.children("worker")
    if not workers:
        raise RuntimeError("antri up runs no worker")
    client = target.redis_client()
    holder = await client.get(SCHEDULER_LOCK)
    victim = workers[0]
    injected = time.time()
    victim.send_signal(signal.SIGKILL)
    done = Done(injected, injected, {"worker killed": victim.pid})

    async def scheduler_taken_over() -> None:
        try:
            deadline = injected + 180
            while time.time() < deadline:
                with contextlib.suppress(redis.RedisError):
                    now = await client.get(SCHEDULER_LOCK)
                    if now is not None and now != holder:
                        seconds = round(time.time() - injected, 1)
                        done.notes["scheduler taken over after s"] = seconds
                        return
                await asyncio.sleep(0.5)
            done.notes["scheduler taken over after s"] = None
        finally:
            await client.aclose()

    target.pending.append(asyncio.create_task(scheduler_taken_over()))
    # The new worker is started by antri up within its first restart delay (1 s).
    deadline = time.time() + 30
    while time.time() < deadline:
        others = [w for w in target.children("worker") if w.pid != victim.pid]
        if others:
            done.notes["new worker"] = others[0].pid
            break
        await asyncio.sleep(0.2)
    done.repaired = time.time()
    return done


async def app_kill(target: Target) -> Done:
    """kill -9 of one app process (the others keep serving the shared port); `antri up`
    starts another, on a socket of its own on the port."""
    apps = target.children("serve")
    if not apps:
        raise RuntimeError("antri up runs no app process")
    victim = apps[0]
    injected = time.time()
    victim.send_signal(signal.SIGKILL)
    done = Done(injected, injected, {"app killed": victim.pid})
    deadline = injected + 30
    while time.time() < deadline:
        new = [a for a in target.children("serve") if a.pid not in {p.pid for p in apps}]
        if new and _listens(new[0]):
            done.notes["new app process serving after s"] = round(time.time() - injected, 1)
            break
        await asyncio.sleep(0.2)
    done.notes["app processes"] = len(target.children("serve"))
    done.repaired = time.time()
    return done


def _listens(process: psutil.Process) -> bool:
    with contextlib.suppress(psutil.Error):
        return any(c.status == psutil.CONN_LISTEN for c in process.net_connections("tcp"))
    return False


#: the faults in the order they run: the worker's kill first, so that the scheduler's takeover
#: (about a minute) is measured while only PostgreSQL and the apps are hurt
FAULTS: dict[str, Fault] = {
    "worker kill -9": worker_kill,
    "PostgreSQL backend terminated": postgres_backend,
    "PostgreSQL kill -9": postgres_kill,
    "Redis kill -9": redis_kill,
    "Redis SIGSTOP": redis_sigstop,
    "Redis DEBUG SLEEP": redis_debug_sleep,
    "Redis maxmemory reached": redis_maxmemory,
    "Redis AOF tail lost": aof_tail_lost,
    "app process kill -9": app_kill,
}
