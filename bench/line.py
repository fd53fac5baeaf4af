"""Putting people in the line: joins over HTTP, a million joins straight into Redis, and memory.

The bulk fill runs the engine's own join script, the very text the app registers (the app has
loaded it by then, which `fill_line` checks), pipelined so that a million joins take seconds.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp
import redis.asyncio as aioredis

from queue_engine.keys import RoomKeys
from queue_engine.scripts import Scripts, script_source

#: the room the million joins go to (the app's default room)
ROOM = "paspor"
#: a second room whose line stays short: the same-window control for the long line
CONTROL_ROOM = "kontrol"
TICKET_HEADER = "X-Antri-Ticket"


def join_path(room: str) -> str:
    """The join endpoint of `room`."""
    return f"/api/v1/rooms/{room}/join"


def status_path(room: str) -> str:
    """The status endpoint of `room`."""
    return f"/api/v1/rooms/{room}/status"


class LineError(RuntimeError):
    """The room did not behave as the benchmark needs (e.g. a ticket was not `waiting`)."""


async def join_visitors(base_url: str, room: str, count: int, concurrency: int = 32) -> list[str]:
    """Join `count` new visitors to `room` through the real endpoint; their tickets, in order."""
    url = base_url + join_path(room)
    tickets: list[str] = [""] * count
    next_index = iter(range(count))

    async def worker(session: aiohttp.ClientSession) -> None:
        for i in next_index:
            async with session.post(url) as response:
                body = await response.json()
            if response.status != 200:
                raise LineError(f"join answered {response.status}: {body}")
            tickets[i] = body["ticket"]

    # No cookie jar: every request must be a new visitor.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session:
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
    return tickets


async def check_waiting(base_url: str, room: str, tickets: list[str]) -> int:
    """Check that the first and last tickets are `waiting` on the fast path; the last's place."""
    url = base_url + status_path(room)
    position = 0
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session:
        for ticket in (tickets[0], tickets[-1]):
            async with session.get(url, headers={TICKET_HEADER: ticket}) as response:
                body = await response.json()
                if response.status != 200 or body.get("state") != "waiting":
                    raise LineError(f"status is not waiting: {response.status} {body}")
                if "Set-Cookie" in response.headers:
                    raise LineError("status re-issued the ticket: not the fast path")
                position = body["position"]
    return position


async def line_length(base_url: str, room: str) -> int:
    """How many wait in `room`'s line, as its public state says (the app's recent view)."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{base_url}/api/v1/rooms/{room}") as response,
    ):
        body = await response.json()
    if response.status != 200:
        raise LineError(f"the room's state answered {response.status}: {body}")
    return int(body["waiting"])


def write_tickets(tickets: list[str], path: Path) -> Path:
    """One ticket per line, for the wrk script."""
    path.write_text("\n".join(tickets) + "\n")
    return path


async def fill_line(redis_url: str, count: int, batch: int = 1000, concurrency: int = 8) -> float:
    """Join `count` visitors with the real join script, checked; the seconds it took."""
    client = aioredis.Redis.from_url(redis_url)
    keys = RoomKeys.for_room(ROOM)
    try:
        # The text Scripts registers; the app's joins over HTTP have loaded it into Redis already.
        sha = client.register_script(script_source("join")).sha
        if not (await client.script_exists(sha))[0]:
            raise LineError("Redis does not hold the app's join script: is the source the same?")
        before = int(await client.hget(keys.room, "arrivals") or 0)
        started = time.perf_counter()
        sizes = iter([batch] * (count // batch) + ([count % batch] if count % batch else []))
        # As the wrapper calls it: no proof shown, an unknown address (both defences are off).
        names = [keys.room, keys.challenge(""), keys.client("unknown")]

        async def worker() -> None:
            for size in sizes:
                pipe = client.pipeline(transaction=False)
                for _ in range(size):
                    pipe.evalsha(sha, len(names), *names, "-1", "1000")
                for verdict, *_ in await pipe.execute():
                    if verdict != b"joined":
                        raise LineError(f"the join script said {verdict!r}")

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        seconds = time.perf_counter() - started
        # One more join through the engine's own wrapper: it must take the very next number.
        _, number, _ = await Scripts(client).join(keys)
        if number != before + count + 1:
            raise LineError(f"after {count} joins from {before} the next number was {number}")
        return seconds
    finally:
        await client.aclose()


async def used_memory(redis_url: str, timeout: float = 60.0) -> int:
    """INFO memory used_memory, read once no AOF rewrite is running or scheduled."""
    client = aioredis.Redis.from_url(redis_url)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            persistence = await client.info("persistence")
            busy = persistence.get("aof_rewrite_in_progress") or persistence.get(
                "aof_rewrite_scheduled"
            )
            if not busy:
                break
            await asyncio.sleep(0.2)
        return int((await client.info("memory"))["used_memory"])
    finally:
        await client.aclose()
