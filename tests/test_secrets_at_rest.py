"""Secrets at rest and in logs: jobs carry ids (never codes, names or addresses), files under
the data dir are their owner's only, the embedded Redis asks for a password, and the admin
token is shown once."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import time
import zlib
from pathlib import Path
from typing import Any

import redis
from aiohttp import FormData
from aiohttp.test_utils import TestClient

from api.appkeys import SETTINGS
from api.embedded import RedisServer
from api.mail import read_outbox

from .booking_support import booker, booking_body, pay, released_days
from .conftest import AppFactory, antri_process_env
from .documents_support import jpeg
from .test_accounts_and_jobs import worker_env

FAST_ROOM = {"rate_per_minute": 60000, "burst": 500, "max_active": 1000}


async def run_worker(client: TestClient) -> str:
    """`antri worker --burst --verbose` on the app's queue; everything it logged (every job)."""
    worker = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "api.cli", "worker", "--burst", "--verbose", env=worker_env(client),
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


async def registered_then_booked(
    client: TestClient, account: dict[str, str]
) -> tuple[dict[str, str], dict[str, Any]]:
    """`account` registered (its code queued for mailing), then a booking made by another
    applicant: the booker's headers and the booking's 201 body."""
    assert (await client.post("/api/v1/accounts", json=account)).status == 201
    headers = await booker(client)
    day = (await released_days(client))[0]
    made = await client.post("/api/v1/bookings", json=booking_body(day), headers=headers)
    assert made.status == 201, await made.text()
    return headers, dict(await made.json())


async def test_jobs_and_the_worker_log_carry_ids_not_secrets(
    make_client: AppFactory, redis_server: RedisServer
) -> None:
    client = await make_client(**FAST_ROOM)
    settings = client.server.app[SETTINGS]
    account = {"email": "sekar.rahasia@contoh.id", "password": "Rahasia123",
               "name": "Sekar Rahasiawati", "phone": "081298765431"}  # fmt: skip
    headers, receipt = await registered_then_booked(client, account)
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


def _loose(root: Path) -> list[str]:
    """Everything under `root` that its group or others may read, write or enter (sockets
    aside: PostgreSQL's own, inside a private folder). Run as root, the folder above
    PostgreSQL's data may be passed through (--x, never listed): PostgreSQL then runs as a
    user of its own, which must reach its data."""
    found = []
    for path in [root, *root.rglob("*")]:
        info = path.lstat()
        if stat.S_ISSOCK(info.st_mode) or stat.S_ISLNK(info.st_mode):
            continue
        passable = os.geteuid() == 0 and (path / "postgres").is_dir()
        if stat.S_IMODE(info.st_mode) & (0o066 if passable else 0o077):
            found.append(f"{path.relative_to(root)} {stat.S_IMODE(info.st_mode):o}")
    return found


async def test_files_under_the_data_dir_are_their_owners_only(make_client: AppFactory) -> None:
    client = await make_client(**FAST_ROOM)
    settings = client.server.app[SETTINGS]
    account = {"email": "dewi.berkas@contoh.id", "password": "Rahasia123",
               "name": "Dewi Berkas", "phone": "081298765439"}  # fmt: skip
    headers, receipt = await registered_then_booked(client, account)
    form = FormData()
    form.add_field("ktp", jpeg(), filename="ktp.jpg", content_type="image/jpeg")
    uploaded = await client.post(
        f"/api/v1/bookings/{receipt['id']}/documents", data=form, headers=headers
    )
    assert uploaded.status == 201, await uploaded.text()
    await pay(client, headers, receipt)
    await run_worker(client)
    data_dir = settings.data_dir
    assert (data_dir / "receipts" / f"{receipt['id']}.pdf").exists()
    assert list(settings.outbox.glob("*.eml")) and list(settings.documents_dir.rglob("ktp-*"))
    assert _loose(data_dir) == []


def _free_port() -> int:
    """A free port of this suite's own range (18300-18399)."""
    for port in range(18300, 18400):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 18300-18399")


class Up:
    """`antri up` in a process group of its own, its output collected."""

    def __init__(self, data_dir: Path) -> None:
        self.port = _free_port()
        env = antri_process_env(ANTRI_DATA_DIR=str(data_dir), PYTHONUNBUFFERED="1")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "up", "--port", str(self.port)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        self.output = ""

    def wait_up(self, timeout: float = 180) -> str:
        """The output until the app says it is up (its last line names the admin token)."""
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout
        while "Admin token" not in self.output:
            assert time.monotonic() < deadline, self.output
            line = self.process.stdout.readline()
            assert line, f"antri up exited:\n{self.output}"
            self.output += line.decode()
        return self.output

    def stop(self) -> str:
        """Stop it as an operator would (Ctrl-C); everything it printed."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                rest, _ = self.process.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                rest, _ = self.process.communicate()
            self.output += rest.decode()
        return self.output


def test_antri_up_locks_its_redis_keeps_its_files_private_and_shows_the_token_once(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "var"
    first = Up(data_dir)
    try:
        printed = first.wait_up()
        found = re.search(r"redis://127\.0\.0\.1:(\d+)/0", printed)
        assert found is not None, printed
        redis_port = int(found.group(1))
        with socket.create_connection(("127.0.0.1", redis_port), timeout=5) as sock:
            sock.sendall(b"PING\r\n")
            assert sock.recv(64).startswith(b"-NOAUTH"), "the embedded Redis has no password"
        password = (data_dir / "redis-password").read_text().strip()
        client = redis.Redis(port=redis_port, password=password)
        assert client.ping()
        client.close()
        token = (data_dir / "admin-token").read_text().strip()
        assert token in printed, "the new admin token is shown at its first start"
        assert _loose(data_dir) == []
        assert (data_dir / "redis" / "appendonlydir").exists() or list(
            (data_dir / "redis").glob("*.aof")
        )
    finally:
        output = first.stop()
    assert password not in output, "the Redis password is never printed"
    second = Up(data_dir)
    try:
        printed = second.wait_up()
    finally:
        output = second.stop()
    assert token not in output, "the admin token is printed at a later start"
    assert f"Admin token: in {data_dir / 'admin-token'}" in printed
    assert password not in output
    assert _loose(data_dir) == []
