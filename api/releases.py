"""Release events: the calendar of quota releases, and the scheduler that runs them on time.

Each office releases its next dates at a weekly instant (offices.json: 8 rules over 37 offices).
The guard room in front of the booking flow gets one release event per distinct instant, made
ahead from those rules (`planned`), plus the one-off events an operator adds. An event arms the
room's pre-queue at `prequeue_opens_at` (a new shuffled cohort, the event's own rate and cap),
and the fair draw starts at `starts_at` (the engine's tick fixes the cohort there by itself);
an event may also close the room at `closes_at`. "Hold" stops an event from running: held before
its start, the room queues everyone until it is released.

Every app process runs the scheduler; each step of each event is taken exactly once: the step's
row is locked with `FOR UPDATE SKIP LOCKED` (another process skips it rather than waiting), the
room is changed while the lock is held, and the step's mark and its audit row are committed in
the same transaction. No web code here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from queue_engine.engine import Engine
from queue_engine.errors import EngineError

from . import audit
from .audit import SCHEDULER, Actor
from .booking import calendar
from .booking.errors import Conflict, Invalid, NotFound
from .booking.offices import Office

log = logging.getLogger(__name__)

#: how long before a release its pre-queue opens (for events made from the rules)
PREQUEUE_LEAD = timedelta(minutes=30)
#: how far ahead events are made from the rules
PLAN_DAYS = 14
#: how often each process looks for due steps
TICK_SECONDS = 1.0
_COLUMNS = (
    "id, room, source, label, prequeue_opens_at, starts_at, closes_at, rate_per_minute,"
    " max_active, held, armed_at, started_at, closed_at, created_by"
)


@dataclass(frozen=True, slots=True)
class Planned:
    """A release instant made from the offices' rules."""

    starts_at: datetime
    offices: tuple[str, ...]  #: the ids of the offices releasing then


def planned(offices: Mapping[str, Office], now: datetime, days: int = PLAN_DAYS) -> list[Planned]:
    """The release instants of the offices' weekly rules from `now` until `days` ahead, in
    order; offices releasing at the same instant share one."""
    until = now + timedelta(days=days)
    by_instant: dict[datetime, list[str]] = {}
    for office in offices.values():
        release = calendar.next_release(office, now)
        while release <= until:
            by_instant.setdefault(release.astimezone(UTC), []).append(office.id)
            release = calendar.next_release(office, release)
    return [Planned(at, tuple(ids)) for at, ids in sorted(by_instant.items())]


def _label(ids: tuple[str, ...]) -> str:
    shown = ", ".join(ids[:3])
    return shown + (f" +{len(ids) - 3}" if len(ids) > 3 else "")


