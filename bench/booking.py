"""The booking benchmark: many clients booking into a few small slots, over real HTTP.

Set-up goes straight to the app's PostgreSQL and Redis (fresh accounts and login sessions each
round, the way `tests/booking_support.py` makes them) and through the API (an admission to the
guard room for each booking: a turn makes one booking, and belongs to its own ticket and
account). Each round empties the chosen slots (deleting their
bookings), gives each `capacity` places, and starts a client process (`bench.bookers`) that
books until every place is taken; a round of hello-world POSTs by the same harness runs just
before it. After each round the database is checked: no slot over capacity, each slot's count
equal to the bookings holding it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import secrets
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import redis.asyncio as aioredis

from api.booking.accounts import Accounts

from .applicants import LANE, OFFICE

#: the booking app's guard room: it admits at once, so that set-up takes no time
ROOM = "loket"
#: `antri serve`'s settings for the booking phase (on top of the common ones)
APP_ENV = {
    "ANTRI_ROOMS": ROOM,
    "ANTRI_RATE_PER_MINUTE": "60000",
    "ANTRI_BURST": "1000",
    "ANTRI_SESSION_MINUTES": "240",
    "ANTRI_MAX_ACTIVE": "1000000",  # every round's turns are held at once
}
#: admissions taken at once while setting a round up
TURNS_AT_ONCE = 50
#: how long PostgreSQL's backends may take to report their scans (they do within a second)
STATS_DELAY = 1.2
#: NIK numbers used by one round at most (its bookings and its refusals)
APPLICANTS_PER_ROUND = 1_000_000

_DRIFT = (
    "SELECT s.id, s.booked, count(b.id) AS holding FROM slots s"
    " LEFT JOIN bookings b ON b.slot_id = s.id AND b.status IN ('awaiting_payment',"
    " 'confirmed', 'checked_in', 'interviewed', 'approved', 'rejected', 'printing',"
    " 'ready', 'collected')"
    " GROUP BY s.id HAVING s.booked <> count(b.id)"
)


class BookingBenchError(RuntimeError):
    """The app did not behave as the benchmark needs."""


@dataclass(frozen=True, slots=True)
class BookingOptions:
    """How hard the booking phase pushes."""

    clients: int = 200
    slots: int = 10
    capacity: int = 100
    rounds: int = 5
    hello_seconds: float = 2.0
    #: app processes (`antri up --processes N`): the target says "using both cores"
    processes: int = 2


@dataclass(frozen=True, slots=True)
class Run:
    """One client process's result (see bench.bookers.Tally.result)."""

    requests: int
    ok: int
    seconds: float
    ok_seconds: float
    latencies_ms: list[float]
    statuses: dict[str, int]
    errors: dict[str, int]
    #: CPU seconds the client process used in its timed part
    cpu_seconds: float = 0.0

    @property
    def rate(self) -> float:
        """Requests a second over the whole run."""
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def ok_rate(self) -> float:
        """2xx answers a second, up to the last one."""
        return self.ok / self.ok_seconds if self.ok_seconds else 0.0

    @property
    def server_errors(self) -> int:
        """5xx answers."""
        return sum(n for status, n in self.statuses.items() if status.startswith("5"))

    @classmethod
    def total(cls, runs: list[Run]) -> Run:
        """Runs of one kind summed over the rounds."""
        statuses: dict[str, int] = {}
        errors: dict[str, int] = {}
        for run in runs:
            for key, n in run.statuses.items():
                statuses[key] = statuses.get(key, 0) + n
            for key, n in run.errors.items():
                errors[key] = errors.get(key, 0) + n
        return cls(
            requests=sum(r.requests for r in runs),
            ok=sum(r.ok for r in runs),
            seconds=sum(r.seconds for r in runs),
            ok_seconds=sum(r.ok_seconds for r in runs),
            latencies_ms=[ms for r in runs for ms in r.latencies_ms],
            statuses=statuses,
            errors=errors,
            cpu_seconds=sum(r.cpu_seconds for r in runs),
        )

    @classmethod
    def read(cls, path: Path) -> Run:
        """The result file of a client process."""
        return cls(**json.loads(path.read_text()))


@dataclass(frozen=True, slots=True)
class Check:
    """The database after one round."""

    over_capacity: int  #: slots anywhere with booked > capacity (or < 0)
    drift: int  #: slots anywhere whose count differs from the bookings holding them
    booked: int  #: places taken in the round's slots
    places: int  #: places the round's slots had


