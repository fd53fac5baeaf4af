"""Accounts over HTTP (register, verify by the e-mailed code, login limits) and the RQ jobs run
by a real worker: verification mail, confirmation mail with the PDF, expiry, the sweeper."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import redis
from aiohttp.test_utils import TestClient
from argon2 import PasswordHasher
from rq import Queue
from rq.job import Job

from api import jobs
from api.appkeys import SETTINGS
from api.mail import read_outbox

from .booking_support import (
    assert_invariants,
    booked,
    booker,
    booking_body,
    new_turn,
    pay,
    pool,
    released_days,
)
from .conftest import AppFactory

FAST_ROOM = {"rate_per_minute": 60000, "burst": 500, "max_active": 1000}


async def run_jobs(client: TestClient) -> None:
    """Run every queued job (and every scheduled one now due) in a real worker process:
    `antri worker --burst`, with the app's settings in its environment."""
    worker = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "api.cli", "worker", "--burst", env=worker_env(client),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, errors = await asyncio.wait_for(worker.communicate(), 60)
    assert worker.returncode == 0, errors.decode()[-2000:]


def worker_env(client: TestClient) -> dict[str, str]:
    """The environment of a worker process with the app's settings."""
    settings = client.server.app[SETTINGS]
    return os.environ | {
        "ANTRI_REDIS_URL": settings.redis_url or "",
        "ANTRI_DATABASE_URL": settings.database_url or "",
        "ANTRI_DATA_DIR": str(settings.data_dir),
        "ANTRI_SECRET": settings.secret.decode(),
        "ANTRI_DATA_KEY": settings.data_key.decode(),
        "ANTRI_PAYMENT_SECRET": settings.payment_secret.decode(),
        "ANTRI_ADMIN_TOKEN": settings.admin_token,
    }


def outbox(client: TestClient) -> Path:
    return client.server.app[SETTINGS].outbox


async def test_register_verify_login_logout(make_client: AppFactory) -> None:
    client = await make_client(**FAST_ROOM)
    account = {"email": "siti@contoh.id", "password": "Rahasia123", "name": "Siti Aminah",
               "phone": "081298765432"}  # fmt: skip
    created = await client.post("/api/v1/accounts", json=account)
    assert created.status == 201, await created.text()
    taken = await client.post("/api/v1/accounts", json=account | {"email": "SITI@contoh.id"})
    assert taken.status == 409
    weak = await client.post("/api/v1/accounts", json=account | {"password": "lemah", "x": 1})
    assert weak.status == 422
    assert set((await weak.json())["fields"]) == {"password", "x"}
    login = {"email": account["email"], "password": account["password"]}
    unverified = await client.post("/api/v1/login", json=login)
    assert unverified.status == 403
    await run_jobs(client)
    mails = [m for m in read_outbox(outbox(client)) if m.to == account["email"]]
    assert len(mails) == 1
    code = re.search(r"\b(\d{6})\b", mails[0].subject)
    assert code is not None
    wrong = await client.post(
        "/api/v1/accounts/verify", json={"email": account["email"], "code": "000000"}
    )
    assert wrong.status == 422
    verified = await client.post(
        "/api/v1/accounts/verify", json={"email": account["email"], "code": code.group(1)}
    )
    assert verified.status == 200
    # A hash made with older, heavier parameters is replaced at the next login.
    await pool(client).execute(
        "UPDATE accounts SET password_hash = $2 WHERE email = $1",
        account["email"],
        PasswordHasher(time_cost=3, memory_cost=65536, parallelism=4).hash(account["password"]),
    )
    session = await client.post("/api/v1/login", json=login)
    assert session.status == 200
    stored = await pool(client).fetchval(
        "SELECT password_hash FROM accounts WHERE email = $1", account["email"]
    )
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    token = (await session.json())["session_token"]
    assert "antri_session" in {c.key for c in client.session.cookie_jar}
    mine = await client.get("/api/v1/bookings")
    assert mine.status == 200, "the cookie is a session"
    assert (await client.post("/api/v1/logout")).status == 200
    gone = await client.get("/api/v1/bookings", headers={"X-Session-Token": token})
    assert gone.status == 401


async def test_a_new_code_can_be_asked_for_once_a_minute(make_client: AppFactory) -> None:
    client = await make_client(**FAST_ROOM)
    account = {"email": "rina@contoh.id", "password": "Rahasia123", "name": "Rina Wati",
               "phone": "081298765433"}  # fmt: skip
    assert (await client.post("/api/v1/accounts", json=account)).status == 201
    # The job reads the account's current code when it runs (it carries only the id), so the
    # first mail goes out before the code is replaced.
    await run_jobs(client)
    resend = "/api/v1/accounts/verify/resend"
    unknown = await client.post(resend, json={"email": "siapa@contoh.id"})
    assert unknown.status == 202, "an unknown address looks the same"
    again = await client.post(resend, json={"email": account["email"]})
    assert again.status == 202
    too_soon = await client.post(resend, json={"email": account["email"]})
    assert too_soon.status == 429 and int(too_soon.headers["Retry-After"]) > 0
    await run_jobs(client)
    codes = [
        re.search(r"\b(\d{6})\b", m.subject).group(1)  # type: ignore[union-attr]
        for m in read_outbox(outbox(client))
        if m.to == account["email"]
    ]
    assert len(codes) == 2
    # Only the newest code verifies: the first was replaced.
    newest, first = codes  # newest first
    if newest != first:
        stale = await client.post(
            "/api/v1/accounts/verify", json={"email": account["email"], "code": first}
        )
        assert stale.status == 422
    verified = await client.post(
        "/api/v1/accounts/verify", json={"email": account["email"], "code": newest}
    )
    assert verified.status == 200


