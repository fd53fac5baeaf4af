"""The booking ceiling: pgbench calling `create_booking` straight on the benchmark's PostgreSQL.

The same function the app calls for every booking, with durable commits (fsync and synchronous
commit as the server has them), no HTTP, no Python: what PostgreSQL alone can do on this
machine. The app's bookings a second are read against it. Each client books for random
accounts among many (at most five people each) into one slot of its own with room for all; the
bookings it made are deleted afterwards and the slot restored.
"""

from __future__ import annotations

import asyncio
import re
import shutil
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


async def _prepare(database_url: str, office: str, lane: str) -> tuple[int, _Slot]:
    """Make the accounts and open the last slot of `office` wide; its first account id and it."""
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
            row = await conn.fetchrow(
                "SELECT day, session_id, capacity FROM slots WHERE office_id = $1 AND lane = $2"
                " ORDER BY day DESC, session_id LIMIT 1 FOR UPDATE",
                office,
                lane,
            )
            assert row is not None, f"no slot of {office} to book into"
            slot = _Slot(office, row["day"], row["session_id"], lane, row["capacity"])
            await conn.execute(
                f"UPDATE slots SET capacity = 1000000000 WHERE {_THE_SLOT}", *_key(slot)
            )
        await conn.execute("ANALYZE accounts")
        return int(first), slot
    finally:
        await conn.close()


_THE_SLOT = "office_id = $1 AND day = $2 AND session_id = $3 AND lane = $4"


def _key(slot: _Slot) -> tuple[str, date, str, str]:
    return slot.office, slot.day, slot.session, slot.lane


async def _clean_up(database_url: str, slot: _Slot) -> int:
    """Delete what the calls made and restore the slot; the number of bookings made."""
    conn = await asyncpg.connect(database_url)
    try:
        async with conn.transaction():
            await conn.execute(
                "DELETE FROM booking_events WHERE booking_id IN"
                " (SELECT id FROM bookings WHERE billing_code LIKE $1)",
                MARK + "-%",
            )
            made = await conn.fetchval(
                "WITH gone AS (DELETE FROM bookings WHERE billing_code LIKE $1 RETURNING 1)"
                " SELECT count(*) FROM gone",
                MARK + "-%",
            )
            await conn.execute("DELETE FROM accounts WHERE email LIKE $1", MARK + "%")
            await conn.execute(
                f"UPDATE slots SET booked = booked - $5, capacity = $6 WHERE {_THE_SLOT}",
                *_key(slot),
                made,
                slot.capacity,
            )
        return int(made)
    finally:
        await conn.close()


async def _run_pgbench(
    database_url: str, script: Path, clients: int, seconds: float, threads: int
) -> float:
    """pgbench's transactions a second (excluding connection time)."""
    process = await asyncio.create_subprocess_exec(
        str(pgbench_binary()),
        "--no-vacuum",
        f"--client={clients}",
        f"--jobs={min(threads, clients)}",
        f"--time={round(seconds)}",
        f"--file={script}",
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
    clients: tuple[int, ...] = (8, 16),
    seconds: float = 10.0,
    threads: int = 2,
) -> list[Ceiling]:
    """pgbench's create_booking rate at each number of clients."""
    directory.mkdir(parents=True, exist_ok=True)
    results = []
    for count in clients:
        first, slot = await _prepare(database_url, office, lane)
        script = directory / "create_booking.sql"
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
        try:
            calls = await _run_pgbench(database_url, script, count, seconds, threads)
        finally:
            made = await _clean_up(database_url, slot)
        results.append(Ceiling(count, calls, made / seconds))
    return results


def render_ceiling(ceilings: list[Ceiling], app_bookings_per_second: float | None) -> str:
    """The ceiling rows of the booking section, in Markdown."""
    lines = [
        "PostgreSQL's ceiling: pgbench calling `create_booking` directly (durable commits, "
        "no HTTP), the same database",
        "",
        "| pgbench clients | create_booking calls/s | bookings/s | app ÷ ceiling |",
        "|---:|---:|---:|---:|",
    ]
    for c in ceilings:
        share = (
            f"{app_bookings_per_second / c.bookings_per_second:.2f}"
            if app_bookings_per_second and c.bookings_per_second
            else "–"
        )
        lines.append(
            f"| {c.clients} | {c.calls_per_second:,.0f} | {c.bookings_per_second:,.0f} | {share} |"
        )
    return "\n".join(lines)
