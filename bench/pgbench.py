"""The booking ceiling: pgbench calling `create_booking` straight on the benchmark's PostgreSQL.

The same function the app calls for every booking, with durable commits (fsync and synchronous
commit as the server has them), no HTTP, no Python: what PostgreSQL alone can do on this
machine. The app's bookings a second are read against it. The calls book for random accounts
among many (at most five people each) into as many slots as the app's booking part uses, each
opened wide, a slot picked at random per call (one pgbench script per slot): one hot slot would
measure its row lock, held through each commit, rather than PostgreSQL. The bookings made are
deleted afterwards and the slots restored. PostgreSQL's CPU per call is read as well.
"""

from __future__ import annotations

import asyncio
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import asyncpg

#: accounts the calls are spread over (so that "five people per account" rarely refuses one)
ACCOUNTS = 200_000
#: marks the accounts and bookings this part makes, for the clean-up
MARK = "pgbench"

_SCRIPT = """\\set account random(1, {accounts}) + {first_account} - 1
SELECT outcome FROM create_booking(:account, '{office}', '{day}', '{session}', '{lane}', 5,
  '\\\\x00', decode(md5(random()::text || clock_timestamp()::text), 'hex'), '3172**', 'baru',
  'elektronik', 10, '{{}}', 650000, '[]',
  '{mark}-' || md5(random()::text || clock_timestamp()::text), now() + interval '2 hours');
"""


@dataclass(frozen=True, slots=True)
class Ceiling:
    """pgbench's result at one number of clients."""

    clients: int
    calls_per_second: float
    bookings_per_second: float
    #: PostgreSQL's CPU seconds (user + system) per call, 0 when not measured
    cpu_per_call: float = 0.0


def pgbench_binary() -> Path:
    """pgbench from the pgserver package (the embedded PostgreSQL's own), else from PATH."""
    import pgserver

    shipped = Path(pgserver.__file__).parent / "pginstall" / "bin" / "pgbench"
    found = shipped if shipped.exists() else shutil.which("pgbench")
    if found is None:
        raise RuntimeError("pgbench not found (pgserver ships it; or install postgresql-client)")
    return Path(found)


@dataclass(frozen=True, slots=True)
class _Slot:
    """The slot the calls book into, and its capacity before."""

    office: str
    day: date
    session: str
    lane: str
    capacity: int


async def _prepare(
    database_url: str, office: str, lane: str, count: int
) -> tuple[int, list[_Slot]]:
    """Make the accounts and open the last `count` slots of `office` wide; the first account's id
    and the slots."""
    conn = await asyncpg.connect(database_url)
    try:
        async with conn.transaction():
            first = await conn.fetchval(
                "WITH made AS (INSERT INTO accounts (email, name, phone, password_hash)"
                " SELECT $1 || i || '@antri.test', 'Pemohon', '081200000000', 'x'"
                " FROM generate_series(1, $2) i RETURNING id) SELECT min(id) FROM made",
                MARK,
                ACCOUNTS,
            )
            rows = await conn.fetch(
                "SELECT day, session_id, capacity FROM slots WHERE office_id = $1 AND lane = $2"
                " ORDER BY day DESC, session_id LIMIT $3 FOR UPDATE",
                office,
                lane,
                count,
            )
            assert len(rows) == count, f"{office} has fewer than {count} slots to book into"
            slots = [_Slot(office, r["day"], r["session_id"], lane, r["capacity"]) for r in rows]
            for slot in slots:
                await conn.execute(
                    f"UPDATE slots SET capacity = 1000000000 WHERE {_THE_SLOT}", *_key(slot)
                )
        await conn.execute("ANALYZE accounts")
        return int(first), slots
    finally:
        await conn.close()


_THE_SLOT = "office_id = $1 AND day = $2 AND session_id = $3 AND lane = $4"


def _key(slot: _Slot) -> tuple[str, date, str, str]:
    return slot.office, slot.day, slot.session, slot.lane