class Releases:
    """The release events in PostgreSQL, and the scheduler that runs their steps."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        engine: Engine,
        offices: Mapping[str, Office],
        room: str,
        rate_per_minute: int,
        max_active: int,
        *,
        planning: bool = True,
    ) -> None:
        self.pool = pool
        self.engine = engine
        self.offices = offices
        self.room = room  #: the room the offices' releases go through
        self.defaults = (rate_per_minute, max_active)
        #: whether the scheduler makes events from the offices' rules (ANTRI_PLAN_RELEASES)
        self.planning = planning
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    # -- the calendar -------------------------------------------------------------------------

    async def plan(self, now: datetime) -> int:
        """Write the events of the rules up to PLAN_DAYS ahead (existing ones are kept, held or
        not); how many were new."""
        rows = [
            (
                self.room,
                _label(p.offices),
                p.starts_at - PREQUEUE_LEAD,
                p.starts_at,
                *self.defaults,
            )
            for p in planned(self.offices, now)
        ]
        async with self.pool.acquire() as conn:
            before = await conn.fetchval("SELECT count(*) FROM release_events")
            await conn.executemany(
                "INSERT INTO release_events (room, source, label, prequeue_opens_at, starts_at,"
                " rate_per_minute, max_active, created_by) VALUES ($1, 'rule', $2, $3, $4, $5,"
                " $6, 'scheduler') ON CONFLICT (room, starts_at) DO NOTHING",
                rows,
            )
            return int(await conn.fetchval("SELECT count(*) FROM release_events")) - int(before)

    async def upcoming(self, now: datetime, days: int = PLAN_DAYS) -> list[dict[str, Any]]:
        """Events not yet over (started within the last day, or later) up to `days` ahead."""
        rows = await self.pool.fetch(
            f"SELECT {_COLUMNS} FROM release_events WHERE starts_at >= $1 AND starts_at <= $2"
            " ORDER BY starts_at, id",
            now - timedelta(days=1),
            now + timedelta(days=days),
        )
        return [dict(row) for row in rows]

    async def add(
        self,
        actor: Actor,
        room: str,
        label: str,
        starts_at: datetime,
        prequeue_minutes: int,
        rate_per_minute: int,
        max_active: int,
        closes_at: datetime | None,
        reason: str | None,
        now: datetime,
    ) -> dict[str, Any]:
        """A one-off event; raises Invalid naming each refused field."""
        fields: dict[str, str] = {}
        if room not in {r.name for r in self.engine.rooms}:
            fields["room"] = "no such room"
        if not 1 <= len(label.strip()) <= 100:
            fields["label"] = "1 to 100 characters"
        if starts_at.tzinfo is None:
            fields["starts_at"] = "needs a time zone"
        elif starts_at <= now:
            fields["starts_at"] = "must be in the future"
        elif starts_at > now + timedelta(days=366):
            fields["starts_at"] = "at most a year ahead"
        if not 0 <= prequeue_minutes <= 24 * 60:
            fields["prequeue_minutes"] = "0 to 1440 minutes"
        if not 1 <= rate_per_minute <= 1_000_000:
            fields["rate_per_minute"] = "1 to 1,000,000"
        if not 1 <= max_active <= 10_000_000:
            fields["max_active"] = "1 to 10,000,000"
        if closes_at is not None and (closes_at.tzinfo is None or closes_at <= starts_at):
            fields["closes_at"] = "must be after starts_at, with a time zone"
        if fields:
            raise Invalid(fields)
        opens = max(now, starts_at - timedelta(minutes=prequeue_minutes))
        async with self.pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                "INSERT INTO release_events (room, source, label, prequeue_opens_at, starts_at,"
                " closes_at, rate_per_minute, max_active, created_by) VALUES ($1, 'manual', $2,"
                f" $3, $4, $5, $6, $7, $8) ON CONFLICT (room, starts_at) DO NOTHING"
                f" RETURNING {_COLUMNS}",
                room,
                label.strip(),
                opens,
                starts_at,
                closes_at,
                rate_per_minute,
                max_active,
                actor.name,
            )
            if row is None:
                raise Invalid({"starts_at": "this room has an event at that instant already"})
            event = dict(row)
            await audit.record(conn, actor, "release.add", f"release:{event['id']}", None,
                               _shown(event), reason)  # fmt: skip
        return event

    async def hold(
        self, event_id: int, held: bool, actor: Actor, reason: str | None
    ) -> dict[str, Any]:
        """Hold an event (it will not arm or start) or let it go again. Held after its pre-queue
        opened and before its start, the room queues everyone at once."""
        async with self.pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                f"SELECT {_COLUMNS} FROM release_events WHERE id = $1 FOR UPDATE", event_id
            )
            if row is None:
                raise NotFound("unknown_event", "There is no such release event.")
            if row["held"] == held:
                return dict(row)
            if held and row["armed_at"] is not None and row["started_at"] is None:
                await self.engine.room(row["room"]).configure({"state": "queue_all"})
            updated = await conn.fetchrow(
                f"UPDATE release_events SET held = $2 WHERE id = $1 RETURNING {_COLUMNS}",
                event_id,
                held,
            )
            action = "release.hold" if held else "release.unhold"
            await audit.record(conn, actor, action, f"release:{event_id}",
                               {"held": row["held"]}, {"held": held}, reason)  # fmt: skip
            return dict(updated)

    async def set_limits(
        self, event_id: int, rate_per_minute: int, max_active: int, actor: Actor, reason: str | None
    ) -> dict[str, Any]:
        """Change the rate and cap an event will arm the room with (before it is armed)."""
        fields: dict[str, str] = {}
        if not 1 <= rate_per_minute <= 1_000_000:
            fields["rate_per_minute"] = "1 to 1,000,000"
        if not 1 <= max_active <= 10_000_000:
            fields["max_active"] = "1 to 10,000,000"
        if fields:
            raise Invalid(fields)
        async with self.pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                f"SELECT {_COLUMNS} FROM release_events WHERE id = $1 FOR UPDATE", event_id
            )
            if row is None:
                raise NotFound("unknown_event", "There is no such release event.")
            if row["armed_at"] is not None:
                raise Conflict("event_armed", "This release is armed: change the room instead.")
            updated = await conn.fetchrow(
                "UPDATE release_events SET rate_per_minute = $2, max_active = $3 WHERE id = $1"
                f" RETURNING {_COLUMNS}",
                event_id,
                rate_per_minute,
                max_active,
            )
            before = {"rate_per_minute": row["rate_per_minute"], "max_active": row["max_active"]}
            after = {"rate_per_minute": rate_per_minute, "max_active": max_active}
            if before != after:
                await audit.record(conn, actor, "release.limits", f"release:{event_id}",
                                   before, after, reason)  # fmt: skip
            return dict(updated)

    # -- the scheduler -------------------------------------------------------------------------

    async def run_due(self, now: datetime) -> list[str]:
        """Take every step that is due at `now` and not taken yet (by any process): what was
        done, as "arm 12", "start 12", "close 12"."""
        done: list[str] = []
        for step, due, mark, change in (
            ("arm", "prequeue_opens_at", "armed_at", self._arm),
            ("start", "starts_at", "started_at", self._start),
            ("close", "closes_at", "closed_at", self._close),
        ):
            while True:
                async with self.pool.acquire() as conn, conn.transaction():
                    # One event at a time, locked; a row another process holds is skipped.
                    row = await conn.fetchrow(
                        f"SELECT {_COLUMNS} FROM release_events WHERE NOT held"
                        f" AND {mark} IS NULL AND {due} <= $1"
                        + (" AND armed_at IS NOT NULL" if step != "arm" else "")
                        + f" ORDER BY {due} LIMIT 1 FOR UPDATE SKIP LOCKED",
                        now,
                    )
                    if row is None:
                        break
                    before, after = await change(dict(row), now)
                    await conn.execute(
                        f"UPDATE release_events SET {mark} = $2 WHERE id = $1", row["id"], now
                    )
                    await audit.record(conn, SCHEDULER, f"release.{step}",
                                       f"room:{row['room']}", before,
                                       after | {"release": row["id"]}, row["label"])  # fmt: skip
                done.append(f"{step} {row['id']}")
        return done

    async def _arm(self, event: dict[str, Any], now: datetime) -> tuple[Any, dict[str, Any]]:
        """The pre-queue opens: a new shuffled cohort until the start, with the event's limits."""
        starts = event["starts_at"]
        fields = {
            "state": "open",
            "event_starts_at": str(int(starts.timestamp() * 1000)),
            "rate_per_minute": str(event["rate_per_minute"]),
            "max_active": str(event["max_active"]),
        }
        previous, _ = await self.engine.room(event["room"]).configure(fields, new_cohort=True)
        after = {
            "state": "open",
            "event_starts_at": calendar.iso_utc(starts),
            "rate_per_minute": event["rate_per_minute"],
            "max_active": event["max_active"],
        }
        return previous, after

    async def _start(self, event: dict[str, Any], now: datetime) -> tuple[Any, dict[str, Any]]:
        """The draw starts (the engine's tick fixes the cohort by itself at starts_at): the room
        is made sure to be open, whatever it was set to meanwhile."""
        previous, _ = await self.engine.room(event["room"]).configure({"state": "open"})
        return previous, {"state": "open"}

    async def _close(self, event: dict[str, Any], now: datetime) -> tuple[Any, dict[str, Any]]:
        previous, _ = await self.engine.room(event["room"]).configure({"state": "closed"})
        return previous, {"state": "closed"}

    def start(self) -> None:
        """Run the scheduler in the background of this process."""
        if self._task is None:
            self._stopping = asyncio.Event()
            self._task = asyncio.create_task(self._forever(), name="antri-releases")

    async def stop(self) -> None:
        """Stop the scheduler after its current pass."""
        if self._task is not None:
            self._stopping.set()
            await self._task
            self._task = None

    async def _forever(self) -> None:
        planned_on: object = None
        while not self._stopping.is_set():
            now = datetime.now(UTC)
            try:
                if self.planning and planned_on != now.date():
                    await self.plan(now)
                    planned_on = now.date()
                for step in await self.run_due(now):
                    log.info("release %s", step)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, EngineError) as exc:
                # The database or Redis is away: the step stays due and is taken next time.
                log.warning("release scheduler: %s", exc)
            except Exception:
                # Never let the scheduler die: log, and try again at the next tick.
                log.exception("release scheduler pass failed; retrying at the next tick")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), TICK_SECONDS)


def _shown(event: Mapping[str, Any]) -> dict[str, Any]:
    """An event as the audit trail keeps it."""
    return {
        key: calendar.iso_utc(value) if isinstance(value, datetime) else value
        for key, value in event.items()
        if key in ("room", "label", "prequeue_opens_at", "starts_at", "closes_at",
                   "rate_per_minute", "max_active")
    }  # fmt: skip
