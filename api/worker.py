"""`antri worker`: an RQ worker that outlives Redis failures and takes the scheduler over as
soon as the dead holder's lock expires.

rq's work loop ends the worker on any error it did not foresee: a Redis that is killed,
full (`maxmemory`) or refusing writes (MISCONF) while a job ends lets a `RedisError` escape
from the horse's monitor, and the worker "quits". Here the loop is run again once Redis
answers, with a new rq worker (a new name, a new scheduler), until a stop is asked for.

rq asks for the scheduler lock at start and then only every maintenance interval (600 s):
a worker started just after a kill -9 of the scheduler's holder finds the dead holder's lock
(61 s) and runs without a scheduler for ten minutes. A thread asks again every few seconds,
and releases the lock at once when its holder was a process of this host that is gone.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Iterator
from types import FrameType

import redis
from rq import SimpleWorker, Worker
from rq.scheduler import SCHEDULER_KEY_TEMPLATE, RQScheduler
from rq.scripts import release_lock
from rq.worker import BaseWorker

from . import jobs, liveness
from .settings import Settings

log = logging.getLogger(__name__)

#: how often a worker without the scheduler asks for its lock
SCHEDULER_RETRY_SECONDS = 5.0
#: the waits between Redis pings while it does not answer: doubling up to the last
FIRST_WAIT_SECONDS = 0.5
LAST_WAIT_SECONDS = 10.0


def run(
    settings: Settings, burst: bool = False, logging_level: str = "WARNING", forking: bool = False
) -> None:
    """Work until stopped (or, with `burst`, until the queue is empty).

    The jobs run in this process (rq's SimpleWorker), one at a time, on one database pool: a
    fork and a new pool per job (`forking`, rq's default, kept for the benchmark) made about
    ten jobs a second. A job that crashes the process is survived by `antri up`, which
    restarts the worker; every job is idempotent and retried."""
    jobs.configure(settings)
    if not forking:
        jobs.keep_pool()
    kind: type[BaseWorker] = Worker if forking else SimpleWorker
    while True:
        worker: BaseWorker | None = None
        try:
            queue = jobs.queue(settings)
            jobs.schedule_sweep(settings)
            worker = kind([queue], connection=queue.connection)
            with _scheduler_recovery(worker, burst):
                worker.work(with_scheduler=True, burst=burst, logging_level=logging_level)
        except redis.RedisError as exc:
            # rq's own stop (teardown) talks to Redis too: it fails in the same outage.
            log.warning("antri worker: Redis failed (%s); waiting for it", exc)
            if worker is not None:
                with contextlib.suppress(Exception):
                    worker.unsubscribe()  # type: ignore[no-untyped-call]
        if burst or (worker is not None and worker._shutdown_requested_date is not None):
            return
        if not _wait_for_redis(settings):
            return
        log.warning("antri worker: Redis answers again; working")


#: the key a waiting worker writes to learn whether Redis takes writes again
PROBE_KEY = "antri:worker:probe"


def _wait_for_redis(settings: Settings) -> bool:
    """Wait until the jobs' Redis takes a write (True), or a stop is asked for (False). A
    PING is not enough: a full Redis (`maxmemory`) or one that cannot write its AOF (MISCONF)
    answers it and refuses every write rq makes."""
    stopping = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, stop)
    wait = FIRST_WAIT_SECONDS
    while not stopping.is_set():
        connection = jobs.queue(settings).connection
        try:
            connection.set(PROBE_KEY, 1, ex=10)
            return True
        except redis.RedisError:
            stopping.wait(wait)
            wait = min(wait * 2, LAST_WAIT_SECONDS)
        finally:
            connection.close()
    return False


@contextlib.contextmanager
def _scheduler_recovery(worker: BaseWorker, burst: bool) -> Iterator[None]:
    """While the worker works: every few seconds, if it has no running scheduler, ask for the
    lock again (it is taken once the dead holder's expires; a live holder keeps renewing it)."""
    done = threading.Event()

    def recover() -> None:
        while not done.wait(SCHEDULER_RETRY_SECONDS):
            scheduler = worker.scheduler
            if scheduler is None or worker._shutdown_requested_date is not None:
                continue
            process = scheduler._process
            if process is not None and process.is_alive():
                continue
            # A Redis failure here: the work loop meets the same outage.
            with contextlib.suppress(redis.RedisError):
                _release_dead_holders(scheduler)
                scheduler.acquire_locks(auto_start=True)  # type: ignore[no-untyped-call]

    thread = threading.Thread(target=recover, name="scheduler-recovery", daemon=True)
    if not burst:
        thread.start()
    try:
        yield
    finally:
        done.set()
        if thread.is_alive():
            thread.join()
        # A scheduler the thread started while rq stopped the worker must not outlive it.
        process = worker.scheduler._process if worker.scheduler is not None else None
        if process is not None and process.is_alive():
            process.terminate()
            process.join()


def _release_dead_holders(scheduler: RQScheduler) -> None:
    """Release each scheduler lock whose holder ran on this host and is gone (killed with its
    worker): waiting for the lock to expire leaves the jobs unscheduled for a minute. A holder
    elsewhere, or one whose record is gone, is waited out."""
    connection = scheduler.connection
    for name in scheduler._queue_names:
        key = scheduler.get_locking_key(name)
        holder = connection.get(key)
        if holder is None or holder.decode() == scheduler.name:
            continue
        hostname, pid = connection.hmget(
            SCHEDULER_KEY_TEMPLATE % holder.decode(), "hostname", "pid"
        )
        if liveness.gone(hostname, pid):
            # Only if that holder still has it (a compare-and-delete in Redis).
            release_lock(connection, key, holder.decode())
            log.warning("antri worker: released the scheduler lock of dead process %s", pid)
