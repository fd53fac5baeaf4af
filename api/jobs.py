"""Background jobs, run by RQ workers (`antri worker`): expiry, e-mails, receipts, the sweeper.

RQ runs each job at least once, so every job is idempotent: expiry is a conditional UPDATE,
mail is sent under a key that the mailer refuses to send twice, a receipt is rewritten whole.
The sweeper re-does what a lost job would have done.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID

import redis
from rq import Queue, Retry
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from . import liveness
from .booking.documents import DocumentStore
from .booking.proof import proof_pdf
from .database import create_pool
from .mail import Mailer, Message
from .pages.drafts import DRAFT_SECONDS
from .private_files import private_directory, write_private
from .services import Services, booking_services
from .settings import Settings

log = logging.getLogger(__name__)

QUEUE_NAME = "antri"
#: a Redis hash: bookings the jobs expired, by job (a running count that /metrics exports)
EXPIRED_BY_JOBS = "antri:jobs:expired"
#: every job but the sweep (which schedules its next run whatever happens) is tried again
#: after a failure: a full disk, a PostgreSQL restart or an SMTP server away for a while
RETRY_SECONDS = [2, 15, 60, 300]
SWEEP_EVERY = timedelta(seconds=30)
T = TypeVar("T")


@dataclass
class _Context:
    settings: Settings | None = None


_context = _Context()


def configure(settings: Settings) -> None:
    """Give the jobs of this process their settings (the worker does this before it starts;
    otherwise they are read from the environment)."""
    _context.settings = settings


def _settings() -> Settings:
    if _context.settings is None:
        _context.settings = Settings.from_env()
    return _context.settings


class _Kept:
    """One event loop and one database pool for every job of a worker process (`keep_pool`):
    a new loop and pool per job cost more than most jobs' own work."""

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.pool: Any = None


_kept = _Kept()


def keep_pool() -> None:
    """Have the jobs of this process share one event loop and database pool (the worker does
    this: it runs its jobs one at a time, in its own process, no fork per job)."""
    if _kept.loop is None:
        _kept.loop = asyncio.new_event_loop()


def _with_services(work: Callable[[Services], Awaitable[T]]) -> T:
    """Run `work` with the booking services: on the worker's kept pool, else on a small pool
    of its own (jobs are synchronous)."""
    settings = _settings()
    assert settings.database_url is not None, "jobs need ANTRI_DATABASE_URL"
    url = settings.database_url
    if _kept.loop is not None:
        return _kept.loop.run_until_complete(_on_kept_pool(url, work))

    async def run() -> T:
        pool = await create_pool(url, size=2)
        try:
            return await work(booking_services(pool, settings))
        finally:
            await pool.close()

    return asyncio.run(run())


async def _on_kept_pool(url: str, work: Callable[[Services], Awaitable[T]]) -> T:
    if _kept.pool is None:
        _kept.pool = await create_pool(url, size=2)
    return await work(booking_services(_kept.pool, _settings()))


def _mailer() -> Mailer:
    settings = _settings()
    return Mailer(settings.smtp_url, settings.outbox)


# -- the jobs ---------------------------------------------------------------------------------


def expire_due() -> int:
    """Cancel the bookings still unpaid at their deadline; their places return to the pool."""
    expired = len(_with_services(lambda services: services.bookings.expire_due()))
    _count_expired("expire_due", expired)
    return expired


def _count_expired(job: str, count: int) -> None:
    """Add to the running count of bookings `job` expired (the worker has no /metrics); 0 too,
    so that the count exists (and shows 0) once a job ran."""
    try:
        queue().connection.hincrby(EXPIRED_BY_JOBS, job, count)
    except (redis.RedisError, OSError):
        log.warning("could not count %d bookings expired by %s", count, job)


def send_verification(account_id: int) -> str | None:
    """E-mail the current verification code of an unverified account (None if it has none).

    The job carries only the account id: the code (sealed in PostgreSQL), the address and the
    name are read here, so that none of them is in Redis, its AOF or the worker's log."""
    pending = _with_services(lambda services: services.accounts.pending_code(account_id))
    if pending is None:
        return None
    email, name, code = pending.email, pending.name, pending.code
    text = (
        f"Halo {name},\n\nKode verifikasi akun Antri Anda: {code}\n"
        "Kode berlaku 30 menit. Jangan berikan kode ini kepada siapa pun, termasuk petugas.\n\n"
        f"Your Antri verification code is {code}; it is valid for 30 minutes.\n"
    )
    message = Message(to=email, subject=f"Kode verifikasi Antri: {code}", text=text)
    return _mailer().send(message, key=pending.key)


