"""The RQ worker survives what fails around it (issue 16, items 1 and 2): a Redis that dies in
the middle of a job does not end `antri worker`, a worker that dies is started again by
`antri up`, and a worker started at once after a kill -9 of the one holding the scheduler
lock takes the scheduler over within seconds (the holder's process is gone), not ten minutes
later.

Each test runs its own redis-server (so that it can kill it) on this helper's ports, real
worker processes and a real PostgreSQL database.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import psutil
import pytest
import redis
from aiohttp.test_utils import TestClient
from rq import Queue
from rq.job import Job, JobStatus

from api import jobs, worker
from api.appkeys import SETTINGS
from api.embedded import RedisServer
from api.settings import Settings

from .booking_support import booker, booking_body, new_turn, pool, released_days
from .conftest import AppFactory
from .test_accounts_and_jobs import worker_env
from .test_start_stop import Antri, clean_env

ANTRI = str(Path(sys.executable).with_name("antri"))
REDIS_PORT = 18910
UP_PORT = 18911
SCHEDULER_REDIS_PORT = 18912


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis", port=REDIS_PORT).start()
    yield server
    server.stop()


def _scheduler_runs(queue: Queue) -> bool:
    """Whether a scheduler holds the lock and its process has recorded its pid."""
    holder = queue.connection.get(f"rq:scheduler-lock:{jobs.QUEUE_NAME}")
    if holder is None:
        return False
    pid = queue.connection.hget(f"rq:scheduler:{holder.decode()}", "pid")
    return pid is not None and int(pid) > 0


def _queue(server: RedisServer) -> Queue:
    return Queue(jobs.QUEUE_NAME, connection=redis.Redis.from_url(server.url))


def _worker(server: RedisServer, database: str, directory: Path) -> subprocess.Popen[bytes]:
    env = clean_env(
        ANTRI_REDIS_URL=server.url, ANTRI_DATABASE_URL=database, ANTRI_DATA_DIR=str(directory)
    )
    log = (directory / "worker.txt").open("ab")
    return subprocess.Popen(
        [ANTRI, "worker"], env=env, stdout=log, stderr=log, start_new_session=True
    )


def _done_within(queue: Queue, job_id: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if Job.fetch(job_id, connection=queue.connection).get_status() == JobStatus.FINISHED:
                return True
        except redis.RedisError:
            pass
        time.sleep(0.2)
    return False


def _kill_redis(server: RedisServer) -> None:
    process = server._process
    assert process is not None
    process.kill()
    process.wait()


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_a_worker_outlives_a_redis_that_dies_during_a_job(
    tmp_path: Path, own_redis: RedisServer, database: str
) -> None:
    worker = _worker(own_redis, database, tmp_path)
    try:
        queue = _queue(own_redis)
        # A job that ends while Redis is down: rq's monitor of the forked job asks Redis for
        # the job's status and lets the ConnectionError escape, which used to end the worker.
        slow = queue.enqueue("time.sleep", 2)
        deadline = time.monotonic() + 30
        while slow.get_status() != JobStatus.STARTED:
            assert time.monotonic() < deadline, "the slow job never started"
            time.sleep(0.1)
        _kill_redis(own_redis)
        time.sleep(6)
        own_redis.start()
        assert worker.poll() is None, (tmp_path / "worker.txt").read_text()
        queue = _queue(own_redis)
        job = queue.enqueue(jobs.send_verification, 999_999)  # an unknown account: None
        assert _done_within(queue, job.id, 20), (tmp_path / "worker.txt").read_text()
        assert worker.poll() is None
    finally:
        _stop(worker)


def test_a_worker_waits_for_a_redis_that_takes_writes_not_just_pings(tmp_path: Path) -> None:
    """A full Redis (maxmemory reached) answers PING but refuses rq's writes: a worker that
    took the PING for recovery started its loop again hundreds of times a second."""
    server = RedisServer(tmp_path / "redis", port=REDIS_PORT).start()
    try:
        settings = Settings.from_env(
            {"ANTRI_REDIS_URL": server.url, "ANTRI_DATA_DIR": str(tmp_path)}
        )
        connection = redis.Redis.from_url(server.url)
        connection.config_set("maxmemory", 1)
        threading.Timer(1.5, connection.config_set, ("maxmemory", 0)).start()
        began = time.monotonic()
        assert worker._wait_for_redis(settings)
        assert time.monotonic() - began >= 1.4, "it took a full Redis for a working one"
    finally:
        server.stop()


async def test_antri_up_restarts_a_worker_that_died(
    tmp_path: Path, own_redis: RedisServer, database: str
) -> None:
    antri = Antri(
        tmp_path, UP_PORT, "--processes", "1", "--workers", "1",
        ANTRI_REDIS_URL=own_redis.url, ANTRI_DATABASE_URL=database,
    )  # fmt: skip
    try:
        await asyncio.to_thread(antri.wait_until_up)
        (first,) = antri.children()["worker"]
        os.kill(first, signal.SIGKILL)
        deadline = time.monotonic() + 20
        while True:
            try:
                workers = antri.children()["worker"]
            except psutil.ZombieProcess:  # the killed worker, not reaped yet
                workers = []
            if workers and workers != [first]:
                break
            assert time.monotonic() < deadline, antri.stderr
            await asyncio.sleep(0.2)
        (lines,) = [line for line in antri.stderr.splitlines() if str(first) in line]
        assert "restarting" in lines, antri.stderr
        queue = _queue(own_redis)
        job = queue.enqueue(jobs.send_verification, 999_999)
        assert await asyncio.to_thread(_done_within, queue, job.id, 30), antri.stderr
        tree = {p.pid for p in psutil.Process(antri.process.pid).children(recursive=True)}
        status = await asyncio.to_thread(antri.stop)
    finally:
        antri.kill()
    assert status == 0, antri.stderr
    assert "Antri stopped." in antri.stdout
    assert "Traceback" not in antri.stdout + antri.stderr, antri.stderr
    assert not [pid for pid in tree if psutil.pid_exists(pid)], "a process was left running"


def test_a_scheduler_killed_with_its_worker_is_taken_over_at_once(
    tmp_path: Path, database: str
) -> None:
    """The dead holder's lock would live up to 61 s: a worker on the same host sees that the
    holder's process is gone and takes the lock at once (within its 5 s retry)."""
    server = RedisServer(tmp_path / "redis", port=SCHEDULER_REDIS_PORT).start()
    first = _worker(server, database, tmp_path)
    second: subprocess.Popen[bytes] | None = None
    try:
        queue = _queue(server)
        deadline = time.monotonic() + 30
        # The scheduler runs (its process has written its record, with its pid): a scheduler
        # killed before that is waited out (the lock expires), its pid being unknown.
        while not _scheduler_runs(queue):
            assert time.monotonic() < deadline, "the first worker never took the scheduler"
            time.sleep(0.1)
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
        second = _worker(server, database, tmp_path)
        began = time.monotonic()
        job = queue.enqueue_in(timedelta(seconds=2), jobs.send_verification, 999_999)
        assert _done_within(queue, job.id, 40), (tmp_path / "worker.txt").read_text()
        print(f"the scheduled job ran {time.monotonic() - began:.1f} s after the kill")
    finally:
        _stop(first)
        if second is not None:
            _stop(second)
        server.stop()