@dataclass(frozen=True, slots=True)
class Round:
    """One booking round and the hello-world round just before it."""

    hello: Run
    booking: Run
    check: Check
    #: CPU seconds each part used during the booking run: the app's processes, PostgreSQL,
    #: Redis (as measured by the bench's meters) and the client process
    cpu: dict[str, float] = field(default_factory=dict)
    #: rows of `bookings` and its indexes read during the booking run (a plan that reads the
    #: table or a whole index on each booking shows here: it should stay a few a booking)
    rows_read: int = 0


async def released_slots(app_url: str, count: int) -> list[tuple[str, str]]:
    """The first `count` (date, session) pairs of OFFICE on released dates, earliest first."""
    url = f"{app_url}/api/v1/offices/{OFFICE}/availability?days=40"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        body = await response.json()
    pairs = [
        (d["date"], s["id"])
        for d in body["dates"]
        if d["released"]
        for s in d["sessions"]
        if LANE in s["lanes"]
    ]
    if len(pairs) < count:
        raise BookingBenchError(f"only {len(pairs)} released sessions at {OFFICE}: {body}")
    return pairs[:count]


async def admission(
    session: aiohttp.ClientSession, app_url: str, room: str = ROOM, timeout: float = 30.0
) -> list[str]:
    """A visitor's own admission to `room` (join, then poll until admitted): [its token, the
    ticket it was claimed with]; `session` keeps no cookies."""
    async with session.post(f"{app_url}/api/v1/rooms/{room}/join") as response:
        body = await response.json()
    deadline = asyncio.get_running_loop().time() + timeout
    while body.get("state") != "admitted":
        if asyncio.get_running_loop().time() > deadline:
            raise BookingBenchError(f"never admitted to {room}: {body}")
        await asyncio.sleep(0.1)
        headers = {"X-Antri-Ticket": body["ticket"]}
        url = f"{app_url}/api/v1/rooms/{room}/status"
        async with session.get(url, headers=headers) as response:
            body = await response.json()
    return [str(body["admission_token"]), str(body["ticket"])]


async def admissions(app_url: str, count: int) -> list[list[str]]:
    """`count` admissions of visitors of their own, a few at a time."""
    gate = asyncio.Semaphore(TURNS_AT_ONCE)

    async def one(session: aiohttp.ClientSession) -> list[str]:
        async with gate:
            return await admission(session, app_url)

    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session:
        return list(await asyncio.gather(*(one(session) for _ in range(count))))


async def login_sessions(pool: asyncpg.Pool, redis_url: str, count: int) -> list[str]:
    """`count` new verified accounts, straight into the database, and a login session each."""
    tag = secrets.token_hex(4)
    emails = [f"bench-{tag}-{n}@antri.test" for n in range(count)]
    ids = await pool.fetch(
        "INSERT INTO accounts (email, name, phone, password_hash, verified_at)"
        " SELECT e, 'Pemohon Uji', '081200000000', 'x', now() FROM unnest($1::text[]) e"
        " RETURNING id",
        emails,
    )
    client = aioredis.Redis.from_url(redis_url)
    try:
        accounts = Accounts(pool, client, b"bench")
        return [await accounts.open_session(row["id"]) for row in ids]
    finally:
        await client.aclose()


async def slot_ids(pool: asyncpg.Pool, pairs: list[tuple[str, str]]) -> list[int]:
    """The ids of OFFICE's LANE slots at those (date, session) pairs."""
    rows = await pool.fetch(
        "SELECT s.id FROM slots s JOIN unnest($1::date[], $2::text[]) AS p(day, session_id)"
        " ON s.day = p.day AND s.session_id = p.session_id"
        " WHERE s.office_id = $3 AND s.lane = $4",
        [dt.date.fromisoformat(d) for d, _ in pairs],
        [s for _, s in pairs],
        OFFICE,
        LANE,
    )
    if len(rows) != len(pairs):
        raise BookingBenchError(f"found {len(rows)} of {len(pairs)} slots")
    return [row["id"] for row in rows]


