"""Test accounts for load tests on a deployed instance, made and removed in batches.

A batch is named by its prefix: its accounts are `<prefix><n>@antri.test`, verified, one
password for all. The `.test` top-level domain is reserved (RFC 2606): no real applicant can
receive the verification code there, so no real, usable account carries the mark. Removing a
batch's bookings gives their places back to the slots (as a cancellation does) and deletes the
rows that hang on them; removing the batch then deletes the accounts too, so a staging run
leaves nothing behind.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import asyncpg

from .accounts import Accounts
from .errors import Invalid

#: a batch's prefix: plain enough to stand in a regular expression as it is
PREFIX = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
#: the most accounts one request makes (a batch for a big crowd takes several)
MAX_BATCH = 10_000
#: booking statuses that gave their place back already
PLACE_FREED = ("cancelled", "expired")


@dataclass(frozen=True, slots=True)
class Removed:
    """What a removal deleted."""

    bookings: int
    places_freed: int
    accounts: int


def batch_pattern(prefix: str) -> str:
    """The PostgreSQL regular expression of a batch's e-mail addresses."""
    if not PREFIX.match(prefix):
        raise _invalid("prefix", "a-z, 0-9 and -, starting with a letter, at most 32 characters")
    return f"^{prefix}[0-9]+@antri\\.test$"


def _invalid(field: str, message: str) -> Invalid:
    return Invalid({field: message}, {field: "invalid"})


class LoadAccounts:
    """Batches of test accounts in the booking database."""

    def __init__(self, accounts: Accounts) -> None:
        self.accounts = accounts

    @property
    def pool(self) -> asyncpg.Pool:
        return self.accounts.pool

    async def create(self, prefix: str, count: int, password: str) -> int:
        """Accounts <prefix>1..<prefix><count>@antri.test (those already there are kept);
        returns how many were new."""
        batch_pattern(prefix)
        if not 1 <= count <= MAX_BATCH:
            raise _invalid("count", f"a whole number from 1 to {MAX_BATCH}")
        if not 8 <= len(password) <= 128:
            raise _invalid("password", "8 to 128 characters")
        return await self.accounts.bulk_create(count, prefix, password)

    async def count(self, prefix: str) -> tuple[int, int]:
        """The batch's accounts and their bookings that still hold a place."""
        row = await self.pool.fetchrow(
            "SELECT count(DISTINCT a.id) AS accounts,"
            " count(b.id) FILTER (WHERE b.status <> ALL($2::text[])) AS holding"
            " FROM accounts a LEFT JOIN bookings b ON b.account_id = a.id WHERE a.email ~ $1",
            batch_pattern(prefix),
            list(PLACE_FREED),
        )
        assert row is not None
        return int(row["accounts"]), int(row["holding"])

    async def remove_bookings(self, prefix: str) -> Removed:
        """Delete every booking of the batch's accounts, their places given back."""
        return await self._remove(prefix, accounts_too=False)

    async def remove(self, prefix: str) -> Removed:
        """Delete the batch: its bookings (places given back) and its accounts."""
        return await self._remove(prefix, accounts_too=True)

    async def _remove(self, prefix: str, accounts_too: bool) -> Removed:
        pattern = batch_pattern(prefix)
        async with self.pool.acquire() as conn, conn.transaction():
            ids = await conn.fetch("SELECT id FROM accounts WHERE email ~ $1 FOR UPDATE", pattern)
            account_ids = [row["id"] for row in ids]
            bookings = await conn.fetch(
                "SELECT id FROM bookings WHERE account_id = ANY($1::bigint[]) FOR UPDATE",
                account_ids,
            )
            booking_ids = [row["id"] for row in bookings]
            # The slots' rows are locked in id order, as the booking statements lock them.
            held = await conn.fetch(
                "SELECT slot_id, count(*) AS n FROM bookings"
                " WHERE id = ANY($1::uuid[]) AND status <> ALL($2::text[])"
                " GROUP BY slot_id ORDER BY slot_id",
                booking_ids,
                list(PLACE_FREED),
            )
            await conn.execute(
                "SELECT id FROM slots WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE",
                [row["slot_id"] for row in held],
            )
            for row in held:
                await conn.execute(
                    "UPDATE slots SET booked = booked - $2 WHERE id = $1", row["slot_id"], row["n"]
                )
            freed = sum(int(row["n"]) for row in held)
            for table in ("booking_events", "payments", "documents"):
                await conn.execute(
                    f"DELETE FROM {table} WHERE booking_id = ANY($1::uuid[])", booking_ids
                )
            await conn.execute("DELETE FROM bookings WHERE id = ANY($1::uuid[])", booking_ids)
            await conn.execute(
                "DELETE FROM idempotency_keys WHERE account_id = ANY($1::bigint[])", account_ids
            )
            removed_accounts = 0
            if accounts_too:
                removed_accounts = len(
                    await conn.fetch(
                        "DELETE FROM accounts WHERE id = ANY($1::bigint[]) RETURNING id",
                        account_ids,
                    )
                )
        return Removed(len(booking_ids), int(freed), removed_accounts)
