"""Slots: each office's quota per date, session and lane. Created ahead from the offices' data,
shown as availability, fed to the waiting room, changed by operators; only bookings take them."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

import asyncpg

from .. import audit
from ..audit import Actor
from . import calendar
from .errors import Conflict, Invalid, NotFound
from .offices import Office

#: how many days of slots exist ahead of today (dates past the release show as not released)
SLOT_DAYS_AHEAD = 60
#: the most places one slot (office, date, session, lane) may have
MAX_CAPACITY = 10_000


class OpenDate(NamedTuple):
    """An office's first released, bookable date that still has a place."""

    day: date | None  #: None when every released date is full
    places: int  #: places left on `day`, all sessions and lanes together (0 when day is None)


class Slots:
    """The offices and their slots, on a PostgreSQL pool."""

    def __init__(
        self, pool: asyncpg.Pool, offices: Mapping[str, Office], holidays: calendar.Holidays
    ) -> None:
        self.pool = pool
        self.offices = offices
        self.holidays = holidays

    async def sync(self, now: datetime, days: int = SLOT_DAYS_AHEAD) -> int:
        """Write the offices and create the slots of their open days from today to `days` ahead
        (existing slots are kept as they are). Returns the number of slots created."""
        rows: list[tuple[Any, ...]] = []
        for office in self.offices.values():
            today = calendar.local_today(office, now)
            for offset in range(days + 1):
                day = today + timedelta(days=offset)
                if not calendar.is_open_day(office, day, self.holidays):
                    continue
                for session in office.sessions:
                    starts = calendar.session_start(office, day, session)
                    ends = starts + (
                        datetime.combine(day, session.end) - datetime.combine(day, session.start)
                    )
                    for lane, capacity in office.capacity.items():
                        rows.append((office.id, day, session.id, lane, starts, ends, capacity))
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.executemany(
                "INSERT INTO offices (id, name, city, province, timezone)"
                " VALUES ($1, $2, $3, $4, $5)"
                " ON CONFLICT (id) DO UPDATE SET name = excluded.name, city = excluded.city,"
                " province = excluded.province, timezone = excluded.timezone",
                [(o.id, o.name, o.city, o.province, o.timezone) for o in self.offices.values()],
            )
            created = await conn.fetchval(
                "WITH new AS (INSERT INTO slots"
                " (office_id, day, session_id, lane, starts_at, ends_at, capacity)"
                " SELECT * FROM unnest($1::text[], $2::date[], $3::text[], $4::text[],"
                " $5::timestamptz[], $6::timestamptz[], $7::int[])"
                " ON CONFLICT DO NOTHING RETURNING 1) SELECT count(*) FROM new",
                *(list(column) for column in zip(*rows, strict=True)),
            )
        return int(created)

    def office(self, office_id: str) -> Office:
        """The office, or NotFound."""
        office = self.offices.get(office_id)
        if office is None:
            raise NotFound("unknown_office", "There is no office with this id.")
        return office

    async def availability(
        self, office_id: str, start: date, days: int, now: datetime
    ) -> dict[str, Any]:
        """Each date from `start` for `days` days: released or not, its sessions and lanes."""
        office = self.office(office_id)
        until = calendar.released_until(office, now)
        today = calendar.local_today(office, now)
        rows = await self.pool.fetch(
            "SELECT day, session_id, lane, capacity, capacity - booked AS remaining FROM slots"
            " WHERE office_id = $1 AND day >= $2 AND day < $3 ORDER BY day, starts_at, lane",
            office.id,
            start,
            start + timedelta(days=days),
        )
        by_day: dict[date, dict[str, dict[str, dict[str, int]]]] = {}
        for row in rows:
            sessions = by_day.setdefault(row["day"], {})
            lanes = sessions.setdefault(row["session_id"], {})
            lanes[row["lane"]] = {"capacity": row["capacity"], "remaining": row["remaining"]}
        dates = []
        for offset in range(days):
            day = start + timedelta(days=offset)
            open_day = calendar.is_open_day(office, day, self.holidays)
            sessions = by_day.get(day, {})
            dates.append(
                {
                    "date": day.isoformat(),
                    "open": open_day,
                    "released": open_day and today < day <= until,
                    "sessions": [
                        {
                            "id": s.id,
                            "start": s.start.strftime("%H:%M"),
                            "end": s.end.strftime("%H:%M"),
                            "lanes": sessions[s.id],
                        }
                        for s in office.sessions
                        if s.id in sessions
                    ],
                }
            )
        return {
            "office_id": office.id,
            "timezone": office.zone_label,
            "released_until": until.isoformat(),
            "next_release": calendar.iso_utc(calendar.next_release(office, now)),
            "dates": dates,
        }

    async def inventory(self, now: datetime) -> int:
        """Places left on every released, bookable date of every office: what the waiting
        room's inventory is fed with."""
        ids, starts, ends = self._bookable_ranges(now)
        total = await self.pool.fetchval(
            "SELECT coalesce(sum(s.capacity - s.booked), 0) FROM slots s"
            " JOIN unnest($1::text[], $2::date[], $3::date[]) AS r(office_id, first, last)"
            " ON s.office_id = r.office_id AND s.day BETWEEN r.first AND r.last",
            ids,
            starts,
            ends,
        )
        return int(total)

    async def inventory_by_office(self, now: datetime) -> dict[str, int]:
        """`inventory`, office by office (offices with nothing released are absent)."""
        ids, starts, ends = self._bookable_ranges(now)
        rows = await self.pool.fetch(
            "SELECT s.office_id, sum(s.capacity - s.booked) AS places FROM slots s"
            " JOIN unnest($1::text[], $2::date[], $3::date[]) AS r(office_id, first, last)"
            " ON s.office_id = r.office_id AND s.day BETWEEN r.first AND r.last"
            " GROUP BY s.office_id",
            ids,
            starts,
            ends,
        )
        return {row["office_id"]: int(row["places"]) for row in rows}

    async def open_dates(self, now: datetime) -> dict[str, OpenDate]:
        """Each office's first released, bookable date with a free place, in one query: the
        "certainty of time" the home page shows, counted as `inventory` counts (every lane)."""
        ids, starts, ends = self._bookable_ranges(now)
        rows = await self.pool.fetch(
            "SELECT DISTINCT ON (s.office_id) s.office_id, s.day,"
            " sum(s.capacity - s.booked) AS places FROM slots s"
            " JOIN unnest($1::text[], $2::date[], $3::date[]) AS r(office_id, first, last)"
            " ON s.office_id = r.office_id AND s.day BETWEEN r.first AND r.last"
            " GROUP BY s.office_id, s.day HAVING sum(s.capacity - s.booked) > 0"
            " ORDER BY s.office_id, s.day",
            ids,
            starts,
            ends,
        )
        found = {row["office_id"]: OpenDate(row["day"], int(row["places"])) for row in rows}
        return {office_id: found.get(office_id, OpenDate(None, 0)) for office_id in ids}

    def _bookable_ranges(self, now: datetime) -> tuple[list[str], list[date], list[date]]:
        """Each office's id and its released, bookable dates (from its local tomorrow to the
        last released date), as query parameters."""
        ids, starts, ends = [], [], []
        for office in self.offices.values():
            ids.append(office.id)
            starts.append(calendar.local_today(office, now) + timedelta(days=1))
            ends.append(calendar.released_until(office, now))
        return ids, starts, ends

    def check_bookable(self, office: Office, day: date, now: datetime) -> None:
        if not calendar.is_open_day(office, day, self.holidays):
            raise Conflict("date_closed", "The office is closed on this date.")
        if day <= calendar.local_today(office, now):
            raise Conflict("date_passed", "Book from tomorrow onwards.")
        if day > calendar.released_until(office, now):
            raise Conflict(
                "not_released",
                "This date is not released yet; it opens at the next quota release.",
            )

    async def set_capacity(
        self,
        office_id: str,
        day: date,
        session_id: str,
        lane: str,
        capacity: int,
        actor: Actor | None = None,
        reason: str | None = None,
    ) -> dict[str, int]:
        """An operator changes one slot's quota (0 closes it); never below what is booked.
        Audited in the same transaction when an actor is given."""
        office = self.office(office_id)
        if office.session(session_id) is None or lane not in office.capacity:
            raise Invalid({"session_id": "unknown session or lane of this office"})
        if not 0 <= capacity <= MAX_CAPACITY:
            raise Invalid({"capacity": f"must be from 0 to {MAX_CAPACITY}"})
        async with self.pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                "SELECT id, booked, capacity FROM slots WHERE office_id = $1 AND day = $2"
                " AND session_id = $3 AND lane = $4 FOR UPDATE",
                office.id,
                day,
                session_id,
                lane,
            )
            if row is None:
                raise NotFound("unknown_slot", "The office has no such session on this date.")
            if capacity < row["booked"]:
                raise Conflict(
                    "below_booked",
                    f"{row['booked']} places are booked; cancel bookings before going lower.",
                )
            await conn.execute("UPDATE slots SET capacity = $2 WHERE id = $1", row["id"], capacity)
            if actor is not None:
                await audit.record(
                    conn,
                    actor,
                    "quota.set",
                    f"office:{office.id}",
                    {"date": day.isoformat(), "session_id": session_id, "lane": lane,
                     "capacity": row["capacity"]},
                    {"date": day.isoformat(), "session_id": session_id, "lane": lane,
                     "capacity": capacity},
                    reason,
                )  # fmt: skip
        return {
            "capacity": capacity,
            "booked": row["booked"],
            "remaining": capacity - row["booked"],
        }
