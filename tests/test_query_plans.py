"""Booking stays index-backed whatever PostgreSQL's statistics say.

A release day often follows a quiet week: the planner's statistics then say there are few active
bookings, and a plan chosen on them (plpgsql caches a generic plan after five calls) must not
read every active booking on each call once thousands exist."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

ACCOUNTS = 10000
BOOKINGS_EACH = 2
CALLS = 12


async def _tuples_read(conn: asyncpg.Connection) -> int:
    """Entries of `bookings` and its indexes read so far by sequential and index scans."""
    await conn.execute("SELECT pg_stat_force_next_flush()")
    read = await conn.fetchval(
        "SELECT t.seq_tup_read + (SELECT sum(i.idx_tup_read) FROM pg_stat_user_indexes i"
        " WHERE i.relid = t.relid) FROM pg_stat_user_tables t WHERE t.relname = 'bookings'"
    )
    return int(read)


async def test_booking_reads_few_rows_under_stale_statistics(database: str) -> None:
    conn = await asyncpg.connect(database)
    try:
        await conn.execute("ALTER TABLE bookings SET (autovacuum_enabled = false)")
        await conn.execute("ANALYZE bookings")  # empty: the statistics now say "no bookings"
        slot = await conn.fetchval("SELECT id FROM slots ORDER BY id LIMIT 1")
        await conn.execute(
            "INSERT INTO accounts (email, name, phone, password_hash)"
            " SELECT 'pemohon' || i || '@antri.test', 'Pemohon', '081200000000', 'x'"
            " FROM generate_series(1, $1) i",
            ACCOUNTS,
        )
        await conn.execute(
            "INSERT INTO bookings (account_id, slot_id, status, application_kind, passport_type,"
            " validity_years, nik_cipher, nik_hash, nik_masked, applicant, amount, fee_lines,"
            " billing_code, expires_at)"
            " SELECT a.id, $1, 'confirmed', 'baru', 'elektronik', 10, '\\x00',"
            " decode(md5(a.id || '-' || n), 'hex'), '3172**', '{}', 650000, '[]',"
            " 'B' || a.id || '-' || n, now() + interval '2 hours'"
            " FROM accounts a, generate_series(1, $2) n WHERE a.id <= $3",
            slot,
            BOOKINGS_EACH,
            ACCOUNTS,
        )
    finally:
        await conn.close()

    booker = await asyncpg.connect(database)  # a fresh backend: its plans are made from now on
    try:
        office, day, session, lane = await booker.fetchrow(
            "SELECT office_id, day, session_id, lane FROM slots ORDER BY id LIMIT 1"
        )
        await booker.execute("UPDATE slots SET capacity = 1000000 WHERE office_id = $1", office)
        before = await _tuples_read(booker)
        deadline = datetime.now(UTC) + timedelta(hours=2)
        for n in range(CALLS):
            outcome = await booker.fetchval(
                "SELECT outcome FROM create_booking($1, $2, $3, $4, $5, 5, '\\x00',"
                " $6, '3172**', 'baru', 'elektronik', 10, '{}', 650000, '[]', $7, $8)",
                1 + n,  # accounts that already have active bookings
                office,
                day,
                session,
                lane,
                f"new-nik-{n}".encode(),
                f"NEW-{n}",
                deadline,
            )
            assert outcome == "ok"
        read = await _tuples_read(booker) - before
    finally:
        await booker.close()
    active = ACCOUNTS * BOOKINGS_EACH
    assert read < CALLS * 10, f"{read} booking rows read for {CALLS} bookings ({active} active)"


async def _fill(conn: asyncpg.Connection, slot: int, mark: str) -> None:
    """BOOKINGS_EACH active bookings for each of the ACCOUNTS accounts, in `slot`."""
    await conn.execute(
        "INSERT INTO bookings (account_id, slot_id, status, application_kind, passport_type,"
        " validity_years, nik_cipher, nik_hash, nik_masked, applicant, amount, fee_lines,"
        " billing_code, expires_at)"
        " SELECT a.id, $1, 'confirmed', 'baru', 'elektronik', 10, '\\x00',"
        " decode(md5($2 || a.id || '-' || n), 'hex'), '3172**', '{}', 650000, '[]',"
        " $2 || a.id || '-' || n, now() + interval '2 hours'"
        " FROM accounts a, generate_series(1, $3) n WHERE a.id <= $4",
        slot,
        mark,
        BOOKINGS_EACH,
        ACCOUNTS,
    )


@pytest.mark.parametrize("history", ["new", "emptied"])
async def test_plans_made_on_an_empty_table_stay_index_backed_as_it_fills(
    database: str, history: str
) -> None:
    """Launch day (a new table), or the first minute after a clean-up (a table emptied, its
    pages left): the booking backend makes (and caches) its plans while no booking is active,
    then thousands arrive before autovacuum analyses the table again. Each call must still read
    a few rows, not every active booking."""
    setup = await asyncpg.connect(database)
    booker = await asyncpg.connect(database)
    try:
        await setup.execute("ALTER TABLE bookings SET (autovacuum_enabled = false)")
        office, day, session, lane = await setup.fetchrow(
            "SELECT office_id, day, session_id, lane FROM slots ORDER BY id LIMIT 1"
        )
        slot = await setup.fetchval("SELECT id FROM slots ORDER BY id LIMIT 1")
        await setup.execute("UPDATE slots SET capacity = 1000000 WHERE office_id = $1", office)
        await setup.execute(
            "INSERT INTO accounts (email, name, phone, password_hash)"
            " SELECT 'pemohon' || i || '@antri.test', 'Pemohon', '081200000000', 'x'"
            " FROM generate_series(1, $1) i",
            ACCOUNTS,
        )
        if history == "emptied":
            await _fill(setup, slot, "old-")
            await setup.execute("DELETE FROM bookings")
        await setup.execute("ANALYZE bookings")  # no bookings
        deadline = datetime.now(UTC) + timedelta(hours=2)

        async def book(n: int) -> None:
            outcome = await booker.fetchval(
                "SELECT outcome FROM create_booking($1, $2, $3, $4, $5, 5, '\\x00',"
                " $6, '3172**', 'baru', 'elektronik', 10, '{}', 650000, '[]', $7, $8)",
                1 + n % ACCOUNTS,
                office,
                day,
                session,
                lane,
                f"nik-{n}".encode(),
                f"EMPTY-{n}",
                deadline,
            )
            assert outcome == "ok"

        for n in range(CALLS):  # more than five: the backend now reuses its generic plans
            await book(n)
        await _fill(setup, slot, "new-")
        before = await _tuples_read(booker)
        for n in range(CALLS, 2 * CALLS):
            await book(n)
        read = await _tuples_read(booker) - before
    finally:
        await booker.close()
        await setup.close()
    active = ACCOUNTS * BOOKINGS_EACH
    assert read < CALLS * 10, f"{read} booking rows read for {CALLS} bookings ({active} active)"