async def _clean_up(database_url: str, slots: list[_Slot]) -> int:
    """Delete what the calls made and restore the slots; the number of bookings made."""
    conn = await asyncpg.connect(database_url)
    try:
        async with conn.transaction():
            await conn.execute(
                "DELETE FROM booking_events WHERE booking_id IN"
                " (SELECT id FROM bookings WHERE billing_code LIKE $1)",
                MARK + "-%",
            )
            made = await conn.fetch(
                "WITH gone AS (DELETE FROM bookings WHERE billing_code LIKE $1 RETURNING slot_id)"
                " SELECT slot_id, count(*) AS n FROM gone GROUP BY slot_id",
                MARK + "-%",
            )
            await conn.execute("DELETE FROM accounts WHERE email LIKE $1", MARK + "%")
            await conn.executemany(
                "UPDATE slots SET booked = booked - $2 WHERE id = $1",
                [(row["slot_id"], row["n"]) for row in made],
            )
            for slot in slots:
                await conn.execute(
                    f"UPDATE slots SET capacity = $5 WHERE {_THE_SLOT}", *_key(slot), slot.capacity
                )
        return sum(int(row["n"]) for row in made)
    finally:
        await conn.close()


async def _run_pgbench(
    database_url: str, scripts: list[Path], clients: int, seconds: float, threads: int
) -> float:
    """pgbench's transactions a second (excluding connection time)."""
    process = await asyncio.create_subprocess_exec(
        str(pgbench_binary()),
        "--no-vacuum",
        f"--client={clients}",
        f"--jobs={min(threads, clients)}",
        f"--time={round(seconds)}",
        *(f"--file={script}" for script in scripts),
        database_url,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    text = out.decode() + err.decode()
    found = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", text)
    if process.returncode != 0 or found is None:
        raise RuntimeError(f"pgbench failed ({process.returncode}): {text[-2000:]}")
    return float(found.group(1))


async def measure_ceiling(
    database_url: str,
    directory: Path,
    office: str,
    lane: str,
    slots: int,
    cpu: Callable[[], float] = lambda: 0.0,
    clients: tuple[int, ...] = (8, 16),
    seconds: float = 10.0,
    threads: int = 2,
) -> list[Ceiling]:
    """pgbench's create_booking rate into `slots` slots at each number of clients; `cpu` gives
    PostgreSQL's CPU seconds so far."""
    directory.mkdir(parents=True, exist_ok=True)
    results = []
    for count in clients:
        first, opened = await _prepare(database_url, office, lane, slots)
        scripts = []
        for n, slot in enumerate(opened):
            script = directory / f"create_booking_{n}.sql"
            script.write_text(
                _SCRIPT.format(
                    accounts=ACCOUNTS,
                    first_account=first,
                    office=slot.office,
                    day=slot.day.isoformat(),
                    session=slot.session,
                    lane=slot.lane,
                    mark=MARK,
                )
            )
            scripts.append(script)
        cpu_before = cpu()
        try:
            calls = await _run_pgbench(database_url, scripts, count, seconds, threads)
            used = cpu() - cpu_before
        finally:
            made = await _clean_up(database_url, opened)
        results.append(Ceiling(count, calls, made / seconds, used / max(1.0, calls * seconds)))
    return results


def render_ceiling(ceilings: list[Ceiling], app_bookings_per_second: float | None) -> str:
    """The ceiling rows of the booking section, in Markdown."""
    lines = [
        "PostgreSQL's ceiling: pgbench calling `create_booking` directly (durable commits, "
        "no HTTP), the same database",
        "",
        "| pgbench clients | create_booking calls/s | bookings/s | PostgreSQL CPU ms a call "
        "| app ÷ ceiling |",
        "|---:|---:|---:|---:|---:|",
    ]
    for c in ceilings:
        share = (
            f"{app_bookings_per_second / c.bookings_per_second:.2f}"
            if app_bookings_per_second and c.bookings_per_second
            else "–"
        )
        lines.append(
            f"| {c.clients} | {c.calls_per_second:,.0f} | {c.bookings_per_second:,.0f} "
            f"| {1000 * c.cpu_per_call:.2f} | {share} |"
        )
    return "\n".join(lines)
