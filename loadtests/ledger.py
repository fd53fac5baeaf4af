"""After the crowd: the booking database read directly, for the promises no response can show.

No slot is over its capacity (or below zero); each slot's `booked` equals the bookings that hold
a place in it; no NIK has two active bookings (all three over the whole database, as
tests/booking_support.py's `assert_invariants`); and every booking acknowledged with a 201 is
stored, with nothing stored that was not acknowledged.
"""

from __future__ import annotations

import datetime
from collections import Counter
from dataclasses import dataclass

import asyncpg

#: statuses in which a booking holds its place in the slot
HOLDING = (
    "awaiting_payment",
    "confirmed",
    "checked_in",
    "interviewed",
    "approved",
    "rejected",
    "printing",
    "ready",
    "collected",
)
#: statuses in which a booking is a person's one active booking
ACTIVE = ("awaiting_payment", "confirmed", "checked_in", "interviewed", "approved", "printing",
          "ready")  # fmt: skip

_OVER = "SELECT count(*) FROM slots WHERE booked > capacity OR booked < 0"
_DRIFT = (
    "SELECT s.id, s.booked, count(b.id) AS holding FROM slots s"
    " LEFT JOIN bookings b ON b.slot_id = s.id AND b.status = ANY($1::text[])"
    " GROUP BY s.id HAVING s.booked <> count(b.id) ORDER BY s.id"
)
_DOUBLES = (
    "SELECT count(*) FROM (SELECT nik_hash FROM bookings WHERE status = ANY($1::text[])"
    " GROUP BY nik_hash HAVING count(*) > 1) d"
)
_LOAD_BOOKINGS = (
    "SELECT b.id::text AS id, b.status FROM bookings b JOIN accounts a ON a.id = b.account_id"
    " WHERE a.email LIKE $1"
)
_OFFICE_PLACES = (
    "SELECT coalesce(sum(booked), 0) AS booked, coalesce(sum(capacity), 0) AS capacity"
    " FROM slots WHERE office_id = $1 AND lane = 'reguler' AND day = ANY($2::date[])"
)


@dataclass(frozen=True, slots=True)
class Ledger:
    """What the database held after the crowd."""

    slots: int  #: slots in the whole database
    over_capacity: int  #: slots with booked > capacity or booked < 0
    drift: list[tuple[int, int, int]]  #: (slot id, booked, bookings holding a place) that differ
    nik_doubles: int  #: NIK hashes with more than one active booking
    by_status: dict[str, int]  #: bookings of the load accounts by status
    acknowledged: int  #: bookings Locust saw a 201 for
    duplicates: int  #: ids acknowledged more than once
    missing: list[str]  #: acknowledged, but not stored for a load account
    unacknowledged: list[str]  #: stored for a load account, never acknowledged
    office_booked: int  #: places taken in the office's slots the run made small
    office_capacity: int  #: places in those slots

    @property
    def stored(self) -> int:
        """Bookings of the load accounts in the database."""
        return sum(self.by_status.values())

    @property
    def none_lost(self) -> bool:
        """Every 201 stored, once, and nothing stored that no 201 announced."""
        return not (self.missing or self.unacknowledged or self.duplicates)


async def read_ledger(
    url: str,
    account_prefix: str,
    acknowledged: list[str],
    office: str,
    days: list[str],
) -> Ledger:
    """Read the invariants and the load accounts' bookings from the database at `url`."""
    connection = await asyncpg.connect(url, timeout=10)
    try:
        slots = await connection.fetchval("SELECT count(*) FROM slots")
        over = await connection.fetchval(_OVER)
        drift = await connection.fetch(_DRIFT, list(HOLDING))
        doubles = await connection.fetchval(_DOUBLES, list(ACTIVE))
        rows = await connection.fetch(_LOAD_BOOKINGS, f"{account_prefix}%@antri.test")
        office_row = await connection.fetchrow(
            _OFFICE_PLACES, office, [datetime.date.fromisoformat(d) for d in sorted(set(days))]
        )
    finally:
        await connection.close()
    stored = {row["id"] for row in rows}
    acked = set(acknowledged)
    return Ledger(
        slots=int(slots),
        over_capacity=int(over),
        drift=[(int(r["id"]), int(r["booked"]), int(r["holding"])) for r in drift],
        nik_doubles=int(doubles),
        by_status=dict(Counter(row["status"] for row in rows)),
        acknowledged=len(acknowledged),
        duplicates=len(acknowledged) - len(acked),
        missing=sorted(acked - stored),
        unacknowledged=sorted(stored - acked),
        office_booked=int(office_row["booked"]),
        office_capacity=int(office_row["capacity"]),
    )
