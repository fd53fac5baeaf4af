"""The booking benchmark's client: many concurrent clients in a process of their own.

Run as `python -m bench.bookers SPEC RESULT` (JSON files, see `Spec` and `Tally.result`).
Mode `book`: each client books into a random slot among those it has not yet heard are full,
moving to another slot on `409 slot_full`, until every slot is full. A turn makes one booking,
and an admission belongs to its holder: each booking uses an admission of its own (its token
and the ticket it was claimed with) and an account of its own, which the first request binds.
Mode `hello`: each client POSTs a body of the same size to the hello-world baseline for a fixed
time. Every client first
opens its connection (one GET), so the timed part runs on warm keep-alive connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from .applicants import booking_body

#: give up when this many answers were neither 201 nor `409 slot_full` (a broken setup)
MAX_UNEXPECTED = 200


@dataclass(frozen=True, slots=True)
class Spec:
    """What one client process does (read from the SPEC file)."""

    mode: str  #: "book" or "hello"
    url: str  #: where the POSTs go
    warm_url: str  #: a cheap GET that opens each client's connection
    clients: int
    seconds: float = 0.0  #: hello: how long to run
    #: book: [admission token, its ticket] of one turn each, as many as `sessions`
    turns: list[list[str]] = field(default_factory=list)
    sessions: list[str] = field(default_factory=list)  #: book: login session tokens
    slots: list[list[str]] = field(default_factory=list)  #: book: [date, session_id] pairs
    first_applicant: int = 0  #: book: NIKs are numbered from here


@dataclass(slots=True)
class Tally:
    """What the clients saw."""

    started: float = 0.0
    #: this process's CPU time (user + system) when the timed part started
    cpu_started: float = 0.0
    cpu_ended: float = 0.0
    last_ok: float = 0.0
    ended: float = 0.0
    ok: int = 0
    unexpected: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)

    def note(self, status: int, error: str | None, started: float, now: float) -> None:
        """Count one answer."""
        self.latencies_ms.append((now - started) * 1000)
        self.statuses[str(status)] = self.statuses.get(str(status), 0) + 1
        if error is not None:
            self.errors[error] = self.errors.get(error, 0) + 1
        if 200 <= status < 300:
            self.ok += 1
            self.last_ok = now

    def result(self) -> dict[str, Any]:
        """The RESULT file's content; times in seconds from the start of the timed part."""
        return {
            "requests": len(self.latencies_ms),
            "ok": self.ok,
            "seconds": self.ended - self.started,
            "ok_seconds": max(0.0, self.last_ok - self.started),
            "latencies_ms": self.latencies_ms,
            "statuses": self.statuses,
            "errors": self.errors,
            "cpu_seconds": self.cpu_ended - self.cpu_started,
        }


class Booking:
    """The shared state of the booking clients: open slots, the next NIK, unused turns (each
    with an account of its own)."""

    def __init__(self, spec: Spec, tally: Tally) -> None:
        self.spec = spec
        self.tally = tally
        self.open = [tuple(slot) for slot in spec.slots]
        self.applicants = iter(range(spec.first_applicant, sys.maxsize))
        self.turns: Iterator[dict[str, str]] = (
            {
                "Authorization": f"Bearer {token}",
                "X-Antri-Ticket": ticket,
                "X-Session-Token": login,
                "Content-Type": "application/json",
            }
            for (token, ticket), login in zip(spec.turns, spec.sessions, strict=True)
        )

    @property
    def done(self) -> bool:
        """True when every slot is full or the setup is broken."""
        return not self.open or self.tally.unexpected >= MAX_UNEXPECTED

    async def client(self, session: aiohttp.ClientSession) -> None:
        """One client: book until every slot is full, a turn (and its account) at a time."""
        headers = next(self.turns, None)
        while headers is not None and not self.done:
            slot = random.choice(self.open)
            body = booking_body(slot[0], slot[1], next(self.applicants))
            started = time.perf_counter()
            async with session.post(self.spec.url, data=body, headers=headers) as response:
                answer = await response.read()
            error = None if response.status == 201 else _error_code(answer)
            self.tally.note(response.status, error, started, time.perf_counter())
            if response.status == 201:
                headers = next(self.turns, None)  # the booking ended the turn
            elif error == "slot_full":
                with contextlib.suppress(ValueError):
                    self.open.remove(slot)  # the turn stays: on to another slot
            else:
                self.tally.unexpected += 1
        if headers is None:
            self.tally.errors["(ran out of turns)"] = 1


def _error_code(answer: bytes) -> str:
    try:
        return str(json.loads(answer).get("error", "?"))
    except (ValueError, AttributeError):
        return "(not JSON)"


async def _hello_client(session: aiohttp.ClientSession, spec: Spec, tally: Tally) -> None:
    body = booking_body("2030-01-02", "s1", spec.first_applicant)
    headers = {"Content-Type": "application/json"}
    deadline = tally.started + spec.seconds
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        async with session.post(spec.url, data=body, headers=headers) as response:
            await response.read()
        tally.note(response.status, None, started, time.perf_counter())


async def _warm(session: aiohttp.ClientSession, url: str) -> None:
    async with session.get(url) as response:
        await response.read()


async def run(spec: Spec) -> Tally:
    """Warm every client's connection, then run the timed part."""
    tally = Tally()
    connector = aiohttp.TCPConnector(limit=spec.clients, force_close=False)
    async with aiohttp.ClientSession(
        connector=connector, cookie_jar=aiohttp.DummyCookieJar()
    ) as session:
        await asyncio.gather(*(_warm(session, spec.warm_url) for _ in range(spec.clients)))
        tally.started, tally.cpu_started = time.perf_counter(), time.process_time()
        if spec.mode == "book":
            booking = Booking(spec, tally)
            clients = [booking.client(session) for _ in range(spec.clients)]
        else:
            clients = [_hello_client(session, spec, tally) for _ in range(spec.clients)]
        await asyncio.gather(*clients)
        tally.ended, tally.cpu_ended = time.perf_counter(), time.process_time()
    return tally


def main() -> None:
    """Read SPEC, run, write RESULT."""
    spec_path, result_path = Path(sys.argv[1]), Path(sys.argv[2])
    spec = Spec(**json.loads(spec_path.read_text()))
    with contextlib.suppress(ImportError):
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    tally = asyncio.run(run(spec))
    result_path.write_text(json.dumps(tally.result()))


if __name__ == "__main__":
    main()
