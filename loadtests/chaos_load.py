"""The chaos run's booking load: applicants that join the line, log in, book, pay at the sandbox
bank and cancel, again and again, and write down every answer they get.

Every request is recorded (when it ended, what it was, its status; 0 when no answer came), and
every acknowledged write goes into the client-side ledger: a booking answered 201, a payment
answered 200, a cancellation answered 200. After the run the ledger is held against the
database (`chaos.py`): an acknowledged write that the database does not show is a lost one.

A refused or unanswered write is tried again, as a careful client would: a booking with the
same Idempotency-Key, a payment with the same billing code, a cancellation as it is (each is
idempotent on the server). A write that was never acknowledged is "uncertain": the database may
hold it or not, and neither is a broken promise.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from testkit.people import person

from .applicants import booking_body, open_places

TICKET_HEADER = "X-Antri-Ticket"
#: the people booked for, numbered (a fresh database each run: no NIK is booked twice)
_people = itertools.count()
#: a booking is paid this often, and a booking (paid or not) cancelled this often
PAY_SHARE = 0.6
CANCEL_SHARE = 0.4
#: an account applies for at most 5 people at a time: a client moves to a fresh account after
#: this many bookings
BOOKINGS_PER_ACCOUNT = 4
#: a client registers a new account (as a newcomer would) this often when it changes account;
#: it books with a ready-made one (the verification code goes out by e-mail)
REGISTER_SHARE = 0.25
#: tries of one write before the client gives up on it (it stays uncertain)
WRITE_TRIES = 40
#: marks a 503 that came without Retry-After
NO_RETRY_AFTER = " (no Retry-After)"
#: the longest pause between tries, whatever Retry-After says
MAX_PAUSE = 2.0


@dataclass(slots=True)
class Request:
    """One request: when it ended (time.time()), its name, its status (0: no answer)."""

    at: float
    name: str
    status: int
    error: str = ""


@dataclass(slots=True)
class Ledger:
    """What the clients were told: every request, and the writes that were acknowledged."""

    requests: list[Request] = field(default_factory=list)
    #: booking id -> when its 201 came
    booked: dict[str, float] = field(default_factory=dict)
    #: booking id -> when its payment's 200 came
    paid: dict[str, float] = field(default_factory=dict)
    #: booking id -> when its cancellation's 200 came
    cancelled: dict[str, float] = field(default_factory=dict)
    #: e-mail address -> when its registration's 201 came
    registered: dict[str, float] = field(default_factory=dict)
    #: booking ids whose payment or cancellation was sent but never acknowledged
    uncertain: set[str] = field(default_factory=set)
    #: login sessions acknowledged (200) and later refused (401): when the refusal came
    sessions_lost: list[float] = field(default_factory=list)
    logins: list[float] = field(default_factory=list)
    #: admitted turns refused at the booking (401 admission_required): when
    turns_lost: list[float] = field(default_factory=list)
    #: bookings sent without any answer at the end (their Idempotency-Key never answered)
    unanswered_bookings: int = 0

    def note(self, name: str, status: int, error: str = "") -> None:
        self.requests.append(Request(time.time(), name, status, error))

    def as_json(self) -> dict[str, Any]:
        return {
            "booked": self.booked,
            "paid": self.paid,
            "cancelled": self.cancelled,
            "registered": self.registered,
            "uncertain": sorted(self.uncertain),
            "sessions_lost": self.sessions_lost,
            "logins": len(self.logins),
            "turns_lost": self.turns_lost,
            "unanswered_bookings": self.unanswered_bookings,
        }


class Answer:
    """A response read whole (status 0: none came)."""

    def __init__(self, status: int, body: Any = None, retry_after: float | None = None) -> None:
        self.status = status
        self.body = body
        self.retry_after = retry_after

    @property
    def error(self) -> str:
        return str(self.body.get("error", "")) if isinstance(self.body, dict) else ""


class Stop(Exception):
    """The run is over: the client stops where it is."""


class Applicant:
    """One client: its own loopback address, accounts `<prefix><n>@antri.test` in turn."""

    def __init__(
        self,
        n: int,
        base_url: str,
        room: str,
        offices: list[str],
        accounts: Callable[[], int],
        prefix: str,
        password: str,
        ledger: Ledger,
        stopping: asyncio.Event,
    ) -> None:
        self.n = n
        self.base_url = base_url
        self.room = room
        self.office = offices[n % len(offices)]
        self.next_account = accounts
        self.prefix = prefix
        self.password = password
        self.ledger = ledger
        self.stopping = stopping
        self.address = f"127.0.{n // 250 + 1}.{n % 250 + 2}"
        self.login_token: str | None = None
        self.account_bookings = 0

    async def run(self) -> None:
        connector = aiohttp.TCPConnector(local_addr=(self.address, 0), limit=4)
        timeout = aiohttp.ClientTimeout(total=15, connect=5)
        async with aiohttp.ClientSession(
            connector=connector, timeout=timeout, cookie_jar=aiohttp.DummyCookieJar()
        ) as self.http:
            with contextlib.suppress(Stop):
                while True:
                    await self.one_booking()

    # -- the steps ---------------------------------------------------------------------------

    async def one_booking(self) -> None:
        """Take a turn, book a place with it, maybe pay, maybe cancel."""
        if self.login_token is None or self.account_bookings >= BOOKINGS_PER_ACCOUNT:
            if random.random() < REGISTER_SHARE:
                await self.register()
            await self.login()
        gate = await self.turn()
        booking = await self.book(gate)
        if booking is None:
            return
        self.account_bookings += 1
        booking_id = booking["id"]
        if random.random() < PAY_SHARE:
            await self.pay(booking_id, booking["billing_code"])
        if random.random() < CANCEL_SHARE:
            await self.cancel(booking_id)
        await self.pause(random.uniform(0.0, 0.5))

    async def login(self) -> None:
        """Log in with the next unused account (a client never shares one)."""
        account = self.next_account()
        body = {"email": f"{self.prefix}{account}@antri.test", "password": self.password}
        for _ in range(WRITE_TRIES):
            answer = await self.call("POST", "/api/v1/login", "login", json=body)
            if answer.status == 200 and isinstance(answer.body, dict):
                self.login_token = str(answer.body["session_token"])
                self.account_bookings = 0
                self.ledger.logins.append(time.time())
                return
            await self.backoff(answer)
        raise Stop

    async def register(self) -> None:
        """Register a new account until acknowledged (the address is this client's own: a
        409 `email_taken` says an earlier try without an answer made it)."""
        email = f"{self.prefix}daftar-{uuid.uuid4().hex[:12]}@antri.test"
        body = {"email": email, "password": "Kursi-Panjang-Biru-2026", "name": "Sri Mulyani",
                "phone": "081298765432"}  # fmt: skip
        for _ in range(WRITE_TRIES):
            answer = await self.call("POST", "/api/v1/accounts", "register", json=body)
            if answer.status == 201 or answer.error == "email_taken":
                self.ledger.registered[email] = time.time()
                return
            await self.backoff(answer)

    async def turn(self) -> dict[str, str]:
        """Join the line and poll until admitted: the admission's headers."""
        while True:
            answer = await self.call("POST", f"/api/v1/rooms/{self.room}/join", "join")
            if answer.status != 200:
                await self.backoff(answer)
                continue
            body = answer.body
            ticket = {TICKET_HEADER: str(body["ticket"])}
            for _ in range(200):
                if body.get("state") == "admitted":
                    return {"Authorization": f"Bearer {body['admission_token']}"} | ticket
                await self.pause(min(float(body.get("poll_after_seconds") or 0.2), 0.5))
                answer = await self.call(
                    "GET", f"/api/v1/rooms/{self.room}/status", "status", headers=ticket
                )
                if answer.status == 401:
                    break  # the ticket is gone (Redis lost it): join again
                if answer.status != 200:
                    await self.backoff(answer)
                    continue
                body = answer.body

    async def book(self, gate: dict[str, str]) -> dict[str, Any] | None:
        """Book one of the office's places; the 201's body, or None (no place, or given up)."""
        places = await self.places()
        if not places:
            await self.pause(1.0)
            return None
        day, session = random.choice(places)
        body = booking_body(self.office, day, session, person(next(_people)))
        key = uuid.uuid4().hex
        for _ in range(WRITE_TRIES):
            headers = gate | self.session() | {"Idempotency-Key": key}
            answer = await self.call("POST", "/api/v1/bookings", "book", json=body, headers=headers)
            if answer.status == 201:
                self.ledger.booked[answer.body["id"]] = time.time()
                return dict(answer.body)
            if answer.status == 401 and answer.error == "login_required":
                self.session_lost()
                await self.login()
                continue
            if answer.status == 401:
                self.ledger.turns_lost.append(time.time())
                gate = await self.turn()  # the turn was lost with Redis's data: a new one
                continue
            if answer.status in (409, 422) and answer.error != "in_progress":
                return None  # slot_full and the like: a refusal, nothing to keep
            await self.backoff(answer)
        self.ledger.unanswered_bookings += 1
        return None

    async def places(self) -> list[tuple[str, str]]:
        for _ in range(WRITE_TRIES):
            answer = await self.call(
                "GET", f"/api/v1/offices/{self.office}/availability?days=30", "availability"
            )
            if answer.status == 200:
                return open_places(answer.body)
            await self.backoff(answer)
        raise Stop

    async def pay(self, booking_id: str, billing_code: str) -> None:
        """Pay at the sandbox bank until a payment is acknowledged."""
        self.ledger.uncertain.add(booking_id)
        for _ in range(WRITE_TRIES):
            answer = await self.call(
                "POST", "/api/v1/payments/sandbox/pay", "pay", json={"billing_code": billing_code}
            )
            if answer.status == 200 or (
                answer.status in (409, 410) and await self.is_paid(booking_id)
            ):
                self.ledger.paid[booking_id] = time.time()
                self.ledger.uncertain.discard(booking_id)
                return
            await self.backoff(answer)

    async def is_paid(self, booking_id: str) -> bool:
        """A payment refused as already made: read the booking to see (the first try landed)."""
        answer = await self.call(
            "GET", f"/api/v1/bookings/{booking_id}", "read", headers=self.session()
        )
        return answer.status == 200 and answer.body.get("status") == "confirmed"

    async def cancel(self, booking_id: str) -> None:
        """Cancel until acknowledged (a second cancel of a cancelled booking is answered 200)."""
        self.ledger.uncertain.add(booking_id)
        for _ in range(WRITE_TRIES):
            answer = await self.call(
                "POST", f"/api/v1/bookings/{booking_id}/cancel", "cancel", headers=self.session()
            )
            if answer.status == 200:
                self.ledger.cancelled[booking_id] = time.time()
                self.ledger.uncertain.discard(booking_id)
                return
            if answer.status == 401:
                self.session_lost()
                await self.login()
                continue
            await self.backoff(answer)

    # -- plumbing ----------------------------------------------------------------------------

    def session(self) -> dict[str, str]:
        return {"X-Session-Token": self.login_token or ""}

    def session_lost(self) -> None:
        self.ledger.sessions_lost.append(time.time())
        self.login_token = None

    async def call(self, method: str, path: str, name: str, **kwargs: Any) -> Answer:
        """One request, recorded; never raises for a failed one (status 0)."""
        if self.stopping.is_set():
            raise Stop
        try:
            async with self.http.request(method, self.base_url + path, **kwargs) as resp:
                try:
                    body = await resp.json(content_type=None)
                except ValueError:
                    body = None
                header = resp.headers.get("Retry-After")
                retry = float(header) if header and header.replace(".", "", 1).isdigit() else None
                code = str(body.get("error", "")) if isinstance(body, dict) else ""
                if resp.status == 503 and retry is None:
                    code += NO_RETRY_AFTER  # the promise is a 503 that says when to come back
                self.ledger.note(name, resp.status, code)
                return Answer(resp.status, body, retry)
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            self.ledger.note(name, 0, type(exc).__name__)
            return Answer(0)

    async def backoff(self, answer: Answer) -> None:
        """Wait as the server asked (at most MAX_PAUSE), or a moment after no answer."""
        wait = answer.retry_after if answer.retry_after is not None else 0.3
        await self.pause(min(wait, MAX_PAUSE) * random.uniform(0.8, 1.2))

    async def pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), seconds)
        if self.stopping.is_set():
            raise Stop


async def run_load(
    base_url: str,
    room: str,
    offices: list[str],
    clients: int,
    prefix: str,
    password: str,
    accounts: int,
    ledger: Ledger,
    stopping: asyncio.Event,
) -> None:
    """Run `clients` applicants until `stopping` is set (each ends the step it is in)."""
    numbers = itertools.count(1)

    def next_account() -> int:
        n = next(numbers)
        if n > accounts:
            raise Stop  # every account used: the run was longer than planned
        return n

    applicants = [
        Applicant(n, base_url, room, offices, next_account, prefix, password, ledger, stopping)
        for n in range(clients)
    ]
    await asyncio.gather(*(applicant.run() for applicant in applicants))
