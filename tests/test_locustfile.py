"""The locustfile behaves like Locust: a short headless run honours `-u` and `-t`, and against
an instance without test accounts it runs the waiting room alone, without failures, and says
once why booking is skipped."""

from __future__ import annotations

import asyncio
import csv
import importlib.util
import os
import sys
import time
from pathlib import Path

import pytest

from api.appkeys import SETTINGS

from .conftest import AppFactory

ROOT = Path(__file__).resolve().parent.parent
# Locust is the `load` extra; never imported here (it monkey-patches the standard library).
pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("locust") is None, reason="Locust is not installed (make load)"
)


async def test_headless_run_honours_users_and_time(make_client: AppFactory, tmp_path: Path) -> None:
    client = await make_client(rate_per_minute=60000, burst=500, max_active=1000)
    host = str(client.make_url("")).rstrip("/")
    env = os.environ | {
        "LOAD_ROOM": client.server.app[SETTINGS].guard_room,
        "LOAD_FORM_MIN_SECONDS": "0.5",
        "LOAD_FORM_MAX_SECONDS": "1",
    }
    started = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "locust", "-f", str(ROOT / "loadtests" / "locustfile.py"),
        "--headless", "-u", "7", "-r", "7", "-t", "6s", "--host", host,
        "--csv", str(tmp_path / "run"), "--csv-full-history", "--only-summary",
        "--stop-timeout", "5", "--exit-code-on-error", "1",
        cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await asyncio.wait_for(process.communicate(), 60)
    took = time.monotonic() - started
    text = output.decode(errors="replace")
    assert process.returncode == 0, text  # 1 would mean a failed request
    assert took < 6 + 5 + 20, text  # -t 6s, the stop timeout, Locust's start (loaded machine)
    with (tmp_path / "run_stats_history.csv").open() as f:
        users = {int(row["User Count"]) for row in csv.DictReader(f)}
    assert max(users) == 7, users
    with (tmp_path / "run_stats.csv").open() as f:
        rows = {row["Name"]: row for row in csv.DictReader(f)}
    assert int(rows["Aggregated"]["Failure Count"]) == 0
    assert int(rows["/api/v1/session/release"]["Request Count"]) > 0  # admitted, then left
    assert "/api/v1/bookings" not in rows
    assert text.count("booking skipped") == 1, text