async def reset(pool: asyncpg.Pool, slots: list[int], capacity: int) -> None:
    """Empty the slots (their bookings deleted) and give each `capacity` places."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "DELETE FROM booking_events WHERE booking_id IN"
            " (SELECT id FROM bookings WHERE slot_id = ANY($1))",
            slots,
        )
        await conn.execute("DELETE FROM bookings WHERE slot_id = ANY($1)", slots)
        await conn.execute(
            "UPDATE slots SET capacity = $2, booked = 0 WHERE id = ANY($1)", slots, capacity
        )


async def rows_read(pool: asyncpg.Pool) -> int:
    """Rows of `bookings` and its indexes read so far by scans of every backend. Backends report
    their counts within a second of their last transaction; the caller waits for that."""
    read = await pool.fetchval(
        "SELECT t.seq_tup_read + (SELECT coalesce(sum(i.idx_tup_read), 0)"
        " FROM pg_stat_user_indexes i WHERE i.relid = t.relid)"
        " FROM pg_stat_user_tables t WHERE t.relname = 'bookings'"
    )
    return int(read)


async def check(pool: asyncpg.Pool, slots: list[int]) -> Check:
    """The invariants over the whole database, and the round's slots' totals."""
    over = await pool.fetchval("SELECT count(*) FROM slots WHERE booked > capacity OR booked < 0")
    drift = await pool.fetch(_DRIFT)
    totals = await pool.fetchrow(
        "SELECT sum(booked) AS booked, sum(capacity) AS places FROM slots WHERE id = ANY($1)",
        slots,
    )
    return Check(int(over), len(drift), int(totals["booked"]), int(totals["places"]))


async def run_clients(spec: dict[str, Any], directory: Path, name: str) -> Run:
    """One `bench.bookers` process with `spec`; its result."""
    spec_path, result_path = directory / f"{name}.spec.json", directory / f"{name}.result.json"
    spec_path.write_text(json.dumps(spec))
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.bookers", str(spec_path), str(result_path)
    )
    if await process.wait() != 0:
        raise BookingBenchError(f"the client process {name} exited with {process.returncode}")
    return Run.read(result_path)


class BookingBench:
    """The booking phase against one `antri serve` and the hello-world baseline."""

    def __init__(
        self,
        app_url: str,
        hello_url: str,
        database_url: str,
        redis_url: str,
        directory: Path,
        meters: dict[str, Callable[[], float]] | None = None,
    ) -> None:
        """`meters`: by part ("app", "PostgreSQL", "Redis"), the CPU seconds it has used so far."""
        self.meters = meters or {}
        self.app_url = app_url
        self.hello_url = hello_url
        self.database_url = database_url
        self.redis_url = redis_url
        self.directory = directory

    async def run(self, opts: BookingOptions, log: Any) -> list[Round]:
        """Set up, then `opts.rounds` interleaved rounds of hello-world and booking."""
        self.directory.mkdir(parents=True, exist_ok=True)
        pool = await asyncpg.create_pool(self.database_url, min_size=1, max_size=2)
        try:
            pairs = await released_slots(self.app_url, opts.slots)
            slots = await slot_ids(pool, pairs)
            # A turn makes one booking (its slot_full refusals keep it): one turn and one
            # account for each place, and one more for each client that finds none left.
            accounts = opts.slots * opts.capacity + opts.clients
            log(f"booking: {len(slots)} slots {pairs[0]}..{pairs[-1]}, {accounts} turns a round")
            book = {
                "mode": "book",
                "url": f"{self.app_url}/api/v1/bookings",
                "warm_url": f"{self.app_url}/healthz",
                "clients": opts.clients,
                "slots": [list(p) for p in pairs],
            }
            hello = {
                "mode": "hello",
                "url": f"{self.hello_url}/",
                "warm_url": f"{self.hello_url}/",
                "clients": opts.clients,
                "seconds": opts.hello_seconds,
            }
            rounds = []
            for n in range(opts.rounds):
                await reset(pool, slots, opts.capacity)
                hello_run = await run_clients(hello, self.directory, f"hello-{n}")
                fresh = {
                    "first_applicant": n * APPLICANTS_PER_ROUND,
                    "sessions": await login_sessions(pool, self.redis_url, accounts),
                    "turns": await admissions(self.app_url, accounts),
                }
                await asyncio.sleep(STATS_DELAY)  # the set-up's reads reported first
                rows_before = await rows_read(pool)
                before = {part: meter() for part, meter in self.meters.items()}
                booking_run = await run_clients(book | fresh, self.directory, f"book-{n}")
                cpu = {part: meter() - before[part] for part, meter in self.meters.items()}
                cpu["client"] = booking_run.cpu_seconds
                await asyncio.sleep(STATS_DELAY)
                read = await rows_read(pool) - rows_before
                done = Round(hello_run, booking_run, await check(pool, slots), cpu, read)
                per_booking = ", ".join(
                    f"{part} {1000 * s / max(1, booking_run.ok):.2f}" for part, s in cpu.items()
                )
                log(
                    f"round {n + 1}: {booking_run.ok} bookings in {booking_run.ok_seconds:.2f} s"
                    f" ({booking_run.ok_rate:,.0f}/s), hello {hello_run.rate:,.0f} req/s;"
                    f" CPU ms a booking: {per_booking};"
                    f" rows read {read / max(1, booking_run.ok):.1f} a booking; {done.check}"
                )
                rounds.append(done)
            return rounds
        finally:
            await pool.close()
