"""The sandbox bank: off unless asked for, its callback only where the configuration says, and
the payer told what the database recorded (never what the callee answered)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestClient

from api.settings import Settings, SettingsError

from .booking_support import booker, booking_body, pool, released_days
from .conftest import AppFactory

FAST_ROOM = {"rate_per_minute": 60000, "burst": 500, "max_active": 1000}


class Impostor:
    """A loopback HTTP listener that says every payment was confirmed, and counts who called."""

    def __init__(self) -> None:
        self.connections = 0
        self.port = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> Impostor:
        self._server = await asyncio.start_server(self._answer, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        await reader.readuntil(b"\r\n\r\n")
        body = orjson.dumps(
            {"status": "confirmed", "booking_id": "x", "booking_code": "PALSU", "replayed": False}
        )
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        await writer.drain()
        writer.close()

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()


@pytest.fixture
async def impostor() -> AsyncIterator[Impostor]:
    listener = await Impostor().start()
    yield listener
    await listener.stop()


async def _new_booking(
    make_client: AppFactory, **changes: object
) -> tuple[TestClient, dict[str, Any]]:
    """A client of a fresh app (with `changes` to its settings) and a new unpaid booking."""
    client = await make_client(changes=changes or None, **FAST_ROOM)
    days = await released_days(client)
    headers = await booker(client)
    made = await client.post("/api/v1/bookings", json=booking_body(days[0]), headers=headers)
    assert made.status == 201, await made.text()
    return client, dict(await made.json())


async def test_a_foreign_host_header_does_not_receive_the_callback(
    make_client: AppFactory, impostor: Impostor, caplog: pytest.LogCaptureFixture
) -> None:
    client, receipt = await _new_booking(make_client)
    caplog.set_level(logging.INFO, logger="api.sandbox_bank")
    paid = await client.post(
        "/api/v1/payments/sandbox/pay",
        json={"billing_code": receipt["billing_code"]},
        headers={"Host": f"127.0.0.1:{impostor.port}"},
    )
    assert impostor.connections == 0, "the callback went where the Host header pointed"
    assert paid.status == 200, await paid.text()
    body = await paid.json()
    row = await pool(client).fetchrow(
        "SELECT status, booking_code FROM bookings WHERE id = $1", receipt["id"]
    )
    assert row["status"] == "confirmed"
    assert body["booking_code"] == row["booking_code"] != "PALSU"
    logged = [r.getMessage() for r in caplog.records if r.name == "api.sandbox_bank"]
    assert len(logged) == 1 and "recorded" in logged[0], logged
    assert receipt["billing_code"] not in logged[0], "no billing code in the log"


async def test_the_payer_is_told_what_was_recorded_not_what_the_callee_said(
    make_client: AppFactory, impostor: Impostor, caplog: pytest.LogCaptureFixture
) -> None:
    # A callback target that answers "confirmed" while recording nothing (a wrong or hostile
    # ANTRI_PUBLIC_URL): the payer must not be told "paid".
    client, receipt = await _new_booking(
        make_client, public_url=f"http://127.0.0.1:{impostor.port}"
    )
    caplog.set_level(logging.INFO, logger="api.sandbox_bank")
    paid = await client.post(
        "/api/v1/payments/sandbox/pay", json={"billing_code": receipt["billing_code"]}
    )
    assert impostor.connections == 1
    assert paid.status == 502, await paid.text()
    assert (await paid.json())["error"] == "callback_failed"
    status = await pool(client).fetchval("SELECT status FROM bookings WHERE id = $1", receipt["id"])
    assert status == "awaiting_payment"
    logged = [r.getMessage() for r in caplog.records if r.name == "api.sandbox_bank"]
    assert any("NOT recorded" in line for line in logged), logged


async def test_a_code_paid_already_is_refused_as_the_database_says(
    make_client: AppFactory,
) -> None:
    client, receipt = await _new_booking(make_client)
    first = await client.post(
        "/api/v1/payments/sandbox/pay", json={"billing_code": receipt["billing_code"]}
    )
    assert first.status == 200
    again = await client.post(
        "/api/v1/payments/sandbox/pay", json={"billing_code": receipt["billing_code"]}
    )
    assert again.status == 409
    assert (await again.json())["error"] == "already_paid"


async def test_the_sandbox_bank_is_off_unless_asked_for(
    make_client: AppFactory, tmp_path: Path
) -> None:
    assert Settings.from_env({"ANTRI_DATA_DIR": str(tmp_path)}).sandbox_payments is False
    client = await make_client(changes={"sandbox_payments": False})
    refused = await client.post(
        "/api/v1/payments/sandbox/pay", json={"billing_code": "123456789012345"}
    )
    assert refused.status == 404
    assert (await client.get("/bank")).status == 404


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1", True), ("TRUE", True), ("yes", True), ("On", True), ("0", False), ("false", False),
     ("No", False), ("off", False), ("", False)],
)  # fmt: skip
def test_yes_no_settings_take_the_usual_spellings(tmp_path: Path, raw: str, expected: bool) -> None:
    env = {"ANTRI_DATA_DIR": str(tmp_path), "ANTRI_SANDBOX_PAYMENTS": raw}
    assert Settings.from_env(env).sandbox_payments is expected


@pytest.mark.parametrize("raw", ["ture", "2", "enabled", "y e s"])
def test_a_yes_no_setting_that_is_neither_is_refused_by_name(tmp_path: Path, raw: str) -> None:
    for name in ("ANTRI_SANDBOX_PAYMENTS", "ANTRI_COOKIE_SECURE", "ANTRI_REDIS_CLUSTER"):
        with pytest.raises(SettingsError, match=name):
            Settings.from_env({"ANTRI_DATA_DIR": str(tmp_path), name: raw})