# -- enqueues never hold a request on a stalled Redis (item 7) --------------------------------

STALLED_REDIS_PORT = 18913
FAST_ROOM = {"rate_per_minute": 60000, "burst": 500, "max_active": 1000}


async def test_a_stalled_jobs_redis_holds_neither_payments_nor_logins(
    tmp_path: Path, make_client: AppFactory
) -> None:
    stalled = RedisServer(tmp_path / "jobs-redis", port=STALLED_REDIS_PORT).start()
    assert stalled._process is not None
    try:
        client = await make_client(changes={"jobs_redis_url": stalled.url}, **FAST_ROOM)
        account = {"email": "sri@contoh.id", "password": "Rahasia123", "name": "Sri Mulyani",
                   "phone": "081298765432"}  # fmt: skip
        assert (await client.post("/api/v1/accounts", json=account)).status == 201
        day = (await released_days(client))[0]
        headers = await booker(client)
        receipts = []
        for n in range(3):
            if n:
                headers = await new_turn(client, headers)  # a turn is one booking
            response = await client.post(
                "/api/v1/bookings", json=booking_body(day), headers=headers
            )
            assert response.status == 201, await response.text()
            receipts.append(await response.json())
        os.kill(stalled._process.pid, signal.SIGSTOP)

        async def timed(method: str, path: str, body: dict[str, str]) -> tuple[int, float]:
            began = time.monotonic()
            response = await client.request(method, path, json=body)
            return response.status, time.monotonic() - began

        payments = [
            timed("POST", "/api/v1/payments/sandbox/pay", {"billing_code": r["billing_code"]})
            for r in receipts
        ]
        logins = [
            timed("POST", "/api/v1/login", {"email": account["email"], "password": "Salah12345"})
            for _ in range(3)
        ]
        answers = await asyncio.wait_for(asyncio.gather(*payments, *logins), 30)
        for status, seconds in answers[:3]:
            assert status == 200 and seconds < 2.5, answers
        for status, seconds in answers[3:]:
            assert status == 401 and seconds < 2.5, answers
    finally:
        os.kill(stalled._process.pid, signal.SIGCONT)
        stalled.stop()


