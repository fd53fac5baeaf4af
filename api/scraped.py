"""What is read when Prometheus scrapes, not on any request: Redis's memory and clients, RQ's
queues, workers and scheduler, and whether PostgreSQL answers.

`/metrics` awaits `ScrapedMetrics.refresh()` before it renders; the reads are cached for
`max_age` seconds, so several scrapers (or a scrape every second) cost Redis and PostgreSQL at
most one round of reads per `max_age`. These are facts shared by every app process, so each
process reports the same value: dashboards take `max` (multiprocess mode keeps the most recent).
A read that fails sets its `*_up` gauge to 0 and leaves the others as they were.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from dataclasses import dataclass
from datetime import UTC

import asyncpg
import redis
from prometheus_client import CollectorRegistry, Gauge
from redis.exceptions import RedisError
from rq import Queue, Worker
from rq.registry import FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry
from rq.scheduler import RQScheduler

from queue_engine.metrics import NAMESPACE
from queue_engine.scripts import RedisClient

from .jobs import EXPIRED_BY_JOBS, QUEUE_NAME

log = logging.getLogger(__name__)

#: a queued job waiting, or a scheduled one late, longer than this: the worker or the scheduler
#: is not working
STALE_SECONDS = 120.0


@dataclass(frozen=True, slots=True)
class JobsSnapshot:
    """RQ's state, read in one go."""

    queued: int
    failed: int
    scheduled: int
    started: int
    workers: int
    #: seconds since the freshest worker heartbeat; NaN with no worker (an idle RQ worker
    #: heartbeats only when its blocking wait for a job ends, every few minutes)
    heartbeat_age: float
    #: how long the job at the head of the queue has waited (0 when the queue is empty): a
    #: live worker takes it within seconds, and the sweep is queued every 30 s
    oldest_queued: float
    scheduler: bool
    #: how late the most overdue scheduled job is (0 when none is due): a dead scheduler
    scheduled_overdue: float
    #: bookings the worker's jobs expired, by job, since Redis's data began
    expired: dict[str, int]


