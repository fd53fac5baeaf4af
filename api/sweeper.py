"""Each app process's housekeeping loop: expire overdue bookings and feed the waiting room the
number of places left, so that its waiters hear `sold_out` as soon as the last one goes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime

from queue_engine.room import Room

from .booking.bookings import Bookings
from .booking.slots import Slots
from .metrics import BookingMetrics
from .multiprocess import GcCounts

log = logging.getLogger(__name__)


class Sweeper:
    """Runs every `interval` seconds, or at once when poked (a booking took a slot's last place)."""

    def __init__(
        self,
        bookings: Bookings,
        slots: Slots,
        metrics: BookingMetrics,
        interval: float,
        gc_counts: GcCounts | None = None,
    ) -> None:
        self.bookings = bookings
        self.slots = slots
        self.metrics = metrics
        #: with several app processes, this process's GC counts are added up here
        self.gc_counts = gc_counts
        self.interval = interval
        self.room: Room | None = None
        self._poked = asyncio.Event()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._fed: int | None = None

    def poke(self) -> None:
        """Sweep now rather than at the next tick."""
        self._poked.set()

    async def sweep(self) -> None:
        """One round: expire what is due, then feed the room."""
        self.metrics.observe_pool(self.bookings.pool)
        if self.gc_counts is not None:
            self.gc_counts.record()
        self.metrics.expired.labels("sweeper").inc(len(await self.bookings.expire_due()))
        by_office = await self.slots.inventory_by_office(datetime.now(UTC))
        remaining = sum(by_office.values())
        self.metrics.places_remaining.set(remaining)
        for office, places in by_office.items():
            self.metrics.office_places.labels(office).set(places)
        if self.room is not None and remaining != self._fed:
            await self.room.set_inventory(remaining)
            self._fed = remaining

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.sweep()
            except Exception:
                log.exception("sweep failed; retrying at the next tick")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._poked.wait(), self.interval)
            self._poked.clear()

    def start(self, room: Room | None) -> None:
        """Start the loop in the background, feeding `room` (if any) its inventory."""
        self.room = room
        self._task = asyncio.create_task(self._run(), name="antri-sweeper")

    async def stop(self) -> None:
        """Stop the loop after its current round (an event, not cancel(): a cancelled Redis call
        can be swallowed by redis-py)."""
        self._stopping.set()
        self._poked.set()
        if self._task is not None:
            await self._task