# -- every job is tried again after a failure (item 8) -----------------------------------------

RETRY_REDIS_PORT = 18914


@pytest.fixture
def jobs_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A Redis of the test's own for the jobs, so that its queue can be lost or inspected."""
    server = RedisServer(tmp_path / "jobs-redis", port=RETRY_REDIS_PORT).start()
    yield server
    server.stop()


async def paid_booking(client: TestClient) -> dict[str, Any]:
    """A booking paid at the sandbox bank (its jobs enqueued); the booking's answer."""
    day = (await released_days(client))[0]
    headers = await booker(client)
    response = await client.post("/api/v1/bookings", json=booking_body(day), headers=headers)
    receipt: dict[str, Any] = await response.json()
    paid = await client.post(
        "/api/v1/payments/sandbox/pay", json={"billing_code": receipt["billing_code"]}
    )
    assert paid.status == 200
    await asyncio.sleep(1)  # the enqueue may outlive the request
    return receipt


@contextmanager
def job_context(client: TestClient) -> Iterator[None]:
    """Jobs run in this process with the app's settings, as the worker would run them."""
    jobs.configure(client.server.app[SETTINGS])
    try:
        yield
    finally:
        jobs._context.settings = None


async def paid_long_ago(client: TestClient, booking_id: str) -> None:
    """The booking was paid 10 minutes ago: its jobs are late enough for the sweep."""
    await pool(client).execute(
        "UPDATE bookings SET paid_at = paid_at - interval '10 minutes' WHERE id = $1", booking_id
    )


async def test_a_receipt_that_fails_once_is_written_on_its_retry(
    tmp_path: Path, make_client: AppFactory
) -> None:
    server = RedisServer(tmp_path / "jobs-redis", port=RETRY_REDIS_PORT).start()
    worker: subprocess.Popen[bytes] | None = None
    try:
        client = await make_client(changes={"jobs_redis_url": server.url}, **FAST_ROOM)
        day = (await released_days(client))[0]
        headers = await booker(client)
        response = await client.post("/api/v1/bookings", json=booking_body(day), headers=headers)
        receipt = await response.json()
        # The receipts folder cannot be made: the first try fails.
        blocker = tmp_path / "receipts"
        blocker.write_text("not a folder")
        paid = await client.post(
            "/api/v1/payments/sandbox/pay", json={"billing_code": receipt["billing_code"]}
        )
        assert paid.status == 200
        env = worker_env(client) | {"ANTRI_JOBS_REDIS_URL": server.url}
        log = (tmp_path / "worker.txt").open("ab")
        worker = subprocess.Popen(
            [ANTRI, "worker"], env=env, stdout=log, stderr=log, start_new_session=True
        )
        queue = _queue(server)
        job_id = f"receipt-{receipt['id']}"

        def tried_once() -> bool:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                job = Job.fetch(job_id, connection=queue.connection)
                if job.get_status() != JobStatus.QUEUED and job.get_status() != JobStatus.STARTED:
                    return True
                time.sleep(0.1)
            return False

        assert await asyncio.to_thread(tried_once)
        blocker.unlink()
        assert await asyncio.to_thread(_done_within, queue, job_id, 30), (
            tmp_path / "worker.txt"
        ).read_text()
        assert (tmp_path / "receipts" / f"{receipt['id']}.pdf").exists()
    finally:
        if worker is not None:
            _stop(worker)
        server.stop()


# -- the sandbox bank during Antri's database outage (item 9) ---------------------------------