def read_jobs(connection: redis.Redis) -> JobsSnapshot:
    """RQ's queue, registries, workers and scheduler lock (synchronous, as RQ is)."""
    queue = Queue(QUEUE_NAME, connection=connection)
    scheduled = ScheduledJobRegistry(queue=queue)  # type: ignore[no-untyped-call]
    workers = Worker.all(queue=queue)
    now = time.time()
    beats = [w.last_heartbeat.timestamp() for w in workers if w.last_heartbeat is not None]
    first_due = connection.zrange(scheduled.key, 0, 0, withscores=True)
    head = queue.get_jobs(0, 1)
    enqueued = head[0].enqueued_at if head else None
    if enqueued is not None and enqueued.tzinfo is None:
        enqueued = enqueued.replace(tzinfo=UTC)
    expired = connection.hgetall(EXPIRED_BY_JOBS)
    return JobsSnapshot(
        queued=queue.count,
        failed=FailedJobRegistry(queue=queue).count,
        scheduled=scheduled.count,
        started=StartedJobRegistry(queue=queue).count,
        workers=len(workers),
        heartbeat_age=now - max(beats) if beats else math.nan,
        oldest_queued=max(0.0, now - enqueued.timestamp()) if enqueued else 0.0,
        scheduler=bool(connection.exists(RQScheduler.get_locking_key(QUEUE_NAME))),
        scheduled_overdue=max(0.0, now - float(first_due[0][1])) if first_due else 0.0,
        expired={_text(k): int(v) for k, v in expired.items()},
    )


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class ScrapedMetrics:
    """Gauges refreshed at scrape time (at most once per `max_age` seconds)."""

    def __init__(
        self,
        registry: CollectorRegistry,
        client: RedisClient,
        redis_url: str,
        pool: asyncpg.Pool,
        max_age: float = 2.0,
    ) -> None:
        self.client = client
        self.redis_url = redis_url
        self.pool = pool
        self.max_age = max_age
        self._read_at = -math.inf
        self._lock = asyncio.Lock()
        self._jobs_connection: redis.Redis | None = None
        #: RQ's state as last read (None until read, or while Redis does not answer)
        self.jobs: JobsSnapshot | None = None

        def gauge(name: str, doc: str, labels: tuple[str, ...] = ()) -> Gauge:
            return Gauge(
                name,
                doc,
                list(labels),
                namespace=NAMESPACE,
                registry=registry,
                multiprocess_mode="livemostrecent",
            )

        self.redis_up = gauge("redis_up", "1 when Redis answered the last scrape's INFO.")
        self.redis_used = gauge("redis_used_memory_bytes", "Redis's used_memory.")
        self.redis_max = gauge(
            "redis_maxmemory_bytes", "Redis's maxmemory (0: no limit); full means joins refused."
        )
        self.redis_clients = gauge("redis_connected_clients", "Clients connected to Redis.")
        self.redis_rejected = gauge(
            "redis_rejected_connections",
            "Connections Redis refused (maxclients) since it started; use rate().",
        )
        self.redis_oom = gauge(
            "redis_oom_rejected_commands",
            "Commands Redis refused for want of memory (OOM) since it started; use rate().",
        )
        self.database_up = gauge("database_up", "1 when PostgreSQL answered SELECT 1.")
        self.jobs_up = gauge("rq_up", "1 when RQ's state could be read from Redis.")
        self.queued = gauge("rq_queued_jobs", "Jobs waiting in the queue.")
        self.failed = gauge("rq_failed_jobs", "Jobs in the failed registry.")
        self.scheduled = gauge("rq_scheduled_jobs", "Jobs scheduled for later.")
        self.started = gauge("rq_started_jobs", "Jobs being run by a worker.")
        self.workers = gauge("rq_workers", "RQ workers registered on the queue.")
        self.heartbeat = gauge(
            "rq_worker_heartbeat_age_seconds", "Seconds since the freshest worker heartbeat."
        )
        self.oldest_queued = gauge(
            "rq_oldest_queued_seconds",
            "How long the job at the head of the queue has waited (a dead worker lets it grow).",
        )
        self.scheduler = gauge("rq_scheduler_up", "1 when a worker holds the scheduler's lock.")
        self.overdue = gauge(
            "rq_scheduled_overdue_seconds",
            "How late the most overdue scheduled job is (a dead scheduler lets this grow).",
        )
        self.audit_changes = gauge(
            "audit_changes",
            "Changes in the audit trail (operators, officers, the scheduler), by action, as a"
            " running count: the dashboards' annotation marks each increase.",
            ("action",),
        )
        self.worker_expired = gauge(
            "worker_expired_bookings",
            "Bookings the worker's jobs expired, by job, as a running count: use rate().",
            ("job",),
        )

    async def refresh(self) -> None:
        """Read everything again unless it was read less than `max_age` seconds ago."""
        async with self._lock:
            if time.monotonic() - self._read_at < self.max_age:
                return
            reads = (self._read_redis(), self._read_database(), self._read_jobs())
            for failure in await asyncio.gather(*reads, return_exceptions=True):
                if isinstance(failure, Exception):  # a scrape must not fail with one read
                    log.warning("a scrape-time read failed", exc_info=failure)
            self._read_at = time.monotonic()

    async def _read_redis(self) -> None:
        try:
            info = await self.client.info()
            errors = await self.client.info("errorstats")
        except (RedisError, OSError, AttributeError) as exc:
            log.debug("Redis INFO failed: %r", exc)
            self.redis_up.set(0)
            return
        if "used_memory" not in info:  # a cluster client answers per node: not read here
            return
        self.redis_up.set(1)
        self.redis_used.set(info["used_memory"])
        self.redis_max.set(info.get("maxmemory", 0))
        self.redis_clients.set(info.get("connected_clients", 0))
        self.redis_rejected.set(info.get("rejected_connections", 0))
        oom = errors.get("errorstat_OOM", {})
        self.redis_oom.set(oom.get("count", 0) if isinstance(oom, dict) else 0)

    async def _read_database(self) -> None:
        try:
            await self.pool.fetchval("SELECT 1", timeout=1.0)
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError) as exc:
            log.debug("PostgreSQL check failed: %r", exc)
            self.database_up.set(0)
        else:
            self.database_up.set(1)
            await self._read_audit()

    async def _read_audit(self) -> None:
        """How many changes the audit trail holds, by action (a small table: operators' changes)."""
        try:
            rows = await self.pool.fetch(
                "SELECT action, count(*) AS n FROM audit_log GROUP BY action", timeout=1.0
            )
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError) as exc:
            log.debug("audit count failed: %r", exc)
            return
        for row in rows:
            self.audit_changes.labels(row["action"]).set(row["n"])

    async def _read_jobs(self) -> None:
        if self._jobs_connection is None:
            self._jobs_connection = redis.Redis.from_url(
                self.redis_url, socket_timeout=1.0, socket_connect_timeout=1.0
            )
        try:
            jobs = await asyncio.to_thread(read_jobs, self._jobs_connection)
        except (RedisError, OSError) as exc:
            log.debug("reading RQ's state failed: %r", exc)
            self.jobs_up.set(0)
            self.jobs = None
            return
        self.jobs = jobs
        self.jobs_up.set(1)
        self.queued.set(jobs.queued)
        self.failed.set(jobs.failed)
        self.scheduled.set(jobs.scheduled)
        self.started.set(jobs.started)
        self.workers.set(jobs.workers)
        self.heartbeat.set(jobs.heartbeat_age)
        self.oldest_queued.set(jobs.oldest_queued)
        self.scheduler.set(1 if jobs.scheduler else 0)
        self.overdue.set(jobs.scheduled_overdue)
        for job, count in jobs.expired.items():
            self.worker_expired.labels(job).set(count)

    def jobs_health(self) -> dict[str, str]:
        """The worker's and the scheduler's state for /readyz: ok, missing, late or unknown."""
        jobs = self.jobs
        if jobs is None:
            return {"worker": "unknown", "scheduler": "unknown"}
        alive = jobs.workers > 0 and jobs.oldest_queued <= STALE_SECONDS
        if not jobs.scheduler:
            scheduler = "missing"
        elif jobs.scheduled_overdue > STALE_SECONDS:
            scheduler = "late"
        else:
            scheduler = "ok"
        return {"worker": "ok" if alive else "missing", "scheduler": scheduler}

    def close(self) -> None:
        """Close the synchronous connection RQ's state is read with."""
        if self._jobs_connection is not None:
            with contextlib.suppress(RedisError, OSError):
                self._jobs_connection.close()
