"""Secrets at rest and in logs: jobs carry ids (never codes, names or addresses), files under
the data dir are their owner's only, the embedded Redis asks for a password, and the admin
token is shown once."""

from __future__ import annotations

import asyncio
import contextlib
import re
import sys
import zlib

import redis
from aiohttp.test_utils import TestClient

from api.appkeys import SETTINGS
from api.embedded import RedisServer
from api.mail import read_outbox

from .booking_support import booker, booking_body, pay, released_days
from .conftest import AppFactory
from .test_accounts_and_jobs import worker_env

FAST_ROOM = {"rate_per_minute": 60000, "burst": 500, "max_active": 1000}


async def run_worker(client: TestClient) -> str:
    """`antri worker --burst` on the app's queue; everything it logged."""
    worker = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "api.cli", "worker", "--burst", env=worker_env(client),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await asyncio.wait_for(worker.communicate(), 60)
    assert worker.returncode == 0, output.decode()[-2000:]
    return output.decode()


def queued_jobs_text(url: str) -> str:
    """Every RQ job hash in Redis, its fields as text (the pickled call decompressed)."""
    connection = redis.Redis.from_url(url)
    try:
        parts = []
        for key in connection.scan_iter("rq:job:*"):
            if connection.type(key) != b"hash":
                continue
            for field, value in connection.hgetall(key).items():
                if field == b"data":
                    with contextlib.suppress(zlib.error):
                        value = zlib.decompress(value)
                parts.append(value.decode("utf-8", "replace"))
        return "\n".join(parts)
    finally:
        connection.close()


async def test_jobs_and_the_worker_log_carry_ids_not_secrets(
    make_client: AppFactory, redis_server: RedisServer
) -> None:
    client = await make_client(**FAST_ROOM)
    settings = client.server.app[SETTINGS]
    account = {"email": "sekar.rahasia@contoh.id", "password": "Rahasia123",
               "name": "Sekar Rahasiawati", "phone": "081298765431"}  # fmt: skip
    assert (await client.post("/api/v1/accounts", json=account)).status == 201
    headers = await booker(client)
    day = (await released_days(client))[0]
    receipt = await (
        await client.post("/api/v1/bookings", json=booking_body(day), headers=headers)
    ).json()
    booking_code = (await pay(client, headers, receipt))["booking_code"]
    assert booking_code
    queued = queued_jobs_text(settings.redis_url or "")
    assert "send_verification" in queued and "send_confirmation" in queued
    logged = await run_worker(client)
    assert "send_verification" in logged, "the worker logs its jobs"
    mails = [m for m in read_outbox(settings.outbox) if m.to == account["email"]]
    assert len(mails) == 1, "the mail still goes out"
    found = re.search(r"\b(\d{6})\b", mails[0].subject)
    assert found is not None
    code = found.group(1)
    after = queued_jobs_text(settings.redis_url or "")
    for secret in (code, account["email"], account["name"], booking_code, receipt["billing_code"]):
        assert secret not in queued, f"{secret!r} in a queued job"
        assert secret not in after, f"{secret!r} in a job hash after the run"
        assert secret not in logged, f"{secret!r} in the worker's log"
    verified = await client.post(
        "/api/v1/accounts/verify", json={"email": account["email"], "code": code}
    )
    assert verified.status == 200, "the mailed code is the account's code"
    # Nor in the Redis append-only file (what a copy of the data folder would show).
    aof = b"".join(p.read_bytes() for p in redis_server.directory.rglob("*.aof*") if p.is_file())
    for secret in (account["email"], account["name"], booking_code):
        assert secret.encode() not in aof, f"{secret!r} in Redis's AOF"