def send_confirmation(booking_id: str) -> str | None:
    """E-mail the proof of a paid booking (with its PDF) once, and note that it was sent."""

    async def work(services: Services) -> str | None:
        found = await services.bookings.proof_of(UUID(booking_id))
        if found is None:
            return None
        email, proof = found
        text = (
            f"Pembayaran diterima. Kode booking: {proof.booking_code}\n"
            f"Kantor: {proof.office_name}, {proof.office_city}\n"
            f"Jadwal: {proof.date.isoformat()} {proof.session_start:%H:%M}-"
            f"{proof.session_end:%H:%M} {proof.zone_label}\n\n"
            "Bukti pendaftaran terlampir. Bawa dokumen asli dan datang 30 menit lebih awal.\n\n"
            "Payment received; your proof of registration is attached.\n"
        )
        message = Message(
            to=email,
            subject=f"Bukti pendaftaran paspor {proof.booking_code}",
            text=text,
            attachments=((f"bukti-{proof.booking_code}.pdf", "application/pdf", proof_pdf(proof)),),
        )
        name = await asyncio.to_thread(_mailer().send, message, f"confirmed-{booking_id}")
        await services.bookings.mark_notified(UUID(booking_id))
        return name

    return _with_services(work)


def write_receipt(booking_id: str) -> str | None:
    """Write the PDF proof of a paid booking under data_dir/receipts (rewritten whole)."""

    async def work(services: Services) -> str | None:
        found = await services.bookings.proof_of(UUID(booking_id))
        if found is None:
            return None
        # A receipt holds the booking's valid signed QR code: its owner's only.
        directory = private_directory(_settings().data_dir / "receipts")
        path = directory / f"{booking_id}.pdf"
        write_private(path, proof_pdf(found[1]))
        await services.bookings.mark_receipt_written(UUID(booking_id))
        return str(path)

    return _with_services(work)


def sweep(resend_after_seconds: float = 120) -> dict[str, int]:
    """Expire overdue bookings, re-queue confirmations and receipts not sent
    `resend_after_seconds` after payment (a lost job), drop old idempotency keys and ended
    login sessions, create the slots of newly reached dates and delete abandoned drafts'
    uploads; then schedule the next sweep."""

    async def work(services: Services) -> dict[str, int]:
        now = datetime.now(UTC)
        expired = await services.bookings.expire_due()
        late = timedelta(seconds=resend_after_seconds)
        unsent = await services.bookings.unnotified(late)
        owed = await services.bookings.receipts_owed(late)
        jobs = queue()
        resent = sum(_requeue(jobs, send_confirmation, f"confirm-{b}", str(b)) for b in unsent)
        # A receipt job that failed all its retries is owed too, even once the e-mail went out.
        receipts = sum(_requeue(jobs, write_receipt, f"receipt-{b}", str(b)) for b in owed)
        forgotten = await services.bookings.forget_old_keys()
        sessions = await services.accounts.forget_expired_sessions()
        slots = await services.slots.sync(now)
        # A wizard left half-way leaves its uploads staged; its draft lives DRAFT_SECONDS.
        store = DocumentStore(_settings().documents_dir)
        drafts = store.discard_stale_drafts(timedelta(seconds=2 * DRAFT_SECONDS))
        return {
            "expired": len(expired),
            "resent": resent,
            "receipts": receipts,
            "keys": forgotten,
            "sessions": sessions,
            "slots": slots,
            "drafts": drafts,
        }

    try:
        done = _with_services(work)
        _count_expired("sweep", done["expired"])
        return done
    finally:
        schedule_sweep()


#: a job in one of these states is still on its way: the sweep leaves it be
_ON_ITS_WAY = frozenset(
    {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED}
)


def _requeue(jobs: Queue, func: Callable[[str], Any], job_id: str, booking_id: str) -> bool:
    """Enqueue a job that is late (lost, or failed for good) again, unless it is still waiting
    or running: behind a backlog, a second copy every sweep only made the backlog grow."""
    try:
        status = Job.fetch(job_id, connection=jobs.connection).get_status(refresh=False)
    except NoSuchJobError:
        status = None
    if status in _ON_ITS_WAY and not _worker_gone(jobs, job_id, status):
        return False
    jobs.enqueue(func, booking_id, job_id=job_id, retry=retry())
    return True


def _worker_gone(jobs: Queue, job_id: str, status: JobStatus | None) -> bool:
    """Whether a started job's worker is gone (killed with the job: RQ would notice only when
    the job's time-out ran out)."""
    if status != JobStatus.STARTED:
        return False
    name = jobs.connection.hget(Job.key_for(job_id), "worker_name")
    if not name:
        return False
    name = name.decode() if isinstance(name, bytes) else name
    worker = jobs.connection.hmget(f"rq:worker:{name}", "hostname", "pid")
    return worker == [None, None] or liveness.gone(*worker)


