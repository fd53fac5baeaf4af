"""Payments: what a billing code is due, and the bank's word that it was paid."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg

from .codes import booking_code
from .errors import Conflict, Invalid, NotFound


@dataclass(frozen=True)
class Paid:
    """A payment accepted (or a replay of one already accepted)."""

    booking_id: UUID
    booking_code: str
    replayed: bool


@dataclass(frozen=True)
class Recorded:
    """A payment as the database holds it."""

    booking_id: UUID
    booking_code: str


class Payments:
    """Billing codes and their payment, on a PostgreSQL pool."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def amount_due(self, code: str) -> int:
        """What the bank is to collect for a billing code still payable; NotFound/Conflict else."""
        row = await self.pool.fetchrow(
            "SELECT status, amount, expires_at <= now() AS overdue FROM bookings"
            " WHERE billing_code = $1",
            code,
        )
        if row is None:
            raise NotFound("unknown_billing_code", "There is no such billing code.")
        if row["status"] != "awaiting_payment" or row["overdue"]:
            raise _not_payable(row["status"], row["overdue"])
        return int(row["amount"])

    async def recorded(self, code: str, transaction_id: str) -> Recorded | None:
        """The payment of billing code `code` by `transaction_id`, if it was recorded."""
        row = await self.pool.fetchrow(
            "SELECT b.id, b.booking_code FROM payments p"
            " JOIN bookings b ON b.id = p.booking_id"
            " WHERE p.transaction_id = $1 AND b.billing_code = $2",
            transaction_id,
            code,
        )
        return None if row is None else Recorded(row["id"], row["booking_code"])

    async def pay(self, code: str, amount: int, transaction_id: str, paid_at: datetime) -> Paid:
        """Record the bank's payment of a billing code: the booking is confirmed. A repeated
        callback for the same transaction is a no-op; a late one is refused and the booking
        expired."""
        async with self.pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                "SELECT id, status, amount, booking_code, expires_at <= now() AS overdue"
                " FROM bookings WHERE billing_code = $1 FOR UPDATE",
                code,
            )
            if row is None:
                raise NotFound("unknown_billing_code", "There is no such billing code.")
            earlier = await conn.fetchval(
                "SELECT transaction_id FROM payments WHERE booking_id = $1", row["id"]
            )
            if earlier is not None:
                if earlier == transaction_id:
                    return Paid(row["id"], row["booking_code"], replayed=True)
                raise Conflict("already_paid", "This billing code has been paid already.")
            refusal = None
            if row["status"] == "awaiting_payment" and row["overdue"]:
                await conn.fetch("SELECT * FROM expire_unpaid($1, NULL, 1)", row["id"])
                refusal = _not_payable("expired", True)
            elif row["status"] != "awaiting_payment":
                refusal = _not_payable(row["status"], False)
            elif amount != row["amount"]:
                raise Invalid({"amount": f"must be {row['amount']}"}, {"amount": "amount_mismatch"})
            else:
                new_code = booking_code()
                await conn.execute(
                    "UPDATE bookings SET status = 'confirmed', paid_at = $2, booking_code = $3,"
                    " updated_at = now() WHERE id = $1",
                    row["id"],
                    paid_at,
                    new_code,
                )
                await conn.execute(
                    "INSERT INTO payments (transaction_id, booking_id, amount, paid_at)"
                    " VALUES ($1, $2, $3, $4)",
                    transaction_id,
                    row["id"],
                    amount,
                    paid_at,
                )
                await conn.execute(
                    "INSERT INTO booking_events (booking_id, status) VALUES ($1, 'confirmed')",
                    row["id"],
                )
        if refusal is not None:
            raise refusal  # after the commit, so that the expiry above is kept
        return Paid(row["id"], new_code, replayed=False)


def _not_payable(status: str, overdue: bool) -> Conflict:
    if status in ("expired",) or (status == "awaiting_payment" and overdue):
        return Conflict("billing_expired", "The billing code has expired; book again.")
    if status == "cancelled":
        return Conflict("booking_cancelled", "The booking was cancelled.")
    return Conflict("already_paid", "This billing code has been paid already.")