async def test_login_failures_are_limited(make_client: AppFactory) -> None:
    client = await make_client(**FAST_ROOM)
    account = {"email": "joko@contoh.id", "password": "Rahasia123", "name": "Joko Widodo",
               "phone": "081298765431"}  # fmt: skip
    assert (await client.post("/api/v1/accounts", json=account)).status == 201
    statuses = []
    for _ in range(7):
        response = await client.post(
            "/api/v1/login", json={"email": account["email"], "password": "Salah12345"}
        )
        statuses.append(response.status)
    assert statuses[:5] == [401] * 5 and statuses[5:] == [429, 429]
    assert int(response.headers["Retry-After"]) > 0
    # Even the right password waits out the lock.
    right = await client.post(
        "/api/v1/login", json={"email": account["email"], "password": account["password"]}
    )
    assert right.status == 429


async def test_payment_mails_the_proof_once(make_client: AppFactory) -> None:
    client = await make_client(**FAST_ROOM)
    day = (await released_days(client))[0]
    headers = await booker(client)
    receipt = await (
        await client.post("/api/v1/bookings", json=booking_body(day), headers=headers)
    ).json()
    await pay(client, headers, receipt)
    await run_jobs(client)
    await run_jobs(client)  # at-least-once: a job run twice must not mail twice
    mails = [m for m in read_outbox(outbox(client)) if "Bukti pendaftaran" in m.subject]
    assert len(mails) == 1
    raw = next(outbox(client).glob(f"confirmed-{receipt['id']}.eml")).read_bytes()
    assert b"application/pdf" in raw
    receipt_pdf = client.server.app[SETTINGS].data_dir / "receipts" / f"{receipt['id']}.pdf"
    assert receipt_pdf.read_bytes().startswith(b"%PDF")
    notified = await pool(client).fetchval("SELECT notified_at FROM bookings")
    assert notified is not None


async def test_the_scheduled_expiry_job_gives_the_place_back(make_client: AppFactory) -> None:
    client = await make_client(
        changes={"payment_window_seconds": 1, "sweep_seconds": 3600}, **FAST_ROOM
    )
    day = (await released_days(client))[0]
    headers = await booker(client)
    created = await client.post("/api/v1/bookings", json=booking_body(day), headers=headers)
    assert created.status == 201
    assert await booked(client, day) == 1
    await asyncio.sleep(1.5)
    await run_jobs(client)
    assert await booked(client, day) == 0
    assert await pool(client).fetchval("SELECT status FROM bookings") == "expired"
    await assert_invariants(client)


async def test_the_sweep_job_covers_lost_jobs(make_client: AppFactory) -> None:
    client = await make_client(
        changes={"payment_window_seconds": 1, "sweep_seconds": 3600}, **FAST_ROOM
    )
    day = (await released_days(client))[0]
    headers = await booker(client)
    created = await client.post("/api/v1/bookings", json=booking_body(day), headers=headers)
    assert created.status == 201
    settings = client.server.app[SETTINGS]
    # The expiry job is lost (say, a worker died with it): only the sweeper is left.
    connection = redis.Redis.from_url(settings.redis_url or "")
    registry = Queue(jobs.QUEUE_NAME, connection=connection).scheduled_job_registry
    expiries = [j for j in registry.get_job_ids() if j.startswith("expire-")]
    assert expiries, "an expiry job was scheduled"
    for job_id in expiries:
        Job.fetch(job_id, connection=connection).delete()
    await asyncio.sleep(1.2)
    jobs.configure(settings)
    result = await asyncio.to_thread(jobs.sweep)
    assert result["expired"] == 1
    assert await booked(client, day) == 0
    scheduled = Queue(jobs.QUEUE_NAME, connection=redis.Redis.from_url(settings.redis_url or ""))
    registry = scheduled.scheduled_job_registry
    assert "antri-sweep" in registry.get_job_ids(), "the next sweep is scheduled"
    due = registry.get_scheduled_time("antri-sweep")
    assert due <= datetime.now(UTC) + jobs.SWEEP_EVERY + timedelta(seconds=5)


async def test_a_worker_killed_mid_job_loses_no_mail_and_sends_none_twice(
    make_client: AppFactory,
) -> None:
    client = await make_client(**FAST_ROOM)
    days = await released_days(client)
    headers = await booker(client)
    paid = []
    for n in range(5):
        receipt = await (
            await client.post("/api/v1/bookings", json=booking_body(days[n % 3]), headers=headers)
        ).json()
        await pay(client, headers, receipt)
        paid.append(receipt["id"])
        headers = await new_turn(client, headers)  # a turn makes one booking
    settings = client.server.app[SETTINGS]
    # One job is lost outright (as when a worker dies between taking a job and starting it).
    connection = redis.Redis.from_url(settings.redis_url or "")
    Job.fetch(f"confirm-{paid[-1]}", connection=connection).delete()
    # A worker starts on the queue and is killed (SIGKILL, with the job it forked) as soon as
    # the first confirmation went out.
    worker = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "api.cli", "worker", env=worker_env(client),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while not list(outbox(client).glob("confirmed-*.eml")):
        assert time.monotonic() < deadline, "the worker sent nothing"
        await asyncio.sleep(0.05)
    os.killpg(worker.pid, signal.SIGKILL)
    await worker.wait()
    # The sweeper re-queues what was not sent; a new worker runs it.
    jobs.configure(settings)
    await asyncio.to_thread(jobs.sweep, 0)
    await run_jobs(client)
    sent = sorted(p.name for p in outbox(client).glob("confirmed-*.eml"))
    assert sent == sorted(f"confirmed-{booking_id}.eml" for booking_id in paid)
    unnotified = await pool(client).fetchval(
        "SELECT count(*) FROM bookings WHERE notified_at IS NULL"
    )
    assert unnotified == 0