async def test_the_sandbox_bank_passes_on_a_503_of_the_callback(make_client: AppFactory) -> None:
    """The callee answers what Antri answers while its database is away (503, Retry-After):
    the payer is told to come back, not that the bank failed (502)."""

    async def unavailable(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        body = b'{"error": "unavailable", "retry_after": "3"}'
        writer.write(
            b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
            b"Retry-After: 3\r\nConnection: close\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        await writer.drain()
        writer.close()

    callee = await asyncio.start_server(unavailable, "127.0.0.1", 0)
    try:
        port = callee.sockets[0].getsockname()[1]
        client = await make_client(changes={"public_url": f"http://127.0.0.1:{port}"}, **FAST_ROOM)
        day = (await released_days(client))[0]
        headers = await booker(client)
        made = await client.post("/api/v1/bookings", json=booking_body(day), headers=headers)
        receipt = await made.json()
        paid = await client.post(
            "/api/v1/payments/sandbox/pay", json={"billing_code": receipt["billing_code"]}
        )
        assert paid.status == 503, await paid.text()
        assert paid.headers["Retry-After"] == "3"
        assert (await paid.json())["error"] == "callback_unavailable"
    finally:
        callee.close()
        await callee.wait_closed()


async def test_the_sandbox_bank_calls_back_again_when_the_connection_drops(
    make_client: AppFactory,
) -> None:
    """The callback's connection dies without an answer (it landed on an app process that was
    killed): the bank sends the same notice once more (replay-safe), not a 502 to the payer."""
    calls = 0
    app_port = 0

    async def drops_the_first(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal calls
        calls += 1
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(next(
            line.split(b":", 1)[1] for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        ))  # fmt: skip
        body = await reader.readexactly(length)
        if calls == 1:
            writer.transport.abort()  # as a process killed mid-request
            return
        app_reader, app_writer = await asyncio.open_connection("127.0.0.1", app_port)
        app_writer.write(head + body)
        await app_writer.drain()
        writer.write(await app_reader.read())
        await writer.drain()
        writer.close()
        app_writer.close()

    callee = await asyncio.start_server(drops_the_first, "127.0.0.1", 0)
    try:
        port = callee.sockets[0].getsockname()[1]
        client = await make_client(changes={"public_url": f"http://127.0.0.1:{port}"}, **FAST_ROOM)
        app_port = client.server.port or 0
        day = (await released_days(client))[0]
        headers = await booker(client)
        made = await client.post("/api/v1/bookings", json=booking_body(day), headers=headers)
        receipt = await made.json()
        paid = await client.post(
            "/api/v1/payments/sandbox/pay", json={"billing_code": receipt["billing_code"]}
        )
        assert paid.status == 200, await paid.text()
        assert calls == 2
    finally:
        callee.close()
        await callee.wait_closed()


async def test_the_sweep_requeues_the_receipt_with_a_lost_confirmation(
    jobs_redis: RedisServer, make_client: AppFactory
) -> None:
    client = await make_client(changes={"jobs_redis_url": jobs_redis.url}, **FAST_ROOM)
    receipt = await paid_booking(client)
    queue = _queue(jobs_redis)
    queue.connection.flushall()  # the jobs were lost (a Redis that lost its tail)
    await paid_long_ago(client, receipt["id"])
    with job_context(client):
        await asyncio.to_thread(jobs.sweep)
    assert f"receipt-{receipt['id']}" in queue.job_ids
    assert f"confirm-{receipt['id']}" in queue.job_ids


async def test_the_sweep_adds_no_second_copy_of_a_job_still_waiting_in_the_queue(
    jobs_redis: RedisServer, make_client: AppFactory
) -> None:
    """A worker behind by more than the resend delay: the sweep pushed each late job again
    every 30 s, and the backlog grew with copies of jobs already waiting."""
    client = await make_client(changes={"jobs_redis_url": jobs_redis.url}, **FAST_ROOM)
    receipt = await paid_booking(client)
    queue = _queue(jobs_redis)
    assert queue.job_ids.count(f"confirm-{receipt['id']}") == 1
    with job_context(client):
        await asyncio.to_thread(jobs.sweep, 0)  # no worker ran: both jobs still wait
    assert queue.job_ids.count(f"confirm-{receipt['id']}") == 1
    assert queue.job_ids.count(f"receipt-{receipt['id']}") == 1


async def test_the_sweep_requeues_a_receipt_still_owed_after_its_confirmation_went_out(
    jobs_redis: RedisServer, make_client: AppFactory
) -> None:
    """A receipt job that failed all its retries (or was lost) while the confirmation went out
    is written later: the booking says a receipt is still owed, and the sweep re-queues it."""
    client = await make_client(changes={"jobs_redis_url": jobs_redis.url}, **FAST_ROOM)
    receipt = await paid_booking(client)
    queue = _queue(jobs_redis)
    with job_context(client):
        # The confirmation went out; the receipt's job is gone (failed for good, or lost).
        await asyncio.to_thread(jobs.send_confirmation, receipt["id"])
        queue.connection.flushall()
        await paid_long_ago(client, receipt["id"])
        await asyncio.to_thread(jobs.sweep)
        assert f"receipt-{receipt['id']}" in queue.job_ids
        assert f"confirm-{receipt['id']}" not in queue.job_ids  # it was sent: not again
        # Once written, the receipt is owed no more.
        await asyncio.to_thread(jobs.write_receipt, receipt["id"])
        queue.connection.flushall()
        await asyncio.to_thread(jobs.sweep)
        assert f"receipt-{receipt['id']}" not in queue.job_ids
