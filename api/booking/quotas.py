"""An office's quota grid (dates x sessions x lanes, booked and capacity) and bulk changes.

A bulk change sets one capacity on every slot of an office in a date range and a lane. It never
goes below what is booked: every slot it touches is locked first, and if any has more bookings
than the new capacity the whole change is refused, naming each such slot; otherwise all change
together, with one audit row, in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from .. import audit
from ..audit import Actor
from .errors import Conflict, Invalid
from .slots import MAX_CAPACITY, Slots

#: the longest date range one grid or bulk change covers
MAX_DAYS = 62


@dataclass(frozen=True, slots=True)
class Cell:
    """One slot of the grid."""

    day: date
    session_id: str
    lane: str
    capacity: int
    booked: int


class BelowBooked(Conflict):
    """A bulk change would go below what is booked in `cells` (nothing was changed)."""

    def __init__(self, cells: list[Cell]) -> None:
        listed = ", ".join(f"{c.day} {c.session_id} {c.lane} ({c.booked} booked)" for c in cells)
        super().__init__("below_booked", f"Below what is booked in: {listed}.")
        self.cells = cells


def _range(first: date, last: date) -> None:
    if last < first:
        raise Invalid({"until": "must not be before the first date"})
    if (last - first).days >= MAX_DAYS:
        raise Invalid({"until": f"at most {MAX_DAYS} days in one go"})


class Quotas:
    """The quota grid and bulk changes, on the slots' pool."""

    def __init__(self, slots: Slots) -> None:
        self.slots = slots

    async def grid(self, office_id: str, first: date, last: date) -> list[Cell]:
        """The office's slots from `first` to `last`, by date, session and lane."""
        office = self.slots.office(office_id)
        _range(first, last)
        rows = await self.slots.pool.fetch(
            "SELECT day, session_id, lane, capacity, booked FROM slots WHERE office_id = $1"
            " AND day BETWEEN $2 AND $3 ORDER BY day, session_id, lane",
            office.id,
            first,
            last,
        )
        return [Cell(**dict(row)) for row in rows]

    async def set_many(
        self,
        office_id: str,
        first: date,
        last: date,
        lane: str,
        capacity: int,
        actor: Actor,
        reason: str | None,
    ) -> list[Cell]:
        """Set `capacity` on every slot of the lane in the range, all or none (BelowBooked);
        the slots as they are now."""
        office = self.slots.office(office_id)
        _range(first, last)
        if lane not in office.capacity:
            raise Invalid({"lane": "not a lane of this office"})
        if not 0 <= capacity <= MAX_CAPACITY:
            raise Invalid({"capacity": f"must be from 0 to {MAX_CAPACITY}"})
        async with self.slots.pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                "SELECT id, day, session_id, lane, capacity, booked FROM slots"
                " WHERE office_id = $1 AND day BETWEEN $2 AND $3 AND lane = $4"
                " ORDER BY id FOR UPDATE",
                office.id,
                first,
                last,
                lane,
            )
            cells = [Cell(r["day"], r["session_id"], r["lane"], r["capacity"], r["booked"])
                     for r in rows]  # fmt: skip
            if not cells:
                raise Invalid({"from": "the office has no sessions in this range"})
            over = [cell for cell in cells if cell.booked > capacity]
            if over:
                raise BelowBooked(over)
            await conn.execute(
                "UPDATE slots SET capacity = $2 WHERE id = ANY($1::bigint[])",
                [r["id"] for r in rows],
                capacity,
            )
            await audit.record(
                conn,
                actor,
                "quota.bulk",
                f"office:{office.id}",
                _summary(first, last, lane, cells),
                {"from": first.isoformat(), "until": last.isoformat(), "lane": lane,
                 "capacity": capacity, "slots": len(cells)},
                reason,
            )  # fmt: skip
        return [Cell(c.day, c.session_id, c.lane, capacity, c.booked) for c in cells]


def _summary(first: date, last: date, lane: str, cells: list[Cell]) -> dict[str, Any]:
    """The capacities a bulk change replaced, compactly: each distinct one and its slots."""
    by_capacity: dict[int, int] = {}
    for cell in cells:
        by_capacity[cell.capacity] = by_capacity.get(cell.capacity, 0) + 1
    return {
        "from": first.isoformat(),
        "until": last.isoformat(),
        "lane": lane,
        "capacities": {str(k): v for k, v in sorted(by_capacity.items())},
    }


def days_between(first: date, last: date) -> list[date]:
    """Every date from `first` to `last`."""
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]