# -- queueing -----------------------------------------------------------------------------------


def queue(settings: Settings | None = None, timeout: float | None = None) -> Queue:
    """The job queue on the jobs' Redis (ANTRI_JOBS_REDIS_URL, else the rooms' Redis): always
    a plain Redis, never a cluster, whose hash slots RQ's multi-key commands would cross.
    `timeout`: the seconds a command may take (none for the worker, which blocks in BLPOP)."""
    settings = settings or _settings()
    assert settings.jobs_redis is not None
    connection = redis.Redis.from_url(
        settings.jobs_redis, socket_timeout=timeout, socket_connect_timeout=timeout
    )
    return Queue(QUEUE_NAME, connection=connection)


def retry() -> Retry:
    """The retry policy of a job (a new one each time: RQ keeps its state on the job)."""
    return Retry(max=len(RETRY_SECONDS), interval=RETRY_SECONDS)


def schedule_sweep(settings: Settings | None = None) -> None:
    """Keep one sweep scheduled (a fixed job id: re-scheduling replaces, never duplicates)."""
    queue(settings).enqueue_in(SWEEP_EVERY, sweep, job_id="antri-sweep")


#: the seconds an enqueue may take on the jobs' Redis before it fails
ENQUEUE_TIMEOUT_SECONDS = 2.0
#: the seconds a request waits for its enqueue; a slower one goes on without the request
ENQUEUE_WAIT_SECONDS = 0.5
#: enqueues waiting for a thread beyond which new ones are dropped (Redis is stalled)
ENQUEUE_BACKLOG = 200


class JobQueue:
    """Enqueueing from the web app. RQ's client is synchronous, so it runs in threads of its
    own: in the default executor, a stalled Redis would hold the threads that hash passwords.
    A request never waits long for its enqueue: what is committed is committed, and a lost
    job is redone (the sweep re-queues unsent confirmations and expires overdue bookings; a
    verification code can be asked for again)."""

    def __init__(self, settings: Settings) -> None:
        self._queue = queue(settings, timeout=ENQUEUE_TIMEOUT_SECONDS)
        self._executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="antri-enqueue")
        self._pending = 0
        #: the seconds for which an expiry job is scheduled already
        self._scheduled: set[int] = set()

    async def _enqueue(self, call: Callable[[], Any]) -> None:
        if self._pending >= ENQUEUE_BACKLOG:
            log.warning("jobs' Redis stalled: a job was not enqueued (the sweep redoes it)")
            return
        self._pending += 1
        future = asyncio.get_running_loop().run_in_executor(self._executor, call)
        future.add_done_callback(self._enqueued)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(future), ENQUEUE_WAIT_SECONDS)

    def _enqueued(self, future: asyncio.Future[Any]) -> None:
        self._pending -= 1
        if not future.cancelled() and future.exception() is not None:
            # The booking is already committed; the sweeper does what this job would have.
            log.error("could not enqueue a job: %r", future.exception())

    async def expiry(self, at: datetime) -> None:
        """Have the bookings due at `at` expired then: one job per second of deadlines, not
        one per booking (an enqueue costs more than the booking's own SQL), so at most one
        enqueue a second per process; the job id makes processes share the job."""
        second = math.ceil(at.timestamp())
        if second in self._scheduled:
            return
        if len(self._scheduled) > 10_000:
            self._scheduled.clear()
        self._scheduled.add(second)
        due = datetime.fromtimestamp(second, UTC)
        await self._enqueue(
            lambda: self._queue.enqueue_at(
                due, expire_due, job_id=f"expire-{second}", retry=retry()
            )
        )

    async def paid(self, booking_id: UUID) -> None:
        """Mail the proof and write the receipt of a booking just paid."""

        def both() -> None:
            self._queue.enqueue(
                send_confirmation, str(booking_id), job_id=f"confirm-{booking_id}", retry=retry()
            )
            self._queue.enqueue(
                write_receipt, str(booking_id), job_id=f"receipt-{booking_id}", retry=retry()
            )

        await self._enqueue(both)

    async def verification(self, account_id: int) -> None:
        """Mail the account's verification code (the job reads it; only the id is queued)."""
        await self._enqueue(
            lambda: self._queue.enqueue(send_verification, account_id, retry=retry())
        )

    def close(self) -> None:
        """Close the queue's Redis connections (an enqueue still stalled is not waited for)."""
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._queue.connection.close()
